"""Numbers, dates and tables formatted for reading, in English or Chinese.

Report notebooks display results through these helpers instead of raw DataFrames:

>>> table(health.tables, lang="zh")  # doctest: +SKIP        (an HTML table with 千位分隔符)
>>> heading("quarantine", lang="zh")  # doctest: +SKIP       (## 隔离的数据行)

Every cell's text is HTML-escaped: an account called ``<script>alert(1)</script>`` shows as
exactly that text.  Formatting never changes the data, it only renders it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import pandas as pd

from kamlib.errors import ConfigError
from kamlib.methodology.labels import check_lang, label, note

Kind = Literal["text", "integer", "number", "currency", "percent", "date", "datetime", "flag"]
KINDS: tuple[str, ...] = (
    "text", "integer", "number", "currency", "percent", "date", "datetime", "flag",
)  # fmt: skip

MISSING = "–"

#: currency code → (English prefix, Chinese prefix)
CURRENCY_SYMBOLS: dict[str, tuple[str, str]] = {
    "CNY": ("CN¥", "¥"),
    "USD": ("US$", "US$"),
    "EUR": ("€", "€"),
    "GBP": ("£", "£"),
    "HKD": ("HK$", "HK$"),
    "JPY": ("JP¥", "日元 "),
}

_CURRENCY_HINTS = (
    "amount", "revenue", "spend", "pipeline", "value", "price", "cost", "clv",
    # forecast money: quantiles, bookings, the gap to target and what is needed to close it
    "p10", "p50", "p90", "bookings", "gap", "needed", "forecast",
)  # fmt: skip
# …but never money: durations and (relative) errors
_NOT_MONEY_HINTS = ("days", "error")
_PERCENT_HINTS = ("share", "rate", "ratio", "pct", "percent", "probability")
_CELL_CLASS = {
    "integer": ' class="num"',
    "number": ' class="num"',
    "currency": ' class="num"',
    "percent": ' class="num"',
    "date": ' class="date"',
    "datetime": ' class="date"',
}


# -- single values --------------------------------------------------------------------------
def format_number(value: Any, *, decimals: int = 0, lang: str = "en") -> str:
    """``1234567.8`` → ``"1,234,568"`` (thousands separators; ``–`` for a missing value)."""
    check_lang(lang)
    number = _as_float(value)
    if number is None:
        return MISSING
    if round(number, decimals) == 0:
        number = 0.0  # no "-0"
    return f"{number:,.{decimals}f}"


def format_currency(
    value: Any, *, currency: str = "CNY", decimals: int = 0, lang: str = "en"
) -> str:
    """``1234567`` → ``"CN¥1,234,567"`` (en) / ``"¥1,234,567"`` (zh); negatives ``-¥1,234``."""
    check_lang(lang)
    number = _as_float(value)
    if number is None:
        return MISSING
    en, zh = CURRENCY_SYMBOLS.get(currency, (f"{currency} ", f"{currency} "))
    symbol = zh if lang == "zh" else en
    body = format_number(abs(number), decimals=decimals, lang=lang)
    sign = "-" if number < 0 and body.strip("0.,") else ""
    return f"{sign}{symbol}{body}"


def format_percent(value: Any, *, decimals: int = 1, lang: str = "en") -> str:
    """A fraction as a percentage: ``0.1234`` → ``"12.3%"``."""
    check_lang(lang)
    number = _as_float(value)
    if number is None:
        return MISSING
    return f"{number * 100:,.{decimals}f}%"


def format_date(value: Any, *, lang: str = "en") -> str:
    """``2026-09-30`` → ``"30 Sep 2026"`` (en) / ``"2026年9月30日"`` (zh)."""
    check_lang(lang)
    stamp = _as_timestamp(value)
    if stamp is None:
        return MISSING
    if lang == "zh":
        return f"{stamp.year}年{stamp.month}月{stamp.day}日"
    return f"{stamp.day} {stamp.strftime('%b')} {stamp.year}"


def format_datetime(value: Any, *, lang: str = "en") -> str:
    """A timestamp to the minute: ``"30 Sep 2026 14:05"`` / ``"2026年9月30日 14:05"``."""
    stamp = _as_timestamp(value)
    if stamp is None:
        return MISSING
    return f"{format_date(stamp, lang=lang)} {stamp.strftime('%H:%M')}"


def format_flag(value: Any, *, lang: str = "en") -> str:
    """``True`` → ``"yes"`` / ``"是"``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return label("yes" if bool(value) else "no", lang)


