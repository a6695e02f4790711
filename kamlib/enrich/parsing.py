"""Reading the values company registries print: capital, headcount bands, dates, flags.

Registry exports write numbers the way people read them: "77800.32万人民币", "1.2亿元",
"500万美元", "5000-9999人", "2001年5月3日", full-width digits.  Each parser here takes one
such text and returns plain values; a value it cannot read is missing (``None``), never a
guess.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date

import pandas as pd

__all__ = [
    "MISSING_TEXT",
    "headcount_lower_bound",
    "nfkc",
    "parse_capital",
    "parse_date",
    "parse_flag",
    "parse_headcount",
    "parse_int",
]

#: Texts registries print for "no value".
MISSING_TEXT = frozenset(
    {"", "-", "--", "—", "——", "/", "无", "暂无", "未公开", "n/a", "na", "none", "null", "nan"}
)

_UNITS = {"万": 1e4, "亿": 1e8, "千": 1e3, "百万": 1e6, "千万": 1e7, "万亿": 1e12}
_CURRENCIES = [
    ("人民币", "CNY"), ("元", "CNY"), ("rmb", "CNY"), ("cny", "CNY"), ("¥", "CNY"), ("￥", "CNY"),
    ("美元", "USD"), ("usd", "USD"), ("us$", "USD"), ("$", "USD"),
    ("欧元", "EUR"), ("eur", "EUR"), ("€", "EUR"),
    ("港元", "HKD"), ("港币", "HKD"), ("hkd", "HKD"),
    ("日元", "JPY"), ("jpy", "JPY"), ("英镑", "GBP"), ("gbp", "GBP"),
    ("新台币", "TWD"), ("台币", "TWD"), ("瑞士法郎", "CHF"), ("chf", "CHF"),
]  # fmt: skip
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_EN_UNITS = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
}


def nfkc(value: object) -> str | None:
    """The text in Unicode NFKC (full-width digits and letters → half-width), stripped;
    ``None`` for a missing value or one of :data:`MISSING_TEXT`."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return None if text.lower() in MISSING_TEXT else text


def parse_capital(value: object, default_currency: str = "CNY") -> tuple[float | None, str | None]:
    """``"77800.32万人民币"`` → ``(778003200.0, "CNY")``; ``"500万美元"`` → ``(5e6, "USD")``;
    ``"1.2亿元"`` → ``(1.2e8, "CNY")``; a plain number is in ``default_currency``;
    ``"-"`` or ``""`` → ``(None, None)``."""
    text = nfkc(value)
    if text is None:
        return None, None
    low = text.lower().replace(",", "").replace(" ", "")
    m = _NUMBER.search(low)
    if not m:
        return None, None
    amount = float(m.group())
    rest = low[m.end() :]
    head = low[: m.start()]
    factor = 1.0
    for unit in sorted(_UNITS, key=len, reverse=True):
        if rest.startswith(unit):
            factor = _UNITS[unit]
            rest = rest[len(unit) :]
            break
    else:
        word = re.match(r"[a-z]+", rest)
        if word and word.group() in _EN_UNITS:
            factor = _EN_UNITS[word.group()]
            rest = rest[word.end() :]
    currency = None
    for mark, code in sorted(_CURRENCIES, key=lambda mc: -len(mc[0])):
        if mark in rest or mark in head:
            currency = code
            break
    if amount < 0:
        return None, None
    return round(amount * factor, 2), currency or default_currency


_BAND = re.compile(r"(\d+)\s*(?:-|~|～|至|到)\s*(\d+)")
_MORE = re.compile(r"(\d+)\s*(?:人)?\s*(?:以上|\+|及以上)|(?:more than|over|>)\s*(\d+)")
_LESS = re.compile(r"(?:小于|少于|<|under|less than)\s*(\d+)|(\d+)\s*人?\s*以下")


def parse_headcount(value: object) -> str | None:
    """The headcount band as the registry prints it, normalised (NFKC, no spaces):
    ``"5000-9999人"`` stays ``"5000-9999人"``; a missing value → ``None``."""
    text = nfkc(value)
    return None if text is None else re.sub(r"\s+", "", text)


def headcount_lower_bound(band: object) -> int | None:
    """The band's lower bound: ``"5000-9999人"`` → 5000, ``"10000人以上"`` → 10000,
    ``"小于50人"`` → 0, ``"120"`` → 120; unreadable → ``None``."""
    text = nfkc(band)
    if text is None:
        return None
    text = text.replace(",", "")
    if m := _BAND.search(text):
        return int(m.group(1))
    if m := _LESS.search(text):
        return 0
    if m := _MORE.search(text):
        return int(m.group(1) or m.group(2))
    if m := re.fullmatch(r"(\d+)\s*人?", text):
        return int(m.group(1))
    return None


def parse_int(value: object) -> int | None:
    """A count such as insured headcount: ``"1,234"`` / ``"1234人"`` → 1234; else ``None``."""
    text = nfkc(value)
    if text is None:
        return None
    m = re.fullmatch(r"(\d+)(?:\.0+)?\s*人?", text.replace(",", ""))
    return int(m.group(1)) if m else None


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_date(value: object) -> date | None:
    """2001-05-03, 2001/5/3, 2001.5.3, 2001年5月3日, 20010503 (a time after it is ignored)
    → ``date``; anything else → ``None``."""
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, date):
        return value
    text = nfkc(value)
    if text is None:
        return None
    m = _DATE.match(text) or _COMPACT.fullmatch(text.split(" ")[0])
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


_YES = frozenset(
    {"是", "上市", "已上市", "y", "yes", "true", "1", "listed", "a股", "港股", "美股", "新三板"}
)
_NO = frozenset({"否", "未上市", "非上市", "n", "no", "false", "0", "unlisted", "not listed"})


def parse_flag(value: object) -> bool | None:
    """Listed flags: 是/上市/已上市/yes/true/1 → True, 否/未上市/no/false/0 → False; a
    stock code or exchange name (e.g. "600519.SH", "A股") counts as listed; else ``None``."""
    text = nfkc(value)
    if text is None:
        return None
    low = text.lower()
    if low in _YES:
        return True
    if low in _NO:
        return False
    if re.search(r"\d{6}\.(sh|sz|bj)|\.hk|nyse|nasdaq|上交所|深交所|北交所|港交所", low):
        return True
    return None
