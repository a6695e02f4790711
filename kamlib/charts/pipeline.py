"""Charts of the sales pipeline: the funnel, days in stage, the bridge from the open
pipeline at the start of a period to the end (frames from :mod:`kamlib.pipeline`)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from kamlib.charts.base import BAR_STEP, COLOR, WIDTH, message_chart, money_axis, require_columns
from kamlib.methodology.labels import check_lang, label


def pipeline_funnel(funnel: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Funnel bars: deals that entered each open stage, with conversion and drop-off.

    ``funnel`` is :func:`kamlib.pipeline.funnel` (``stage``, ``entered``, ``conversion_rate``,
    ``drop_rate``, ``win_rate``), one row per stage in funnel order.  Each bar is centred, so
    the shape reads as a funnel; the text gives the share that moved on to a later stage.
    """
    check_lang(lang)
    require_columns(funnel, ("stage", "entered", "conversion_rate", "drop_rate"), "pipeline_funnel")
    if funnel.empty:
        return message_chart(label("nothing_to_show", lang))
    t_stage, t_n = label("stage", lang), label("entered", lang)
    t_conv, t_drop = label("conversion_rate", lang), label("drop_rate", lang)
    stages = [label(s, lang) for s in funnel["stage"].astype(str)]
    half = funnel["entered"].astype(float).to_numpy() / 2
    source = pd.DataFrame(
        {
            t_stage: stages,
            t_n: funnel["entered"].astype("int64").to_numpy(),
            "lo": -half,
            "hi": half,
            t_conv: funnel["conversion_rate"].astype(float).to_numpy(),
            t_drop: funnel["drop_rate"].astype(float).to_numpy(),
        }
    )
    base = alt.Chart(source).encode(y=alt.Y(f"{t_stage}:N", sort=stages, title=None))
    bars = base.mark_bar().encode(
        x=alt.X("lo:Q", axis=None, title=None),
        x2="hi:Q",
        tooltip=[
            alt.Tooltip(f"{t_stage}:N"),
            alt.Tooltip(f"{t_n}:Q", format=",d"),
            alt.Tooltip(f"{t_conv}:Q", format=".0%"),
            alt.Tooltip(f"{t_drop}:Q", format=".0%"),
        ],
    )
    text = base.mark_text(align="left", dx=4, fontSize=10, color="#3d4852").encode(
        x="hi:Q", text=alt.Text(f"{t_conv}:Q", format=".0%")
    )
    count = base.mark_text(color="white", fontSize=10).encode(
        x=alt.value((WIDTH - 160) / 2), text=alt.Text(f"{t_n}:Q", format=",d")
    )
    return (bars + text + count).properties(width=WIDTH - 160, height=alt.Step(BAR_STEP + 4))


