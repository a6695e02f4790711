"""Charts of the sales process: what goes with winning (each task's difference in win rate,
with its interval) and the win rate against each competitor (frames from the
sales-process review view, :mod:`kamlib.views.sales_process_review`)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from kamlib.charts.base import BAR_STEP, COLOR, WIDTH, message_chart, require_columns
from kamlib.methodology.labels import check_lang, label

__all__ = ["competitor_win_rates", "task_differences"]


def task_differences(effects: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Each task's difference in win rate (points, with minus without) as a dot with its 95%
    interval: the adjusted difference (deal size, process, owner) where it was fitted, the
    plain one where not.

    ``effects`` needs ``task``, ``difference``, ``ci_low``, ``ci_high``; the adjusted
    ``adjusted_difference`` / ``adjusted_ci_low`` / ``adjusted_ci_high`` are used row by row
    when present.  An association, not a cause: the chart's title says so.
    """
    check_lang(lang)
    require_columns(effects, ("task", "difference", "ci_low", "ci_high"), "task_differences")
    if effects.empty:
        return message_chart(label("nothing_to_show", lang))
    t_task, t_diff = label("task", lang), label("win_rate_difference_points", lang)
    t_low, t_high = label("ci_low", lang), label("ci_high", lang)

    def adjusted_else_plain(adjusted: str, plain: str) -> pd.Series:
        if adjusted not in effects:
            return effects[plain].astype(float)
        return effects[adjusted].astype(float).fillna(effects[plain].astype(float))

    source = pd.DataFrame(
        {
            t_task: effects["task"].astype(str).to_numpy(),
            t_diff: adjusted_else_plain("adjusted_difference", "difference").to_numpy(),
            t_low: adjusted_else_plain("adjusted_ci_low", "ci_low").to_numpy(),
            t_high: adjusted_else_plain("adjusted_ci_high", "ci_high").to_numpy(),
        }
    )
    order = source.sort_values(t_diff, ascending=False)[t_task].tolist()
    y = alt.Y(f"{t_task}:N", sort=order, title=None)
    tips = [alt.Tooltip(f"{t_task}:N")] + [
        alt.Tooltip(f"{c}:Q", format="+.1f") for c in (t_diff, t_low, t_high)
    ]
    base = alt.Chart(source)
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#9aa5b1").encode(x="x:Q")
    return (
        base.mark_rule(color=COLOR).encode(
            y=y, x=alt.X(f"{t_low}:Q", title=t_diff), x2=f"{t_high}:Q", tooltip=tips
        )
        + base.mark_point(filled=True, color=COLOR, size=60).encode(
            y=y, x=f"{t_diff}:Q", tooltip=tips
        )
        + zero
    ).properties(
        width=WIDTH - 220,
        height=alt.Step(BAR_STEP),
        title=label("association_not_cause", lang),
    )


def competitor_win_rates(competitors: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Our win rate against each competitor (deals closed where it was present) with its
    Wilson 95% interval, and the pooled estimate (beta-binomial) that pulls small samples
    toward the overall rate.

    ``competitors`` needs ``competitor``, ``deals``, ``win_rate``, ``win_rate_low``,
    ``win_rate_high``, ``shrunk_win_rate``.
    """
    check_lang(lang)
    need = ("competitor", "deals", "win_rate", "win_rate_low", "win_rate_high", "shrunk_win_rate")
    require_columns(competitors, need, "competitor_win_rates")
    if competitors.empty:
        return message_chart(label("nothing_to_show", lang))
    t_comp, t_rate = label("competitor", lang), label("win_rate", lang)
    t_low, t_high = label("win_rate_low", lang), label("win_rate_high", lang)
    t_pooled, t_deals = label("shrunk_win_rate", lang), label("deals", lang)
    source = pd.DataFrame(
        {
            t_comp: competitors["competitor"].astype(str).to_numpy(),
            t_deals: competitors["deals"].astype("int64").to_numpy(),
            t_rate: competitors["win_rate"].astype(float).to_numpy(),
            t_low: competitors["win_rate_low"].astype(float).to_numpy(),
            t_high: competitors["win_rate_high"].astype(float).to_numpy(),
            t_pooled: competitors["shrunk_win_rate"].astype(float).to_numpy(),
        }
    )
    order = source.sort_values(t_deals, ascending=False)[t_comp].tolist()
    y = alt.Y(f"{t_comp}:N", sort=order, title=None)
    tips = [alt.Tooltip(f"{t_comp}:N"), alt.Tooltip(f"{t_deals}:Q", format=",d")] + [
        alt.Tooltip(f"{c}:Q", format=".0%") for c in (t_rate, t_low, t_high, t_pooled)
    ]
    base = alt.Chart(source)
    axis = alt.Axis(format="%")
    return (
        base.mark_rule(color=COLOR).encode(
            y=y, x=alt.X(f"{t_low}:Q", title=t_rate, axis=axis), x2=f"{t_high}:Q", tooltip=tips
        )
        + base.mark_point(filled=True, color=COLOR, size=60).encode(
            y=y, x=f"{t_rate}:Q", tooltip=tips
        )
        + base.mark_tick(color="#d1803b", thickness=2).encode(y=y, x=f"{t_pooled}:Q", tooltip=tips)
    ).properties(width=WIDTH - 220, height=alt.Step(BAR_STEP))
