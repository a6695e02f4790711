"""Dossier section: the company as the business registry sees it, and its recent events.

Reads the ``firmographics`` and ``company_events`` tables that ``kam enrich`` loads
(:mod:`kamlib.enrich`); both are optional.

- **Registry profile**: the account's ``firmographics`` record for the dossier date — the
  newest retrieval on or before it, else the earliest, the record the score reads
  (:func:`kamlib.data.registry_records.record_as_of`) — legal name, USCC (or
  D-U-N-S), status, established, registered and paid-in capital with their currencies,
  insured headcount and band, industry, listed, province and city — with the source and the
  retrieval date, so a reader knows how old the record is.
- **Registry events**: the account's ``company_events`` dated in the last
  ``research.registry_event_months`` months up to the dossier date (24 by default), newest
  first.  A ``capital_change`` is a *capital reduction* when its before and after amounts
  can both be read (:func:`kamlib.enrich.parse_capital`), are in the same currency and the
  after is lower; an increase, or a change whose amounts cannot be read, is listed and
  raises no finding.  Which events become findings is decided in
  :mod:`kamlib.research.findings`.

A store without these tables, or an account no registry record was matched to, gives an
empty profile and events with a ``status`` saying which; the dossier still renders and no
``missing_data`` finding is raised (registry data is an enrichment, not a gap in the
account's own records).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from kamlib.data.registry_records import record_as_of
from kamlib.enrich import parse_capital
from kamlib.research._common import months_back, text
from kamlib.research.sections import DossierAccount

#: Columns of :attr:`RegistrySection.events`.
EVENT_COLUMNS = ["event_id", "date", "type", "before", "after", "source", "capital_reduced"]

#: ``status`` values: registry data shown; the store has no such table; the table has no row
#: for the account (no registry record was matched to it, or none dated in the window).
AVAILABLE, NO_TABLE, NO_RECORD = "available", "no_table", "no_record"


@dataclass(frozen=True)
class RegistrySection:
    """The registry part of one dossier.

    Attributes
    ----------
    profile
        Label key → value (empty when ``profile_status`` is not ``available``):
        ``legal_name, uscc`` (or ``duns`` / ``company_id``), ``former_names, reg_status,
        established, reg_capital, reg_capital_currency, paid_in_capital,
        paid_in_capital_currency, insured_headcount, headcount_band, industry,
        industry_code, listed, province, city, registry_source, retrieved_at,
        match_method, match_confidence``.
    profile_status, events_status
        :data:`AVAILABLE`, :data:`NO_TABLE` or :data:`NO_RECORD`.
    events
        :data:`EVENT_COLUMNS`, newest first, dated after ``window_start`` up to the dossier
        date.
    window_start
        The start (exclusive) of the events window.
    """

    profile: dict[str, Any]
    profile_status: str
    events: pd.DataFrame
    events_status: str
    window_start: pd.Timestamp


def capital_reduced(before: object, after: object) -> bool:
    """Whether a capital change went down: both amounts readable, same currency, after lower
    (``"1500万人民币"`` → ``"1000万人民币"`` is a reduction; ``"-"`` → anything is not)."""
    amount_before, currency_before = parse_capital(before)
    amount_after, currency_after = parse_capital(after)
    if amount_before is None or amount_after is None:
        return False
    if currency_before and currency_after and currency_before != currency_after:
        return False
    return amount_after < amount_before


def registry_section(a: DossierAccount) -> RegistrySection:
    """Dossier section: the account's registry profile and its events of the window."""
    view, cut, account_id = a.view, a.cut, a.account_id
    start = months_back(cut, a.s.registry_event_months)
    profile: dict[str, Any] = {}
    profile_status = NO_TABLE
    if view.has("firmographics"):
        firms = view.firmographics
        mine = record_as_of(firms[firms["account_id"] == account_id], as_of=cut)
        profile_status = NO_RECORD
        if len(mine):
            profile, profile_status = _profile(mine.iloc[0]), AVAILABLE
    events = pd.DataFrame(columns=EVENT_COLUMNS)
    events_status = NO_TABLE
    if view.has("company_events"):
        ev = view.company_events
        dates = pd.to_datetime(ev["date"])
        mine = ev[(ev["account_id"] == account_id) & (dates > start) & (dates <= cut)]
        events_status = AVAILABLE if len(mine) else NO_RECORD
        if len(mine):
            events = pd.DataFrame(
                {
                    "event_id": mine["event_id"].astype(str).to_numpy(),
                    "date": pd.to_datetime(mine["date"]).dt.normalize().to_numpy(),
                    "type": mine["type"].astype(str).to_numpy(),
                    "before": [text(v) for v in mine["before"]],
                    "after": [text(v) for v in mine["after"]],
                    "source": [text(v) for v in mine["source"]],
                    "capital_reduced": [
                        t == "capital_change" and capital_reduced(b, f)
                        for t, b, f in zip(mine["type"], mine["before"], mine["after"], strict=True)
                    ],
                },
                columns=EVENT_COLUMNS,
            )
            events = events.sort_values(
                ["date", "event_id"], ascending=[False, True], kind="mergesort"
            ).reset_index(drop=True)
    return RegistrySection(profile, profile_status, events, events_status, start)


def _profile(row: pd.Series) -> dict[str, Any]:
    """One firmographics row as label key → value (the id under its scheme's name)."""
    scheme = text(row.get("id_scheme"))
    id_key = scheme if scheme in ("uscc", "duns") else "company_id"
    return {
        "legal_name": text(row.get("legal_name")),
        id_key: text(row.get("company_id")),
        "former_names": text(row.get("former_names")),
        "reg_status": text(row.get("reg_status")),
        "established": _day(row.get("established")),
        "reg_capital": _amount(row.get("reg_capital")),
        "reg_capital_currency": text(row.get("reg_capital_currency")),
        "paid_in_capital": _amount(row.get("paid_in_capital")),
        "paid_in_capital_currency": text(row.get("paid_in_capital_currency")),
        "insured_headcount": (
            None if pd.isna(row.get("insured_headcount")) else int(row["insured_headcount"])
        ),
        "headcount_band": text(row.get("headcount_band")),
        "industry": text(row.get("industry")),
        "industry_code": _code(row.get("industry_code"), row.get("industry_scheme")),
        "listed": None if pd.isna(row.get("listed")) else bool(row["listed"]),
        "province": text(row.get("province")),
        "city": text(row.get("city")),
        "registry_source": text(row.get("source")),
        "retrieved_at": _day(row.get("retrieved_at")),
        "match_method": text(row.get("match_method")),
        "match_confidence": _amount(row.get("match_confidence")),
    }


def _day(value: Any) -> pd.Timestamp | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).normalize()


def _amount(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _code(code: Any, scheme: Any) -> str | None:
    code, scheme = text(code), text(scheme)
    if code is None:
        return None
    return f"{code} ({scheme})" if scheme else code
