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
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from kamlib import __version__
from kamlib.data import readers
from kamlib.data.mapping import (
    ColumnRule,
    FileMapping,
    Mapping,
    header_hints,
    load_mapping,
    load_preset,
    match_headers,
    table_for_file,
)
from kamlib.data.schemas import DATE_COLUMNS, LOAD_ORDER, TABLES, check_bounds
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

#: Longest text accepted in one cell; longer values are quarantined (likely a broken export).
MAX_TEXT_CHARS = 100_000
#: Problems kept in an ImportReport's ``to_dict()`` (all are in the store's quarantine table).
MAX_REPORTED_PROBLEMS = 1000
#: An import that would leave a table with more than this share fewer rows than its current
#: snapshot is refused unless ``allow_shrink`` (``--allow-shrink``); ``--max-shrink`` sets it.
MAX_SHRINK = 0.5
#: Dates before this day are quarantined ("before the date floor"); ``--date-floor`` sets it.
#: ``accounts.created_date`` (when a customer was founded) is exempt.
DATE_FLOOR = "1970-01-01"
DATE_FLOOR_EXEMPT = frozenset({("accounts", "created_date")})
#: Invisible characters removed from id columns (``*_id``): byte-order marks and zero-width
#: spaces/joiners that an export glued to a value.
INVISIBLE_CHARS = "\ufeff\u200b\u200c\u200d\u2060"

DATE_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y年%m月%d日 %H:%M", "%Y年%m月%d日 %H:%M:%S",
)  # fmt: skip

#: Source spellings of enumerated values (after lower-casing), per canonical value.
VALUE_ALIASES: dict[str, dict[str, str]] = {
    "buying_role": {
        "经济决策者": "economic", "决策者": "economic", "economic buyer": "economic",
        "技术决策者": "technical", "技术把关者": "technical", "technical buyer": "technical",
        "使用者": "user", "用户": "user", "user buyer": "user", "教练": "coach",
        "内线": "coach", "把关者": "gatekeeper", "其他": "other",
    },
    "reaction_mode": {
        "增长": "growth", "成长": "growth", "麻烦": "trouble", "困境": "trouble",
        "平稳": "even_keel", "even keel": "even_keel", "过度自信": "overconfident",
    },
    "status": {
        "进行中": "open", "跟进中": "open", "赢单": "won", "成交": "won", "输单": "lost",
        "丢单": "lost", "完成": "done", "已完成": "done", "取消": "dropped", "放弃": "dropped",
    },
    "ownership": {
        "国有": "state", "国企": "state", "民营": "private", "私营": "private", "外资": "foreign",
        "合资": "jv", "上市": "listed", "集体": "collective", "其他": "other",
    },
    "level": {"公司": "company", "团队": "team", "经理": "manager", "客户": "account"},
    "type": {
        "拜访": "visit", "电话": "call", "会议": "meeting", "联合经营会议": "joint_business_meeting",
        "joint business meeting": "joint_business_meeting", "季度业务回顾": "qbr",
        "邮件": "email", "其他": "other",
    },
}  # fmt: skip
TRUE_WORDS = ("true", "t", "yes", "y", "1", "是", "已升级", "x")
FALSE_WORDS = ("false", "f", "no", "n", "0", "否", "未升级", "")


@dataclass(frozen=True)
class TableCounts:
    """Rows of one table in one import; ``read == loaded + quarantined`` always."""

    read: int
    loaded: int
    quarantined: int
    files: tuple[str, ...]
    status: str  # loaded / unchanged

    def to_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "files": list(self.files),
            "status": self.status,
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import did.  ``problems`` are the quarantined rows' reasons."""

    batch_id: int | None
    status: str  # loaded / unchanged
    store: str
    tables: dict[str, TableCounts]
    problems: pd.DataFrame = field(repr=False)
    notices: pd.DataFrame = field(repr=False)

    @property
    def reconciles(self) -> bool:
        return all(c.read == c.loaded + c.quarantined for c in self.tables.values())

    def to_frame(self) -> pd.DataFrame:
        """One row per table: read, loaded, quarantined, status, files."""
        return pd.DataFrame(
            [{"table": t, **c.to_dict()} for t, c in self.tables.items()],
            columns=["table", "read", "loaded", "quarantined", "status", "files"],
        )

    def problem_summary(self) -> pd.DataFrame:
        """Quarantine entries counted by table, column and check, with an example reason."""
        if self.problems.empty:
            return pd.DataFrame(columns=["table", "column", "check", "rows", "example"])
        return (
            self.problems.groupby(["table", "column", "check"], sort=False)
            .agg(rows=("row", "size"), example=("reason", "first"))
            .reset_index()
            .sort_values("rows", ascending=False, kind="stable")
        )

    def to_dict(self, *, max_problems: int = MAX_REPORTED_PROBLEMS) -> dict[str, object]:
        problems = self.problems.head(max_problems)
        return {
            "batch": self.batch_id,
            "status": self.status,
            "store": self.store,
            "tables": {t: c.to_dict() for t, c in self.tables.items()},
            "problems_total": len(self.problems),
            "problems": [
                {k: (None if pd.isna(v) else v) for k, v in row.items()}
                for row in problems[["table", "file", "row", "column", "value", "reason", "check"]]
                .astype(object)
                .to_dict("records")
            ],
            "notices": self.notices.astype(object).where(self.notices.notna(), None).to_dict("records"),
        }


