"""The report engine: parameterised notebooks → offline HTML reports, one or in batches.

A report ``NAME`` is the notebook ``notebooks/NAME.ipynb``: a ``parameters`` cell with typed
literals and a help comment per parameter, then calls into kamlib.  Notebook metadata says
what the report is::

    "kamlib": {"title": {"en": "Account summary", "zh": "客户概览"},
               "per_account": true, "frequency": "quarterly",
               "needs": ["accounts", "revenue"]}

``per_account`` (default false), ``frequency`` (``monthly`` unless given) and ``needs``
(default none: what the store must hold, :mod:`kamlib.reports.needs`) are optional.
Every report notebook declares the standard parameters ``store``, ``as_of``, ``lang``
(``en`` / ``zh``) and ``snapshot`` (an import batch id, ``int``; 0: the newest), and
per-account notebooks also ``account_id``; the engine sets them.  The notebook reads the
store with ``kamlib.data.load(store, snapshot=snapshot or None)``.

Use
---
>>> with ReportEngine(store="data/demo.duckdb", out="reports") as engine:  # doctest: +SKIP
...     jobs = engine.plan("account_summary", as_of="2026-09-30", accounts=group_frame,
...                        group="top10")
...     batch = engine.run(jobs)
>>> batch.ok, batch.to_frame()  # doctest: +SKIP

What the engine guarantees
--------------------------
- Parameters are checked against papermill's ``inspect_notebook`` before anything runs: an
  unknown or mistyped parameter is a ``ReportError`` listing the valid parameters with
  their types and help (papermill itself only warns).  Text values (from the command line)
  are converted to the declared type.
- A report whose needs the store does not meet (at the pinned batch) is skipped, not
  failed: planning raises ``ReportSkipped`` saying what is missing and what to import, and
  nothing is written.
- The data snapshot is pinned when a report is planned: the newest import batch then (or
  the one given with ``-p snapshot=N``) is passed to the notebook as ``snapshot``, and the
  same batch is what the manifest and the page header name.  An import that lands while a
  batch of reports runs changes neither their figures nor their label.
- Execution is in-process on warm kernels, one per worker (:mod:`kamlib.reports.kernels`).
- Output: ``<out>/<report>/<period>/<slug>/`` holds ``index.html``, the executed notebook and
  ``manifest.json``; written in a temporary directory and renamed into place only on success
  (:mod:`kamlib.reports.layout`).  A failure (a cell raised, ran past the timeout, or the
  kernel died) leaves the previous report untouched and saves the executed notebook with
  papermill's error banner and its HTML under ``<out>/_failed/…``; the batch goes on.
- ``<out>/index.html`` (and, for account batches, ``<out>/<report>/<period>/index.html``)
  list every report produced, newest first.

Where things are
----------------
This module plans and runs reports (:class:`ReportEngine`); what it works with lives beside
it: :mod:`~kamlib.reports.specs` (what a report notebook declares, parameter values),
:mod:`~kamlib.reports.needs` (what a report needs from the store, the skip),
:mod:`~kamlib.reports.jobs` (jobs and results), :mod:`~kamlib.reports.kernels` (warm
kernels), :mod:`~kamlib.reports.html` (the page), :mod:`~kamlib.reports.failures` (how a
failed report is told), :mod:`~kamlib.reports.provenance` (the snapshot and versions a
manifest records), :mod:`~kamlib.reports.layout` and :mod:`~kamlib.reports.index_pages`
(where reports go, the index pages).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from kamlib.errors import DataValidationError, ReportError
from kamlib.periods import (
    Period,
    parse_date,
    parse_period,
    period_of,
)
from kamlib.reports import layout, provenance
from kamlib.reports.failures import (
    failure_message,
    fallback_html,
    report_status,
    source_cell_index,
)
from kamlib.reports.index_pages import write_indexes
from kamlib.reports.jobs import BatchResult, ReportJob, ReportResult, param_text, slug_suffix
from kamlib.reports.kernels import CellFailure, Execution, KernelPool, KernelPoolStopped
from kamlib.reports.specs import (
    ACCOUNT_PARAMETER,
    LANGUAGES,
    METHODOLOGY_PARAMETER,
    SNAPSHOT_PARAMETER,
    ReportSpec,
    convert_parameter,
    default_notebook_dir,
    load_report,
)

DEFAULT_TIMEOUT = 600.0


@dataclass
class _Staged:
    """A report executed and written into its work directory, not yet published."""

    job: ReportJob
    work: Path | None
    failure: CellFailure | None
    started: datetime
    seconds: float
    fatal: ReportError | None = None
    message: str | None = None
    cell_index: int | None = None


@dataclass
class _RunState:
    work_dirs: set[Path] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: Path) -> None:
        with self.lock:
            self.work_dirs.add(path)

    def discard(self, path: Path) -> None:
        with self.lock:
            self.work_dirs.discard(path)


# -- the engine ---------------------------------------------------------------------------------
class ReportEngine:
    """Plans and renders reports; keeps warm kernels between runs until :meth:`close`.

    Parameters
    ----------
    store
        The data store the notebooks read (passed to them as ``store``, as an absolute
        path).  It must exist.
    out
        Output directory (``reports`` by default).
    notebook_dir
        Where report notebooks are (``$KAMLIB_NOTEBOOKS`` or ``notebooks``).
    timeout
        Seconds a single cell may run; ``None`` or 0: no limit.  A cell that runs longer
        fails its report (status ``timeout``).
    jobs
        Reports rendered at the same time, each in its own warm kernel (default: the number
        of CPU cores available).
    methodology
        Methodology file recorded in manifests and headers (default: kamlib's own); its
        fiscal year start month sets quarterly and yearly periods.
    cwd
        Working directory of the kernels (default: the current directory).
    """

    def __init__(
        self,
        *,
        store: str | os.PathLike[str],
        out: str | os.PathLike[str] = "reports",
        notebook_dir: str | os.PathLike[str] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        jobs: int | None = None,
        methodology: str | os.PathLike[str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        kernel_name: str = "python3",
    ) -> None:
        if timeout is not None and (timeout < 0 or timeout != timeout):
            raise ReportError(f"The timeout must be 0 (none) or more seconds. Got {timeout!r}.")
        if jobs is not None and jobs < 1:
            raise ReportError(f"jobs must be 1 or more. Got {jobs!r} instead.")
        self.store = str(store)
        self.out = Path(out)
        self.notebook_dir = Path(notebook_dir) if notebook_dir else default_notebook_dir()
        self.timeout = float(timeout) if timeout else None
        self.jobs = jobs or _cpu_count()
        self.methodology_path = Path(methodology) if methodology else None
        self.cwd = Path(cwd) if cwd else Path.cwd()
        self.kernel_name = kernel_name
        self._pool: KernelPool | None = None
        self._snapshots: dict[tuple[Any, ...], Mapping[str, Any] | None] = {}
        self._methodology: Any = None
        self._kamdata: Any = None

    # -- context ---------------------------------------------------------------------------
    def __enter__(self) -> ReportEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Shut down the warm kernels."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def kill(self) -> None:
        """Stop at once: kill the kernels (used on Ctrl-C)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.kill()

    # -- planning --------------------------------------------------------------------------
    @property
    def methodology(self) -> Any:
        if self._methodology is None:
            from kamlib.methodology import load_methodology

            self._methodology = load_methodology(self.methodology_path)
        return self._methodology

    def store_path(self) -> Path:
        """The store, checked to exist."""
        path = Path(self.store)
        if not path.exists():
            raise ReportError(
                f"The store {self.store} does not exist. Build the demo store with "
                f"`kam demo --store {self.store}` or import exports with "
                f"`kam import FILES --store {self.store}`."
            )
        return path.resolve()

    def plan(
        self,
        report: str,
        *,
        as_of: date | str | None = None,
        period: Period | str | None = None,
        parameters: Mapping[str, Any] | None = None,
        accounts: pd.DataFrame | None = None,
        group: str | None = None,
        frequency: str | None = None,
    ) -> list[ReportJob]:
        """Check everything and return the jobs to render; nothing runs yet.

        Parameters
        ----------
        report
            Report name (a notebook in the notebook directory).
        as_of
            The report date; may also be given as the ``as_of`` parameter.  Defaults to the
            end of ``period``.
        period
            The reporting period (``2026-Q3``…); by default the period of ``as_of`` at the
            report's frequency.
        parameters
            Notebook parameters by name: values of the declared type, or text to convert.
        accounts
            Per-account reports: a frame with ``account_id`` and ``name`` (a target group);
            one job per row.  Without it, give the ``account_id`` parameter.
        group
            The name of the target group (recorded in manifests and index pages).
        frequency
            Override the report's frequency when deriving the period.
        """
        spec = load_report(report, self.notebook_dir)
        given = dict(parameters or {})
        if "store" in given:
            raise ReportError(
                "The store is not a -p parameter: give it with --store (ReportEngine(store=…))."
            )
        unknown = [k for k in given if k not in spec.parameters]
        if unknown:
            raise ReportError(
                f"Report '{spec.name}' has no parameter {', '.join(repr(u) for u in unknown)}. "
                f"Valid parameters: {spec.describe_parameters()}."
            )
        values = {k: convert_parameter(spec.name, spec.parameters[k], v) for k, v in given.items()}

        fy = self.methodology.fiscal_year_start_month
        the_period = (
            parse_period(period, fiscal_year_start_month=fy) if isinstance(period, str) else period
        )
        day = self._as_of(values.get("as_of"), as_of, the_period)
        if the_period is None:
            the_period = period_of(day, frequency or spec.frequency, fiscal_year_start_month=fy)
        elif not the_period.contains(day):
            raise ReportError(
                f"as_of {day.isoformat()} lies outside the period {the_period.label} "
                f"({the_period.start.isoformat()} – {the_period.end.isoformat()})."
            )
        lang = values.get("lang", spec.parameters["lang"].default_value)
        if lang not in LANGUAGES:
            raise ReportError(
                f"Parameter 'lang' of report '{spec.name}' is {lang!r}: expected one of "
                f"{', '.join(LANGUAGES)}."
            )
        store = self.store_path()
        # pin the data now: the notebook gets the batch id and reads exactly that batch,
        # so the manifest and page (which name this snapshot) agree with the figures
        pin = values.get(SNAPSHOT_PARAMETER) or None
        if pin is None and accounts is not None:
            pin = accounts.attrs.get(SNAPSHOT_PARAMETER)  # the batch the group was formed on
        snapshot = self._snapshot(store, pin)
        batch_id = None if snapshot is None else snapshot.get("batch_id")
        held = () if snapshot is None else tuple(snapshot.get("tables", ()))
        self._raise_if_unmet(spec, held, chosen=values.get(SNAPSHOT_PARAMETER) or None)
        values[SNAPSHOT_PARAMETER] = 0 if batch_id is None else int(batch_id)
        values["as_of"] = day.isoformat()
        values["lang"] = lang
        values["store"] = str(store)

        rows: list[tuple[str | None, str | None]]
        if spec.per_account:
            if accounts is not None and ACCOUNT_PARAMETER in given:
                raise ReportError("Give either an account_id parameter or a group, not both.")
            if accounts is None:
                if ACCOUNT_PARAMETER not in given:
                    raise ReportError(
                        f"Report '{spec.name}' is made per account: give -p account_id=ID "
                        "or --for GROUP (e.g. --for top10)."
                    )
                rows = [(str(values[ACCOUNT_PARAMETER]), None)]
            else:
                missing_cols = {"account_id", "name"} - set(accounts.columns)
                if missing_cols:
                    raise ReportError(
                        f"The account list needs columns account_id and name; "
                        f"missing: {', '.join(sorted(missing_cols))}."
                    )
                if accounts.empty:
                    raise ReportError(
                        f"Target group {group or '(given)'!r} has no accounts on "
                        f"{day.isoformat()}: there is nothing to render."
                    )
                rows = [
                    (str(a), None if pd.isna(n) else str(n))
                    for a, n in zip(accounts["account_id"], accounts["name"], strict=True)
                ]
        else:
            if accounts is not None:
                raise ReportError(
                    f"Report '{spec.name}' covers the whole book, not one account: "
                    "--for GROUP applies only to per-account reports."
                )
            rows = [(None, None)]

        suffix = slug_suffix(spec, values, lang)
        if (
            METHODOLOGY_PARAMETER in spec.parameters
            and METHODOLOGY_PARAMETER not in given
            and self.methodology_path is not None
        ):
            # the engine's methodology file (schedule / --methodology) reaches every notebook
            # that takes one, unless given as a parameter; being the installation's rules, not
            # a variant of the report, it does not change the report's path
            values[METHODOLOGY_PARAMETER] = str(self.methodology_path.resolve())
        if spec.per_account:
            slugs = [layout.account_slug(name, aid or "") + suffix for aid, name in rows]
            slugs = layout.unique_slugs(slugs, [aid or "" for aid, _ in rows])
        else:
            slugs = ["all" + suffix]
        explicit_period = period is not None
        jobs = []
        for (aid, name), slug in zip(rows, slugs, strict=True):
            params = {k: values[k] for k in spec.parameters if k in values}
            if aid is not None:
                params[ACCOUNT_PARAMETER] = aid
            jobs.append(
                ReportJob(
                    spec=spec,
                    parameters=params,
                    as_of=day,
                    period=the_period,
                    slug=slug,
                    lang=lang,
                    account_id=aid,
                    account_name=name,
                    group=group,
                    command=self._command(spec, params, the_period if explicit_period else None),
                    snapshot=snapshot,
                    store=self.store,
                )
            )
        return jobs

    def check_needs(self, report: str | ReportSpec, *, snapshot: int | None = None) -> None:
        """Raise ``ReportSkipped`` when the store (at import batch ``snapshot``; default the
        newest) does not hold what ``report`` declares it needs (``kamlib.needs``).
        :meth:`plan` checks with the batch it pins, :meth:`accounts_for` before it forms a
        target group, so a report the store cannot feed is skipped, not failed."""
        spec = report if isinstance(report, ReportSpec) else load_report(report, self.notebook_dir)
        self._raise_if_unmet(spec, self.store_tables(snapshot))

    def _raise_if_unmet(
        self, spec: ReportSpec, tables: tuple[str, ...], *, chosen: int | None = None
    ) -> None:
        """``chosen``: the batch the user chose (``-p snapshot=N``), named in the message."""
        from kamlib.reports.needs import skip_for

        if not spec.needs:
            return
        skipped = skip_for(spec.name, spec.needs, tables, store=self.store, snapshot=chosen)
        if skipped is not None:
            raise skipped

    def store_tables(self, snapshot: int | None = None) -> tuple[str, ...]:
        """The canonical tables the store holds (at import batch ``snapshot``), from the
        snapshot the engine pins anyway (read once per store state)."""
        pinned = self._snapshot(self.store_path(), snapshot)
        return tuple(pinned.get("tables", ())) if pinned else ()

    def accounts_for(
        self, group: str, *, as_of: date | str, report: str | ReportSpec | None = None
    ) -> pd.DataFrame:
        """The accounts of target ``group`` on ``as_of``, from the store.

        A formation of the group saved in the store (``kam group save``) for this date,
        data snapshot and methodology is used as saved; otherwise the group is formed now
        (``kamlib.segmentation.target_group``).  Raises ``ConfigError`` for an unknown
        group and ``ReportError`` for an empty one; with ``report``, first
        ``ReportSkipped`` when the store cannot feed that report (:meth:`check_needs`).
        """
        from kamlib.segmentation import check_group_name, target_group

        if report is not None:
            self.check_needs(report)
        check_group_name(group, methodology=self.methodology)
        day = parse_date(as_of)
        store = self.store_path()
        snapshot = self._snapshot(store) or {}
        batch = snapshot.get("batch_id")
        frame = self._saved_group(group, day, snapshot.get("fingerprint"), batch)
        if frame is None:
            frame = target_group(self._data(batch), group, as_of=day, methodology=self.methodology)
        # plan() pins the reports to the batch the group was formed on
        frame.attrs[SNAPSHOT_PARAMETER] = None if batch is None else int(batch)
        if frame.empty:
            raise ReportError(
                f"Target group {group!r} has no accounts on {day.isoformat()} (for top<N> and "
                "strategic: no account has revenue in the 12 months before): nothing to render."
            )
        return frame

    def _saved_group(
        self, group: str, day: date, fingerprint: str | None, batch: int | None
    ) -> pd.DataFrame | None:
        from kamlib.data import saved_target_group

        store = self.store_path()
        try:
            members = saved_target_group(
                store, group, as_of=day, snapshot=fingerprint,
                methodology=self.methodology.fingerprint,
            )  # fmt: skip
        except DataValidationError:
            return None
        names = self._data(batch).accounts.set_index("account_id")["name"]
        return pd.DataFrame(
            {
                "account_id": members["account_id"].astype("str"),
                "name": names.reindex(members["account_id"]).astype("str").to_numpy(),
            }
        )

    def _data(self, batch: int | None) -> Any:
        from kamlib.data import load

        store = self.store_path()
        key = (*_file_key(store), batch)
        if self._kamdata is None or self._kamdata[0] != key:
            self._kamdata = (key, load(str(store), snapshot=batch))
        return self._kamdata[1]

    def _as_of(self, param: Any, as_of: date | str | None, period: Period | None) -> date:
        days = [parse_date(v) for v in (param, as_of) if v is not None]
        if len(days) == 2 and days[0] != days[1]:
            raise ReportError(
                f"as_of is given twice with different dates: {days[0]} and {days[1]}."
            )
        if days:
            return days[0]
        if period is not None:
            return period.end
        raise ReportError("No as_of date: give -p as_of=YYYY-MM-DD or a --period.")

    def _snapshot(self, store: Path, batch: int | None = None) -> Mapping[str, Any] | None:
        """The newest snapshot of ``store`` (or import batch ``batch``), as pinned now."""
        key = (*_file_key(store), batch)  # a re-import changes the file: read it again
        if key not in self._snapshots:
            try:
                self._snapshots[key] = provenance.read_snapshot(store, batch=batch)
            except DataValidationError as exc:
                raise ReportError(f"{exc} Give -p snapshot=BATCH with one of them.") from exc
        return self._snapshots[key]

    def _command(self, spec: ReportSpec, params: Mapping[str, Any], period: Period | None) -> str:
        parts = ["kam", "report", spec.name, "--store", self.store]
        if period is not None:
            parts += ["--period", period.label]
        for k, v in params.items():
            if k != "store":
                parts += ["-p", f"{k}={param_text(v)}"]
        return " ".join(shlex.quote(p) for p in parts)

    # -- running ---------------------------------------------------------------------------
    def render(
        self,
        report: str,
        *,
        on_result: Callable[[ReportResult], None] | None = None,
        **plan_kwargs: Any,
    ) -> BatchResult:
        """:meth:`plan` then :meth:`run`."""
        return self.run(self.plan(report, **plan_kwargs), on_result=on_result)

    def run(
        self,
        jobs: Iterable[ReportJob],
        *,
        on_result: Callable[[ReportResult], None] | None = None,
    ) -> BatchResult:
        """Render ``jobs`` (in parallel, on warm kernels); failures do not stop the batch.

        ``on_result`` is called (in this thread) as each report is finished, e.g. to move a
        progress bar.  Raises ``ReportError`` when the output directory cannot be written
        (read-only, full); on ``KeyboardInterrupt`` the kernels are killed, unfinished work
        is removed, and the interrupt propagates.
        """
        jobs = list(jobs)
        if not jobs:
            return BatchResult(())
        out = layout.prepare_output(self.out)
        if self._pool is None:
            self._pool = KernelPool(self.jobs, kernel_name=self.kernel_name, cwd=self.cwd)
            from kamlib.reports.html import prewarm_export

            prewarm_export()
        pool = self._pool
        state = _RunState()
        results: dict[int, ReportResult] = {}
        try:
            futures = {
                pool.submit(self._stage, job, out, state, workers=len(jobs)): i
                for i, job in enumerate(jobs)
            }
            for future in as_completed(futures):
                i = futures[future]
                try:
                    staged = future.result()
                except KernelPoolStopped:
                    raise KeyboardInterrupt from None
                result = self._publish(staged, out, state)
                results[i] = result
                if on_result is not None:
                    on_result(result)
        except BaseException as exc:
            self.kill()
            for work in list(state.work_dirs):
                layout.remove_quietly(work)
            if isinstance(exc, KeyboardInterrupt) and results:
                with contextlib.suppress(Exception):  # list what was finished; best effort
                    write_indexes(out, tuple(results.values()))
            layout.tidy(out)
            raise
        ordered = tuple(results[i] for i in range(len(jobs)))
        try:
            index = write_indexes(out, ordered)
        except OSError as exc:
            raise layout.output_error(out, exc) from exc
        layout.tidy(out)
        return BatchResult(ordered, index[0], index[1])

    # -- one report (worker thread) ---------------------------------------------------------
    def _stage(self, kernel: Any, job: ReportJob, out: Path, state: _RunState) -> _Staged:
        from kamlib.reports.html import ReportHeader, export_html

        started = datetime.now(UTC)
        clock = time.perf_counter()
        try:
            work = layout.new_work_dir(out)
        except ReportError as exc:
            return _Staged(job, None, None, started, 0.0, fatal=exc)
        state.add(work)
        notebook_file = work / f"{job.report}.ipynb"
        owner = layout.other_account(out / job.rel_path, job.account_id)
        try:
            if owner is not None:  # never replace another account's report
                raise ReportError(
                    f"{out / job.rel_path} holds the report of account {owner!r}, not "
                    f"{job.account_id!r}; it is not overwritten. Move or delete that "
                    "directory, then render again."
                )
            execution = kernel.execute(
                job.spec.path,
                notebook_file,
                parameters=job.parameters,
                timeout=self.timeout,
                preload=job.spec.imports,
            )
        except KernelPoolStopped:
            raise
        except Exception as exc:  # noqa: BLE001 - one report's failure is recorded, the batch goes on
            execution = Execution(
                None, CellFailure("internal", type(exc).__name__, str(exc) or repr(exc))
            )
        failure = execution.failure
        header = ReportHeader(
            title=job.title,
            period=job.period.label,
            as_of=job.as_of.isoformat(),
            snapshot=provenance.snapshot_text(job.snapshot),
            generated_at=datetime.now().astimezone().isoformat(timespec="seconds"),
            reproduce_command=job.command,
            methodology_fingerprint=self.methodology.fingerprint,
            lang=job.lang,
            revenue_basis=provenance.revenue_basis(job.snapshot, job.lang),
        )
        html_text: str | None = None
        if execution.notebook is not None:
            try:
                html_text = export_html(execution.notebook, header=header)
            except Exception as exc:  # noqa: BLE001 - nbconvert's errors become the report's failure
                if failure is None:
                    failure = CellFailure("export", type(exc).__name__, str(exc))
        cell_index = source_cell_index(job.spec, failure)
        message = failure_message(job, failure, cell_index, self.timeout)
        if html_text is None:
            html_text = fallback_html(job, header, message or "")
        seconds = time.perf_counter() - clock
        manifest = self._manifest(job, failure, message, cell_index, started, seconds)
        try:
            if not notebook_file.exists() and execution.notebook is not None:
                import nbformat

                nbformat.write(execution.notebook, str(notebook_file))
            (work / "index.html").write_text(html_text, encoding="utf-8")
            (work / layout.MANIFEST).write_text(
                json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
            )
        except OSError as exc:
            return _Staged(
                job, work, failure, started, seconds, fatal=layout.output_error(out, exc)
            )
        return _Staged(job, work, failure, started, seconds, message=message, cell_index=cell_index)

    def _manifest(
        self,
        job: ReportJob,
        failure: CellFailure | None,
        message: str | None,
        cell_index: int | None,
        started: datetime,
        seconds: float,
    ) -> dict[str, Any]:
        status = report_status(failure)
        target = job.rel_path if status == "ok" else f"{layout.FAILED_DIR}/{job.rel_path}"
        return {
            "kamlib_manifest": 1,
            "report": job.report,
            "title": job.title,
            "report_title": job.spec.title_for(job.lang),
            "period": job.period.label,
            "frequency": job.period.freq,
            "as_of": job.as_of.isoformat(),
            "lang": job.lang,
            "slug": job.slug,
            "path": target,
            "account_id": job.account_id,
            "account_name": job.account_name,
            "group": job.group,
            "parameters": dict(job.parameters),
            "status": status,
            "error": None
            if failure is None
            else {
                "kind": failure.kind,
                "ename": failure.ename,
                "evalue": failure.evalue,
                "cell_index": cell_index,
                "execution_count": failure.execution_count,
                "message": message,
                "traceback": failure.traceback,
            },
            "started": started.isoformat(timespec="milliseconds"),
            "finished": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "seconds": round(seconds, 3),
            "timeout": self.timeout,
            "store": job.store,
            "snapshot": dict(job.snapshot) if job.snapshot else None,
            "methodology": {
                "source": self.methodology.source,
                "fingerprint": self.methodology.fingerprint,
            },
            "notebook": {
                "path": provenance.display_path(job.spec.path, self.cwd),
                "sha256": job.spec.sha256,
            },
            "command": job.command,
            "versions": provenance.environment_versions(),
        }

    # -- publishing (main thread) -----------------------------------------------------------
    def _publish(self, staged: _Staged, out: Path, state: _RunState) -> ReportResult:
        job = staged.job
        if staged.fatal is not None:
            if staged.work is not None:
                layout.remove_quietly(staged.work)
                state.discard(staged.work)
            raise staged.fatal
        assert staged.work is not None
        status = report_status(staged.failure)
        target = out / job.rel_path if status == "ok" else out / layout.FAILED_DIR / job.rel_path
        try:
            layout.publish(staged.work, target, out)
            state.discard(staged.work)
            if status == "ok":
                layout.remove_quietly(out / layout.FAILED_DIR / job.rel_path)
        except OSError as exc:
            raise layout.output_error(out, exc) from exc
        failure = staged.failure
        return ReportResult(
            job=job,
            status=status,
            seconds=staged.seconds,
            path=target / "index.html",
            error=staged.message,
            cell_index=staged.cell_index,
            execution_count=None if failure is None else failure.execution_count,
            ename=None if failure is None else failure.ename,
            evalue=None if failure is None else failure.evalue,
        )


# -- helpers -----------------------------------------------------------------------------------
def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size)


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


__all__ = ["DEFAULT_TIMEOUT", "ReportEngine"]
