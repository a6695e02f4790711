"""Decision makers and the power map (权力地图): who decides, whether they support us, coverage gaps.

Definitions (thresholds from the ``research`` section of the methodology file,
:class:`kamlib.methodology.ResearchSettings`)
------------------------------------------------------------------------------------------
- **key person**: influence ≥ ``high_influence`` (4 of 5).
- **stance** from support (−2 … +2): ``champion`` (+2), ``supporter`` (≥
  ``supporter_min_support``), ``neutral``, ``skeptic`` (−1 < support < supporter), ``opponent``
  (≤ ``opponent_max_support``), ``unknown`` (no value).
- **grid cell**: high / low influence × for / neutral / against.
- **last contact**: the later of the contact's ``last_contact_date`` and its latest activity,
  both on or before ``as_of``; ``days_since_contact`` counts days to ``as_of``.
- **relationship strength** of a contact, 0–100::

      strength = 100 × ( w_s × (support + 2) / 4
                       + w_r × exp(−days_since_contact / recency_scale_days)
                       + w_f × min(activities_in_window / full_frequency, 1) )

  with w_s, w_r, w_f = ``strength_support_weight``, ``strength_recency_weight``,
  ``strength_frequency_weight`` (0.5, 0.25, 0.25), a scale of 90 days, 6 activities for full
  frequency, the window ``relationship_window_days`` (365).  Unknown support counts as
  neutral (0), never contacted as recency 0.  The **account's strength** is the
  influence-weighted mean of its contacts' strengths (unknown influence weighs 1).

Coverage gaps (findings, see :mod:`kamlib.research.findings`)
-------------------------------------------------------------
- ``no_economic_buyer`` — no contact with buying role ``economic``.
- ``high_influence_opponent`` — a key person who is an opponent.
- ``single_threaded`` — in the window, fewer than ``single_thread_min_contacts`` (2)
  contacts were met, or one contact holds ≥ ``single_thread_share`` (60 %) of the
  contact-linked activities: one relationship carries the account.
- ``key_person_not_contacted`` — a key person not contacted for more than
  ``stale_contact_days`` (90) days (or never).
- per open opportunity (``opportunity_contacts``): ``deal_no_economic_buyer`` (no linked
  economic buyer), ``deal_opponent`` (a linked key person who opposes),
  ``deal_single_threaded`` (one linked contact or none).

Contacts with a buying role or reaction mode outside the canonical lists, or support /
influence outside their ranges, do not reach here through ``kam import`` (the import
quarantines such rows).  Frames built by hand may hold them: roles are read as ``other``,
unknown reaction modes and out-of-range numbers as missing, and each case is listed in
``PowerMap.issues``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.data.schemas import BUYING_ROLES, REACTION_MODES
from kamlib.display import Brief, ShowsBrief, table_size
from kamlib.methodology import ResearchSettings

CONTACT_COLUMNS = [
    "contact_id", "name", "title", "department", "buying_role", "influence", "support",
    "stance", "reaction_mode", "key_person", "grid_cell", "last_contact_date",
    "days_since_contact", "activities_in_window", "strength", "business_challenges", "email",
    "phone",
]  # fmt: skip


@dataclass(frozen=True, repr=False)
class PowerMap(ShowsBrief):
    """The power map of one account as of a date.

    Attributes
    ----------
    contacts
        One row per contact, most influential first: columns :data:`CONTACT_COLUMNS`
        (``influence`` / ``support`` float, NaN when unknown; ``strength`` 0–100).
    roles
        Count of contacts and of key persons per buying role (every canonical role listed):
        ``buying_role, contacts, key_persons, supporters, opponents``.
    deals
        One row per open opportunity: ``opportunity_id, name, amount, contacts,
        economic_buyer, opponents, single_threaded``.
    gaps
        The coverage gaps: ``gap, level`` (account / opportunity), ``subject`` (account or
        opportunity id), ``persons`` (names, comma-separated), ``value`` (the number the
        rule compared) and ``threshold``.
    strength
        The account's relationship strength (0–100; NaN without contacts).
    issues
        Data problems found: ``contact_id, column, value, handling``.
    """


    contacts: pd.DataFrame
    roles: pd.DataFrame
    deals: pd.DataFrame
    gaps: pd.DataFrame
    strength: float
    issues: pd.DataFrame

    def _brief(self) -> Brief:
        return Brief(
            "PowerMap",
            {
                "contacts": len(self.contacts),
                "coverage gaps": len(self.gaps),
                "relationship strength": float(self.strength),
            },
            {
                f".{name}": table_size(getattr(self, name))
                for name in ("contacts", "roles", "deals", "gaps", "issues")
            },
        )



def stance(support: pd.Series, settings: ResearchSettings) -> pd.Series:
    """Support (−2 … +2) → ``champion / supporter / neutral / skeptic / opponent / unknown``."""
    s = pd.to_numeric(support, errors="coerce").astype("float64")
    out = np.select(
        [
            s.isna(),
            s >= 2,
            s >= settings.supporter_min_support,
            s <= settings.opponent_max_support,
            s < 0,
        ],
        ["unknown", "champion", "supporter", "opponent", "skeptic"],
        default="neutral",
    )
    return pd.Series(out, index=support.index, dtype="str")


def relationship_strength(
    support: pd.Series,
    days_since_contact: pd.Series,
    activities_in_window: pd.Series,
    settings: ResearchSettings,
) -> pd.Series:
    """Each contact's relationship strength, 0–100 (formula in the module docstring)."""
    s = pd.to_numeric(support, errors="coerce").astype("float64").fillna(0.0).clip(-2, 2)
    days = pd.to_numeric(days_since_contact, errors="coerce").astype("float64")
    recency = np.exp(-days.clip(lower=0) / settings.strength_recency_scale_days).fillna(0.0)
    freq = (
        pd.to_numeric(activities_in_window, errors="coerce").astype("float64").fillna(0.0)
        / settings.strength_full_frequency
    ).clip(upper=1.0)
    value = 100.0 * (
        settings.strength_support_weight * (s + 2.0) / 4.0
        + settings.strength_recency_weight * recency
        + settings.strength_frequency_weight * freq
    )
    return value.astype("float64")


