"""Import exports into the store: read · map · validate · quarantine · load, in one transaction.

How an import runs
------------------
1. Every file is staged into DuckDB as text (nothing interpreted, nothing evaluated).
2. Headers are mapped to canonical columns (mapping file, preset, or names and aliases).
   A missing required column, an unreadable file or a file kamlib cannot place **refuses**
   the whole import (:class:`~kamlib.errors.DataValidationError`) and nothing is written.
3. Values are typed in SQL; every row problem (a value that is not a number or a date, a
   missing required value, a value outside its allowed set or range, a date in the future, a
   duplicate key, an unknown account or stage, an over-long text) becomes a quarantine entry
   naming file, row, column, value and reason.  All problems are collected at once.
4. Valid rows load as a new snapshot of each table, under a new import batch.  Counts always
   reconcile: rows read = rows loaded + rows quarantined.
5. Importing the same files again changes nothing (same fingerprints → "unchanged").

The heavy work runs inside DuckDB, so 10M order lines are validated without pandas.

Where each step lives
---------------------
This module runs an import safely (the store's lock, one transaction, the work folder,
SIGTERM, undo on failure, the refusal of a shrinking import).  The steps it runs:
:mod:`~kamlib.data.import_plan` (which file is which table), :mod:`~kamlib.data.import_sql`
(the SQL that types and checks values), :mod:`~kamlib.data.import_batch` (one import in
progress: staging, typing, row problems, notices) and :mod:`~kamlib.data.import_report`
(what the import did, what it may do).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd

from kamlib import __version__
from kamlib.data import readers
from kamlib.data.import_batch import ImportBatch
from kamlib.data.import_plan import PlannedTable, plan_files, preset_hint, table_fingerprint
from kamlib.data.import_report import DATE_FLOOR, MAX_SHRINK, ImportGuard, ImportReport, TableCounts
from kamlib.data.import_sql import NO_ISSUES, sql_literal, sql_name, sql_type, valid_keys_sql
from kamlib.data.mapping import (
    FileMapping,
    Mapping,
    load_mapping,
    load_preset,
)
from kamlib.data.schemas import LOAD_ORDER, TABLES
from kamlib.data.store import (
    check_store,
    connect,
    describe_io_error,
    effective_batches,
    ensure_schema,
    snapshot_table,
)
from kamlib.errors import (
    ConfigError,
    DataValidationError,
    ImportInterrupted,
    ImportRefused,
    StoreError,
)
from kamlib.methodology import Methodology, resolve_methodology


def import_files(
    paths: Sequence[str | Path],
    *,
    store: str | Path,
    preset: str | None = None,
    mapping: str | Path | Mapping | None = None,
    encoding: str | None = None,
    methodology: str | Path | Methodology | None = None,
    now: str | pd.Timestamp | None = None,
    allow_shrink: bool = False,
    max_shrink: float = MAX_SHRINK,
    date_floor: str | pd.Timestamp = DATE_FLOOR,
    limits: readers.ReadLimits | None = None,
) -> ImportReport:
    """Import export files (or folders of them) into the store as one batch.

    Parameters
    ----------
    paths
        Files and/or folders.  Without ``preset``/``mapping`` each file must be named after
        its canonical table (``orders.csv``); files in a folder that match nothing are
        ignored and listed as notices.
    store
        The DuckDB store to write (created when missing).
    preset, mapping
        A mapping preset shipped with kamlib (``maven-crm``, ``online-retail``) or a
        mapping file; see :mod:`kamlib.data.mapping`.
    encoding
        Force the encoding of CSV files (``gbk``, ``utf-8``…); default: detect.
    methodology
        The methodology file (stages and their aliases); default: kamlib's.
    now
        The import time: dates after it are quarantined as "in the future".  Default: now.
    allow_shrink, max_shrink
        An import that would leave a table empty, more than ``max_shrink`` (default 0.5)
        smaller than its current snapshot, or orphan rows of a table it does not replace
        (orders whose account vanished) is refused unless ``allow_shrink=True``.
    date_floor
        Dates before it (default 1970-01-01) are quarantined; ``accounts.created_date`` is
        exempt.
    limits
        :class:`~kamlib.data.readers.ReadLimits` for spreadsheets (decompressed size,
        compression ratio, rows, columns).

    Returns
    -------
    ImportReport
        ``status`` is ``loaded``, or ``unchanged`` when every file was imported before.

    Raises
    ------
    DataValidationError
        A file is missing, empty, unreadable, unplaceable or lacks a required column.
        Nothing is written then.
    ImportRefused
        The import would empty or shrink a table or orphan rows (see ``allow_shrink``), or
        a file exceeds a read limit.  Nothing is written.
    StoreError
        The store is not a kamlib store, is locked or read-only, or the disk is full.
    """
    guard = ImportGuard(
        allow_shrink=allow_shrink, max_shrink=max_shrink, date_floor=date_floor,
        limits=limits or readers.ReadLimits(),
    )  # fmt: skip
    if preset and mapping:
        raise ConfigError("Give either a preset or a mapping file, not both.")
    spec_mapping = (
        load_preset(preset)
        if preset
        else (mapping if isinstance(mapping, Mapping) or mapping is None else load_mapping(mapping))
    )
    planned, ignored = plan_files(paths, spec_mapping)
    if not planned:
        raise DataValidationError(
            f"Nothing to import in {', '.join(map(str, paths))}: no file matched a canonical table"
            + (f" or an entry of mapping '{spec_mapping.name}'" if spec_mapping else "")
            + ". Name files after their tables (accounts.csv, orders.csv, …) or pass --preset/--mapping."
        )
    enc = encoding or (spec_mapping.encoding if spec_mapping else None)
    source = ", ".join(sorted({str(Path(p)) for p in paths}))
    try:
        return _run_import(
            planned,
            ignored,
            store=store,
            encoding=enc,
            methodology=methodology,
            now=now,
            source=source,
            guard=guard,
        )
    except DataValidationError as exc:
        hint = preset_hint(paths) if spec_mapping is None else None
        if hint and not isinstance(exc, (StoreError, ImportRefused)):
            raise DataValidationError(f"{exc}\n{hint}") from exc
        raise


def import_frames(
    frames: dict[str, pd.DataFrame],
    *,
    store: str | Path,
    source: str = "frames",
    methodology: str | Path | Methodology | None = None,
    now: str | pd.Timestamp | None = None,
    allow_shrink: bool = False,
) -> ImportReport:
    """Import canonical frames (e.g. the demo company) through the same validation path.

    The frames are written to Parquet in a temporary folder and imported like files, so
    frames and exports share every check.
    """
    tmp_root = work_folder(store)
    tmp_root.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="frames-", dir=tmp_root))
    try:
        planned = []
        for table in LOAD_ORDER:
            if table not in frames:
                continue
            path = workdir / f"{table}.parquet"
            frame = frames[table]
            con = duckdb.connect()
            try:
                con.register("_frame", frame)
                con.execute(f"COPY (SELECT * FROM _frame) TO '{path}' (FORMAT parquet)")
            finally:
                con.close()
            planned.append(PlannedTable(table, [path], FileMapping(table, None, None)))
        unknown = set(frames) - set(TABLES)
        if unknown:
            raise DataValidationError(
                f"Unknown table(s) {sorted(unknown)}. Valid tables: {', '.join(TABLES)}."
            )
        return _run_import(
            planned,
            [],
            store=store,
            encoding=None,
            methodology=methodology,
            now=now,
            source=source,
            guard=ImportGuard(allow_shrink=allow_shrink),
            workdir=workdir,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with contextlib.suppress(OSError):
            tmp_root.rmdir()


def work_folder(store: str | Path) -> Path:
    """The folder beside the store where imports keep their temporary files
    (``<store>.kamtmp/``); emptied at the start of every import into that store."""
    path = Path(store)
    return path.with_name(path.name + ".kamtmp")


def _clean_work_folder(root: Path, keep: Path | None = None) -> None:
    """Remove what killed imports left in ``root`` (call only while holding the store's lock)."""
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if keep is not None and entry == keep:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()


@contextlib.contextmanager
def _signals_stop_import() -> Iterator[list[str]]:
    """While an import runs in the main thread, SIGTERM / SIGHUP raise instead of killing
    the process at once, so the cleanup (temporary files, partial snapshots) runs.  Yields
    a list that receives the signal's name (DuckDB turns an exception raised while a query
    runs into its own "Query interrupted" error: the caller tells them apart with it)."""
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def stop(signum: int, frame: object) -> None:
        received.append(signal.Signals(signum).name)
        raise ImportInterrupted(
            f"the import was stopped by signal {received[-1]} before it finished."
        )

    wanted = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {}
    for sig in wanted:
        with contextlib.suppress(ValueError, OSError):
            previous[sig] = signal.signal(sig, stop)
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_import(
    planned: list[PlannedTable],
    ignored: Iterable[tuple[Path, str]],
    *,
    store: str | Path,
    encoding: str | None,
    methodology: str | Path | Methodology | None,
    now: str | pd.Timestamp | None,
    source: str,
    guard: ImportGuard,
    workdir: Path | None = None,
) -> ImportReport:
    meth = resolve_methodology(methodology, owner="import_exports")
    now_ts = pd.Timestamp.now().floor("s") if now is None else pd.Timestamp(now)
    started = pd.Timestamp.now().floor("s")
    store_path = Path(store)
    existed = store_path.exists()
    tmp_root = work_folder(store_path)
    own: Path | None = None
    received: list[str] = []
    try:
        with _signals_stop_import() as received:
            store_path.parent.mkdir(parents=True, exist_ok=True)
            with connect(store_path) as con:
                check_store(con, store_path)
                _clean_work_folder(tmp_root, keep=workdir)  # we hold the lock: no import runs
                tmp_root.mkdir(exist_ok=True)
                own = workdir or Path(tempfile.mkdtemp(prefix="import-", dir=tmp_root))
                ensure_schema(con)
                _drop_orphan_snapshots(con)
                batch = ImportBatch(con, meth, now_ts, own, guard)
                try:
                    report = _import(
                        batch, planned, ignored, started, encoding, source, str(store_path)
                    )
                except BaseException:
                    # undo: the bookkeeping transaction (if open) and every snapshot table written
                    with contextlib.suppress(duckdb.Error):
                        con.execute("ROLLBACK")
                    for table in batch.created:
                        with contextlib.suppress(duckdb.Error):
                            con.execute(f"DROP TABLE IF EXISTS {table}")
                    raise
    except ImportInterrupted:
        _forget_new_store(store_path, existed)
        raise
    except (duckdb.IOException, duckdb.PermissionException, OSError) as exc:
        _forget_new_store(store_path, existed)
        if received:
            raise ImportInterrupted(
                f"the import was stopped by signal {received[-1]} before it finished."
            ) from exc
        raise StoreError(describe_io_error(store_path, exc, "write to store")) from exc
    except BaseException as exc:
        _forget_new_store(store_path, existed)
        if received:
            raise ImportInterrupted(
                f"the import was stopped by signal {received[-1]} before it finished."
            ) from exc
        raise
    finally:
        if own is not None and workdir is None:
            shutil.rmtree(own, ignore_errors=True)
        with contextlib.suppress(OSError):
            tmp_root.rmdir()  # only when empty
    return report


def _forget_new_store(store_path: Path, existed: bool) -> None:
    if not existed:
        with contextlib.suppress(OSError):
            store_path.unlink(missing_ok=True)
            Path(str(store_path) + ".wal").unlink(missing_ok=True)


def _drop_orphan_snapshots(con: duckdb.DuckDBPyConnection) -> None:
    """Drop snapshot tables no batch refers to (left by an import that was killed)."""
    known = {
        snapshot_table(t, b).strip('"')
        for t, b in con.execute('SELECT "table", batch_id FROM import_tables').fetchall()
    }
    for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '\\_snap\\_%' ESCAPE '\\'"
    ).fetchall():
        if name not in known:
            con.execute(f"DROP TABLE {sql_name(name)}")