@dataclass(frozen=True)
class ImportGuard:
    """What an import may do to the tables it replaces, and its read limits.

    ``allow_shrink`` accepts an import that empties a table, leaves it more than
    ``max_shrink`` (a share, 0–1) smaller than now, or orphans rows of tables it does not
    replace; accepted ones are listed as notices (kind ``shrink`` / ``orphaned``).
    ``date_floor``: dates before it are quarantined.  ``limits``: spreadsheet read limits.
    """

    allow_shrink: bool = False
    max_shrink: float = MAX_SHRINK
    date_floor: str | pd.Timestamp = DATE_FLOOR
    limits: readers.ReadLimits = field(default_factory=lambda: readers.ReadLimits())

    @property
    def fingerprint_extra(self) -> str:
        """What changes which rows load (part of a table's fingerprint; empty by default,
        so stores imported before the floor existed keep their fingerprints)."""
        floor = pd.Timestamp(self.date_floor)
        return "" if floor == pd.Timestamp(DATE_FLOOR) else f"floor={floor:%Y-%m-%d}"

    def __post_init__(self) -> None:
        if not 0 <= self.max_shrink <= 1:
            raise ConfigError(
                f"max_shrink must be a share between 0 and 1 (0.5 = refuse losing more than "
                f"half of a table). Got {self.max_shrink!r} instead."
            )
        try:
            pd.Timestamp(self.date_floor)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"date_floor must be a date like 1970-01-01. Got {self.date_floor!r} instead."
            ) from exc


# -- planning: which file is which table -------------------------------------------------------
@dataclass
class _Planned:
    table: str
    files: list[Path]
    rule: FileMapping


def _expand(paths: Sequence[str | Path]) -> tuple[list[Path], list[Path]]:
    """Named files and the files of named folders (those may contain unrelated files)."""
    named, in_folders = [], []
    for p in map(Path, paths):
        if p.is_dir():
            in_folders.extend(sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")))
        else:
            named.append(p)
    return named, in_folders


def _plan(
    paths: Sequence[str | Path], mapping: Mapping | None
) -> tuple[list[_Planned], list[tuple[Path, str]]]:
    named, in_folders = _expand(paths)
    ignored: list[tuple[Path, str]] = []
    planned: dict[int, _Planned] = {}
    missing = [p for p in named if not p.exists()]
    if missing:
        raise DataValidationError(
            f"{missing[0]}: file not found. Check the path (it is read relative to {Path.cwd()})."
        )
    candidates = named + in_folders
    for path in candidates:
        if mapping is not None:
            hits = [
                i for i, fm in enumerate(mapping.files)
                if fm.pattern and fnmatch.fnmatch(path.name, fm.pattern)
            ]  # fmt: skip
            if not hits:
                _unplaced(path, path in named, ignored, f"no entry of mapping '{mapping.name}' matches it")
                continue
            for i in hits:
                planned.setdefault(i, _Planned(mapping.files[i].table, [], mapping.files[i]))
                planned[i].files.append(path)
        else:
            table = table_for_file(path)
            if table is None:
                _unplaced(
                    path, path in named, ignored,
                    "its name is not a canonical table (accounts.csv, orders.xlsx, …)",
                )
                continue
            key = LOAD_ORDER.index(table)
            planned.setdefault(key, _Planned(table, [], FileMapping(table, None, None)))
            planned[key].files.append(path)
    return [planned[k] for k in sorted(planned)], ignored


def _unplaced(path: Path, named: bool, ignored: list[tuple[Path, str]], why: str) -> None:
    if named and readers.file_kind(path):
        raise DataValidationError(
            f"{path}: kamlib cannot tell which table this file holds ({why}). Rename it after "
            "its table (e.g. orders.csv) or import it with --mapping FILE / --preset NAME."
        )
    ignored.append((path, why))


# -- SQL building blocks --------------------------------------------------------------------------
def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _clean_text(expr: str) -> str:
    return f"NULLIF(trim({expr}), '')"


def _number(expr: str) -> str:
    # the plain cast first; thousands separators and currency signs only when it fails
    # (COALESCE evaluates its second argument only for the rows where the first is NULL)
    return (
        f"coalesce(TRY_CAST({expr} AS DOUBLE), "
        f"TRY_CAST(regexp_replace(trim({expr}), '[,\\s¥￥$€£]', '', 'g') AS DOUBLE))"
    )


def _datetime(expr: str, fmt: str | None) -> str:
    if fmt:
        return f"try_strptime(trim({expr}), {_lit(fmt)})"
    fmts = "[" + ", ".join(_lit(f) for f in DATE_FORMATS) + "]"
    return f"coalesce(TRY_CAST({expr} AS TIMESTAMP), try_strptime(trim({expr}), {fmts}))"


@dataclass
class _ColumnSQL:
    typed: str  # typed value
    raw: str  # the source text shown in quarantine


def _column_sql(
    rule: ColumnRule, kind: str, values: dict[str, str], row_expr: str, *, is_id: bool = False
) -> _ColumnSQL:
    if rule.constant is not None:
        raw = _lit(rule.constant)
    elif rule.row_number_within:
        raw = f"CAST(row_number() OVER (PARTITION BY {_q(rule.row_number_within)} ORDER BY {row_expr}) AS VARCHAR)"
    elif rule.multiply:
        raw = " || ' × ' || ".join(f"coalesce({_q(c)}, '∅')" for c in rule.multiply)
    else:
        raw = _q(rule.source or rule.target)
    text = _clean_text(f"translate({raw}, {_lit(INVISIBLE_CHARS)}, '')" if is_id else raw)
    if values:
        cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in values.items())
        text = f"CASE {text} {cases} ELSE {text} END"
    if rule.multiply:
        typed = " * ".join(_number(_q(c)) for c in rule.multiply)
        return _ColumnSQL(typed, raw)
    if kind == "text":
        typed = text
    elif kind == "number":
        typed = _number(text)
        if rule.scale:
            typed = f"({typed}) * {rule.scale!r}"
    elif kind == "integer":
        num = _number(text)
        typed = (
            f"CASE WHEN isfinite({num}) AND abs({num}) < 9.2e18 AND {num} = floor({num}) "
            f"THEN CAST({num} AS BIGINT) END"
        )
    elif kind == "date":
        typed = f"CAST({_datetime(text, rule.date_format)} AS DATE)"
    elif kind == "timestamp":
        typed = _datetime(text, rule.date_format)
    elif kind == "flag":
        low = f"lower({text})"
        t = ", ".join(_lit(w) for w in TRUE_WORDS)
        f = ", ".join(_lit(w) for w in FALSE_WORDS)
        typed = f"CASE WHEN {low} IN ({t}) THEN true WHEN {low} IN ({f}) THEN false END"
    else:  # pragma: no cover
        raise AssertionError(kind)
    return _ColumnSQL(typed, raw)


