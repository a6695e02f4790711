"""The SQL that types and checks imported text: column expressions per kind (number,
date, flag …), value aliases of enumerated columns, id clean-up, and the words that
name a kind in a quarantine reason.  Pure string building; nothing here runs a query.
"""

from __future__ import annotations

from dataclasses import dataclass

from kamlib.data.mapping import (
    ColumnRule,
)
from kamlib.data.schemas import NO_DECISION, TABLES

#: Longest text accepted in one cell; longer values are quarantined (likely a broken export).
MAX_TEXT_CHARS = 100_000
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
#: Spellings per table that differ from :data:`VALUE_ALIASES` (a task that is 取消 / cancelled
#: was skipped; a plan item that is 取消 was dropped).
TABLE_VALUE_ALIASES: dict[str, dict[str, dict[str, str]]] = {
    "tasks": {
        "status": {
            "完成": "done", "已完成": "done", "completed": "done", "complete": "done",
            "跳过": "skipped", "已跳过": "skipped", "不适用": "skipped", "n/a": "skipped",
            "取消": "skipped", "已取消": "skipped", "cancelled": "skipped", "canceled": "skipped",
            "未完成": "open", "未开始": "open", "进行中": "open", "待办": "open",
            "not started": "open", "in progress": "open", "waiting on someone else": "open",
            "deferred": "open",
        },
    },
}  # fmt: skip
#: Spellings of "no decision" in ``opportunities.lost_to`` (after lower-casing and trimming):
#: the customer awarded the deal to nobody.
NO_DECISION_WORDS = (
    "no decision", "no_decision", "no-decision", "nodecision", "status quo", "无决策",
    "未决策", "客户未决策", "不了了之", "维持现状",
)  # fmt: skip
TRUE_WORDS = ("true", "t", "yes", "y", "1", "是", "已升级", "x")
FALSE_WORDS = ("false", "f", "no", "n", "0", "否", "未升级", "")


# -- building blocks --------------------------------------------------------------------------
def sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def clean_text(expr: str) -> str:
    return f"NULLIF(trim({expr}), '')"


def _ascii(expr: str) -> str:
    """SQL: ``expr`` is plain ASCII (as many bytes as characters), so it holds none of
    :data:`INVISIBLE_CHARS`; a cheap test that spares ``translate`` (slow) most values."""
    return f"strlen({expr}) = length({expr})"


def strip_invisible(expr: str) -> str:
    """SQL of ``expr`` without :data:`INVISIBLE_CHARS` (``translate`` only for non-ASCII text)."""
    return (
        f"CASE WHEN {_ascii(expr)} THEN {expr} "
        f"ELSE translate({expr}, {sql_literal(INVISIBLE_CHARS)}, '') END"
    )


def _number(expr: str) -> str:
    # the plain cast first; thousands separators and currency signs only when it fails
    # (COALESCE evaluates its second argument only for the rows where the first is NULL)
    return (
        f"coalesce(TRY_CAST({expr} AS DOUBLE), "
        f"TRY_CAST(regexp_replace(trim({expr}), '[,\\s¥￥$€£]', '', 'g') AS DOUBLE))"
    )


def _datetime(expr: str, fmt: str | None) -> str:
    if fmt:
        return f"try_strptime(trim({expr}), {sql_literal(fmt)})"
    fmts = "[" + ", ".join(sql_literal(f) for f in DATE_FORMATS) + "]"
    return f"coalesce(TRY_CAST({expr} AS TIMESTAMP), try_strptime(trim({expr}), {fmts}))"


@dataclass
class ColumnSQL:
    typed: str  # typed value
    raw: str  # the source text shown in quarantine


def column_sql(
    rule: ColumnRule,
    kind: str,
    values: dict[str, str],
    row_expr: str,
    *,
    is_id: bool = False,
    clean: bool = False,
) -> ColumnSQL:
    """The typed value and the quarantine text of one canonical column.  ``clean``: the
    file's values need no ``trim`` and hold no invisible characters
    (:func:`kamlib.data.text_scan.needs_no_cleaning`), so a column copied from the file is
    its text as it is (``trim`` copies every value: a fifth of an orders file's typing)."""
    if rule.constant is not None:
        raw = sql_literal(rule.constant)
    elif rule.row_number_within:
        raw = f"CAST(row_number() OVER (PARTITION BY {sql_name(rule.row_number_within)} ORDER BY {row_expr}) AS VARCHAR)"
    elif rule.multiply:
        raw = " || ' × ' || ".join(f"coalesce({sql_name(c)}, '∅')" for c in rule.multiply)
    else:
        raw = sql_name(rule.source or rule.target)
    if clean and rule.source is not None:
        text = f"NULLIF({raw}, '')"
    else:
        text = clean_text(strip_invisible(raw) if is_id else raw)
    # A number is cast from the file's text as it is when the cleaned text is that text
    # trimmed and nothing else: DOUBLE skips edge spaces itself and the fallback trims, so
    # the same values (tests/test_import_sql.py compares both on awkward text). ``trim``
    # copies every value and costs more than the cast, and DuckDB computes an expression
    # that occurs twice in a SELECT for *every* row (common subexpressions), even inside the
    # COALESCE arguments it would skip: ``NULLIF(trim(x), '')`` has ``trim(x)`` twice.
    # ≈ 7 % of an orders file's typing time.
    number_text = raw if rule.source is not None and not values and not is_id else text
    if values:
        cases = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in values.items())
        text = f"CASE {text} {cases} ELSE {text} END"
    if rule.multiply:
        typed = " * ".join(_number(sql_name(c)) for c in rule.multiply)
        return ColumnSQL(typed, raw)
    if kind == "text":
        typed = text
    elif kind == "number":
        typed = _number(number_text)
        if rule.scale:
            typed = f"({typed}) * {rule.scale!r}"
    elif kind == "integer":
        num = _number(number_text)
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
        t = ", ".join(sql_literal(w) for w in TRUE_WORDS)
        f = ", ".join(sql_literal(w) for w in FALSE_WORDS)
        typed = f"CASE WHEN {low} IN ({t}) THEN true WHEN {low} IN ({f}) THEN false END"
    else:  # pragma: no cover
        raise AssertionError(kind)
    return ColumnSQL(typed, raw)