def stage_velocity_distribution(
    durations: pd.DataFrame, *, lang: str = "en", bins: int = 24, clip_quantile: float = 0.98
) -> alt.Chart:
    """Histogram of days in stage, one row of bars per open stage (completed stints only).

    ``durations`` is :func:`kamlib.pipeline.stage_durations` (``stage``, ``stage_order``,
    ``days``, ``completed``).  The data are binned here (the chart carries bin counts, not one
    row per stint); stints longer than the ``clip_quantile`` of all stints share the last bin,
    labelled "≥ …".
    """
    check_lang(lang)
    require_columns(
        durations, ("stage", "stage_order", "days", "completed"), "stage_velocity_distribution"
    )
    done = durations[durations["completed"].astype(bool)]
    if done.empty:
        return message_chart(label("nothing_to_show", lang))
    t_stage, t_days, t_n = label("stage", lang), label("stint_days", lang), label("stints", lang)
    days = done["days"].to_numpy(dtype=float)
    top = max(float(np.quantile(days, clip_quantile)), 1.0)
    edges = np.unique(np.ceil(np.linspace(0, top, bins + 1)))
    clipped = np.minimum(days, edges[-1])
    idx = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, len(edges) - 2)
    order = done.drop_duplicates("stage").sort_values("stage_order")["stage"].astype(str).tolist()
    names = {s: label(s, lang) for s in order}
    counts = (
        pd.DataFrame({"stage": done["stage"].astype(str).to_numpy(), "bin": idx})
        .groupby(["stage", "bin"], sort=False)
        .size()
        .reset_index(name="n")
    )
    source = pd.DataFrame(
        {
            t_stage: counts["stage"].map(names).to_numpy(),
            "lo": edges[counts["bin"].to_numpy()],
            "hi": edges[counts["bin"].to_numpy() + 1],
            t_n: counts["n"].to_numpy(dtype="int64"),
        }
    )
    source[t_days] = [
        f"≥ {lo:,.0f}" if hi >= edges[-1] and lo == edges[-2] else f"{lo:,.0f}–{hi:,.0f}"
        for lo, hi in zip(source["lo"], source["hi"], strict=True)
    ]
    return (
        alt.Chart(source)
        .mark_bar()
        .encode(
            x=alt.X("lo:Q", title=t_days, scale=alt.Scale(domain=[0, float(edges[-1])])),
            x2="hi:Q",
            y=alt.Y(f"{t_n}:Q", title=None, axis=alt.Axis(format=",d", tickCount=3)),
            row=alt.Row(
                f"{t_stage}:N",
                sort=[names[s] for s in order],
                title=None,
                header=alt.Header(labelAngle=0, labelAlign="left"),
            ),  # fmt: skip
            tooltip=[
                alt.Tooltip(f"{t_stage}:N"),
                alt.Tooltip(f"{t_days}:N"),
                alt.Tooltip(f"{t_n}:Q", format=",d"),
            ],  # fmt: skip
        )
        .properties(width=WIDTH - 200, height=48)
    )


def pipeline_changes_waterfall(bridge: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Waterfall from the open pipeline at the start to the one at the end.

    ``bridge`` is :func:`kamlib.pipeline.changes_reconciliation` (``step``, ``deals``,
    ``amount``; signed amounts, ``open_start`` and ``open_end`` are totals).  Totals are
    drawn in the house colour, increases green, decreases red; the tooltip has the deals.
    """
    check_lang(lang)
    require_columns(bridge, ("step", "deals", "amount"), "pipeline_changes_waterfall")
    if bridge.empty:
        return message_chart(label("nothing_to_show", lang))
    t_step, t_amt, t_n = (
        label("step", lang),
        label("bridge_amount", lang),
        label("deals_count", lang),
    )
    steps = bridge["step"].astype(str).tolist()
    amount = bridge["amount"].astype(float).to_numpy()
    total = np.isin(bridge["step"].astype(str).to_numpy(), ["open_start", "open_end"])
    start, end, running = np.zeros(len(amount)), np.zeros(len(amount)), 0.0
    for i, (a, is_total) in enumerate(zip(amount, total, strict=True)):
        start[i], end[i] = (0.0, a) if is_total else (running, running + a)
        running = end[i]
    kind = np.where(total, "total", np.where(amount >= 0, "up", "down"))
    names = [label(s, lang) for s in steps]
    source = pd.DataFrame(
        {t_step: names, "start": start, "end": end, t_amt: amount, "kind": kind,
         t_n: bridge["deals"].astype("int64").to_numpy()}
    )  # fmt: skip
    return (
        alt.Chart(source)
        .mark_bar()
        .encode(
            x=alt.X(f"{t_step}:N", sort=names, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("start:Q", title=t_amt, axis=money_axis(lang)),
            y2="end:Q",
            color=alt.Color(
                "kind:N",
                legend=None,
                scale=alt.Scale(
                    domain=["total", "up", "down"], range=[COLOR, "#3a7d44", "#d64545"]
                ),
            ),  # fmt: skip
            tooltip=[
                alt.Tooltip(f"{t_step}:N"),
                alt.Tooltip(f"{t_amt}:Q", format=",.0f"),
                alt.Tooltip(f"{t_n}:Q", format=",d"),
            ],  # fmt: skip
        )
        .properties(width=WIDTH, height=260)
    )
