"""Report schedules: which reports to render, how often, for whom.

A schedule is a YAML file (``data/schedule.yml`` is the sample)::

    store: data/demo.duckdb      # optional; --store overrides
    out: reports                 # optional; --out overrides
    timeout: 600                 # optional: seconds a cell may run
    reports:
      - report: data_health
        frequency: monthly
      - report: account_summary
        frequency: quarterly
        for: top10               # a target group: one report per account
        parameters:              # optional notebook parameters
          lang: zh

When is a report due?
---------------------
On the as-of date (by default yesterday: the last full day), each entry is due for the newest
*complete* period of its frequency (:func:`kamlib.periods.last_complete_period`), with
``as_of`` = the last day of that period.  A report already rendered successfully for that
period (as of its last day) is skipped (``force=True`` / ``--force`` renders it again), so a nightly cron job renders
the monthly reports once, the first night after the month closed, and catches up after nights
it missed; a failed report is tried again the next night.

A report whose notebook needs data the store does not hold (``kamlib.needs``: no targets for
the OGSM review, no opportunities for the pipeline forecast) is skipped with that reason —
not a failure, and nothing is written; it renders the first night after the data arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kamlib.errors import ConfigError, KamlibError, ReportError, ReportSkipped
from kamlib.periods import Period, last_complete_period, normalise_frequency, parse_date
from kamlib.reports import layout

_TOP_KEYS = {"store", "out", "timeout", "methodology", "reports"}
_ENTRY_KEYS = {"report", "frequency", "for", "parameters"}


@dataclass(frozen=True)
class ScheduleEntry:
    """One line of a schedule: a report, its frequency, optionally a target group."""

    report: str
    frequency: str
    group: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        target = f" for {self.group}" if self.group else ""
        return f"{self.report} ({self.frequency}{target})"


@dataclass(frozen=True)
class Schedule:
    """A validated schedule file."""

    entries: tuple[ScheduleEntry, ...]
    store: str | None = None
    out: str | None = None
    timeout: float | None = None
    methodology: str | None = None
    source: str = "<memory>"


@dataclass(frozen=True)
class DueEntry:
    """An entry that is due, the period it is due for, and what planning it found."""

    entry: ScheduleEntry
    period: Period
    jobs: tuple[Any, ...] = ()  # ReportJob to render
    skipped: tuple[Any, ...] = ()  # ReportJob already rendered for the period
    problem: str | None = None  # why the entry could not be planned (e.g. an empty group)
    #: the store lacks what the report needs: nothing to render, and not a failure
    unmet: ReportSkipped | None = None


def load_schedule(path: str | Path) -> Schedule:
    """Read and validate a schedule file."""
    from kamlib.methodology import read_yaml_file

    raw, _ = read_yaml_file(path, "schedule file")
    return parse_schedule(raw, source=str(path))


def parse_schedule(raw: Any, *, source: str = "<memory>") -> Schedule:
    """Validate a parsed schedule mapping (see the module docstring for the format)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a schedule must be a YAML mapping with a 'reports' list.")
    extra = set(raw) - _TOP_KEYS
    if extra:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(sorted(map(str, extra)))}. "
            f"Valid keys: {', '.join(sorted(_TOP_KEYS))}."
        )
    items = raw.get("reports")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{source}: 'reports' must be a non-empty list of reports.")
    entries = []
    for i, item in enumerate(items):
        where = f"{source} reports[{i}]"
        if not isinstance(item, dict) or "report" not in item:
            raise ConfigError(f"{where}: each entry needs at least 'report'. Got {item!r}.")
        extra = set(item) - _ENTRY_KEYS
        if extra:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(sorted(map(str, extra)))}. "
                f"Valid keys: {', '.join(sorted(_ENTRY_KEYS))}."
            )
        try:
            frequency = normalise_frequency(item.get("frequency", "monthly"))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        group = item.get("for")
        if group is not None:
            from kamlib.segmentation import check_group_name

            try:
                group = check_group_name(str(group))
            except ConfigError as exc:
                raise ConfigError(f"{where}: {exc}") from exc
        params = item.get("parameters") or {}
        if not isinstance(params, dict):
            raise ConfigError(f"{where}: 'parameters' must be a mapping of name: value.")
        if "store" in params:
            raise ConfigError(f"{where}: set the store at the top of the schedule, not per report.")
        entries.append(
            ScheduleEntry(
                report=str(item["report"]),
                frequency=frequency,
                group=group,
                parameters={str(k): v for k, v in params.items()},
            )
        )
    timeout = raw.get("timeout")
    if timeout is not None and (not isinstance(timeout, int | float) or timeout < 0):
        raise ConfigError(f"{source}: 'timeout' must be seconds (0: none). Got {timeout!r}.")
    return Schedule(
        entries=tuple(entries),
        store=None if raw.get("store") is None else str(raw["store"]),
        out=None if raw.get("out") is None else str(raw["out"]),
        timeout=None if timeout is None else float(timeout),
        methodology=None if raw.get("methodology") is None else str(raw["methodology"]),
        source=source,
    )