_KIND_WORDS = {
    "number": "a number",
    "integer": "a whole number",
    "date": "a date (YYYY-MM-DD)",
    "timestamp": "a date and time (YYYY-MM-DD HH:MM)",
    "flag": "yes/no",
}


# -- the import --------------------------------------------------------------------------------
class _Batch:
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

    def notice(self, table: str, file: str | None, column: str | None, kind: str, message: str, rows: int) -> None:
        self.notices.append(
            {"table": table, "file": file, "column": column, "kind": kind, "message": message, "rows": rows}
        )

    def _temp(self, prefix: str) -> str:
        self.counter += 1
        return f"_kam_{prefix}_{self.counter}"

    # staging and typing ----------------------------------------------------------------------
    def stage(self, planned: _Planned, encoding: str | None) -> list[tuple[readers.SourceFile, dict[str, ColumnRule]]]:
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
                self.con, path, self._temp("raw"), encoding=encoding, sheet=planned.rule.sheet,
                header_hints=frozenset(hints), workdir=self.workdir, materialize=window,
                limits=self.guard.limits,
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
                    planned.table, path.name, None, "unmapped",
                    f"{path.name}: columns not imported: {', '.join(unused)}", 0,
                )
            out.append((src, rules))
        if refusals:
            raise DataValidationError("\n".join(refusals))
        return out

    def typed_table(
        self,
        planned: _Planned,
        staged: list[tuple[readers.SourceFile, dict[str, ColumnRule]]],
        snapshot: str,
    ) -> tuple[str, str]:
        """Type one canonical table's files straight into its snapshot table, one pass each.

        Every row is written once, with ``_issues`` (the row's problems; empty for good
        rows).  Returns the name of a view over the snapshot's rows (``_rid``, ``_file``,
        ``_row``, the canonical columns, ``_issues``) and of the problems table (row
        problems, then duplicate keys).  Rows with problems are deleted from the snapshot
        at the end (:meth:`drop_problem_rows`).
        """
        spec = TABLES[planned.table]
        kinds = spec.columns
        problems = self._temp("problems")
        empty = []
        bases: list[tuple[str, int, int]] = []  # file, first rowid, first row number
        for i, (src, rules) in enumerate(staged):
            id_raws: dict[str, str] = {}
            inner = [f"{src.row_expr} AS _src_row"] if src.row_expr else ["CAST(NULL AS BIGINT) AS _src_row"]
            for col, kind in kinds.items():
                rule = rules.get(col)
                if rule is None:
                    inner.append(f"CAST(NULL AS {_sql_type(kind)}) AS {_q(col)}")
                    inner.append(f"CAST(NULL AS VARCHAR) AS {_q('_raw_' + col)}")
                    continue
                values = planned.rule.values.get(col, {})
                sql = _column_sql(rule, kind, values, src.row_expr or "NULL", is_id=_is_id(col, kind))
                typed = sql.typed
                if col == "stage":
                    typed = self._stage_sql(sql.typed)
                elif kind == "text" and col in ENUM_COLUMNS:
                    typed = _enum_sql(col, sql.typed)
                inner.append(f"{typed} AS {_q(col)}")
                inner.append(f"{sql.raw} AS {_q('_raw_' + col)}")
                self._count_value_fixes(planned.table, src, col, sql.raw, values)
                if _is_id(col, kind) and rule.constant is None and not rule.multiply and not rule.row_number_within:
                    id_raws[col] = _q("_raw_" + col)
            if planned.table == "opportunities" and "status" not in rules and "stage" in rules:
                stage = self._stage_sql(_column_sql(rules["stage"], "text", {}, "NULL").typed)
                inner = [p for p in inner if not p.endswith(f"AS {_q('status')}")]
                inner.append(
                    f"CASE WHEN ({stage}) IN ('won', 'lost') THEN ({stage}) "
                    f"WHEN ({stage}) IS NOT NULL THEN 'open' END AS status"
                )
            checks = self._row_checks(planned.table, rules)
            issues = [
                f"CASE WHEN {cond} THEN struct_pack(col := {_lit(col)}, "
                f"value := left(CAST({value} AS VARCHAR), 200), reason := {reason}) END"
                for col, cond, reason, value in checks
            ]
            # the list is only built for rows that fail a check (CASE short-circuits)
            any_bad = " OR ".join(f"coalesce({cond}, false)" for _, cond, _, _ in checks) or "false"
            issue_list = (
                f"CASE WHEN {any_bad} THEN [x FOR x IN [{', '.join(issues)}] IF x IS NOT NULL] "
                f"ELSE {NO_ISSUES} END" if issues else NO_ISSUES
            )  # fmt: skip
            outer = [f"{_lit(src.path.name)} AS _file", "_src_row"] + [_q(c) for c in kinds] + [f"{issue_list} AS _issues"]
            outer.append(f"{_invisible_mask(spec, id_raws)} AS _invisible")
            select = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {src.relation})"
            # rowids inside a transaction do not start at 0: remember where this file's begin
            last = -1 if i == 0 else self.con.execute(f"SELECT max(rowid) FROM {snapshot}").fetchone()[0]
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
            elif src.text_path is not None:
                readers.check_rows_read(
                    src, self.con.execute(f"SELECT count(*) FROM {snapshot} WHERE rowid >= {start}").fetchone()[0]
                )
            bases.append((src.path.name, start or 0, src.header_row + 1))
        self._notice_invisible(planned.table, snapshot)
        if empty:
            raise DataValidationError(
                "\n".join(
                    f"{path}: the file has a header but no data rows; nothing to import. Export "
                    f"it again with its data (an empty export would replace the current {planned.table})."
                    for path in empty
                )
            )
        # rows read straight from a file get their number from the insertion order
        base = " ".join(f"WHEN {_lit(f)} THEN {first - start}" for f, start, first in bases)
        typed = self._temp("rows")
        self.con.execute(
            f"CREATE TEMP VIEW {typed} AS SELECT rowid AS _rid, _file, "
            f"coalesce(_src_row, rowid + CASE _file {base} END) AS _row, "
            f"{', '.join(_q(c) for c in kinds)}, _issues FROM {snapshot}"
        )
        self.con.execute(
            f"CREATE TEMP TABLE {problems} (_file VARCHAR, _row BIGINT, \"column\" VARCHAR, "
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
        bad = self.con.execute(f"SELECT count(DISTINCT (_file, _row)) FROM {problems}").fetchone()[0]
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
                self.notice(table, src.path.name, col, "value_fixed",
                            f"{col} '{bad}' read as '{good}' (mapping fix)", n)

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

    def _notice_invisible(self, table: str, snapshot: str) -> None:
        """Notice the id values from which byte-order marks / zero-width characters were
        removed (flagged per row in ``_invisible`` while the rows were written)."""
        ids = _id_columns(TABLES[table])
        if not ids:
            return
        rows = self.con.execute(
            "SELECT _file, " + ", ".join(
                f"count(*) FILTER (_invisible & {1 << i} <> 0)" for i in range(len(ids))
            ) + f" FROM {snapshot} WHERE _invisible <> 0 GROUP BY _file ORDER BY _file"
        ).fetchall()
        for file, *counts in rows:
            for col, n in zip(ids, counts, strict=True):
                if n:
                    self.notice(
                        table, file, col, "invisible_chars",
                        f"{file}: removed byte-order marks / zero-width characters from {n:,} "
                        f"{col} value(s) (e.g. a BOM glued to a row by a joined export)", n,
                    )

    def _stage_sql(self, text_expr: str) -> str:
        lookup = self.methodology.stage_lookup()
        cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(s.key)}" for k, s in lookup.items())
        norm = f"trim(regexp_replace(lower({text_expr}), '[\\s_]+', ' ', 'g'))"
        return f"CASE {norm} {cases} END"

    def _row_checks(self, table: str, rules: dict[str, ColumnRule]) -> list[tuple[str, str, str, str]]:
        """(column, condition, reason, value shown) for every check of a single row."""
        spec = TABLES[table]
        kinds = spec.columns
        bounds = check_bounds(spec)
        checks: list[tuple[str, str, str, str]] = []
        for col, rule in rules.items():
            kind = kinds[col]
            raw = _q("_raw_" + col)
            if kind != "text":
                present = (
                    f"strpos({raw}, '∅') = 0" if rule.multiply else f"{raw} IS NOT NULL AND trim({raw}) <> ''"
                )  # the cheap test first: most rows stop at it
                checks.append(
                    (col, f"{_q(col)} IS NULL AND {present}", f"'not {_KIND_WORDS[kind]}: ' || {raw}", raw)
                )
        for col in spec.required_columns:
            if table == "opportunities" and col == "status":
                continue  # derived from the stage when absent; the stage's own checks report
            raw = _q("_raw_" + col)
            checks.append(
                (col, f"{_q(col)} IS NULL AND ({raw} IS NULL OR trim({raw}) = '')",
                 f"'required value missing: {col} is empty'", raw)
            )
        for col, kind in kinds.items():
            if col not in rules or kind != "number":
                continue
            raw = _q("_raw_" + col)
            checks.append(
                (col, f"NOT isfinite({_q(col)})",
                 f"'not a finite number: ' || {raw} || ' (NaN, infinity or beyond ±1.8e308)'", raw)
            )
        floor = pd.Timestamp(self.guard.date_floor)
        for col, kind in kinds.items():
            if col not in rules or kind not in ("date", "timestamp") or (table, col) in DATE_FLOOR_EXEMPT:
                continue
            raw = _q("_raw_" + col)
            limit = _lit(floor.date()) + ("::DATE" if kind == "date" else "::TIMESTAMP")
            checks.append(
                (col, f"{_q(col)} < {limit}",
                 f"'date before the floor: ' || {raw} || ' (earlier than {floor:%Y-%m-%d}; a "
                 "placeholder date? Fix it, or lower the floor with --date-floor)'", raw)
            )
        for col, kind in kinds.items():
            if col not in rules:
                continue
            b = bounds.get(col, {})
            raw = _q("_raw_" + col)
            if "ge" in b:
                checks.append((col, f"{_q(col)} < {b['ge']}", f"'below the minimum {b['ge']}: ' || {raw}", raw))
            if "le" in b:
                checks.append((col, f"{_q(col)} > {b['le']}", f"'above the maximum {b['le']}: ' || {raw}", raw))
            if "isin" in b:
                allowed = ", ".join(_lit(v) for v in b["isin"])
                checks.append(
                    (col, f"{_q(col)} IS NOT NULL AND {_q(col)} NOT IN ({allowed})",
                     f"'not an allowed value: ' || {raw} || ' (allowed: {', '.join(map(str, b['isin']))})'", raw)
                )
            if kind == "text":
                checks.append(
                    (col, f"strlen({raw}) > {MAX_TEXT_CHARS} AND length({raw}) > {MAX_TEXT_CHARS}",
                     f"'text too long: ' || length({raw}) || ' characters (limit {MAX_TEXT_CHARS:,}); a broken export?'", raw)
                )
        if "stage" in rules:
            known = ", ".join(sorted({s.key for s in self.methodology.stages}))
            checks.append(
                ("stage", f"{_clean_text('_raw_stage')} IS NOT NULL AND stage IS NULL",
                 f"'unknown stage: ' || _raw_stage || ' (known: {known}); add it to the stage aliases of the methodology file'",
                 "_raw_stage")
            )
        if table == "opportunities" and "status" in rules:
            checks.append(
                ("status", "status IS NOT NULL AND stage IS NOT NULL AND ((stage IN ('won', 'lost') AND status <> stage) OR (stage NOT IN ('won', 'lost') AND status <> 'open'))",
                 "'status contradicts stage: status ' || status || ', stage ' || stage", "_raw_status")
            )
        for col in spec.past_columns:
            if col not in rules:
                continue
            limit = _lit(self.now.date()) + "::DATE" if col in DATE_COLUMNS else _lit(self.now) + "::TIMESTAMP"
            raw = _q("_raw_" + col)
            checks.append(
                (col, f"{_q(col)} > {limit}",
                 f"'date in the future: ' || {raw} || ' (after the import date {self.now:%Y-%m-%d})'", raw)
            )
        return checks

    def _duplicate_problems(self, table: str, typed: str, problems: str) -> None:
        """Duplicate keys: the first occurrence loads, later ones are quarantined."""
        key = list(TABLES[table].key)
        keys = ", ".join(_q(c) for c in key)
        shown = " || ', ' || ".join(f"coalesce(CAST({_q(c)} AS VARCHAR), '')" for c in key)
        not_null = " AND ".join(f"{_q(c)} IS NOT NULL" for c in key)
        # find duplicated keys with a hash aggregate first; rank only those rows
        self.con.execute(
            f"""INSERT INTO {problems}
                WITH dup AS (SELECT {keys} FROM {typed} WHERE {not_null}
                             GROUP BY {keys} HAVING count(*) > 1)
                SELECT _file, _row, {_lit('+'.join(key))}, left({shown}, 200),
                       'duplicate key: ({", ".join(key)}) = (' || {shown} || '), first seen in '
                       || first_file || ' row ' || first_row
                FROM (SELECT *, row_number() OVER w AS n,
                             first_value(_file) OVER w AS first_file,
                             first_value(_row) OVER w AS first_row
                      FROM {typed} SEMI JOIN dup USING ({keys})
                      WINDOW w AS (PARTITION BY {keys} ORDER BY _file, _row))
                WHERE n > 1"""
        )

    def check_foreign_keys(self, table: str, typed: str, problems: str, valid: dict[str, str]) -> None:
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
                self.notice(table, None, fk.column, "unchecked",
                            f"{fk.column} not checked: no {fk.table} table imported", 0)
                continue
            self._fk_problems(typed, problems, fk.column, parent, f"unknown {fk.table[:-1].replace('_', ' ')}")
        for fk in spec.foreign_keys:
            if fk.table == table:
                own = _valid_keys(table, typed, problems)
                self._fk_problems(typed, problems, fk.column, own, f"unknown {fk.table[:-1]}")
                if table == "accounts":
                    self._parent_cycles(typed, problems)

    def _fk_problems(self, typed: str, problems: str, column: str, parent_sql: str, what: str) -> None:
        self.con.execute(
            f"""INSERT INTO {problems}
                SELECT t._file, t._row, {_lit(column)}, left(t.{_q(column)}, 200),
                       '{what}: ' || t.{_q(column)} || ' (not in {what.split(" ", 1)[1]}s)'
                FROM {typed} t ANTI JOIN ({parent_sql}) p ON t.{_q(column)} = p.k
                WHERE t.{_q(column)} IS NOT NULL"""
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
                bad.update(seen[seen.index(node):])
        for acc in sorted(bad):
            f, r = where[acc]
            self.con.execute(
                f"INSERT INTO {problems} VALUES (?, ?, 'parent_account_id', ?, ?)",
                [f, r, parent[acc], f"group hierarchy cycle: {acc} → {parent[acc]} leads back to {acc}"],
            )

    def notices_for_rows(self, table: str, typed: str, problems: str) -> None:
        """Count what loads but deserves a word (one scan of the table's rows)."""
        spec = TABLES[table]
        counts = {
            f"negative:{col}": f"count(*) FILTER ({_q(col)} < 0)" for col in spec.flag_negative
        }
        if table == "opportunities":
            counts["no_account"] = "count(*) FILTER (account_id IS NULL)"
        if table == "orders":
            counts["zero_amount"] = "count(*) FILTER (amount = 0)"
        if not counts:
            return
        # counted over loaded rows, except opportunities without account: counted whole
        ok = "p._row IS NULL"
        select = [
            (sql if k == "no_account" else f"{sql[:-1]} AND {ok})")
            + f" AS {_q(k)}"
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
                self.notice(table, None, col, "negative",
                            f"{n:,} {table} rows with negative {col} (returns / credit notes) loaded and flagged", n)
        if found.get("no_account"):
            total, n = found["no_account"], found["no_account_loaded"]
            self.notice(table, None, "account_id", "missing_account",
                        f"{total:,} opportunities have no account; {n:,} of them loaded (they "
                        "count in the funnel, in no account's view), the rest are quarantined "
                        "for other reasons", total)
        if found.get("zero_amount"):
            n = found["zero_amount"]
            self.notice(table, None, "amount", "zero", f"{n:,} order lines with amount 0 loaded", n)


ENUM_COLUMNS = frozenset(VALUE_ALIASES) | {"priority"}
NO_ISSUES = "[]::STRUCT(col VARCHAR, value VARCHAR, reason VARCHAR)[]"


def _sql_type(kind: str) -> str:
    from kamlib.data.store import SQL_TYPES

    return SQL_TYPES[kind]


def _enum_sql(col: str, text_expr: str) -> str:
    low = f"replace(lower({text_expr}), '-', '_')"
    aliases = VALUE_ALIASES.get(col, {})
    if not aliases:
        return low
    cases = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in aliases.items())
    return f"CASE {low} {cases} ELSE {low} END"


def _is_id(col: str, kind: str) -> bool:
    return kind == "text" and col.endswith("_id")


def _id_columns(spec) -> list[str]:
    return [c for c, k in spec.columns.items() if _is_id(c, k)]


def _invisible_mask(spec, raws: dict[str, str]) -> str:
    """SQL of a bitmask: bit i set when id column i of the table held invisible characters."""
    parts = [
        f"CASE WHEN {raw} <> translate({raw}, {_lit(INVISIBLE_CHARS)}, '') THEN {1 << i} ELSE 0 END"
        for i, col in enumerate(_id_columns(spec)) if (raw := raws.get(col))
    ]  # fmt: skip
    return "CAST(" + (" + ".join(parts) or "0") + " AS INTEGER)"


def _fingerprint(planned: _Planned, files: list[readers.SourceFile] | None, extra: str) -> str:
    digest = hashlib.sha256(extra.encode())
    digest.update(repr(planned.rule).encode())
    for f in files or []:
        digest.update(f"{f.path.name}:{f.fingerprint};".encode())
    return digest.hexdigest()[:32]


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
    spec_mapping = load_preset(preset) if preset else (
        mapping if isinstance(mapping, Mapping) or mapping is None else load_mapping(mapping)
    )
    planned, ignored = _plan(paths, spec_mapping)
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
            planned, ignored, store=store, encoding=enc, methodology=methodology, now=now,
            source=source, guard=guard,
        )
    except DataValidationError as exc:
        hint = _preset_hint(paths) if spec_mapping is None else None
        if hint and not isinstance(exc, (StoreError, ImportRefused)):
            raise DataValidationError(f"{exc}\n{hint}") from exc
        raise


