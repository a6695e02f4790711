"""Reporting periods: ``2026-09``, ``2026-Q3``, ``2026-H1``, ``FY2026``, ``2026-W38``.

Pure date arithmetic, no I/O.  A :class:`Period` is a closed range of days with a label.

Forms
-----
=================  ==========================================================================
``2026-09``        calendar month
``2026-Q3``        calendar quarter (Jul–Sep)
``2026-H1``        calendar half year (Jan–Jun)
``2026-W38``       ISO 8601 week (Monday–Sunday; the ISO year may differ from the calendar year
                   around New Year: 2027-01-01 lies in ``2026-W53``)
``FY2026``         fiscal year; with ``fiscal_year_start_month=1`` it is calendar 2026
``FY2027-Q2``      fiscal quarter / half (``FY2027-H1``): counted from the fiscal year start
=================  ==========================================================================

A fiscal year is named by the calendar year in which it **ends** (as Microsoft, Apple, the
US federal government and Indian companies do): with the fiscal year starting in April,
``FY2026`` runs from 2025-04-01 to 2026-03-31 and 2026-07-15 lies in ``FY2027-Q2``.  When the
fiscal year starts in January, fiscal quarters and halves are the calendar ones and are
labelled ``2026-Q3`` / ``2026-H1``.

Frequencies (``period_of(date, freq)``): ``weekly``, ``monthly``, ``quarterly``,
``half-yearly``, ``yearly``.  Quarterly, half-yearly and yearly periods follow the fiscal
year start month.

Example
-------
>>> from datetime import date
>>> p = period_of(date(2026, 9, 30), "quarterly")
>>> p.label, p.start.isoformat(), p.end.isoformat()
('2026-Q3', '2026-07-01', '2026-09-30')
>>> last_complete_period(date(2026, 10, 15), "monthly").label
'2026-09'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError

FREQUENCIES: tuple[str, ...] = ("weekly", "monthly", "quarterly", "half-yearly", "yearly")

_ALIASES = {
    "w": "weekly", "week": "weekly", "weekly": "weekly",
    "m": "monthly", "month": "monthly", "monthly": "monthly",
    "q": "quarterly", "quarter": "quarterly", "quarterly": "quarterly",
    "h": "half-yearly", "half": "half-yearly", "half-year": "half-yearly",
    "half-yearly": "half-yearly", "halfyearly": "half-yearly", "semiannual": "half-yearly",
    "y": "yearly", "year": "yearly", "yearly": "yearly", "annual": "yearly", "annually": "yearly",
}  # fmt: skip

# months per period for the month-based frequencies
_MONTHS = {"monthly": 1, "quarterly": 3, "half-yearly": 6, "yearly": 12}

PERIOD_FORMS = (
    "2026-09 (month), 2026-Q3, 2026-H1, 2026-W38 (ISO week), FY2026, FY2026-Q1, FY2026-H2"
)

_PATTERNS = (
    ("monthly", re.compile(r"^(\d{4})-(\d{2})$")),
    ("quarterly", re.compile(r"^(\d{4})-?Q([1-4])$")),
    ("half-yearly", re.compile(r"^(\d{4})-?H([12])$")),
    ("weekly", re.compile(r"^(\d{4})-?W(\d{2})$")),
    ("yearly", re.compile(r"^FY(\d{4})$")),
    ("fiscal-quarterly", re.compile(r"^FY(\d{4})-?Q([1-4])$")),
    ("fiscal-half-yearly", re.compile(r"^FY(\d{4})-?H([12])$")),
)


@dataclass(frozen=True)
class Period:
    """A reporting period: ``freq``, ``year``, ``number`` and the year's start month.

    ``year`` is the calendar year (months, calendar quarters / halves), the ISO year (weeks)
    or the fiscal year's name, i.e. the calendar year it ends in (fiscal periods).
    ``number`` is the month (1–12), quarter (1–4), half (1–2), ISO week (1–53), or 1 for a
    year.  ``start_month`` is the first month of the year the period is counted in (1 for
    calendar periods).  Build periods with :func:`parse_period` or :func:`period_of`.
    """

    year: int
    freq: str
    number: int
    start_month: int = 1

    def __post_init__(self) -> None:
        if self.freq not in FREQUENCIES:
            raise ConfigError(_freq_message(self.freq))
        if not 1 <= self.start_month <= 12:
            raise ConfigError(
                f"The fiscal year start month must be 1–12. Got {self.start_month!r} instead."
            )
        if self.freq == "monthly" and self.start_month != 1:
            object.__setattr__(self, "start_month", 1)
        if self.freq == "weekly":
            object.__setattr__(self, "start_month", 1)
        top = {"monthly": 12, "quarterly": 4, "half-yearly": 2, "yearly": 1,
               "weekly": _iso_weeks(self.year)}[self.freq]  # fmt: skip
        if not 1 <= self.number <= top:
            raise ConfigError(
                f"Period number {self.number} is out of range for a {self.freq} period of "
                f"{self.year} (1–{top})."
            )

    # -- dates ---------------------------------------------------------------------------
    @property
    def start(self) -> date:
        """First day of the period."""
        if self.freq == "weekly":
            return date.fromisocalendar(self.year, self.number, 1)
        year_start = _fiscal_year_start(self.year, self.start_month)
        return _add_months(year_start, (self.number - 1) * _MONTHS[self.freq])

    @property
    def end(self) -> date:
        """Last day of the period (inclusive)."""
        if self.freq == "weekly":
            return self.start + timedelta(days=6)
        return _add_months(self.start, _MONTHS[self.freq]) - timedelta(days=1)

    @property
    def days(self) -> int:
        """Number of days in the period."""
        return (self.end - self.start).days + 1

    def contains(self, day: date | str) -> bool:
        """Whether ``day`` lies in the period."""
        d = parse_date(day)
        return self.start <= d <= self.end

    # -- neighbours ---------------------------------------------------------------------
    def previous(self) -> Period:
        """The period just before this one, of the same frequency."""
        return self._of(self.start - timedelta(days=1))

    def next(self) -> Period:
        """The period just after this one, of the same frequency."""
        return self._of(self.end + timedelta(days=1))

    def _of(self, day: date) -> Period:
        return period_of(day, self.freq, fiscal_year_start_month=self.start_month)

    # -- text ---------------------------------------------------------------------------
    @property
    def fiscal(self) -> bool:
        """Whether the period is counted from a fiscal year that does not start in January."""
        return self.start_month != 1 and self.freq in ("quarterly", "half-yearly", "yearly")

    @property
    def label(self) -> str:
        """``2026-09``, ``2026-Q3``, ``2026-H1``, ``2026-W38``, ``FY2026``, ``FY2027-Q2``."""
        if self.freq == "monthly":
            return f"{self.year:04d}-{self.number:02d}"
        if self.freq == "weekly":
            return f"{self.year:04d}-W{self.number:02d}"
        if self.freq == "yearly":
            return f"FY{self.year:04d}"
        letter = "Q" if self.freq == "quarterly" else "H"
        prefix = "FY" if self.fiscal else ""
        return f"{prefix}{self.year:04d}-{letter}{self.number}"

    def __str__(self) -> str:
        return self.label


# -- public functions ---------------------------------------------------------------------------
def normalise_frequency(freq: str) -> str:
    """Return the canonical name of a frequency (``"Q"`` → ``"quarterly"``)."""
    key = str(freq).strip().lower().replace("_", "-")
    if key not in _ALIASES:
        raise ConfigError(_freq_message(freq))
    return _ALIASES[key]


#: The one written form of a date parameter: ISO 8601 (a time of day and a zone may follow).
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)


def parse_date(
    value: object, *, parameter: str | None = None, owner: str | None = None
) -> date:
    """The one parser of a date parameter: text ``YYYY-MM-DD`` (ISO 8601; a time of day and a
    zone may follow and are dropped, keeping the wall-clock date), a ``date``, ``datetime``,
    ``pd.Timestamp`` or ``numpy.datetime64`` → ``date``.

    Anything else is refused with a ``ConfigError`` naming the value and, when given, the
    parameter and the function it was passed to: a number (``20260930`` is not a date), a
    day-first or month-first text (``01/09/2026`` reads differently in different countries),
    a missing value.  The error carries no chained traceback: it is the user's input.
    """
    message = f"Date {value!r} does not parse: " + (
        f"the '{parameter}' parameter must be a date written YYYY-MM-DD, e.g. 2026-09-30"
        + (f" (given to {owner})." if owner else ".")
        if parameter
        else "write it as YYYY-MM-DD, e.g. 2026-09-30."
    )
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            raise ConfigError(message)
        return ts.date()
    if not isinstance(value, str):
        raise ConfigError(message)
    text = value.strip()
    if not _ISO_DATE.fullmatch(text):
        raise ConfigError(message)
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise ConfigError(message) from None


def as_day(value: object, *, parameter: str = "as_of", owner: str | None = None) -> pd.Timestamp:
    """A date parameter as a midnight ``pd.Timestamp`` (the forms of :func:`parse_date`).

    ``ConfigError`` naming the value, the parameter and the function (``owner``) when it is
    not a date, or lies outside the range pandas can hold.
    """
    day = parse_date(value, parameter=parameter, owner=owner)
    try:
        return pd.Timestamp(day)
    except (OverflowError, ValueError):
        where = f" of {owner}" if owner else ""
        raise ConfigError(
            f"Date {value!r} (the '{parameter}' parameter{where}) lies outside the range of "
            "dates kamlib can compute with."
        ) from None


def parse_period(text: str, *, fiscal_year_start_month: int = 1) -> Period:
    """Parse a period label (see the module docstring for the forms).

    ``FY…`` labels are read with ``fiscal_year_start_month``; the others are calendar
    periods.  Letters may be lower case; a period that does not parse raises
    ``ConfigError`` naming the value and the valid forms.
    """
    _check_start_month(fiscal_year_start_month)
    raw = str(text).strip().upper()
    for kind, pattern in _PATTERNS:
        m = pattern.match(raw)
        if not m:
            continue
        year = int(m.group(1))
        number = int(m.group(2)) if m.lastindex and m.lastindex >= 2 else 1
        try:
            if kind == "yearly":
                return Period(year, "yearly", 1, fiscal_year_start_month)
            if kind.startswith("fiscal-"):
                return Period(year, kind.removeprefix("fiscal-"), number, fiscal_year_start_month)
            return Period(year, kind, number, 1)
        except ConfigError as exc:
            raise ConfigError(
                f"Period {text!r} does not exist: {exc} Valid forms: {PERIOD_FORMS}."
            ) from exc
    raise ConfigError(f"Period {text!r} does not parse. Valid forms: {PERIOD_FORMS}.")


def period_of(day: date | str, freq: str, *, fiscal_year_start_month: int = 1) -> Period:
    """The period of frequency ``freq`` that contains ``day``.

    Quarterly, half-yearly and yearly periods are counted from ``fiscal_year_start_month``.

    >>> period_of("2026-07-15", "quarterly", fiscal_year_start_month=4).label
    'FY2027-Q2'
    """
    d = parse_date(day)
    freq = normalise_frequency(freq)
    _check_start_month(fiscal_year_start_month)
    if freq == "weekly":
        iso = d.isocalendar()
        return Period(iso.year, "weekly", iso.week)
    if freq == "monthly":
        return Period(d.year, "monthly", d.month)
    fy = fiscal_year_of(d, fiscal_year_start_month=fiscal_year_start_month)
    months_in = (d.month - fiscal_year_start_month) % 12
    return Period(fy, freq, months_in // _MONTHS[freq] + 1, fiscal_year_start_month)


def fiscal_year_of(day: date | str, *, fiscal_year_start_month: int = 1) -> int:
    """The fiscal year (named by the calendar year it ends in) that contains ``day``."""
    d = parse_date(day)
    _check_start_month(fiscal_year_start_month)
    if fiscal_year_start_month == 1:
        return d.year
    return d.year + 1 if d.month >= fiscal_year_start_month else d.year


def is_period_end(day: date | str, freq: str, *, fiscal_year_start_month: int = 1) -> bool:
    """Whether ``day`` is the last day of its period of frequency ``freq``."""
    d = parse_date(day)
    return period_of(d, freq, fiscal_year_start_month=fiscal_year_start_month).end == d


def last_complete_period(
    as_of: date | str, freq: str, *, fiscal_year_start_month: int = 1
) -> Period:
    """The newest period of frequency ``freq`` that has ended on or before ``as_of``.

    The as-of day counts in full: on 2026-09-30 September is complete; on 2026-10-15 the
    newest complete month is still September.
    """
    d = parse_date(as_of)
    p = period_of(d, freq, fiscal_year_start_month=fiscal_year_start_month)
    return p if p.end == d else p.previous()


def due_periods(
    as_of: date | str,
    frequencies: tuple[str, ...] | list[str] = ("monthly", "quarterly", "yearly"),
    *,
    fiscal_year_start_month: int = 1,
) -> dict[str, Period]:
    """For each frequency, the period a scheduled report is due for on ``as_of``.

    That is the newest *complete* period (:func:`last_complete_period`): a nightly run
    renders a monthly report once the month has closed, and a run that missed some nights
    still finds the same period due.

    >>> {f: p.label for f, p in due_periods("2026-09-30").items()}
    {'monthly': '2026-09', 'quarterly': '2026-Q3', 'yearly': 'FY2025'}
    """
    return {
        normalise_frequency(f): last_complete_period(
            as_of, f, fiscal_year_start_month=fiscal_year_start_month
        )
        for f in frequencies
    }


def trailing_window(as_of: date | str, *, months: int = 12) -> tuple[date, date]:
    """First and last day of the ``months`` months that end on ``as_of`` (both inclusive).

    >>> [d.isoformat() for d in trailing_window("2026-09-30")]
    ['2025-10-01', '2026-09-30']
    >>> [d.isoformat() for d in trailing_window("2024-02-29")]
    ['2023-03-01', '2024-02-29']
    """
    end = parse_date(as_of)
    if months < 1:
        raise ConfigError(f"A trailing window needs at least 1 month. Got {months} instead.")
    start = _add_months(end + timedelta(days=1), -months)
    if _add_months(start, months) != end + timedelta(days=1):
        # end + 1 day was a clipped month end (e.g. 31 March back to 31 Feb): start after it
        start = start + timedelta(days=1)
    return start, end


# -- helpers ----------------------------------------------------------------------------------
def _check_start_month(month: int) -> None:
    if not isinstance(month, int) or isinstance(month, bool) or not 1 <= month <= 12:
        raise ConfigError(
            f"The fiscal year start month must be a whole number 1–12. Got {month!r} instead."
        )


def _freq_message(freq: object) -> str:
    return f"Frequency {freq!r} is not known. Valid frequencies: {', '.join(FREQUENCIES)}."


def _fiscal_year_start(fiscal_year: int, start_month: int) -> date:
    """First day of the fiscal year named ``fiscal_year`` (the calendar year it ends in)."""
    return date(fiscal_year if start_month == 1 else fiscal_year - 1, start_month, 1)


def _add_months(d: date, months: int) -> date:
    """``d`` shifted by whole months, the day clipped to the target month's length."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(d.day, _month_days(year, month)))


def _month_days(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def _iso_weeks(year: int) -> int:
    """52 or 53: the number of ISO weeks of ``year`` (28 December is always in the last)."""
    return date(year, 12, 28).isocalendar().week