def format_value(value: Any, kind: str, *, lang: str = "en", currency: str = "CNY") -> str:
    """Format one value as ``kind`` (one of :data:`KINDS`). Returns plain text (not escaped)."""
    if kind == "integer":
        return format_number(value, decimals=0, lang=lang)
    if kind == "number":
        number = _as_float(value)
        decimals = 0 if number is None or abs(number) >= 100 or number == int(number) else 2
        return format_number(value, decimals=decimals, lang=lang)
    if kind == "currency":
        return format_currency(value, currency=currency, lang=lang)
    if kind == "percent":
        return format_percent(value, lang=lang)
    if kind == "date":
        return format_date(value, lang=lang)
    if kind == "datetime":
        return format_datetime(value, lang=lang)
    if kind == "flag":
        return format_flag(value, lang=lang)
    if kind == "text":
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return MISSING
        return str(value) if str(value).strip() else MISSING
    raise ConfigError(f"Unknown column kind {kind!r}. Valid kinds: {', '.join(KINDS)}.")


# -- columns --------------------------------------------------------------------------------
def column_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """Guess how to format each column from its dtype and name.

    Integers → ``integer``; floats named like an amount (``amount``, ``revenue``, …) →
    ``currency``, like a share (``share``, ``rate``, …) → ``percent``, else ``number``;
    datetimes → ``date`` when every value is midnight, else ``datetime``; booleans → ``flag``;
    anything else → ``text``.
    """
    kinds: dict[str, str] = {}
    for name in frame.columns:
        col = frame[name]
        lower = str(name).lower()
        if pd.api.types.is_bool_dtype(col):
            kinds[name] = "flag"
        elif pd.api.types.is_integer_dtype(col):
            kinds[name] = "integer"
        elif pd.api.types.is_float_dtype(col):
            if any(h in lower for h in _PERCENT_HINTS):
                kinds[name] = "percent"
            elif _money_name(lower):
                kinds[name] = "currency"
            else:
                kinds[name] = "number"
        elif pd.api.types.is_datetime64_any_dtype(col):
            values = col.dropna()
            midnight = (values == values.dt.normalize()).all() if len(values) else True
            kinds[name] = "date" if midnight else "datetime"
        else:
            kinds[name] = "text"
    return kinds


