"""The registry features: company size and age from the ``firmographics`` table (issue 14).

Four static features, each read from one registry record per account and as-of date:

- ``registry_capital`` — registered capital in CNY.  A record whose capital is in another
  currency (``reg_capital_currency`` USD, EUR, HKD …, or none given) gives a missing value:
  kamlib holds no exchange rates, and converting at an arbitrary rate would rank a foreign
  company against Chinese ones on a number nobody chose.  Currency codes are compared after
  trimming and upper-casing; ``CNY``, ``RMB`` and ``人民币`` are CNY.
- ``insured_headcount`` — the insured headcount (参保人数); when the record has none, the
  lower bound of its headcount band (人员规模: ``"5000-9999人"`` → 5000, ``"10000人以上"`` →
  10000, ``"小于50人"`` / ``"50人以下"`` → 0; the first whole number in the band otherwise).
- ``years_established`` — years from the established date to the as-of date (days ÷ 365.25);
  missing when the company was established after the as-of date.
- ``listed`` — 1 listed, 0 not listed, from the record's ``listed`` flag; without a flag, from
  the company type as the registry prints it: the SAMR registration types name the listing
  status of a company limited by shares — ``股份有限公司(上市…)`` is 1, ``股份有限公司(非上市…)``
  is 0.  No other type is read (``股份`` alone says nothing about a listing: most companies
  limited by shares are not listed), so every other type without a flag is missing.

Which record
------------
Per account and as-of date: the record :func:`kamlib.data.registry_records.chosen_records`
picks — the newest retrieval on or before the as-of date, else the earliest (the reports read
the same record; the rule and its price are stated there).  With ``rollup=True`` a group has the
registry features of its top account, like ``registered_capital``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from kamlib.data.registry_records import chosen_records

#: The registry features, in column order.
REGISTRY_FEATURES = ("registry_capital", "insured_headcount", "years_established", "listed")

#: Currency codes read as CNY (after trimming and upper-casing).
CNY_CODES = ("CNY", "RMB", "人民币")

#: Days per year of ``years_established``.
DAYS_PER_YEAR = 365.25

_NULL = ibis.null("float64")


def _band_lower_bound(band: ir.StringValue) -> ir.FloatingValue:
    """The lower bound of a headcount band (see the module docstring), NULL when unreadable."""
    text = band.replace(",", "").strip()
    below = (
        text.contains("小于") | text.contains("少于") | text.contains("以下") | text.contains("<")
    )
    below = below | text.lower().contains("less than") | text.lower().contains("under")
    first = text.re_extract(r"([0-9]+)", 1).nullif("")
    return ibis.ifelse(below, 0.0, first.cast("float64"))


def _listed(flag: ir.BooleanValue, company_type: ir.StringValue) -> ir.FloatingValue:
    kind = company_type.replace("（", "(").replace("）", ")")
    from_type = ibis.cases(
        (kind.contains("非上市"), 0.0),
        (kind.contains("(上市"), 1.0),
        else_=_NULL,
    )
    return ibis.ifelse(flag.notnull(), ibis.ifelse(flag, 1.0, 0.0), from_type)


def registry_features(firmographics: ir.Table, snaps: ir.Table) -> ir.Table:
    """Per (k, account): the registry features of the record chosen for date k.

    ``firmographics`` is the prepared table (``_prepare``), ``snaps`` the dates
    (``_Plan.snapshots``).  Accounts without a record get no row (their features are NULL
    after the left join).
    """
    f = firmographics
    currency = f.reg_capital_currency.strip().upper()
    # each record's values worked out once, not once per date: only the age needs the date
    f = f.mutate(
        _capital=ibis.ifelse(currency.isin(CNY_CODES), f.reg_capital, _NULL),
        _headcount=f.insured_headcount.coalesce(_band_lower_bound(f.headcount_band)),
        _listed=_listed(f.listed, f.company_type),
    )
    c = chosen_records(f, snaps)
    days = c.as_of.delta(c.established, unit="day").cast("float64")
    return c.select(
        k=c.k,
        account_id=c.account_id,
        registry_capital=c._capital,
        insured_headcount=c._headcount,
        years_established=ibis.ifelse(days >= 0, days / DAYS_PER_YEAR, _NULL),
        listed=c._listed,
    )
