"""kamlib.periods: every expected date below was checked by hand against a calendar."""

from __future__ import annotations

from datetime import date

import pytest

from kamlib.errors import ConfigError
from kamlib.periods import (
    Period,
    due_periods,
    fiscal_year_of,
    is_period_end,
    last_complete_period,
    normalise_frequency,
    parse_date,
    parse_period,
    period_of,
    trailing_window,
)

D = date.fromisoformat


@pytest.mark.parametrize(
    ("text", "fy", "label", "start", "end"),
    [
        ("2026-09", 1, "2026-09", "2026-09-01", "2026-09-30"),
        ("2024-02", 1, "2024-02", "2024-02-01", "2024-02-29"),  # leap year
        ("2026-02", 1, "2026-02", "2026-02-01", "2026-02-28"),
        ("2100-02", 1, "2100-02", "2100-02-01", "2100-02-28"),  # century, not leap
        ("2000-02", 1, "2000-02", "2000-02-01", "2000-02-29"),  # 400-year leap
        ("2026-Q3", 1, "2026-Q3", "2026-07-01", "2026-09-30"),
        ("2026-q1", 1, "2026-Q1", "2026-01-01", "2026-03-31"),
        ("2024-Q1", 1, "2024-Q1", "2024-01-01", "2024-03-31"),
        ("2026-H1", 1, "2026-H1", "2026-01-01", "2026-06-30"),
        ("2026-H2", 1, "2026-H2", "2026-07-01", "2026-12-31"),
        ("FY2026", 1, "FY2026", "2026-01-01", "2026-12-31"),
        # fiscal year starting in April, named by the year it ends in
        ("FY2026", 4, "FY2026", "2025-04-01", "2026-03-31"),
        ("FY2024", 4, "FY2024", "2023-04-01", "2024-03-31"),  # holds 29 Feb 2024
        ("FY2027-Q2", 4, "FY2027-Q2", "2026-07-01", "2026-09-30"),
        ("FY2026-Q4", 4, "FY2026-Q4", "2026-01-01", "2026-03-31"),
        ("FY2026-H2", 4, "FY2026-H2", "2025-10-01", "2026-03-31"),
        ("FY2026-Q1", 1, "2026-Q1", "2026-01-01", "2026-03-31"),  # = calendar when fy=1
        # ISO weeks: Monday to Sunday
        ("2026-W38", 1, "2026-W38", "2026-09-14", "2026-09-20"),
        ("2026-W01", 1, "2026-W01", "2025-12-29", "2026-01-04"),
        ("2026-W53", 1, "2026-W53", "2026-12-28", "2027-01-03"),  # 2026 has 53 ISO weeks
        ("2020-W53", 1, "2020-W53", "2020-12-28", "2021-01-03"),
    ],
)
def test_parse_period_dates(text, fy, label, start, end):
    p = parse_period(text, fiscal_year_start_month=fy)
    assert (p.label, p.start, p.end) == (label, D(start), D(end))
    assert parse_period(p.label, fiscal_year_start_month=fy) == p  # labels round-trip


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-Q5", "2026-H3", "2025-W53", "FY26", "2026", "Q3-2026", "", "2026-9"]
)
def test_bad_period_names_value_and_forms(text):
    with pytest.raises(ConfigError, match=r"Period .* (does not parse|does not exist).*Valid forms: 2026-09"):
        parse_period(text)


def test_bad_period_message_quotes_the_value():
    with pytest.raises(ConfigError, match=r"Period '2026-Q5' does not parse"):
        parse_period("2026-Q5")


@pytest.mark.parametrize(
    ("day", "freq", "fy", "label"),
    [
        ("2026-09-30", "monthly", 1, "2026-09"),
        ("2026-09-30", "quarterly", 1, "2026-Q3"),
        ("2026-10-01", "quarterly", 1, "2026-Q4"),
        ("2026-06-30", "half-yearly", 1, "2026-H1"),
        ("2026-07-01", "half-yearly", 1, "2026-H2"),
        ("2026-12-31", "yearly", 1, "FY2026"),
        ("2026-03-31", "yearly", 4, "FY2026"),
        ("2026-04-01", "yearly", 4, "FY2027"),
        ("2026-07-15", "quarterly", 4, "FY2027-Q2"),
        ("2026-03-31", "quarterly", 4, "FY2026-Q4"),
        ("2026-04-01", "quarterly", 4, "FY2027-Q1"),
        ("2026-09-30", "half-yearly", 4, "FY2027-H1"),
        ("2026-10-01", "half-yearly", 4, "FY2027-H2"),
        ("2024-02-29", "monthly", 1, "2024-02"),
        ("2024-02-29", "quarterly", 2, "FY2025-Q1"),  # fiscal year from February
        ("2026-01-31", "quarterly", 2, "FY2026-Q4"),  # ... so January closes FY2026
        ("2027-01-01", "weekly", 1, "2026-W53"),  # ISO year differs from calendar year
        ("2026-09-20", "W", 1, "2026-W38"),
        ("2026-09-14", "week", 1, "2026-W38"),
    ],
)
def test_period_of(day, freq, fy, label):
    p = period_of(day, freq, fiscal_year_start_month=fy)
    assert p.label == label
    assert p.contains(day)


def test_fiscal_year_of():
    assert fiscal_year_of("2026-03-31", fiscal_year_start_month=4) == 2026
    assert fiscal_year_of("2026-04-01", fiscal_year_start_month=4) == 2027
    assert fiscal_year_of("2026-12-31", fiscal_year_start_month=1) == 2026
    assert fiscal_year_of("2026-06-30", fiscal_year_start_month=7) == 2026
    assert fiscal_year_of("2026-07-01", fiscal_year_start_month=7) == 2027