# -- display objects ------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class HtmlBlock:
    """Ready HTML that notebooks display as ``text/html`` (no IPython import needed)."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:  # the text/plain twin of every output: keep it short
        return f"<HtmlBlock, {len(self.html):,} characters>"

    def __str__(self) -> str:
        return self.html


@dataclass(frozen=True, repr=False)
class MarkdownBlock:
    """Markdown that notebooks display as ``text/markdown`` (headings feed the contents)."""

    markdown: str

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.markdown

    def __str__(self) -> str:
        return self.markdown


def table(
    frame: pd.DataFrame,
    *,
    lang: str = "en",
    kinds: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    currency: str = "CNY",
    caption: str | None = None,
    max_rows: int = 50,
    translate: tuple[str, ...] = ("table", "check", "measure", "stage"),
    empty: str = "nothing_to_show",
) -> HtmlBlock:
    """``frame`` as a readable HTML table.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data; its index is not shown (reset it first if it matters).
    lang : str
        ``"en"`` or ``"zh"``: headers come from :mod:`kamlib.methodology.labels`, dates and numbers are
        written the way readers of that language expect.
    kinds : mapping, optional
        Column → kind (:data:`KINDS`), overriding :func:`column_kinds`' guess.
    labels : mapping, optional
        Column → header text, overriding the label dictionary.
    currency : str
        Currency code for ``currency`` columns.
    caption : str, optional
        Text above the table.
    max_rows : int
        Rows shown; a note says how many were left out.
    translate : tuple of str
        Text columns whose values are label keys (table names, checks, measures,
        opportunity stages) and are shown translated.
    empty : str
        Label key of the sentence shown instead of an empty table.

    Numbers, currency and percentages are right-aligned; every cell is HTML-escaped.
    """
    check_lang(lang)
    if max_rows < 1:
        raise ConfigError(f"The 'max_rows' parameter of table must be at least 1. Got {max_rows}.")
    kinds_used = column_kinds(frame)
    for name, kind in (kinds or {}).items():
        if name not in frame.columns:
            raise ConfigError(
                f"kinds names column {name!r}, which the frame does not have. "
                f"Columns: {', '.join(map(str, frame.columns))}."
            )
        if kind not in KINDS:
            raise ConfigError(f"Unknown column kind {kind!r}. Valid kinds: {', '.join(KINDS)}.")
        kinds_used[name] = kind
    headers = {c: (labels or {}).get(c) or label(str(c), lang) for c in frame.columns}

    shown = frame.head(max_rows)
    parts = ['<table class="kamlib-table">']
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    parts.append("<thead><tr>")
    for col in frame.columns:
        cls = _CELL_CLASS.get(kinds_used[col], "")
        parts.append(f'<th scope="col"{cls}>{html.escape(headers[col])}</th>')
    parts.append("</tr></thead><tbody>")
    columns = [
        (col, kinds_used[col], col in translate and kinds_used[col] == "text")
        for col in frame.columns
    ]
    for values in shown.itertuples(index=False, name=None):
        parts.append("<tr>")
        for (_col, kind, translated), value in zip(columns, values, strict=True):
            if translated and isinstance(value, str):
                text = label(value, lang)
            else:
                text = format_value(value, kind, lang=lang, currency=currency)
            cls = _CELL_CLASS.get(kind, "")
            if text == MISSING:
                cls = ' class="missing"'
            parts.append(f"<td{cls}>{html.escape(text)}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    if len(frame) > max_rows:
        more = label("showing_rows", lang).format(
            shown=format_number(max_rows, lang=lang), total=format_number(len(frame), lang=lang)
        )
        parts.append(f'<p class="kamlib-table-note">{html.escape(more)}</p>')
    if frame.empty:
        parts = [f'<p class="kamlib-empty">{html.escape(label(empty, lang))}</p>']
    return HtmlBlock('<div class="kamlib-table-wrap">' + "".join(parts) + "</div>")


# Key facts carry their layout inline: JupyterLab lays a bare <dl> out as a two-column grid
# that the <div> wrappers break (a label landing in the value column), and a notebook has no
# report stylesheet.  The report's colours come through its CSS variables.
_FACTS_STYLE = {
    "dl": "display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));"
    "gap:0.6rem 1.25rem;margin:0.5rem 0 1rem;padding:0",
    "div": "border-left:3px solid var(--accent,#2f6690);padding:0.15rem 0 0.15rem 0.7rem",
    "dt": "color:var(--ink-soft,#52606d);font-size:0.82rem;font-weight:normal;"
    "margin:0;padding:0;float:none;width:auto;text-align:left",
    "dd": "margin:0;padding:0;font-size:1.15rem;font-weight:600;"
    "font-variant-numeric:tabular-nums;overflow-wrap:anywhere;text-align:left",
    "wide": ";grid-column:1/-1",
    "sentence": "margin:0;padding:0;font-size:1rem;font-weight:normal;text-align:left",
}
#: a fact's value wider than this (in Latin characters; a CJK one counts two) is a sentence,
#: set across the whole row in plain type
_FACT_SENTENCE = 40


def facts(
    items: Mapping[str, Any],
    *,
    lang: str = "en",
    kinds: Mapping[str, str] | None = None,
    currency: str = "CNY",
) -> HtmlBlock:
    """Key facts as a definition list: label-key → value (``{"rows": 1234, …}``)."""
    check_lang(lang)
    parts = [f'<dl class="kamlib-facts" style="{_FACTS_STYLE["dl"]}">']
    for key, value in items.items():
        kind = (kinds or {}).get(key) or _kind_of(key, value)
        text = format_value(value, kind, lang=lang, currency=currency)
        sentence = _display_width(text) > _FACT_SENTENCE  # a verdict or a rule: full width
        parts.append(
            f'<div style="{_FACTS_STYLE["div"]}{_FACTS_STYLE["wide"] if sentence else ""}">'
            f'<dt style="{_FACTS_STYLE["dt"]}">{html.escape(label(key, lang))}</dt>'
            f'<dd style="{_FACTS_STYLE["sentence" if sentence else "dd"]}">'
            f"{html.escape(text)}</dd></div>"
        )
    parts.append("</dl>")
    return HtmlBlock("".join(parts))


def heading(key: str, *, lang: str = "en", level: int = 2) -> MarkdownBlock:
    """A section heading (label of ``key``) and the section's note when it has one.

    Displayed as markdown, so the report's table of contents picks it up.
    """
    if level not in (2, 3, 4):
        raise ConfigError(f"The 'level' parameter of heading must be 2, 3 or 4. Got {level}.")
    text = _markdown_text(label(key, lang))
    paragraph = note(key, lang)
    body = f"{'#' * level} {text}"
    return MarkdownBlock(f"{body}\n\n{_markdown_text(paragraph)}" if paragraph else body)


def message(key: str, *, lang: str = "en") -> HtmlBlock:
    """A short sentence from the label dictionary (e.g. ``"no_quarantine"``), as a paragraph."""
    return HtmlBlock(f'<p class="kamlib-message">{html.escape(label(key, lang))}</p>')


# -- helpers --------------------------------------------------------------------------------
def _display_width(text: str) -> int:
    """Width in Latin characters: CJK and other wide characters count two."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _as_float(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _as_timestamp(value: Any) -> pd.Timestamp | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (pd.Timestamp, datetime, date, str)):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp
    return None


def _money_name(name: str) -> bool:
    return any(h in name for h in _CURRENCY_HINTS) and not any(h in name for h in _NOT_MONEY_HINTS)


def _kind_of(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        if any(h in key for h in _PERCENT_HINTS):
            return "percent"
        return "currency" if _money_name(key) else "number"
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return "date"
    return "text"


def _markdown_text(text: str) -> str:
    """Plain text that markdown shows verbatim: HTML-escaped, markdown punctuation escaped."""
    escaped = html.escape(text, quote=False)
    for char in "\\`*_[]#|":
        escaped = escaped.replace(char, "\\" + char)
    return escaped
