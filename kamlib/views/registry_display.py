"""Company registry data as the reports show it: the dossier's registry profile and events.

The analysis is :mod:`kamlib.research.registry` (which record, which events); this module
writes it for a report in English or Chinese: capital with its own currency (a company's
registered capital may be in US dollars in a report in yuan), headcount with its band,
province and city together, the source and retrieval date last; event types translated.
Without the tables the texts say what is needed: ``kam enrich`` and the README section
"Company registry data".
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from kamlib.methodology.labels import check_lang, label
from kamlib.research.registry import AVAILABLE, NO_TABLE, RegistrySection
from kamlib.views.format import format_currency, format_number

#: What a report says when the store has no registry data (a notice of the section).
NEEDS_FIRMOGRAPHICS = (
    "needs a 'firmographics' table: match a registry export (天眼查 / 企查查 batch export, "
    "D&B) to the accounts with `kam enrich EXPORT --store STORE` (README, 'Company registry "
    "data')"
)
#: Columns of the registry events table a report shows.
EVENT_DISPLAY_COLUMNS = ["date", "type", "event_before", "event_after", "source"]


def money_text(amount: float | None, currency: str | None, lang: str) -> str | None:
    """An amount in its own currency (``CN¥37,910,000``, ``US$5,000,000``); ``None`` when
    there is no amount."""
    if amount is None:
        return None
    return format_currency(amount, currency=currency or "CNY", lang=lang)


def registry_facts(section: RegistrySection | None, lang: str = "en") -> dict[str, Any]:
    """The registry profile as label key → value for :func:`kamlib.views.format.facts`
    (values already written where a fact combines two columns); empty without a record."""
    check_lang(lang)
    if section is None or section.profile_status != AVAILABLE:
        return {}
    p = section.profile
    sep = "、" if lang == "zh" else ", "
    id_key = next((k for k in ("uscc", "duns", "company_id") if k in p), "company_id")
    headcount = None
    if p.get("insured_headcount") is not None:
        headcount = format_number(p["insured_headcount"], lang=lang)
        if p.get("headcount_band"):
            headcount += f" ({p['headcount_band']})"
    elif p.get("headcount_band"):
        headcount = p["headcount_band"]
    industry = p.get("industry")
    if p.get("industry_code"):
        industry = f"{industry} · {p['industry_code']}" if industry else p["industry_code"]
    place = " ".join(dict.fromkeys(v for v in (p.get("province"), p.get("city")) if v)) or None
    former = p.get("former_names")
    match = None
    if p.get("match_method"):
        match = p["match_method"]
        if p.get("match_confidence") is not None:
            match += f" ({p['match_confidence']:.2f})"
    return {
        "registry_legal_name": p.get("legal_name"),
        f"registry_{id_key}": p.get(id_key),
        "registry_former_names": sep.join(former.split("；")) if former else None,
        "registry_status": p.get("reg_status"),
        "registry_established": p.get("established"),
        "registry_registered_capital": money_text(p.get("reg_capital"), p.get("reg_capital_currency"), lang),
        "registry_paid_in_capital": money_text(
            p.get("paid_in_capital"), p.get("paid_in_capital_currency"), lang
        ),
        "registry_headcount": headcount,
        "registry_industry": industry,
        "registry_listed": p.get("listed"),
        "registry_place": place,
        "registry_source": p.get("registry_source"),
        "registry_retrieved_at": p.get("retrieved_at"),
        "registry_match": match,
    }


def registry_empty_text(section: RegistrySection | None) -> str:
    """The label key shown in place of the registry profile: no table, or no record."""
    if section is None or section.profile_status == NO_TABLE:
        return "needs_registry_data"
    return "no_registry_record"


def registry_events_frame(section: RegistrySection | None, lang: str = "en") -> pd.DataFrame:
    """The events of the window, newest first: :data:`EVENT_DISPLAY_COLUMNS` (type in
    ``lang``)."""
    check_lang(lang)
    if section is None or section.events.empty:
        return pd.DataFrame(columns=EVENT_DISPLAY_COLUMNS)
    ev = section.events
    types = [
        label("event_capital_reduction" if cut else f"event_{t}", lang)
        for t, cut in zip(ev["type"], ev["capital_reduced"], strict=True)
    ]
    return pd.DataFrame(
        {
            "date": pd.to_datetime(ev["date"]).to_numpy(),
            "type": types,
            "event_before": ev["before"].to_numpy(dtype=object),
            "event_after": ev["after"].to_numpy(dtype=object),
            "source": ev["source"].to_numpy(dtype=object),
        },
        columns=EVENT_DISPLAY_COLUMNS,
    )


def registry_events_empty_text(section: RegistrySection | None) -> str:
    """The label key shown in place of an empty events table."""
    if section is None or section.events_status == NO_TABLE:
        return "needs_registry_events"
    return "no_registry_events"