@pytest.mark.parametrize(
    ("text", "fy", "previous", "following"),
    [
        ("2026-01", 1, "2025-12", "2026-02"),
        ("2026-Q1", 1, "2025-Q4", "2026-Q2"),
        ("2026-H1", 1, "2025-H2", "2026-H2"),
        ("FY2026", 4, "FY2025", "FY2027"),
        ("FY2026-Q1", 4, "FY2025-Q4", "FY2026-Q2"),
        ("2026-W01", 1, "2025-W52", "2026-W02"),
        ("2026-W53", 1, "2026-W52", "2027-W01"),
    ],
)
def test_previous_and_next(text, fy, previous, following):
    p = parse_period(text, fiscal_year_start_month=fy)
    assert p.previous().label == previous
    assert p.next().label == following
    assert p.previous().end.toordinal() + 1 == p.start.toordinal()  # no gap, no overlap


def test_fiscal_quarters_tile_the_fiscal_year():
    year = parse_period("FY2026", fiscal_year_start_month=4)
    quarters = [parse_period(f"FY2026-Q{q}", fiscal_year_start_month=4) for q in range(1, 5)]
    assert quarters[0].start == year.start and quarters[-1].end == year.end
    assert sum(q.days for q in quarters) == year.days == 365
    assert parse_period("FY2024", fiscal_year_start_month=4).days == 366  # Apr 2023 – Mar 2024


@pytest.mark.parametrize(
    ("as_of", "freq", "fy", "label"),
    [
        ("2026-09-30", "monthly", 1, "2026-09"),  # the as-of day closes the month
        ("2026-09-29", "monthly", 1, "2026-08"),
        ("2026-10-15", "monthly", 1, "2026-09"),
        ("2026-10-01", "monthly", 1, "2026-09"),
        ("2026-09-30", "quarterly", 1, "2026-Q3"),
        ("2026-10-15", "quarterly", 1, "2026-Q3"),
        ("2026-09-29", "quarterly", 1, "2026-Q2"),
        ("2026-09-30", "yearly", 1, "FY2025"),
        ("2026-12-31", "yearly", 1, "FY2026"),
        ("2026-03-31", "yearly", 4, "FY2026"),
        ("2026-04-01", "yearly", 4, "FY2026"),
        ("2026-03-30", "yearly", 4, "FY2025"),
        ("2024-02-29", "monthly", 1, "2024-02"),
        ("2024-02-28", "monthly", 1, "2024-01"),
        ("2026-09-20", "weekly", 1, "2026-W38"),  # a Sunday closes its ISO week
        ("2026-09-19", "weekly", 1, "2026-W37"),
    ],
)
def test_last_complete_period(as_of, freq, fy, label):
    assert last_complete_period(as_of, freq, fiscal_year_start_month=fy).label == label


def test_due_periods_and_period_ends():
    due = due_periods("2026-09-30")
    assert {f: p.label for f, p in due.items()} == {
        "monthly": "2026-09",
        "quarterly": "2026-Q3",
        "yearly": "FY2025",
    }
    assert {p.end for p in due.values()} == {D("2026-09-30"), D("2025-12-31")}
    due_fy = due_periods("2026-03-31", ["M", "Q", "Y"], fiscal_year_start_month=4)
    assert [p.label for p in due_fy.values()] == ["2026-03", "FY2026-Q4", "FY2026"]
    assert is_period_end("2026-09-30", "quarterly")
    assert not is_period_end("2026-09-30", "yearly")
    assert is_period_end("2024-02-29", "monthly")
    assert is_period_end("2026-03-31", "yearly", fiscal_year_start_month=4)


@pytest.mark.parametrize(
    ("as_of", "months", "start"),
    [
        ("2026-09-30", 12, "2025-10-01"),
        ("2024-02-29", 12, "2023-03-01"),  # leap day: twelve whole months
        ("2025-02-28", 12, "2024-03-01"),  # ... and the year after: 29 Feb 2024 included
        ("2026-09-15", 12, "2025-09-16"),
        ("2026-09-30", 3, "2026-07-01"),
        ("2026-03-30", 1, "2026-03-01"),  # "one month before 30 March" is clipped: start 1 March
        ("2026-01-31", 1, "2026-01-01"),
    ],
)
def test_trailing_window(as_of, months, start):
    assert trailing_window(as_of, months=months) == (D(start), D(as_of))


def test_trailing_window_days():
    first, last = trailing_window("2025-02-28")
    assert (last - first).days + 1 == 365
    first, last = trailing_window("2024-02-29")
    assert (last - first).days + 1 == 366


def test_bad_inputs():
    with pytest.raises(ConfigError, match=r"Date '2026-13-01' does not parse.*YYYY-MM-DD"):
        parse_date("2026-13-01")
    with pytest.raises(ConfigError, match=r"Frequency 'fortnightly' is not known. Valid frequencies"):
        normalise_frequency("fortnightly")
    with pytest.raises(ConfigError, match=r"fiscal year start month must be a whole number 1–12"):
        period_of("2026-01-01", "yearly", fiscal_year_start_month=13)
    with pytest.raises(ConfigError, match=r"out of range"):
        Period(2026, "monthly", 13)
    with pytest.raises(ConfigError, match=r"at least 1 month"):
        trailing_window("2026-01-01", months=0)


def test_aliases():
    assert normalise_frequency("Q") == "quarterly"
    assert normalise_frequency("Half_Yearly") == "half-yearly"
    assert normalise_frequency("annual") == "yearly"
    assert parse_date(date(2026, 9, 30)) == D("2026-09-30")
