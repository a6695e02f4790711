"""`kam report` and `kam schedule run`.

Exit codes: 0 every report rendered (or skipped: the store lacks data the report needs; the
reason is printed); 1 some report failed (its previous good version is kept; the failed run
is under ``reports/_failed/``) or an unexpected error (one line; ``KAMLIB_DEBUG=1`` shows the
traceback); 2 a mistake in the command or its input
(unknown report, parameter, group; a period or date that does not parse; an empty group; an
output directory that cannot be written); 130 interrupted (143 terminated).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from kamlib.errors import KamlibError, ReportSkipped

DEFAULT_STORE = "data/demo.duckdb"
DEFAULT_OUT = "reports"


def register(group: click.Group) -> None:
    """Add `report` and `schedule` to the `kam` group."""
    group.add_command(report)
    group.add_command(schedule)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C so that no half-written report is left behind."""


@contextmanager
def _handle_errors() -> Iterator[None]:
    """One clear line on stderr and exit code 2 for mistakes; 130 / 143 when interrupted.

    A report skipped because the store lacks data it needs is no mistake and no failure: its
    one-line reason goes to stdout and the exit code is 0.
    """
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        raise _Terminated()

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (e.g. inside a test runner thread)
        previous = None
    try:
        yield
    except click.ClickException:
        raise
    except ReportSkipped as skip:
        click.echo(_one_line(str(skip)))
    except KamlibError as exc:
        click.echo(f"Error: {_one_line(str(exc))}", err=True)
        sys.exit(2)
    except _Terminated:
        click.echo("Terminated: no half-written report was left in place.", err=True)
        sys.exit(143)
    except KeyboardInterrupt:
        click.echo("Interrupted: no half-written report was left in place.", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug or an unforeseen failure: one line unless debugging
        if os.environ.get("KAMLIB_DEBUG"):
            raise
        click.echo(
            f"Error: unexpected {type(exc).__name__}: {_one_line(str(exc))} "
            "(set KAMLIB_DEBUG=1 to see the traceback)",
            err=True,
        )
        sys.exit(1)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _parse_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.UsageError(f"-p takes key=value; got {pair!r}.")
        if key in params:
            raise click.UsageError(f"Parameter {key!r} is given twice with -p.")
        params[key] = value
    return params


# -- kam report ----------------------------------------------------------------------------------
@click.command("report")
@click.argument("name", required=False)
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The data store to read.")
@click.option("--out", default=DEFAULT_OUT, show_default=True, help="Output directory.")
@click.option(
    "-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
    help="A notebook parameter, e.g. -p as_of=2026-09-30 -p lang=zh (repeatable).",
)  # fmt: skip
@click.option(
    "--for", "group", metavar="GROUP",
    help="Render one report per account of a target group: all, top<N>, strategic, ids:A,B.",
)  # fmt: skip
@click.option(
    "--period", metavar="PERIOD",
    help="Reporting period (2026-09, 2026-Q3, 2026-H1, FY2026, 2026-W38); as_of defaults "
    "to its last day.",
)  # fmt: skip
@click.option(
    "--timeout", type=float, default=600.0, show_default=True,
    help="Seconds one cell may run before the report fails (0: no limit).",
)  # fmt: skip
@click.option("--jobs", type=click.IntRange(min=1), help="Reports rendered at once [CPU cores].")
@click.option("--notebooks", type=click.Path(file_okay=False), help="Notebook directory.")
@click.option(
    "--methodology", type=click.Path(dir_okay=False),
    help="Methodology file for every report that takes one (and for target groups).",
)  # fmt: skip
@click.option(
    "--list", "list_only", is_flag=True,
    help="List the available reports and exit; with a store (--store, or the default one when "
    "it exists), whether each can render on it.",
)  # fmt: skip
def report(
    name: str | None,
    store: str,
    out: str,
    params: tuple[str, ...],
    group: str | None,
    period: str | None,
    timeout: float,
    jobs: int | None,
    notebooks: str | None,
    methodology: str | None,
    list_only: bool,
) -> None:
    """Render report NAME (notebooks/NAME.ipynb) to OUT/NAME/PERIOD/…/index.html.

    \b
    Examples:
      kam report data_health
      kam report data_health --period 2026-09 -p lang=zh
      kam report account_summary -p account_id=A0001 -p as_of=2026-09-30
      kam report account_summary --for top10 --period 2026-Q3

    as_of defaults to today (or the last day of --period). A report whose data the store
    lacks (e.g. the OGSM review without targets) is skipped: its reason is printed, exit
    code 0. Exit code 1 when a report failed (the previous good one is kept), 2 for a
    mistake in the command.
    """
    with _handle_errors():
        from kamlib.reports.engine import ReportEngine
        from kamlib.reports.specs import ACCOUNT_PARAMETER, list_reports

        if list_only:
            source = click.get_current_context().get_parameter_source("store")
            given = source is not click.core.ParameterSource.DEFAULT
            if not given and not Path(store).exists():
                _print_reports(list_reports(notebooks))
                return
            with ReportEngine(store=store, out=out, notebook_dir=notebooks) as engine:
                _print_reports(list_reports(engine.notebook_dir), engine=engine)
            return
        if not name:
            raise click.UsageError("Give a report NAME (kam report --list shows them).")
        given = _parse_pairs(params)
        with ReportEngine(
            store=store, out=out, notebook_dir=notebooks, timeout=timeout, jobs=jobs,
            methodology=methodology,
        ) as engine:  # fmt: skip
            from kamlib.periods import parse_date, parse_period
            from kamlib.reports.specs import load_report

            spec = load_report(name, engine.notebook_dir)
            fy = engine.methodology.fiscal_year_start_month
            the_period = parse_period(period, fiscal_year_start_month=fy) if period else None
            if "as_of" in given:
                as_of = parse_date(given.pop("as_of"))
            elif the_period is not None:
                as_of = the_period.end
            else:
                as_of = date.today()  # the CLI's default: the only place that reads "today"
            accounts = None
            if group:
                if not spec.per_account:
                    from kamlib.errors import ReportError

                    raise ReportError(
                        f"Report '{name}' covers the whole book, not one account: --for "
                        "applies only to per-account reports."
                    )
                accounts = engine.accounts_for(group, as_of=as_of, report=spec)
            elif spec.per_account and ACCOUNT_PARAMETER in given:
                accounts = _single_account(engine, spec, given[ACCOUNT_PARAMETER], as_of)
                if accounts is not None:
                    given.pop(ACCOUNT_PARAMETER)
            jobs_ = engine.plan(
                name,
                as_of=as_of,
                period=the_period,
                parameters=given,
                accounts=accounts,
                group=group,
            )
            batch = _run_with_progress(engine, jobs_)
        _finish(batch, Path(out))


def _single_account(engine: Any, spec: Any, account_id: str, as_of: date) -> Any:
    """The account's name for its slug, when the store can tell it (else ``None``)."""
    from kamlib.errors import ReportError, ReportSkipped

    engine.store_path()
    try:
        return engine.accounts_for(f"ids:{account_id}", as_of=as_of, report=spec)
    except ReportSkipped:  # a report the store cannot feed: skipped, not a missing loader
        raise
    except ReportError:  # no data loader in this kamlib: the slug is the account id
        return None


def _print_reports(specs: list[Any], *, engine: Any = None) -> None:
    """The reports and their parameters; with an ``engine``, whether each can render on
    its store and, if not, why."""
    if engine is not None:
        held = engine.store_tables()
        click.echo(f"Store {engine.store} holds: {', '.join(held) or 'no tables'}")
    if not specs:
        click.echo("No reports found.")
        return
    for spec in specs:
        kind = "per account" if spec.per_account else "whole book"
        line = f"{spec.name} — {spec.title_for('en')} ({spec.frequency}, {kind})"
        skip = None
        if engine is not None:
            try:
                engine.check_needs(spec)
            except ReportSkipped as exc:
                skip = exc
            line += ": can render" if skip is None else f": skipped — {skip.reason}"
        click.echo(line)
        if skip is not None:
            click.echo(f"    why: {skip.detail}")
        for p in spec.parameters.values():
            click.echo(f"    {p.describe()}")


# -- kam schedule run ------------------------------------------------------------------------------
@click.group("schedule")
def schedule() -> None:
    """Render scheduled reports (for cron or a systemd timer)."""


@schedule.command("run")
@click.argument("schedule_file", metavar="SCHEDULE.yml", type=click.Path(dir_okay=False))
@click.option(
    "--as-of", "as_of", metavar="DATE",
    help="Run as if on this date (YYYY-MM-DD) [default: yesterday, the last full day].",
)  # fmt: skip
@click.option("--store", help=f"The data store (overrides the schedule) [{DEFAULT_STORE}].")
@click.option("--out", help=f"Output directory (overrides the schedule) [{DEFAULT_OUT}].")
@click.option("--force", is_flag=True, help="Render due reports even if they already exist.")
@click.option("--dry-run", is_flag=True, help="Show what is due and exit.")
@click.option("--timeout", type=float, help="Seconds one cell may run (0: no limit) [600].")
@click.option("--jobs", type=click.IntRange(min=1), help="Reports rendered at once [CPU cores].")
@click.option("--notebooks", type=click.Path(file_okay=False), help="Notebook directory.")
@click.option(
    "--methodology", type=click.Path(dir_okay=False),
    help="Methodology file (overrides the schedule's).",
)  # fmt: skip
def schedule_run(
    schedule_file: str,
    as_of: str | None,
    store: str | None,
    out: str | None,
    force: bool,
    dry_run: bool,
    timeout: float | None,
    jobs: int | None,
    notebooks: str | None,
    methodology: str | None,
) -> None:
    """Render every report of SCHEDULE.yml that is due.

    Each entry is due for the newest complete period of its frequency (monthly: the last
    full month) as of --as-of; reports already rendered for that period are not rendered
    again (--force renders them again). A report whose data the store lacks (e.g. the OGSM
    review without targets) is skipped with its reason; that is not a failure. Exit code 1
    when a report failed, 2 for a mistake in the schedule or the command.
    """
    with _handle_errors():
        from kamlib.periods import parse_date
        from kamlib.reports.engine import DEFAULT_TIMEOUT, ReportEngine
        from kamlib.reports.schedule import load_schedule, plan_schedule

        plan = load_schedule(schedule_file)
        day = parse_date(as_of) if as_of else date.today() - timedelta(days=1)
        out_dir = out or plan.out or DEFAULT_OUT
        cell_timeout = timeout if timeout is not None else plan.timeout
        with ReportEngine(
            store=store or plan.store or DEFAULT_STORE,
            out=out_dir,
            notebook_dir=notebooks,
            timeout=DEFAULT_TIMEOUT if cell_timeout is None else cell_timeout,
            jobs=jobs,
            methodology=methodology or plan.methodology,
        ) as engine:
            due = plan_schedule(plan, engine, as_of=day, force=force)
            problems = 0
            for d in due:
                when = f"{d.entry.describe()}: {d.period.label} (as of {d.period.end})"
                line = f"{when} — {len(d.jobs)} to render, {len(d.skipped)} already done"
                if d.problem:
                    problems += 1
                    line = f"{d.entry.describe()}: {d.period.label} — cannot run: {_one_line(d.problem)}"
                elif d.unmet is not None:
                    line = f"{when} — skipped — {d.unmet.reason}: {_one_line(d.unmet.detail)}"
                click.echo(line, err=True)
            if dry_run:
                return
            todo = [job for d in due for job in d.jobs]
            batch = _run_with_progress(engine, todo) if todo else None
        unmet = [d for d in due if d.unmet is not None]
        if batch is not None or unmet:
            _finish(batch, Path(out_dir), unmet=unmet, exit_on_failure=False)
        if batch is None and not unmet:
            click.echo("Nothing to render: every due report is up to date.")
        elif batch is None and len(unmet) + problems < len(due):
            click.echo("Nothing else to render: every other due report is up to date.")
        failed = (batch is not None and not batch.ok) or problems
        if failed:
            sys.exit(1)


# -- running and reporting -------------------------------------------------------------------------
def _run_with_progress(engine: Any, jobs: list[Any]) -> Any:
    from tqdm import tqdm

    with tqdm(
        total=len(jobs), unit="report", file=sys.stderr, disable=None, dynamic_ncols=True,
        desc="Rendering",
    ) as bar:  # fmt: skip

        def on_result(result: Any) -> None:
            if not result.ok:
                tqdm.write(
                    f"FAILED {result.job.describe()}: {result.error} → {_shown(result.path)}",
                    file=sys.stderr,
                )
            bar.update(1)

        started = time.perf_counter()
        batch = engine.run(jobs, on_result=on_result)
        bar.set_postfix_str(f"{time.perf_counter() - started:.1f} s")
    return batch


def _finish(
    batch: Any, out: Path, *, unmet: Sequence[Any] = (), exit_on_failure: bool = True
) -> None:
    """The summary table: the reports of ``batch`` (``None``: none rendered), then the
    scheduled entries in ``unmet`` (skipped: the store lacks what they need)."""
    from kamlib.reports.jobs import param_text

    results = batch.results if batch is not None else ()
    rows = [
        (r.report, r.parameters_text(), r.status, f"{r.seconds:.1f}", _shown(r.path))
        for r in results
    ]
    for d in unmet:
        shown = {"as_of": d.period.end.isoformat(), **d.entry.parameters}
        text = " ".join(f"{k}={param_text(v)}" for k, v in shown.items())
        text += f" (for {d.entry.group})" if d.entry.group else ""
        rows.append((d.entry.report, text, f"skipped — {d.unmet.reason}", "", ""))
    click.echo(_table(("report", "parameters", "status", "seconds", "path"), rows))
    n_ok = sum(r.ok for r in results)
    n_bad = len(results) - n_ok
    if batch is not None:
        summary = f"{len(results)} report{'s' if len(results) != 1 else ''}: {n_ok} ok"
        if n_bad:
            summary += (
                f", {n_bad} failed (previous good reports kept; see {_shown(out / '_failed')})"
            )
        click.echo(summary)
    if unmet:
        many = len(unmet) != 1
        click.echo(
            f"{len(unmet)} scheduled report{'s' if many else ''} skipped: the store lacks data "
            f"{'they need' if many else 'it needs'} (not a failure)."
        )
    if batch is not None and batch.index is not None:
        click.echo(f"Index: {_shown(batch.index)}")
    if n_bad and exit_on_failure:
        sys.exit(1)


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(_width(str(c)) for c in col) for col in zip(header, *rows, strict=False)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            str(c) + " " * (w - _width(str(c))) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])