def due_period(
    entry: ScheduleEntry, as_of: date | str, *, fiscal_year_start_month: int = 1
) -> Period:
    """The period ``entry`` is due for on ``as_of``: the newest complete one."""
    return last_complete_period(
        as_of, entry.frequency, fiscal_year_start_month=fiscal_year_start_month
    )


def plan_schedule(
    schedule: Schedule,
    engine: Any,
    *,
    as_of: date | str,
    force: bool = False,
) -> list[DueEntry]:
    """Work out, for every entry, the due period and the report jobs to render.

    First every entry is checked (report exists, parameters valid) — a mistake there raises
    before anything is planned.  Then each entry is planned; an entry whose report needs data
    the store does not hold (``kamlib.needs``) gets ``unmet`` (the ``ReportSkipped``: not a
    failure); one that cannot be planned for another reason in the data (an empty target
    group) gets a ``problem``; the others go on.  Jobs whose report already exists for the
    period are moved to ``skipped`` unless ``force``.
    """
    from kamlib.reports.specs import convert_parameter, load_report

    day = parse_date(as_of)
    for entry in schedule.entries:
        spec = load_report(entry.report, engine.notebook_dir)
        unknown = [k for k in entry.parameters if k not in spec.parameters]
        if unknown:
            raise ReportError(
                f"{schedule.source}: report '{spec.name}' has no parameter "
                f"{', '.join(repr(u) for u in unknown)}. "
                f"Valid parameters: {spec.describe_parameters()}."
            )
        for k, v in entry.parameters.items():
            convert_parameter(spec.name, spec.parameters[k], v)
        if entry.group and not spec.per_account:
            raise ReportError(
                f"{schedule.source}: report '{spec.name}' covers the whole book; "
                f"'for: {entry.group}' applies only to per-account reports."
            )
        if spec.per_account and not entry.group and "account_id" not in entry.parameters:
            raise ReportError(
                f"{schedule.source}: report '{spec.name}' is made per account; give it "
                "'for: GROUP' (e.g. for: top10)."
            )
    fy = engine.methodology.fiscal_year_start_month
    planned = []
    for entry in schedule.entries:
        period = due_period(entry, day, fiscal_year_start_month=fy)
        try:
            accounts = (  # a store that cannot feed the report: skipped before the group
                engine.accounts_for(entry.group, as_of=period.end, report=entry.report)
                if entry.group
                else None
            )
            jobs = engine.plan(
                entry.report,
                as_of=period.end,
                period=period,
                parameters=dict(entry.parameters),
                accounts=accounts,
                group=entry.group,
            )
        except ReportSkipped as skip:
            planned.append(DueEntry(entry, period, unmet=skip))
            continue
        except KamlibError as exc:
            planned.append(DueEntry(entry, period, problem=str(exc)))
            continue
        todo, done = [], []
        for job in jobs:
            existing = layout.read_manifest(Path(engine.out) / job.rel_path)
            if (
                not force
                and existing is not None
                and existing.get("status") == "ok"
                and existing.get("as_of") == job.as_of.isoformat()
            ):
                done.append(job)
            else:
                todo.append(job)
        planned.append(DueEntry(entry, period, tuple(todo), tuple(done)))
    return planned