KIND_WORDS = {
    "number": "a number",
    "integer": "a whole number",
    "date": "a date (YYYY-MM-DD)",
    "timestamp": "a date and time (YYYY-MM-DD HH:MM)",
    "flag": "yes/no",
}


ENUM_COLUMNS = frozenset(VALUE_ALIASES) | {"priority"}
NO_ISSUES = "[]::STRUCT(col VARCHAR, value VARCHAR, reason VARCHAR)[]"


def issues_sql(checks: list[tuple[str, str, str, str]]) -> str:
    """SQL of a row's problems: a list of (col, value, reason) structs, one per check
    ``(column, condition, reason SQL, value SQL)`` the row fails; empty for a good row."""
    if not checks:
        return NO_ISSUES
    issues = [
        f"CASE WHEN {cond} THEN struct_pack(col := {sql_literal(col)}, "
        f"value := left(CAST({value} AS VARCHAR), 200), reason := {reason}) END"
        for col, cond, reason, value in checks
    ]
    # the list is only built for rows that fail a check (CASE short-circuits); a NULL
    # condition counts as false in a WHEN, so the conditions are OR-ed bare (DuckDB then
    # tests each one only on the rows all earlier ones left false)
    any_bad = " OR ".join(f"({cond})" for _, cond, _, _ in checks)
    return (
        f"CASE WHEN {any_bad} THEN [x FOR x IN [{', '.join(issues)}] IF x IS NOT NULL] "
        f"ELSE {NO_ISSUES} END"
    )


def sql_type(kind: str) -> str:
    from kamlib.data.store import SQL_TYPES

    return SQL_TYPES[kind]


def enum_sql(col: str, text_expr: str, table: str | None = None) -> str:
    low = f"replace(lower({text_expr}), '-', '_')"
    aliases = TABLE_VALUE_ALIASES.get(table or "", {}).get(col) or VALUE_ALIASES.get(col, {})
    if not aliases:
        return low
    cases = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in aliases.items())
    return f"CASE {low} {cases} ELSE {low} END"


def lookup_sql(text_expr: str, lookup: dict[str, str], *, keep_unknown: bool = False) -> str:
    """SQL mapping a text to a key by a lookup of normalised spellings (lower case, spaces and
    underscores collapsed, as :func:`kamlib.methodology.normalise_label`); an unknown text is
    NULL, or itself (trimmed) with ``keep_unknown``."""
    norm = f"trim(regexp_replace(lower({text_expr}), '[\\s_]+', ' ', 'g'))"
    cases = " ".join(f"WHEN {sql_literal(k)} THEN {sql_literal(v)}" for k, v in lookup.items())
    other = f" ELSE {text_expr}" if keep_unknown else ""
    return f"CASE {norm} {cases}{other} END" if cases else (text_expr if keep_unknown else "NULL")


def lost_to_sql(text_expr: str) -> str:
    """``lost_to``: every spelling of "no decision" becomes ``no decision``; a competitor's
    name is kept as written."""
    words = ", ".join(sql_literal(w) for w in NO_DECISION_WORDS)
    return (
        f"CASE WHEN lower(trim({text_expr})) IN ({words}) THEN {sql_literal(NO_DECISION)} "
        f"ELSE {text_expr} END"
    )


def is_id_column(col: str, kind: str) -> bool:
    return kind == "text" and col.endswith("_id")


def id_columns(spec) -> list[str]:
    return [c for c, k in spec.columns.items() if is_id_column(c, k)]


def invisible_mask(spec, raws: dict[str, str]) -> str:
    """SQL of a bitmask: bit i set when id column i of the table held invisible characters."""
    parts = [
        f"CASE WHEN NOT ({_ascii(raw)}) AND {raw} <> translate({raw}, "
        f"{sql_literal(INVISIBLE_CHARS)}, '') THEN {1 << i} ELSE 0 END"
        for i, col in enumerate(id_columns(spec)) if (raw := raws.get(col))
    ]  # fmt: skip
    return "CAST(" + (" + ".join(parts) or "0") + " AS INTEGER)"


def valid_keys_sql(table: str, typed: str, problems: str) -> str:
    """The keys of ``table``'s typed rows that have no problem (the parents foreign keys may use)."""
    key = TABLES[table].key[0]
    return (
        f"SELECT t.{sql_name(key)} AS k FROM {typed} t "
        f"ANTI JOIN {problems} p ON t._file = p._file AND t._row = p._row"
    )