def _import(
    batch: ImportBatch,
    planned: list[PlannedTable],
    ignored: Iterable[tuple[Path, str]],
    started: pd.Timestamp,
    encoding: str | None,
    source: str,
    store: str,
) -> ImportReport:
    """Stage, type, check and write one batch.

    Snapshot tables are written outside a transaction (DuckDB writes large tables inside an
    explicit transaction about four times slower); nothing refers to them until the final
    short transaction records the batch, so readers never see a partial import, and on any
    failure the caller drops them again.
    """
    con = batch.con
    for path, why in ignored:
        batch.notice("-", path.name, None, "ignored", f"{path.name} not imported: {why}", 0)
    current = effective_batches(con)
    staged = {}
    for p in planned:  # stage everything first: refusals happen before any check or write
        # a table the store does not hold yet cannot be unchanged: its files' fingerprints
        # are computed while DuckDB reads them (_check_table), not before
        staged[p.table] = staged.get(p.table, []) + batch.stage(
            p, encoding, fingerprint=p.table in current
        )
    batch_id = (
        (con.execute("SELECT coalesce(max(batch_id), 0) FROM import_batches").fetchone()[0]) + 1
    )
    valid: dict[str, str] = {
        t: f"SELECT {sql_name(TABLES[t].key[0])} AS k FROM {snapshot_table(t, b)}"
        for t, (b, _) in current.items()
    }
    done: dict[
        str, tuple[str, str, tuple[str, ...], str]
    ] = {}  # table → typed, problems, files, fp
    plan_by_table: dict[str, PlannedTable] = {}
    for p in planned:
        if p.table in plan_by_table:
            plan_by_table[p.table].files.extend(p.files)
        else:
            plan_by_table[p.table] = PlannedTable(p.table, list(p.files), p.rule)
    meth_key = (
        batch.methodology.fingerprint
        if {"opportunities", "stage_history", "tasks"} & set(plan_by_table)
        else ""
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        for table in LOAD_ORDER:
            p = plan_by_table.get(table)
            if p is not None:
                _check_table(batch, p, staged[table], current, batch_id, meth_key, encoding,
                             valid, done, pool)  # fmt: skip
    # write -----------------------------------------------------------------------------
    tables = [t for t in LOAD_ORDER if t in done]
    for table in tables:
        typed, problems, names, _ = done[table]
        read, loaded, bad = batch.drop_problem_rows(
            snapshot_table(table, batch_id), typed, problems
        )
        batch.counts[table] = TableCounts(read, loaded, bad, names, "loaded")
    _guard_against_loss(batch, tables, current, batch_id, done)
    problem_frames = []
    con.execute("BEGIN TRANSACTION")
    for table in tables:
        typed, problems, names, fp = done[table]
        read, loaded, bad = (
            batch.counts[table].read,
            batch.counts[table].loaded,
            batch.counts[table].quarantined,
        )
        cols = ", ".join(sql_name(c) for c in TABLES[table].columns)
        con.execute(
            f"CREATE OR REPLACE VIEW {sql_name(table)} AS SELECT {cols} FROM {snapshot_table(table, batch_id)}"
        )
        con.execute(
            "INSERT INTO import_tables VALUES (?, ?, ?, ?, ?, ?, ?)",
            [batch_id, table, json.dumps(names, ensure_ascii=False), fp, read, loaded, bad],
        )
        con.execute(
            f"""INSERT INTO quarantine SELECT {batch_id}, {sql_literal(table)}, _file, _row, "column", value,
                       reason, split_part(reason, ':', 1)
                FROM {problems} ORDER BY _file, _row, "column" """
        )
        problem_frames.append(
            con.execute(
                f"""SELECT {sql_literal(table)} AS "table", _file AS file, _row AS "row", "column", value,
                           reason, split_part(reason, ':', 1) AS "check"
                    FROM {problems} ORDER BY _file, _row, "column" """
            ).df()
        )
    notices = pd.DataFrame(
        batch.notices, columns=["table", "file", "column", "kind", "message", "rows"]
    )
    if done:
        for n in batch.notices:
            con.execute("INSERT INTO notices VALUES (?, ?, ?, ?, ?, ?, ?)", [batch_id, *n.values()])
        whole = hashlib.sha256(
            json.dumps({t: v[3] for t, v in sorted(done.items())}).encode()
        ).hexdigest()[:16]
        con.execute(
            "INSERT INTO import_batches VALUES (?, ?, ?, ?, 'loaded', ?, ?)",
            [
                batch_id,
                source,
                started.to_pydatetime(),
                pd.Timestamp.now().floor("s").to_pydatetime(),
                whole,
                __version__,
            ],
        )
        status, reported_batch = "loaded", batch_id
    con.execute("COMMIT")
    if not done:
        status, reported_batch = "unchanged", max((b for b, _ in current.values()), default=None)
    problems_df = (
        pd.concat(problem_frames, ignore_index=True)
        if problem_frames
        else pd.DataFrame(columns=["table", "file", "row", "column", "value", "reason", "check"])
    )
    return ImportReport(reported_batch, status, store, dict(batch.counts), problems_df, notices)


def _check_table(
    batch: ImportBatch,
    p: PlannedTable,
    staged: list[tuple[readers.SourceFile, dict]],
    current: dict[str, tuple[int, str]],
    batch_id: int,
    meth_key: str,
    encoding: str | None,
    valid: dict[str, str],
    done: dict[str, tuple[str, str, tuple[str, ...], str]],
    pool: ThreadPoolExecutor,
) -> None:
    """Type and check one table's files into its snapshot (or count it unchanged)."""
    table = p.table
    files = [s for s, _ in staged]
    names = tuple(f.path.name for f in files)
    extra = meth_key + repr(encoding) + batch.guard.fingerprint_extra
    hashing = None
    if table in current:
        fp = table_fingerprint(p, files, extra)
        if current[table][1] == fp:
            for t in (table, *(d.table for d in p.rule.derive)):
                batch.counts[t] = TableCounts(0, 0, 0, names, "unchanged")
            return
    else:  # fingerprinted while DuckDB reads the files
        # one pass over each file's bytes hashes it and counts its lines (check_rows_read)
        hashing = [pool.submit(readers.fingerprint_and_lines, f) for f in files]
    typed, problems = batch.typed_table(
        p, staged, snapshot_table(table, batch_id), hashing=hashing
    )
    if hashing is not None:
        files = [
            replace(f, fingerprint=h.result()[0]) for f, h in zip(files, hashing, strict=True)
        ]
        fp = table_fingerprint(p, files, extra)
    # derived tables (e.g. accounts from a transaction log) come before this table's FK checks
    for d in p.rule.derive:
        dtyped, dproblems = _derive(batch, typed, problems, d, snapshot_table(d.table, batch_id))
        valid[d.table] = valid_keys_sql(d.table, dtyped, dproblems)
        done[d.table] = (dtyped, dproblems, names, fp + ":" + d.table)
    batch.check_foreign_keys(table, typed, problems, valid)
    batch.notices_for_rows(table, typed, problems)
    valid[table] = valid_keys_sql(table, typed, problems)
    done[table] = (typed, problems, names, fp)


def _top_reason(con: duckdb.DuckDBPyConnection, problems: str) -> str:
    row = con.execute(
        f"SELECT split_part(reason, ':', 1) AS r, count(*) AS n, min(_file), min(_row) "
        f"FROM {problems} GROUP BY 1 ORDER BY n DESC, r LIMIT 1"
    ).fetchone()
    return (
        ""
        if row is None
        else f"; most common reason: {row[0]} ({row[1]:,}×, e.g. {row[2]} row {row[3]})"
    )


def _guard_against_loss(
    batch: ImportBatch,
    tables: list[str],
    current: dict[str, tuple[int, str]],
    batch_id: int,
    done: dict[str, tuple[str, str, tuple[str, ...], str]],
) -> None:
    """Refuse (or, with ``allow_shrink``, notice) an import that empties or shrinks a table
    beyond ``max_shrink`` or orphans rows of a table it does not replace."""
    con, guard = batch.con, batch.guard
    losses: list[tuple[str, str, str, int]] = []  # table, kind, message, rows
    for table in tables:
        counts = batch.counts[table]
        files = ", ".join(counts.files) or table
        before = (
            con.execute(f"SELECT count(*) FROM {snapshot_table(table, current[table][0])}").fetchone()[0]
            if table in current else 0
        )  # fmt: skip
        if counts.read and not counts.loaded:
            losses.append((
                table, "shrink",
                f"every one of the {counts.read:,} rows read for {table} from {files} was "
                f"quarantined{_top_reason(con, done[table][1])}; {table} would "
                + (f"go from {before:,} rows to 0" if before else "be empty"),
                before,
            ))  # fmt: skip
        elif before and counts.loaded < before * (1 - guard.max_shrink):
            drop = 1 - counts.loaded / before
            losses.append((
                table, "shrink",
                f"{table} would go from {before:,} rows to {counts.loaded:,} ({drop:.0%} fewer; "
                f"{counts.read:,} read from {files}, {counts.quarantined:,} quarantined), more "
                f"than the {guard.max_shrink:.0%} a re-import may drop",
                before - counts.loaded,
            ))  # fmt: skip
    replaced = set(tables)
    for child, (child_batch, _) in current.items():
        if child in replaced or child not in TABLES:
            continue
        for fk in TABLES[child].foreign_keys:
            if fk.table not in replaced or fk.table == child or fk.table not in current:
                continue
            old = snapshot_table(fk.table, current[fk.table][0])
            new = snapshot_table(fk.table, batch_id)
            has_amount = "amount" in TABLES[child].columns
            value = "sum(c.amount)" if has_amount else "NULL"
            rows, amount, examples = con.execute(
                f"""SELECT count(*), {value}, string_agg(DISTINCT c.{sql_name(fk.column)}, ', ')
                    FROM {snapshot_table(child, child_batch)} c
                    SEMI JOIN {old} o ON c.{sql_name(fk.column)} = o.{sql_name(fk.ref)}
                    ANTI JOIN {new} n ON c.{sql_name(fk.column)} = n.{sql_name(fk.ref)}"""
            ).fetchone()
            if not rows:
                continue
            shown = ", ".join(sorted((examples or "").split(", "))[:3])
            worth = f" (amount {amount:,.2f})" if amount is not None else ""
            losses.append((
                child, "orphaned",
                f"{rows:,} {child} rows{worth} would be orphaned: their {fk.column} is no longer "
                f"in the new {fk.table} read from {', '.join(batch.counts[fk.table].files)} (e.g. {shown})",
                rows,
            ))  # fmt: skip
    if not losses:
        return
    if not guard.allow_shrink:
        raise ImportRefused(
            "This import would lose data:\n"
            + "\n".join(f"- {message}" for _, _, message, _ in losses)
            + "\nIf that is intended (the export is complete and right), run again with "
            "--allow-shrink (Python: allow_shrink=True); the share a table may shrink by is "
            f"--max-shrink (now {guard.max_shrink:g})."
        )
    for table, kind, message, rows in losses:
        batch.notice(table, None, None, kind, f"accepted with --allow-shrink: {message}", rows)


def _derive(batch: ImportBatch, typed: str, problems: str, rule, snapshot: str) -> tuple[str, str]:
    """Build a table from distinct keys of another table's rows that passed the row checks
    (the first row of each key gives the values)."""
    spec = TABLES[rule.table]
    dproblems = batch._temp("problems")
    parts = [
        "min(_file) AS _file",
        "min(_row) AS _src_row",
        f"{sql_name(rule.key)} AS {sql_name(spec.key[0])}",
    ]
    for col, kind in spec.columns.items():
        if col == spec.key[0]:
            continue
        src = rule.columns.get(col)
        expr = (
            f"CAST(arg_min({sql_name(src)}, _row) AS {sql_type(kind)})"
            if src
            else f"CAST(NULL AS {sql_type(kind)})"
        )
        parts.append(f"{expr} AS {sql_name(col)}")
    parts.append(f"{NO_ISSUES} AS _issues")
    batch.created.append(snapshot)
    batch.con.execute(
        f"CREATE TABLE {snapshot} AS SELECT {', '.join(parts)} FROM {typed} t "
        f"ANTI JOIN {problems} p ON t._file = p._file AND t._row = p._row "
        f"WHERE {sql_name(rule.key)} IS NOT NULL GROUP BY {sql_name(rule.key)}"
    )
    dtyped = batch._temp("rows")
    batch.con.execute(
        f"CREATE TEMP VIEW {dtyped} AS SELECT rowid AS _rid, _file, _src_row AS _row, "
        f"{', '.join(sql_name(c) for c in spec.columns)}, _issues FROM {snapshot}"
    )
    batch.con.execute(
        f'CREATE TEMP TABLE {dproblems} (_file VARCHAR, _row BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR)'
    )
    for col in rule.columns.values():
        n = batch.con.execute(
            f"SELECT count(*) FROM (SELECT {sql_name(rule.key)} FROM {typed} WHERE {sql_name(rule.key)} IS NOT NULL "
            f"GROUP BY 1 HAVING count(DISTINCT {sql_name(col)}) > 1)"
        ).fetchone()[0]
        if n:
            batch.notice(
                rule.table,
                None,
                col,
                "derived",
                f"{n:,} {rule.table} have more than one {col} in the source; the first row's value was kept",
                n,
            )
    batch.notice(
        rule.table,
        None,
        None,
        "derived",
        f"{rule.table} derived from distinct {rule.key} values",
        0,
    )
    return dtyped, dproblems