def _preset_hint(paths: Sequence[str | Path]) -> str | None:
    """Name the presets whose file patterns match the files being imported."""
    from kamlib.data.mapping import preset_names

    named, in_folders = _expand(paths)
    names = [p.name for p in named + in_folders]
    hits = []
    for name in preset_names():
        entries = [
            fm for fm in load_preset(name).files
            if fm.pattern and any(fnmatch.fnmatch(n, fm.pattern) for n in names)
        ]  # fmt: skip
        if len(entries) >= 2 or any(table_for_file(Path(e.pattern)) is None for e in entries):
            hits.append(name)
    if not hits:
        return None
    return "These files look like a known export: try " + " or ".join(f"--preset {h}" for h in hits) + "."


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
            planned.append(_Planned(table, [path], FileMapping(table, None, None)))
        unknown = set(frames) - set(TABLES)
        if unknown:
                raise DataValidationError(
                f"Unknown table(s) {sorted(unknown)}. Valid tables: {', '.join(TABLES)}."
            )
        return _run_import(
            planned, [], store=store, encoding=None, methodology=methodology, now=now,
            source=source, guard=ImportGuard(allow_shrink=allow_shrink), workdir=workdir,
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
        raise ImportInterrupted(f"the import was stopped by signal {received[-1]} before it finished.")

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
    planned: list[_Planned],
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
                batch = _Batch(con, meth, now_ts, own, guard)
                try:
                    report = _import(batch, planned, ignored, started, encoding, source, str(store_path))
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
            raise ImportInterrupted(f"the import was stopped by signal {received[-1]} before it finished.") from exc
        raise StoreError(describe_io_error(store_path, exc, "write to store")) from exc
    except BaseException as exc:
        _forget_new_store(store_path, existed)
        if received:
            raise ImportInterrupted(f"the import was stopped by signal {received[-1]} before it finished.") from exc
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
            con.execute(f"DROP TABLE {_q(name)}")


def _import(
    batch: _Batch,
    planned: list[_Planned],
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
    staged = {}
    for p in planned:  # stage everything first: refusals happen before any check or write
        staged[p.table] = staged.get(p.table, []) + batch.stage(p, encoding)
    current = effective_batches(con)
    batch_id = (con.execute("SELECT coalesce(max(batch_id), 0) FROM import_batches").fetchone()[0]) + 1
    valid: dict[str, str] = {
        t: f"SELECT {_q(TABLES[t].key[0])} AS k FROM {snapshot_table(t, b)}" for t, (b, _) in current.items()
    }
    done: dict[str, tuple[str, str, tuple[str, ...], str]] = {}  # table → typed, problems, files, fp
    plan_by_table: dict[str, _Planned] = {}
    for p in planned:
        if p.table in plan_by_table:
            plan_by_table[p.table].files.extend(p.files)
        else:
            plan_by_table[p.table] = _Planned(p.table, list(p.files), p.rule)
    meth_key = batch.methodology.fingerprint if {"opportunities", "stage_history"} & set(plan_by_table) else ""
    for table in LOAD_ORDER:
        p = plan_by_table.get(table)
        if p is None:
            continue
        files = [s for s, _ in staged[table]]
        names = tuple(f.path.name for f in files)
        fp = _fingerprint(p, files, meth_key + repr(encoding) + batch.guard.fingerprint_extra)
        if table in current and current[table][1] == fp:
            for t in (table, *(d.table for d in p.rule.derive)):
                batch.counts[t] = TableCounts(0, 0, 0, names, "unchanged")
            continue
        typed, problems = batch.typed_table(p, staged[table], snapshot_table(table, batch_id))
        # derived tables (e.g. accounts from a transaction log) come before this table's FK checks
        for d in p.rule.derive:
            dtyped, dproblems = _derive(batch, typed, problems, d, snapshot_table(d.table, batch_id))
            valid[d.table] = _valid_keys(d.table, dtyped, dproblems)
            done[d.table] = (dtyped, dproblems, names, fp + ":" + d.table)
        batch.check_foreign_keys(table, typed, problems, valid)
        batch.notices_for_rows(table, typed, problems)
        valid[table] = _valid_keys(table, typed, problems)
        done[table] = (typed, problems, names, fp)
    # write -----------------------------------------------------------------------------
    tables = [t for t in LOAD_ORDER if t in done]
    for table in tables:
        typed, problems, names, _ = done[table]
        read, loaded, bad = batch.drop_problem_rows(snapshot_table(table, batch_id), typed, problems)
        batch.counts[table] = TableCounts(read, loaded, bad, names, "loaded")
    _guard_against_loss(batch, tables, current, batch_id, done)
    problem_frames = []
    con.execute("BEGIN TRANSACTION")
    for table in tables:
        typed, problems, names, fp = done[table]
        read, loaded, bad = (batch.counts[table].read, batch.counts[table].loaded, batch.counts[table].quarantined)
        cols = ", ".join(_q(c) for c in TABLES[table].columns)
        con.execute(f"CREATE OR REPLACE VIEW {_q(table)} AS SELECT {cols} FROM {snapshot_table(table, batch_id)}")
        con.execute(
            "INSERT INTO import_tables VALUES (?, ?, ?, ?, ?, ?, ?)",
            [batch_id, table, json.dumps(names, ensure_ascii=False), fp, read, loaded, bad],
        )
        con.execute(
            f"""INSERT INTO quarantine SELECT {batch_id}, {_lit(table)}, _file, _row, "column", value,
                       reason, split_part(reason, ':', 1)
                FROM {problems} ORDER BY _file, _row, "column" """
        )
        problem_frames.append(
            con.execute(
                f"""SELECT {_lit(table)} AS "table", _file AS file, _row AS "row", "column", value,
                           reason, split_part(reason, ':', 1) AS "check"
                    FROM {problems} ORDER BY _file, _row, "column" """
            ).df()
        )
    notices = pd.DataFrame(batch.notices, columns=["table", "file", "column", "kind", "message", "rows"])
    if done:
        for n in batch.notices:
            con.execute("INSERT INTO notices VALUES (?, ?, ?, ?, ?, ?, ?)", [batch_id, *n.values()])
        whole = hashlib.sha256(
            json.dumps({t: v[3] for t, v in sorted(done.items())}).encode()
        ).hexdigest()[:16]
        con.execute(
            "INSERT INTO import_batches VALUES (?, ?, ?, ?, 'loaded', ?, ?)",
            [batch_id, source, started.to_pydatetime(), pd.Timestamp.now().floor("s").to_pydatetime(), whole, __version__],
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


def _top_reason(con: duckdb.DuckDBPyConnection, problems: str) -> str:
    row = con.execute(
        f"SELECT split_part(reason, ':', 1) AS r, count(*) AS n, min(_file), min(_row) "
        f"FROM {problems} GROUP BY 1 ORDER BY n DESC, r LIMIT 1"
    ).fetchone()
    return "" if row is None else f"; most common reason: {row[0]} ({row[1]:,}×, e.g. {row[2]} row {row[3]})"


def _guard_against_loss(
    batch: _Batch,
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
                f"""SELECT count(*), {value}, string_agg(DISTINCT c.{_q(fk.column)}, ', ')
                    FROM {snapshot_table(child, child_batch)} c
                    SEMI JOIN {old} o ON c.{_q(fk.column)} = o.{_q(fk.ref)}
                    ANTI JOIN {new} n ON c.{_q(fk.column)} = n.{_q(fk.ref)}"""
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


def _valid_keys(table: str, typed: str, problems: str) -> str:
    key = TABLES[table].key[0]
    return (
        f"SELECT t.{_q(key)} AS k FROM {typed} t "
        f"ANTI JOIN {problems} p ON t._file = p._file AND t._row = p._row"
    )


def _derive(batch: _Batch, typed: str, problems: str, rule, snapshot: str) -> tuple[str, str]:
    """Build a table from distinct keys of another table's rows that passed the row checks
    (the first row of each key gives the values)."""
    spec = TABLES[rule.table]
    dproblems = batch._temp("problems")
    parts = ["min(_file) AS _file", "min(_row) AS _src_row", f"{_q(rule.key)} AS {_q(spec.key[0])}"]
    for col, kind in spec.columns.items():
        if col == spec.key[0]:
            continue
        src = rule.columns.get(col)
        expr = f"CAST(arg_min({_q(src)}, _row) AS {_sql_type(kind)})" if src else f"CAST(NULL AS {_sql_type(kind)})"
        parts.append(f"{expr} AS {_q(col)}")
    parts.append(f"{NO_ISSUES} AS _issues")
    batch.created.append(snapshot)
    batch.con.execute(
        f"CREATE TABLE {snapshot} AS SELECT {', '.join(parts)} FROM {typed} t "
        f"ANTI JOIN {problems} p ON t._file = p._file AND t._row = p._row "
        f"WHERE {_q(rule.key)} IS NOT NULL GROUP BY {_q(rule.key)}"
    )
    dtyped = batch._temp("rows")
    batch.con.execute(
        f"CREATE TEMP VIEW {dtyped} AS SELECT rowid AS _rid, _file, _src_row AS _row, "
        f"{', '.join(_q(c) for c in spec.columns)}, _issues FROM {snapshot}"
    )
    batch.con.execute(
        f"CREATE TEMP TABLE {dproblems} (_file VARCHAR, _row BIGINT, \"column\" VARCHAR, value VARCHAR, reason VARCHAR)"
    )
    for col in rule.columns.values():
        n = batch.con.execute(
            f"SELECT count(*) FROM (SELECT {_q(rule.key)} FROM {typed} WHERE {_q(rule.key)} IS NOT NULL "
            f"GROUP BY 1 HAVING count(DISTINCT {_q(col)}) > 1)"
        ).fetchone()[0]
        if n:
            batch.notice(rule.table, None, col, "derived",
                         f"{n:,} {rule.table} have more than one {col} in the source; the first row's value was kept", n)
    batch.notice(rule.table, None, None, "derived", f"{rule.table} derived from distinct {rule.key} values", 0)
    return dtyped, dproblems
