"""Charts of account research: the power map of an account's contacts and OGSM progress
(frames from :mod:`kamlib.research`)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from kamlib.charts.base import BAR_STEP, WIDTH, date_text, message_chart, require_columns
from kamlib.methodology.labels import check_lang, label

_ROLE_ORDER = ("economic", "technical", "user", "coach", "gatekeeper", "other")


def power_map(contacts: pd.DataFrame, *, lang: str = "en", high_influence: int = 4) -> alt.Chart:
    """Influence × support grid of an account's contacts (权力地图).

    ``contacts`` is :attr:`kamlib.research.PowerMap.contacts` (``name, title, buying_role,
    influence, support`` and, in the tooltip, ``stance, reaction_mode, last_contact_date,
    strength``).  Support runs from −2 (opponent) to +2 (champion) left to right, influence 1–5
    upwards; colour is the buying role, size the relationship strength.  Contacts sharing a
    cell stand in a short column around it (deterministically), each label on its own line; a dashed
    line marks the key-person threshold ``high_influence``.  Contacts without influence or
    support are left out of the grid (they are in the table).
    """
    check_lang(lang)
    require_columns(contacts, ("name", "buying_role", "influence", "support"), "power_map")
    known = contacts[contacts["influence"].notna() & contacts["support"].notna()]
    if known.empty:
        return message_chart(label("no_contacts", lang))
    t_name, t_title = label("contact_name", lang), label("title", lang)
    t_role, t_inf, t_sup = (
        label("buying_role", lang),
        label("influence", lang),
        label("support", lang),
    )
    # contacts sharing a cell stand in a short column around it, one label per line
    # (spread in a ring, their labels to the right ran into each other)
    cell = known.groupby(["influence", "support"]).cumcount().to_numpy()
    size = known.groupby(["influence", "support"])["name"].transform("size").to_numpy()
    step = np.minimum(0.2, 0.8 / np.maximum(size - 1, 1))
    offset = (cell - (size - 1) / 2) * step
    source = pd.DataFrame(
        {
            t_name: known["name"].astype(str).to_numpy(),
            t_title: known["title"].astype("object").fillna("").astype(str).to_numpy()
            if "title" in known
            else "",
            t_role: [label(f"role_{r}", lang) for r in known["buying_role"].fillna("other")],
            t_inf: known["influence"].astype("float64").to_numpy(),
            t_sup: known["support"].astype("float64").to_numpy(),
            "x": known["support"].astype("float64").to_numpy(),
            "y": known["influence"].astype("float64").to_numpy() - offset,
        }
    )
    tooltip = [alt.Tooltip(f"{t_name}:N"), alt.Tooltip(f"{t_title}:N"), alt.Tooltip(f"{t_role}:N"),
               alt.Tooltip(f"{t_inf}:Q"), alt.Tooltip(f"{t_sup}:Q", format="+d")]  # fmt: skip
    extra = (("stance", "stance", "N"), ("reaction_mode", "reaction_mode", "N"),
             ("last_contact_date", "last_contact_date", "N"), ("strength", "strength", "Q"))  # fmt: skip
    for col, key, kind in extra:
        if col not in known:
            continue
        t = label(key, lang)
        if col == "last_contact_date":
            source[t] = date_text(known[col])
        elif kind == "N":
            source[t] = [label(str(v), lang) if pd.notna(v) else "–" for v in known[col]]
        else:
            source[t] = known[col].astype("float64").round(0).to_numpy()
        tooltip.append(alt.Tooltip(f"{t}:{kind}"))
    roles = [label(f"role_{r}", lang) for r in _ROLE_ORDER]
    size_field = label("strength", lang) if "strength" in known else None
    points = (
        alt.Chart(source)
        .mark_circle(opacity=0.85, stroke="white", strokeWidth=1)
        .encode(
            x=alt.X("x:Q", title=f"{t_sup} (−2 … +2)",
                    scale=alt.Scale(domain=[-2.6, 2.6], nice=False),
                    axis=alt.Axis(values=[-2, -1, 0, 1, 2], format="+d", grid=True)),
            y=alt.Y("y:Q", title=t_inf, scale=alt.Scale(domain=[0.5, 5.5], nice=False),
                    axis=alt.Axis(values=[1, 2, 3, 4, 5], format="d")),
            color=alt.Color(f"{t_role}:N", scale=alt.Scale(domain=roles), title=t_role),
            size=(alt.Size(f"{size_field}:Q", scale=alt.Scale(domain=[0, 100], range=[40, 220]),
                           title=size_field) if size_field else alt.value(160)),
            tooltip=tooltip,
        )
    )  # fmt: skip
    rules = pd.DataFrame({"x": [0.0]})
    vertical = alt.Chart(rules).mark_rule(color="#9aa5b1").encode(x="x:Q")
    horizontal = (
        alt.Chart(pd.DataFrame({"y": [high_influence - 0.5]}))
        .mark_rule(color="#9aa5b1", strokeDash=[4, 4])
        .encode(y="y:Q")
    )
    # a label stops before the next support column (about 100 px away)
    names = points.mark_text(
        align="left", baseline="middle", dx=9, fontSize=10, color="#3d4852", limit=88
    ).encode(
        text=f"{t_name}:N", size=alt.value(10), color=alt.value("#3d4852")
    )
    chart = (vertical + horizontal + points + names).properties(width=WIDTH - 80, height=320)
    unplaced = len(contacts) - len(known)
    if unplaced:  # say so on the chart: a key person must not vanish silently
        note = label("power_map_unplaced", lang).format(n=unplaced)
        chart = chart.properties(
            title=alt.TitleParams(
                note, anchor="start", fontSize=11, fontWeight="normal", color="#6b7785"
            )
        )
    return chart


_STATUS_COLORS = {
    "achieved": "#3a7d44", "on_track": "#6fae7b", "at_risk": "#d1803b", "off_track": "#b5485d",
    "missed": "#7a2e3b", "not_started": "#9aa5b1", "no_actual": "#c8d0d8",
}  # fmt: skip


def ogsm_progress(progress: pd.DataFrame, *, lang: str = "en", top: int = 40) -> alt.Chart:
    """Bars: attainment (actual ÷ target) per target, coloured by status; a tick where a
    target on pace would be (expected ÷ target: the share of the period elapsed, 100 % for a
    level measure such as share of wallet).

    ``progress`` is :attr:`kamlib.research.OgsmResult.progress` or a slice of it (needs
    ``target_id, measure, period, attainment, elapsed, status``; ``level, owner, team,
    account_id`` make the row labels).  At most ``top`` rows are drawn.
    """
    check_lang(lang)
    require_columns(progress, ("target_id", "measure", "period", "attainment", "elapsed", "status"),
             "ogsm_progress")  # fmt: skip
    rows = progress[progress["attainment"].notna()].head(top)
    if rows.empty:
        return message_chart(label("no_targets", lang))

    def who(r: pd.Series) -> str:  # the unit the target belongs to
        level = str(r.get("level", ""))
        first = {"account": "account_id", "team": "team", "manager": "owner"}.get(level)
        for col in (first, "account_id", "team", "owner"):
            if col and col in r and pd.notna(r[col]):
                return str(r[col])
        return label(level or "company", lang)

    t_target, t_att, t_el = label("target", lang), label("attainment", lang), label("on_pace", lang)
    t_status = label("status", lang)
    names = [
        f"{who(r)} · {label(str(r['measure']), lang)} {r['period']}" for _, r in rows.iterrows()
    ]
    names = [
        f"{n} ({tid})" if names.count(n) > 1 else n
        for n, tid in zip(names, rows["target_id"], strict=True)
    ]
    source = pd.DataFrame(
        {t_target: names,
         t_att: rows["attainment"].astype("float64").clip(upper=2.0).to_numpy(),
         # where a target on pace would be: expected ÷ target (a level measure such as share
         # of wallet is expected in full), else the share of the period elapsed
         t_el: (rows["expected"] / rows["target_value"]).astype("float64").to_numpy()
         if {"expected", "target_value"} <= set(rows.columns)
         else rows["elapsed"].astype("float64").to_numpy(),
         t_status: [label(s, lang) for s in rows["status"]],
         "_status": rows["status"].astype(str).to_numpy()}
    )  # fmt: skip
    statuses = [s for s in _STATUS_COLORS if s in set(source["_status"])]
    base = alt.Chart(source).encode(y=alt.Y(f"{t_target}:N", sort=names, title=None))
    bars = base.mark_bar().encode(
        x=alt.X(f"{t_att}:Q", title=t_att, axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, max(1.2, float(source[t_att].max()))])),
        color=alt.Color(f"{t_status}:N", title=t_status,
                        scale=alt.Scale(domain=[label(s, lang) for s in statuses],
                                        range=[_STATUS_COLORS[s] for s in statuses])),
        tooltip=[alt.Tooltip(f"{t_target}:N"), alt.Tooltip(f"{t_att}:Q", format=".1%"),
                 alt.Tooltip(f"{t_el}:Q", format=".0%"), alt.Tooltip(f"{t_status}:N")],
    )  # fmt: skip
    ticks = base.mark_tick(color="#1f2933", thickness=2, size=16).encode(x=f"{t_el}:Q")
    return (bars + ticks).properties(width=WIDTH - 200, height=alt.Step(BAR_STEP))