def account_strength(contacts: pd.DataFrame) -> float:
    """Influence-weighted mean of ``strength`` (unknown influence weighs 1; NaN when empty)."""
    if contacts.empty:
        return float("nan")
    w = pd.to_numeric(contacts["influence"], errors="coerce").astype("float64").fillna(1.0)
    return float(np.average(contacts["strength"].astype("float64"), weights=w))


def clean_contacts(contacts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contacts with unknown roles / modes / out-of-range numbers neutralised, and the issues."""
    out = contacts.copy()
    issues: list[dict[str, object]] = []

    def note(mask: pd.Series, column: str, handling: str) -> None:
        for cid, value in zip(out.loc[mask, "contact_id"], contacts.loc[mask, column], strict=True):
            issues.append(
                {"contact_id": str(cid), "column": column, "value": str(value),
                 "handling": handling}
            )  # fmt: skip

    role = out["buying_role"].astype("string").str.strip().str.lower()
    bad = role.notna() & ~role.isin(BUYING_ROLES)
    note(bad, "buying_role", f"not one of {', '.join(BUYING_ROLES)}: read as 'other'")
    out["buying_role"] = role.where(~bad, "other").astype("string")
    mode = out["reaction_mode"].astype("string").str.strip().str.lower()
    bad = mode.notna() & ~mode.isin(REACTION_MODES)
    note(bad, "reaction_mode", f"not one of {', '.join(REACTION_MODES)}: read as unknown")
    out["reaction_mode"] = mode.where(~bad).astype("string")
    for column, lo, hi in (("influence", 1, 5), ("support", -2, 2)):
        raw = out[column]
        num = pd.to_numeric(raw.astype("object"), errors="coerce").astype("float64")
        bad = raw.notna() & (num.isna() | (num < lo) | (num > hi) | (num != num.round()))
        note(bad, column, f"not a whole number from {lo} to {hi}: read as unknown")
        out[column] = num.where(~bad)
    frame = pd.DataFrame(issues, columns=["contact_id", "column", "value", "handling"])
    return out, frame


def build_power_map(
    contacts: pd.DataFrame,
    activities: pd.DataFrame | None,
    *,
    cut: pd.Timestamp,
    account_id: str,
    settings: ResearchSettings,
    opportunities: pd.DataFrame | None = None,
    opportunity_contacts: pd.DataFrame | None = None,
) -> PowerMap:
    """The power map from one account's frames (already cut at ``cut``).

    ``contacts`` / ``activities`` hold the account's rows; ``opportunities`` its open deals;
    ``opportunity_contacts`` the links of those deals.  Used by
    :func:`kamlib.research.account_dossier`; call that, or :func:`power_map`.
    """
    cleaned, issues = clean_contacts(contacts)
    window_start = cut - pd.Timedelta(days=settings.relationship_window_days)
    touches = pd.Series(dtype="int64")
    last_activity = pd.Series(dtype="datetime64[ns]")
    if activities is not None and len(activities):
        linked = activities[activities["contact_id"].notna()]
        last_activity = linked.groupby("contact_id")["date"].max()
        recent = linked[linked["date"] > window_start]
        touches = recent.groupby("contact_id").size()
    ids = cleaned["contact_id"]
    recorded = pd.to_datetime(cleaned["last_contact_date"]).astype("datetime64[ns]")
    met = (
        pd.to_datetime(ids.map(last_activity)).astype("datetime64[ns]")
        if len(last_activity)
        else pd.Series(pd.NaT, index=ids.index, dtype="datetime64[ns]")
    )
    last = recorded.where(recorded.notna() & ~(met > recorded), met)
    days = (cut - last).dt.days.astype("float64")
    n_touch = ids.map(touches).fillna(0).astype("int64")
    influence = cleaned["influence"].astype("float64")
    key = influence >= settings.high_influence
    st = stance(cleaned["support"], settings)
    side = np.where(
        st.isin(["champion", "supporter"]), "for",
        np.where(st.isin(["opponent", "skeptic"]), "against",
                 np.where(st == "unknown", "unknown", "neutral")),
    )  # fmt: skip
    grid = np.where(key, "high influence", "low influence")
    frame = pd.DataFrame(
        {
            "contact_id": ids.astype(str).to_numpy(),
            "name": cleaned["name"].astype("object").to_numpy(),
            "title": cleaned["title"].astype("object").to_numpy(),
            "department": cleaned["department"].astype("object").to_numpy(),
            "buying_role": cleaned["buying_role"].astype("object").to_numpy(),
            "influence": influence.to_numpy(),
            "support": cleaned["support"].astype("float64").to_numpy(),
            "stance": st.to_numpy(),
            "reaction_mode": cleaned["reaction_mode"].astype("object").to_numpy(),
            "key_person": key.to_numpy(dtype=bool),
            "grid_cell": [f"{g} · {s}" for g, s in zip(grid, side, strict=True)],
            "last_contact_date": last.to_numpy(),
            "days_since_contact": days.to_numpy(),
            "activities_in_window": n_touch.to_numpy(),
            "business_challenges": cleaned["business_challenges"].astype("object").to_numpy(),
            "email": cleaned["email"].astype("object").to_numpy(),
            "phone": cleaned["phone"].astype("object").to_numpy(),
        }
    )
    frame["strength"] = relationship_strength(
        frame["support"], frame["days_since_contact"], frame["activities_in_window"], settings
    ).to_numpy()
    frame = frame[CONTACT_COLUMNS].sort_values(
        ["influence", "support", "contact_id"], ascending=[False, False, True], na_position="last"
    )
    frame = frame.reset_index(drop=True)

    counts = pd.DataFrame(
        {
            "buying_role": frame["buying_role"].to_numpy(),
            "contacts": 1,
            "key_persons": frame["key_person"].to_numpy(dtype="int64"),
            "supporters": frame["stance"].isin(["champion", "supporter"]).to_numpy(dtype="int64"),
            "opponents": (frame["stance"] == "opponent").to_numpy(dtype="int64"),
        }
    )
    roles = counts.groupby("buying_role").sum().reindex(BUYING_ROLES, fill_value=0).astype("int64")
    roles = roles.rename_axis("buying_role").reset_index()

    gaps: list[dict[str, object]] = []

    def gap(name: str, level: str, subject: str, persons: list, value: float, threshold: float):
        gaps.append(
            {"gap": name, "level": level, "subject": subject,
             "persons": ", ".join(str(p) for p in persons if p is not None and p == p),
             "value": float(value), "threshold": float(threshold)}
        )  # fmt: skip

    if len(frame):
        if not (frame["buying_role"] == "economic").any():
            gap("no_economic_buyer", "account", account_id, [], 0, 1)
        opp = frame[frame["key_person"] & (frame["support"] <= settings.opponent_max_support)]
        if len(opp):
            gap("high_influence_opponent", "account", account_id, list(opp["name"]),
                len(opp), settings.opponent_max_support)  # fmt: skip
        met = frame[frame["activities_in_window"] > 0]
        total = float(met["activities_in_window"].sum())
        top_share = float(met["activities_in_window"].max() / total) if total > 0 else 1.0
        if len(met) < settings.single_thread_min_contacts:
            gap("single_threaded", "account", account_id, list(met["name"]), len(met),
                settings.single_thread_min_contacts)  # fmt: skip
        elif top_share >= settings.single_thread_share:
            top = met.sort_values("activities_in_window", ascending=False).iloc[0]
            gap("single_threaded", "account", account_id, [top["name"]], top_share,
                settings.single_thread_share)  # fmt: skip
        stale = frame[
            frame["key_person"] & ~(frame["days_since_contact"] <= settings.stale_contact_days)
        ]
        if len(stale):
            gap("key_person_not_contacted", "account", account_id, list(stale["name"]),
                float(stale["days_since_contact"].max()) if stale["days_since_contact"].notna().any()
                else float("nan"), settings.stale_contact_days)  # fmt: skip

    deal_rows: list[dict[str, object]] = []
    if opportunities is not None and len(opportunities):
        links = (
            opportunity_contacts
            if opportunity_contacts is not None
            else pd.DataFrame({"opportunity_id": [], "contact_id": []})
        )
        by_id = frame.set_index("contact_id")
        for opp_row in opportunities.itertuples(index=False):
            linked_ids = links.loc[links["opportunity_id"] == opp_row.opportunity_id, "contact_id"]
            people = by_id.loc[by_id.index.intersection(linked_ids.astype(str))]
            economic = bool((people["buying_role"] == "economic").any())
            opponents = people[
                people["key_person"] & (people["support"] <= settings.opponent_max_support)
            ]
            single = len(people) <= 1
            deal_rows.append(
                {"opportunity_id": opp_row.opportunity_id, "name": opp_row.name,
                 "amount": float(opp_row.amount) if pd.notna(opp_row.amount) else np.nan,
                 "contacts": len(people), "economic_buyer": economic,
                 "opponents": len(opponents), "single_threaded": single}
            )  # fmt: skip
            if not economic:
                gap("deal_no_economic_buyer", "opportunity", opp_row.opportunity_id, [], 0, 1)
            if len(opponents):
                gap("deal_opponent", "opportunity", opp_row.opportunity_id,
                    list(opponents["name"]), len(opponents), settings.opponent_max_support)  # fmt: skip
            if single:
                gap("deal_single_threaded", "opportunity", opp_row.opportunity_id,
                    list(people["name"]), len(people), 2)  # fmt: skip
    deals = pd.DataFrame(
        deal_rows,
        columns=["opportunity_id", "name", "amount", "contacts", "economic_buyer", "opponents",
                 "single_threaded"],
    )  # fmt: skip
    gaps_frame = pd.DataFrame(
        gaps, columns=["gap", "level", "subject", "persons", "value", "threshold"]
    )
    return PowerMap(
        contacts=frame,
        roles=roles,
        deals=deals,
        gaps=gaps_frame,
        strength=account_strength(frame),
        issues=issues,
    )
