"""One import in progress (:class:`ImportBatch`): stage the files into DuckDB as text, type
the values, collect every row problem (kinds, ranges, dates, duplicates, foreign keys)
and the notices, all inside the import's transaction.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
import pandas as pd

from kamlib.data import readers
from kamlib.data.import_plan import PlannedTable
from kamlib.data.import_report import ImportGuard, TableCounts
from kamlib.data.import_sql import (
    DATE_FLOOR_EXEMPT,
    ENUM_COLUMNS,
    KIND_WORDS,
    MAX_TEXT_CHARS,
    clean_text,
    column_sql,
    enum_sql,
    id_columns,
    invisible_mask,
    is_id_column,
    issues_sql,
    lookup_sql,
    lost_to_sql,
    sql_literal,
    sql_name,
    sql_type,
    valid_keys_sql,
)
from kamlib.data.mapping import (
    ColumnRule,
    header_hints,
    match_headers,
)
from kamlib.data.schemas import DATE_COLUMNS, TABLES, check_bounds
from kamlib.data.text_scan import needs_no_cleaning
from kamlib.errors import (
    DataValidationError,
)
from kamlib.methodology import Methodology


# -- the batch --------------------------------------------------------------------------------
class ImportBatch:
    """One import in progress on one connection (inside one transaction)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        methodology: Methodology,
        now: pd.Timestamp,
        workdir: Path,
        guard: ImportGuard | None = None,
    ) -> None:
        self.con = con
        self.methodology = methodology
        self.now = now
        self.workdir = workdir
        self.guard = guard or ImportGuard()
        self.notices: list[dict[str, object]] = []
        self.counter = 0
        self.counts: dict[str, TableCounts] = {}
        self.created: list[str] = []  # snapshot tables this batch wrote

    def notice(
        self, table: str, file: str | None, column: str | None, kind: str, message: str, rows: int
    ) -> None:
        self.notices.append(
            {
                "table": table,
                "file": file,
                "column": column,
                "kind": kind,
                "message": message,
                "rows": rows,
            }
        )

    def _temp(self, prefix: str) -> str:
        self.counter += 1
        return f"_kam_{prefix}_{self.counter}"

    # staging and typing ----------------------------------------------------------------------
    def stage(
        self, planned: PlannedTable, encoding: str | None, *, fingerprint: bool = True
    ) -> list[tuple[readers.SourceFile, dict[str, ColumnRule]]]:
        spec = TABLES[planned.table]
        out = []
        refusals = []
        hints = header_hints()
        if planned.rule.columns:
            hints = hints | {
                s.strip().lower() for r in planned.rule.columns.values() for s in r.sources
            }
        for path in planned.files:
            window = any(r.row_number_within for r in (planned.rule.columns or {}).values())
            src = readers.stage_file(
                self.con,
                path,
                self._temp("raw"),
                encoding=encoding,
                sheet=planned.rule.sheet,
                header_hints=frozenset(hints),
                workdir=self.workdir,
                materialize=window,
                limits=self.guard.limits,
                fingerprint=fingerprint,
            )
            for note in src.notes:
                self.notice(planned.table, path.name, None, "read", f"{path.name}: {note}", 0)
            if planned.rule.columns is not None:
                rules = dict(planned.rule.columns)
                used = {s for r in rules.values() for s in r.sources}
                unused = [c for c in src.columns if c not in used]
                absent = sorted({s for r in rules.values() for s in r.sources} - set(src.columns))
                for col in absent:
                    targets = [t for t, r in rules.items() if col in r.sources]
                    refusals.append(
                        f"{path}: column '{col}' (mapped to {planned.table}.{', '.join(targets)}) "
                        f"is missing. Columns found: {', '.join(src.columns)}. Fix the mapping "
                        "or the export."
                    )
            else:
                rules, unused = match_headers(planned.table, src.columns)
            missing = [
                c for c in spec.required_columns
                if c not in rules and not (planned.table == "opportunities" and c == "status" and "stage" in rules)
            ]  # fmt: skip
            for col in missing:
                refusals.append(
                    f"{path}: required column '{col}' of {planned.table} is missing. Columns "
                    f"found: {', '.join(src.columns)}. Rename the header to '{col}', or map it "
                    "in a mapping file (--mapping FILE)."
                )
            if unused:
                self.notice(
                    planned.table,
                    path.name,
                    None,
                    "unmapped",
                    f"{path.name}: columns not imported: {', '.join(unused)}",
                    0,
                )
            out.append((src, rules))
        if refusals:
            raise DataValidationError("\n".join(refusals))
        return out

    def typed_table(
        self,
        planned: PlannedTable,
        staged: list[tuple[readers.SourceFile, dict[str, ColumnRule]]],
        snapshot: str,
        hashing: list[Future[tuple[str, int | None]]] | None = None,
    ) -> tuple[str, str]:
        """Type one canonical table's files straight into its snapshot table, one pass each.

        Every row is written once, with ``_issues`` (the row's problems; empty for good
        rows).  Returns the name of a view over the snapshot's rows (``_rid``, ``_file``,
        ``_row``, the canonical columns, ``_issues``) and of the problems table (row
        problems, then duplicate keys).  Rows with problems are deleted from the snapshot
        at the end (:meth:`drop_problem_rows`).  ``hashing`` (one per file): futures of
        :func:`readers.fingerprint_and_lines`, whose line counts spare a pass of their own.
        """
        spec = TABLES[planned.table]
        kinds = spec.columns
        problems = self._temp("problems")
        empty = []
        bases: list[tuple[str, int, int]] = []  # file, first rowid, first row number
        # a row's number in its file, for files that can say it (staged ones); files read
        # straight from disk number their rows by insertion order (no column to write)
        numbered = any(src.row_expr for src, _ in staged)
        # quarantine names a row by file and row: files with the same name (from different
        # folders) are named by their path
        names = [src.path.name for src, _ in staged]
        labels = [
            str(src.path) if names.count(src.path.name) > 1 else src.path.name for src, _ in staged
        ]
        for i, (src, rules) in enumerate(staged):
            id_raws: dict[str, str] = {}
            clean = src.text_path is not None and needs_no_cleaning(src.text_path)
            inner = (
                [f"{src.row_expr} AS _src_row"]
                if src.row_expr
                else ["CAST(NULL AS BIGINT) AS _src_row"]
            )
            for col, kind in kinds.items():
                rule = rules.get(col)
                if rule is None:
                    inner.append(f"CAST(NULL AS {sql_type(kind)}) AS {sql_name(col)}")
                    inner.append(f"CAST(NULL AS VARCHAR) AS {sql_name('_raw_' + col)}")
                    continue
                values = planned.rule.values.get(col, {})
                sql = column_sql(
                    rule,
                    kind,
                    values,
                    src.row_expr or "NULL",
                    is_id=is_id_column(col, kind),
                    clean=clean,
                )
                typed = sql.typed
                if col == "stage":
                    typed = self._stage_sql(sql.typed)
                elif planned.table == "tasks" and col == "task":
                    typed = lookup_sql(sql.typed, self._task_lookup())
                elif planned.table == "opportunities" and col == "sales_process":
                    typed = lookup_sql(sql.typed, self._process_lookup(), keep_unknown=True)
                elif planned.table == "opportunities" and col == "lost_to":
                    typed = lost_to_sql(sql.typed)
                elif kind == "text" and col in ENUM_COLUMNS:
                    typed = enum_sql(col, sql.typed, planned.table)
                inner.append(f"{typed} AS {sql_name(col)}")
                inner.append(f"{sql.raw} AS {sql_name('_raw_' + col)}")
                self._count_value_fixes(planned.table, src, col, sql.raw, values)
                if (
                    is_id_column(col, kind)
                    and not clean
                    and rule.constant is None
                    and not rule.multiply
                    and not rule.row_number_within
                ):
                    id_raws[col] = sql_name("_raw_" + col)
            if planned.table == "opportunities" and "status" not in rules and "stage" in rules:
                stage = self._stage_sql(column_sql(rules["stage"], "text", {}, "NULL").typed)
                inner = [p for p in inner if not p.endswith(f"AS {sql_name('status')}")]
                inner.append(
                    f"CASE WHEN ({stage}) IN ('won', 'lost') THEN ({stage}) "
                    f"WHEN ({stage}) IS NOT NULL THEN 'open' END AS status"
                )
            issue_list = issues_sql(self._row_checks(planned.table, rules))
            # the file as its number (the view names it): a constant string in every row
            # costs more to write than a number
            outer = (
                [f"CAST({i} AS INTEGER) AS _file_no"]
                + (["_src_row"] if numbered else [])
                + [sql_name(c) for c in kinds]
                + [f"{issue_list} AS _issues"]
            )
            outer.append(f"{invisible_mask(spec, id_raws)} AS _invisible")
            select = (
                f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {src.relation})"
            )
            # rowids inside a transaction do not start at 0: remember where this file's begin
            last = (
                -1
                if i == 0
                else self.con.execute(f"SELECT max(rowid) FROM {snapshot}").fetchone()[0]
            )
            # the file's lines (for check_rows_read) are counted while DuckDB reads it
            with ThreadPoolExecutor(max_workers=1) as pool:
                lines = (
                    None
                    if src.text_path is None
                    else readers.LineCount(hashing[i])
                    if hashing is not None
                    else pool.submit(readers.count_lines, src.text_path)
                )
                if i == 0:
                    self.created.append(snapshot)
                    self._read(src, f"CREATE TABLE {snapshot} AS {select}")
                else:
                    self._read(src, f"INSERT INTO {snapshot} {select}")
                start = self.con.execute(
                    f"SELECT min(rowid) FROM {snapshot} WHERE rowid > {last}"
                ).fetchone()[0]
                if start is None:
                    empty.append(src.path)
                elif lines is not None:
                    readers.check_rows_read(
                        src,
                        self.con.execute(
                            f"SELECT count(*) FROM {snapshot} WHERE rowid >= {start}"
                        ).fetchone()[0],
                        lines.result(),
                    )
            bases.append((labels[i], start or 0, src.header_row + 1))
        file_name = (
            "CASE _file_no "
            + " ".join(f"WHEN {n} THEN {sql_literal(f)}" for n, (f, _, _) in enumerate(bases))
            + " END"
        )
        self._notice_invisible(planned.table, snapshot, file_name)
        if empty:
            raise DataValidationError(
                "\n".join(
                    f"{path}: the file has a header but no data rows; nothing to import. Export "
                    f"it again with its data (an empty export would replace the current {planned.table})."
                    for path in empty
                )
            )
        # rows read straight from a file get their number from the insertion order
        base = " ".join(
            f"WHEN {n} THEN {first - start}" for n, (_, start, first) in enumerate(bases)
        )
        typed = self._temp("rows")
        self.con.execute(
            f"CREATE TEMP VIEW {typed} AS SELECT rowid AS _rid, {file_name} AS _file, "
            + (
                f"coalesce(_src_row, rowid + CASE _file_no {base} END) AS _row, "
                if numbered
                else f"rowid + CASE _file_no {base} END AS _row, "
            )
            + f"{', '.join(sql_name(c) for c in kinds)}, _issues FROM {snapshot}"
        )
        self.con.execute(
            f'CREATE TEMP TABLE {problems} (_file VARCHAR, _row BIGINT, "column" VARCHAR, '
            "value VARCHAR, reason VARCHAR)"
        )
        self.con.execute(
            f"""INSERT INTO {problems}
                SELECT _file, _row, i.col, i.value, i.reason
                FROM (SELECT _file, _row, unnest(_issues) AS i FROM {typed} WHERE len(_issues) > 0)"""
        )
        self._duplicate_problems(planned.table, typed, problems)
        return typed, problems

    def drop_problem_rows(self, snapshot: str, typed: str, problems: str) -> tuple[int, int, int]:
        """Delete quarantined rows from the snapshot; return (read, loaded, quarantined)."""
        read = self.con.execute(f"SELECT count(*) FROM {snapshot}").fetchone()[0]
        bad = self.con.execute(f"SELECT count(DISTINCT (_file, _row)) FROM {problems}").fetchone()[
            0
        ]
        if bad:
            self.con.execute(
                f"DELETE FROM {snapshot} WHERE rowid IN (SELECT t._rid FROM {typed} t "
                f"SEMI JOIN {problems} p ON t._file = p._file AND t._row = p._row)"
            )
        loaded = self.con.execute(f"SELECT count(*) FROM {snapshot}").fetchone()[0]
        return read, loaded, bad

    def _count_value_fixes(
        self, table: str, src: readers.SourceFile, col: str, raw: str, values: dict[str, str]
    ) -> None:
        for bad, good in values.items():
            n = self.con.execute(
                f"SELECT count(*) FROM {src.relation} WHERE trim({raw}) = ?", [bad]
            ).fetchone()[0]
            if n:
                self.notice(
                    table,
                    src.path.name,
                    col,
                    "value_fixed",
                    f"{col} '{bad}' read as '{good}' (mapping fix)",
                    n,
                )

    def _read(self, src: readers.SourceFile, sql: str) -> None:
        """Run a statement that reads ``src``; DuckDB's parallel CSV reader cannot pad short
        rows when values span lines, so such a file is read again by one thread."""
        try:
            try:
                self.con.execute(sql)
            except duckdb.Error as exc:
                if "quoted new lines" not in str(exc) or not src.relation.startswith("read_csv("):
                    raise
                self.con.execute(sql.replace(src.relation, src.relation[:-1] + ", parallel=false)"))
        except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
            raise readers.explain_read_error(src.path, exc) from exc
        except duckdb.Error as exc:
            if "CSV Error" not in str(exc):
                raise
            raise readers.explain_read_error(src.path, exc) from exc

    def _notice_invisible(self, table: str, snapshot: str, file_name: str) -> None:
        """Notice the id values from which byte-order marks / zero-width characters were
        removed (flagged per row in ``_invisible`` while the rows were written)."""
        ids = id_columns(TABLES[table])
        if not ids:
            return
        rows = self.con.execute(
            f"SELECT {file_name} AS _file, "
            + ", ".join(f"count(*) FILTER (_invisible & {1 << i} <> 0)" for i in range(len(ids)))
            + f" FROM {snapshot} WHERE _invisible <> 0 GROUP BY 1 ORDER BY 1"
        ).fetchall()
        for file, *counts in rows:
            for col, n in zip(ids, counts, strict=True):
                if n:
                    self.notice(
                        table,
                        file,
                        col,
                        "invisible_chars",
                        f"{file}: removed byte-order marks / zero-width characters from {n:,} "
                        f"{col} value(s) (e.g. a BOM glued to a row by a joined export)",
                        n,
                    )

    def _stage_sql(self, text_expr: str) -> str:
        lookup = self.methodology.stage_lookup()
        cases = " ".join(
            f"WHEN {sql_literal(k)} THEN {sql_literal(s.key)}" for k, s in lookup.items()
        )
        norm = f"trim(regexp_replace(lower({text_expr}), '[\\s_]+', ' ', 'g'))"
        return f"CASE {norm} {cases} END"

    def _task_lookup(self) -> dict[str, str]:
        """Spellings of the methodology's task codes → code (empty without playbooks)."""
        playbooks = self.methodology.playbooks
        return {} if playbooks is None else playbooks.task_lookup()

    def _process_lookup(self) -> dict[str, str]:
        playbooks = self.methodology.playbooks
        return {} if playbooks is None else playbooks.process_lookup()

    def _sales_process_checks(
        self, table: str, rules: dict[str, ColumnRule]
    ) -> list[tuple[str, str, str, str]]:
        """Tasks: an unknown task code, a task done before it was created."""
        if table != "tasks":
            return []
        checks = []
        if "task" in rules:
            playbooks = self.methodology.playbooks
            if playbooks is None:
                known = (
                    "the methodology file has no playbooks section; add one (copy kamlib's "
                    "default, or start the file with extends: default)"
                )
            else:
                known = (
                    f"known: {', '.join(sorted(playbooks.task_codes))}; add it to the tasks "
                    "of the methodology file's playbooks, or map the export's codes"
                )
            checks.append(
                (
                    "task",
                    f"{clean_text('_raw_task')} IS NOT NULL AND task IS NULL",
                    f"'unknown task code: ' || _raw_task || {sql_literal(' (' + known + ')')}",
                    "_raw_task",
                )
            )
        if "done_date" in rules and "created_date" in rules:
            checks.append(
                (
                    "done_date",
                    "done_date < created_date",
                    "'done before created: done_date ' || _raw_done_date || ' is before "
                    "created_date ' || _raw_created_date || ' (fix one of the dates)'",
                    "_raw_done_date",
                )
            )
        return checks

    def _row_checks(
        self, table: str, rules: dict[str, ColumnRule]
    ) -> list[tuple[str, str, str, str]]:
        """(column, condition, reason, value shown) for every check of a single row."""
        spec = TABLES[table]
        kinds = spec.columns
        bounds = check_bounds(spec)
        checks: list[tuple[str, str, str, str]] = []
        for col, rule in rules.items():
            kind = kinds[col]
            raw = sql_name("_raw_" + col)
            if kind != "text":
                present = (
                    f"strpos({raw}, '∅') = 0"
                    if rule.multiply
                    else f"{raw} IS NOT NULL AND trim({raw}) <> ''"
                )  # the cheap test first: most rows stop at it
                checks.append(
                    (
                        col,
                        f"{sql_name(col)} IS NULL AND {present}",
                        f"'not {KIND_WORDS[kind]}: ' || {raw}",
                        raw,
                    )
                )
        for col in spec.required_columns:
            if table == "opportunities" and col == "status":
                continue  # derived from the stage when absent; the stage's own checks report
            raw = sql_name("_raw_" + col)
            checks.append(
                (
                    col,
                    f"{sql_name(col)} IS NULL AND ({raw} IS NULL OR trim({raw}) = '')",
                    f"'required value missing: {col} is empty'",
                    raw,
                )
            )
        for col, kind in kinds.items():
            if col not in rules or kind != "number":
                continue
            raw = sql_name("_raw_" + col)
            checks.append(
                (
                    col,
                    f"NOT isfinite({sql_name(col)})",
                    f"'not a finite number: ' || {raw} || ' (NaN, infinity or beyond ±1.8e308)'",
                    raw,
                )
            )
        floor = pd.Timestamp(self.guard.date_floor)
        for col, kind in kinds.items():
            if (
                col not in rules
                or kind not in ("date", "timestamp")
                or (table, col) in DATE_FLOOR_EXEMPT
            ):
                continue
            raw = sql_name("_raw_" + col)
            limit = sql_literal(floor.date()) + ("::DATE" if kind == "date" else "::TIMESTAMP")
            checks.append(
                (
                    col,
                    f"{sql_name(col)} < {limit}",
                    f"'date before the floor: ' || {raw} || ' (earlier than {floor:%Y-%m-%d}; a "
                    "placeholder date? Fix it, or lower the floor with --date-floor)'",
                    raw,
                )
            )
        for col, kind in kinds.items():
            if col not in rules:
                continue
            b = bounds.get(col, {})
            raw = sql_name("_raw_" + col)
            if "ge" in b:
                checks.append(
                    (
                        col,
                        f"{sql_name(col)} < {b['ge']}",
                        f"'below the minimum {b['ge']}: ' || {raw}",
                        raw,
                    )
                )
            if "le" in b:
                checks.append(
                    (
                        col,
                        f"{sql_name(col)} > {b['le']}",
                        f"'above the maximum {b['le']}: ' || {raw}",
                        raw,
                    )
                )
            if "isin" in b:
                allowed = ", ".join(sql_literal(v) for v in b["isin"])
                checks.append(
                    (
                        col,
                        f"{sql_name(col)} IS NOT NULL AND {sql_name(col)} NOT IN ({allowed})",
                        f"'not an allowed value: ' || {raw} || ' (allowed: {', '.join(map(str, b['isin']))})'",
                        raw,
                    )
                )
            if kind == "text":
                checks.append(
                    (
                        col,
                        f"strlen({raw}) > {MAX_TEXT_CHARS} AND length({raw}) > {MAX_TEXT_CHARS}",
                        f"'text too long: ' || length({raw}) || ' characters (limit {MAX_TEXT_CHARS:,}); a broken export?'",
                        raw,
                    )
                )
        if "stage" in rules:
            known = ", ".join(sorted({s.key for s in self.methodology.stages}))
            checks.append(
                (
                    "stage",
                    f"{clean_text('_raw_stage')} IS NOT NULL AND stage IS NULL",
                    f"'unknown stage: ' || _raw_stage || ' (known: {known}); add it to the stage aliases of the methodology file'",
                    "_raw_stage",
                )
            )
        checks += self._sales_process_checks(table, rules)
        if table == "opportunities" and "status" in rules:
            checks.append(
                (
                    "status",
                    "status IS NOT NULL AND stage IS NOT NULL AND ((stage IN ('won', 'lost') AND status <> stage) OR (stage NOT IN ('won', 'lost') AND status <> 'open'))",
                    "'status contradicts stage: status ' || status || ', stage ' || stage",
                    "_raw_status",
                )
            )
        for col in spec.past_columns:
            if col not in rules:
                continue
            limit = (
                sql_literal(self.now.date()) + "::DATE"
                if col in DATE_COLUMNS
                else sql_literal(self.now) + "::TIMESTAMP"
            )
            raw = sql_name("_raw_" + col)
            checks.append(
                (
                    col,
                    f"{sql_name(col)} > {limit}",
                    f"'date in the future: ' || {raw} || ' (after the import date {self.now:%Y-%m-%d})'",
                    raw,
                )
            )
        return checks

    def _duplicate_problems(self, table: str, typed: str, problems: str) -> None:
        """Duplicate keys: the first occurrence loads, later ones are quarantined."""
        key = list(TABLES[table].key)
        keys = ", ".join(sql_name(c) for c in key)
        shown = " || ', ' || ".join(f"coalesce(CAST({sql_name(c)} AS VARCHAR), '')" for c in key)
        not_null = " AND ".join(f"{sql_name(c)} IS NOT NULL" for c in key)
        # as many distinct 64-bit hashes of the key as rows: no key twice (a hash set is
        # cheaper than grouping by the key: 10M order lines 0.5 s against 0.65 s)
        if self.con.execute(
            f"SELECT count(*) = count(DISTINCT hash({keys})) FROM {typed} WHERE {not_null}"
        ).fetchone()[0]:
            return
        # find duplicated keys with a hash aggregate first; rank only those rows
        self.con.execute(
            f"""INSERT INTO {problems}
                WITH dup AS (SELECT {keys} FROM {typed} WHERE {not_null}
                             GROUP BY {keys} HAVING count(*) > 1)
                SELECT _file, _row, {sql_literal("+".join(key))}, left({shown}, 200),
                       'duplicate key: ({", ".join(key)}) = (' || {shown} || '), first seen in '
                       || first_file || ' row ' || first_row
                FROM (SELECT *, row_number() OVER w AS n,
                             first_value(_file) OVER w AS first_file,
                             first_value(_row) OVER w AS first_row
                      FROM {typed} SEMI JOIN dup USING ({keys})
                      WINDOW w AS (PARTITION BY {keys} ORDER BY _file, _row))
                WHERE n > 1"""
        )

    def check_foreign_keys(
        self, table: str, typed: str, problems: str, valid: dict[str, str]
    ) -> None:
        """Unknown references → quarantine.  ``valid`` maps table → SQL of its loadable keys."""
        spec = TABLES[table]
        for fk in spec.foreign_keys:
            if fk.table == table:
                continue  # self references: checked after the table is known (below)
            parent = valid.get(fk.table)
            if parent is None:
                if fk.table == "accounts":
                    raise DataValidationError(
                        f"{table} refers to accounts, but neither this import nor the store has "
                        "an accounts table. Import accounts.csv together with it (accounts and "
                        "orders are the required tables)."
                    )
                self.notice(
                    table,
                    None,
                    fk.column,
                    "unchecked",
                    f"{fk.column} not checked: no {fk.table} table imported",
                    0,
                )
                continue
            self._fk_problems(typed, problems, fk.column, parent, f"unknown {_one(fk.table)}")
        for fk in spec.foreign_keys:
            if fk.table == table:
                own = valid_keys_sql(table, typed, problems)
                self._fk_problems(typed, problems, fk.column, own, f"unknown {_one(fk.table)}")
                if table == "accounts":
                    self._parent_cycles(typed, problems)

    def _fk_problems(
        self, typed: str, problems: str, column: str, parent_sql: str, what: str
    ) -> None:
        self.con.execute(
            f"""INSERT INTO {problems}
                SELECT t._file, t._row, {sql_literal(column)}, left(t.{sql_name(column)}, 200),
                       '{what}: ' || t.{sql_name(column)} || ' (not in {_many(what)})'
                FROM {typed} t ANTI JOIN ({parent_sql}) p ON t.{sql_name(column)} = p.k
                WHERE t.{sql_name(column)} IS NOT NULL"""
        )

    def _parent_cycles(self, typed: str, problems: str) -> None:
        pairs = self.con.execute(
            f"SELECT account_id, parent_account_id, _file, _row FROM {typed} "
            "WHERE parent_account_id IS NOT NULL AND account_id IS NOT NULL"
        ).fetchall()
        parent = {a: p for a, p, _, _ in pairs}
        where = {a: (f, r) for a, _, f, r in pairs}
        bad = set()
        for start in parent:
            seen, node = [], start
            while node in parent and node not in seen:
                seen.append(node)
                node = parent[node]
            if node in seen:
                bad.update(seen[seen.index(node) :])
        for acc in sorted(bad):
            f, r = where[acc]
            self.con.execute(
                f"INSERT INTO {problems} VALUES (?, ?, 'parent_account_id', ?, ?)",
                [
                    f,
                    r,
                    parent[acc],
                    f"group hierarchy cycle: {acc} → {parent[acc]} leads back to {acc}",
                ],
            )

    def notices_for_rows(self, table: str, typed: str, problems: str) -> None:
        """Count what loads but deserves a word (one scan of the table's rows)."""
        spec = TABLES[table]
        counts = {
            f"negative:{col}": f"count(*) FILTER ({sql_name(col)} < 0)"
            for col in spec.flag_negative
        }
        if table == "opportunities":
            counts["no_account"] = "count(*) FILTER (account_id IS NULL)"
            keys = ", ".join(sql_literal(k) for k in set(self._process_lookup().values()))
            known = f"sales_process NOT IN ({keys})" if keys else "true"
            counts["unknown_process"] = f"count(*) FILTER (sales_process IS NOT NULL AND {known})"
            counts["lost_to_not_lost"] = (
                "count(*) FILTER (lost_to IS NOT NULL AND status IS DISTINCT FROM 'lost')"
            )
        if table == "orders":
            counts["zero_amount"] = "count(*) FILTER (amount = 0)"
        if not counts:
            return
        # counted over loaded rows, except opportunities without account: counted whole
        ok = "p._row IS NULL"
        select = [
            (sql if k == "no_account" else f"{sql[:-1]} AND {ok})") + f" AS {sql_name(k)}"
            for k, sql in counts.items()
        ]
        if table == "opportunities":
            select.append(f"count(*) FILTER (account_id IS NULL AND {ok}) AS no_account_loaded")
        rows = self.con.execute(
            f"SELECT {', '.join(select)} FROM {typed} t "
            f"LEFT JOIN (SELECT DISTINCT _file, _row FROM {problems}) p "
            "ON t._file = p._file AND t._row = p._row"
        ).fetchone()
        found = dict(zip([*counts, "no_account_loaded"], rows, strict=False))
        for col in spec.flag_negative:
            n = found[f"negative:{col}"]
            if n:
                self.notice(
                    table,
                    None,
                    col,
                    "negative",
                    f"{n:,} {table} rows with negative {col} (returns / credit notes) loaded and flagged",
                    n,
                )
        if found.get("no_account"):
            total, n = found["no_account"], found["no_account_loaded"]
            self.notice(
                table,
                None,
                "account_id",
                "missing_account",
                f"{total:,} opportunities have no account; {n:,} of them loaded (they "
                "count in the funnel, in no account's view), the rest are quarantined "
                "for other reasons",
                total,
            )
        if found.get("unknown_process"):
            n = found["unknown_process"]
            examples = self.con.execute(
                f"SELECT DISTINCT sales_process FROM {typed} WHERE sales_process IS NOT NULL "
                "ORDER BY 1 LIMIT 200"
            ).fetchall()
            lookup = set(self._process_lookup().values())
            names = [v for (v,) in examples if v not in lookup][:5]
            self.notice(
                table,
                None,
                "sales_process",
                "unknown_process",
                f"{n:,} opportunities have a sales process the methodology's playbooks do not "
                f"list ({', '.join(names)}): loaded as written; no playbook applies to them. "
                "Add the spelling to a process's aliases in the methodology file.",
                n,
            )
        if found.get("lost_to_not_lost"):
            n = found["lost_to_not_lost"]
            self.notice(
                table,
                None,
                "lost_to",
                "lost_to_not_lost",
                f"{n:,} opportunities name whom they were lost to but are not lost: loaded; "
                "lost_to counts only on lost deals",
                n,
            )
        if found.get("zero_amount"):
            n = found["zero_amount"]
            self.notice(table, None, "amount", "zero", f"{n:,} order lines with amount 0 loaded", n)


def _one(table: str) -> str:
    """One row of ``table`` in words: ``opportunities`` → ``opportunity``, ``accounts`` →
    ``account``, ``plan_items`` → ``plan item``."""
    word = table[:-3] + "y" if table.endswith("ies") else table[:-1]
    return word.replace("_", " ")


def _many(what: str) -> str:
    """``unknown opportunity`` → ``opportunities`` (the table a reference was not found in)."""
    word = what.split(" ", 1)[1]
    return word[:-1] + "ies" if word.endswith("y") else word + "s"
