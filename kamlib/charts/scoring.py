"""Charts of scoring and tiering: tier shares, score breakdowns and distributions, tier
profiles, tier migration, gains curves, tier counts (frames from
:mod:`kamlib.views.portfolio` and the scoring explorer in :mod:`kamlib.notebook`)."""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import pandas as pd

from kamlib.charts.base import (
    BAR_STEP,
    COLOR,
    CURVE_COLORS,
    WIDTH,
    count_axis,
    distinct_in_order,
    message_chart,
    require_columns,
)
from kamlib.methodology.labels import check_lang, label

#: Colours of tiers, highest first (a tier's colour is the same in every chart of a report).
TIER_COLORS = ("#1f4e79", "#2f6690", "#6aa2c8", "#b9d3e6", "#d9e4ec", "#eef2f5")
#: The two bars of :func:`tier_shares`: share of accounts, share of value.
_SHARE_COLORS = ("#2f6690", "#d1803b")


def _tier_scale(tiers: list[str]) -> alt.Scale:
    colors = [TIER_COLORS[min(i, len(TIER_COLORS) - 1)] for i in range(len(tiers))]
    return alt.Scale(domain=tiers, range=colors)


def tier_shares(
    shares: pd.DataFrame,
    *,
    lang: str = "en",
    value: str = "revenue_share",
    empty: str = "nothing_to_show",
) -> alt.Chart:
    """Grouped horizontal bars: each tier's share of the accounts next to its share of value.

    ``shares`` needs ``tier`` (labels, highest tier first), ``account_share`` and
    ``value_share`` (fractions), as from :meth:`kamlib.views.portfolio.PortfolioReview.tier_shares`.
    ``value`` is the label key naming the value (``revenue_share``, ``next_year_revenue`` …).
    A tier holding a large share of value with few accounts is what a good tiering shows.
    """
    check_lang(lang)
    require_columns(shares, ("tier", "account_share", "value_share"), "tier_shares")
    if shares.empty:
        return message_chart(label(empty, lang))
    t_tier, t_measure, t_share = label("tier", lang), label("measure", lang), label("share", lang)
    measures = [label("account_share", lang), label(value, lang)]
    source = pd.concat(
        [
            pd.DataFrame(
                {
                    t_tier: shares["tier"].astype(str).to_numpy(),
                    t_measure: m,
                    t_share: shares[col].astype("float64").to_numpy(),
                }
            )
            for m, col in zip(measures, ("account_share", "value_share"), strict=True)
        ],
        ignore_index=True,
    )
    source = source[source[t_share].notna()]
    bars = (
        alt.Chart(source)
        .mark_bar()
        .encode(
            y=alt.Y(f"{t_tier}:N", sort=distinct_in_order(shares["tier"]), title=None),
            yOffset=alt.YOffset(f"{t_measure}:N", sort=measures),
            x=alt.X(f"{t_share}:Q", title=t_share, axis=alt.Axis(format="%", tickCount=5)),
            color=alt.Color(
                f"{t_measure}:N",
                title=None,
                scale=alt.Scale(domain=measures, range=list(_SHARE_COLORS)),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip(f"{t_tier}:N"),
                alt.Tooltip(f"{t_measure}:N"),
                alt.Tooltip(f"{t_share}:Q", format=".1%"),
            ],
        )
    )
    text = bars.mark_text(align="left", dx=3, color="#3d4852", fontSize=10).encode(
        text=alt.Text(f"{t_share}:Q", format=".0%")
    )
    return (bars + text).properties(width=WIDTH - 160, height=alt.Step(16))


def score_breakdown(
    breakdown: pd.DataFrame, *, lang: str = "en", empty: str = "nothing_to_show"
) -> alt.Chart:
    """Stacked horizontal bars: each account's score split into its indicators' weighted
    points (a bar adds up to the score).

    ``breakdown`` needs ``account``, ``indicator`` and ``contribution`` (long form, accounts
    in the order to draw, indicators in methodology order); ``tier``, ``score`` and
    ``points`` go into the tooltip (:meth:`kamlib.views.portfolio.PortfolioReview.breakdown`).
    """
    check_lang(lang)
    require_columns(breakdown, ("account", "indicator", "contribution"), "score_breakdown")
    if breakdown.empty:
        return message_chart(label(empty, lang))
    t_account, t_indicator = label("account", lang), label("indicator", lang)
    t_contribution = label("contribution", lang)
    source = pd.DataFrame(
        {
            t_account: breakdown["account"].astype(str).to_numpy(),
            t_indicator: breakdown["indicator"].astype(str).to_numpy(),
            t_contribution: breakdown["contribution"].astype("float64").to_numpy(),
        }
    )
    indicators = distinct_in_order(breakdown["indicator"])
    source["_order"] = source[t_indicator].map({n: i for i, n in enumerate(indicators)})
    tooltip = [alt.Tooltip(f"{t_account}:N")]
    for col, key, fmt in (("tier", "tier", None), ("score", "score", ".1f")):
        if col in breakdown:
            source[label(key, lang)] = breakdown[col].to_numpy()
            tooltip.append(
                alt.Tooltip(
                    f"{label(key, lang)}:{'Q' if fmt else 'N'}", **({"format": fmt} if fmt else {})
                )
            )
    tooltip.append(alt.Tooltip(f"{t_indicator}:N"))
    if "points" in breakdown:
        t_points = label("points", lang)
        source[t_points] = breakdown["points"].astype("float64").to_numpy()
        tooltip.append(alt.Tooltip(f"{t_points}:Q", format=".0f"))
    tooltip.append(alt.Tooltip(f"{t_contribution}:Q", format=".1f"))
    source = source[source[t_contribution] > 0]
    return (
        alt.Chart(source)
        .mark_bar()
        .encode(
            y=alt.Y(f"{t_account}:N", sort=distinct_in_order(breakdown["account"]), title=None),
            x=alt.X(
                f"sum({t_contribution}):Q",
                title=label("score", lang),
                scale=alt.Scale(domain=[0, 100]),
            ),
            color=alt.Color(
                f"{t_indicator}:N",
                title=t_indicator,
                sort=indicators,
                scale=alt.Scale(domain=indicators, scheme="tableau20"),
                legend=alt.Legend(orient="bottom", columns=3, labelLimit=200),
            ),
            order=alt.Order("_order:Q"),
            tooltip=tooltip,
        )
        .properties(width=WIDTH - 140, height=alt.Step(BAR_STEP - 4))
    )


def tier_profile(
    points: pd.DataFrame, *, lang: str = "en", empty: str = "nothing_to_show"
) -> alt.Chart:
    """Heat map: mean points (0–100) of each indicator in each tier.

    ``points`` needs ``tier``, ``indicator`` and ``points`` (tiers highest first, indicators
    in methodology order); ``accounts_count`` goes into the tooltip
    (:meth:`kamlib.views.portfolio.PortfolioReview.tier_points`).  An indicator no account of a
    tier has a value for is left blank.
    """
    check_lang(lang)
    require_columns(points, ("tier", "indicator", "points"), "tier_profile")
    if points.empty:
        return message_chart(label(empty, lang))
    t_tier, t_indicator, t_points = (
        label("tier", lang), label("indicator", lang), label("mean_points", lang),
    )  # fmt: skip
    source = pd.DataFrame(
        {
            t_tier: points["tier"].astype(str).to_numpy(),
            t_indicator: points["indicator"].astype(str).to_numpy(),
            t_points: points["points"].astype("float64").to_numpy(),
        }
    )
    tooltip = [alt.Tooltip(f"{t_tier}:N"), alt.Tooltip(f"{t_indicator}:N"),
               alt.Tooltip(f"{t_points}:Q", format=".0f")]  # fmt: skip
    if "accounts_count" in points:
        t_n = label("accounts_count", lang)
        source[t_n] = points["accounts_count"].astype("int64").to_numpy()
        tooltip.append(alt.Tooltip(f"{t_n}:Q", format=",d"))
    source = source[source[t_points].notna()]
    base = alt.Chart(source).encode(
        x=alt.X(f"{t_tier}:N", sort=distinct_in_order(points["tier"]), title=None,
                axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y(f"{t_indicator}:N", sort=distinct_in_order(points["indicator"]), title=None),
    )  # fmt: skip
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(
            f"{t_points}:Q",
            title=t_points,
            scale=alt.Scale(domain=[0, 100], scheme="blues"),
            legend=alt.Legend(orient="right", gradientLength=120),
        ),
        tooltip=tooltip,
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text(f"{t_points}:Q", format=".0f"),
        color=alt.condition(f"datum['{t_points}'] > 60", alt.value("white"), alt.value("#1f2933")),
    )
    return (cells + text).properties(width=alt.Step(90), height=alt.Step(22))


def score_distribution(
    scores: pd.DataFrame,
    thresholds: pd.DataFrame | None = None,
    *,
    lang: str = "en",
    empty: str = "nothing_to_show",
) -> alt.Chart:
    """Histogram of scores (bins of 5 points) coloured by tier, with the tier thresholds.

    ``scores`` needs ``score`` and ``tier`` (labels); ``thresholds`` (optional) ``tier`` and
    ``min_score``, highest tier first — it also fixes the tier colours and their order
    (:meth:`kamlib.views.portfolio.PortfolioReview.score_distribution` / ``.thresholds``).
    """
    check_lang(lang)
    require_columns(scores, ("score", "tier"), "score_distribution")
    if scores.empty:
        return message_chart(label(empty, lang))
    t_score, t_tier, t_n = label("score", lang), label("tier", lang), label("accounts_count", lang)
    tiers = (
        distinct_in_order(thresholds["tier"])
        if thresholds is not None
        else distinct_in_order(scores["tier"])
    )
    source = pd.DataFrame(
        {
            t_score: scores["score"].astype("float64").clip(0, 99.999).to_numpy(),
            t_tier: scores["tier"].astype(str).to_numpy(),
        }
    )
    bars = (
        alt.Chart(source)
        .mark_bar(binSpacing=1)
        .encode(
            x=alt.X(
                f"{t_score}:Q",
                bin=alt.Bin(extent=[0, 100], step=5),
                title=t_score,
                scale=alt.Scale(domain=[0, 100]),
            ),
            y=alt.Y("count():Q", title=t_n, stack=True, axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                f"{t_tier}:N", title=t_tier, sort=tiers, scale=_tier_scale(tiers),
                legend=alt.Legend(orient="top"),
            ),
            order=alt.Order("tier_rank:Q"),
            tooltip=[alt.Tooltip(f"{t_tier}:N"), alt.Tooltip("count():Q", title=t_n)],
        )
        .transform_calculate(
            tier_rank=f"indexof({json.dumps(tiers, ensure_ascii=False)}, datum['{t_tier}'])"
        )
    )  # fmt: skip
    chart: alt.LayerChart | alt.Chart = bars
    if thresholds is not None and len(thresholds):
        t_min = label("min_score", lang)
        rules_source = pd.DataFrame(
            {
                "tier": thresholds["tier"].astype(str).to_numpy(),
                "min_score": thresholds["min_score"].astype("float64").to_numpy(),
            }
        )
        rules_source = rules_source[rules_source["min_score"] > 0]
        rules = (
            alt.Chart(rules_source)
            .mark_rule(color="#b5485d", strokeDash=[4, 3])
            .encode(
                x=alt.X("min_score:Q"),
                tooltip=[alt.Tooltip("tier:N", title=t_tier),
                         alt.Tooltip("min_score:Q", title=t_min)],
            )
        )  # fmt: skip
        text = rules.mark_text(align="left", dx=3, dy=-4, baseline="bottom", color="#b5485d",
                               fontSize=10).encode(text="tier:N", y=alt.value(0))  # fmt: skip
        chart = bars + rules + text
    return chart.properties(width=WIDTH - 120, height=200)


def migration_matrix(
    matrix: pd.DataFrame,
    *,
    lang: str = "en",
    from_date: str | None = None,
    to_date: str | None = None,
    empty: str = "nothing_to_show",
) -> alt.Chart:
    """Heat map of the tier migration: accounts by tier before (rows) and now (columns).

    ``matrix`` needs ``from_tier``, ``to_tier`` and ``accounts_count``, tiers in order
    (:meth:`kamlib.views.portfolio.PortfolioReview.migration_matrix`).  Cells on the diagonal
    (stayed) are drawn in grey, moves up in blue, down in orange.  ``from_date`` /
    ``to_date`` name the axes.
    """
    check_lang(lang)
    require_columns(matrix, ("from_tier", "to_tier", "accounts_count"), "migration_matrix")
    if matrix.empty:
        return message_chart(label(empty, lang))
    t_from = (
        label("tier_before", lang).format(date=from_date) if from_date else label("from_tier", lang)
    )
    t_to = label("tier_before", lang).format(date=to_date) if to_date else label("to_tier", lang)
    t_n = label("accounts_count", lang)
    rows, cols = distinct_in_order(matrix["from_tier"]), distinct_in_order(matrix["to_tier"])
    shared = {t: i for i, t in enumerate(cols)}
    kind = []
    for f, t in zip(matrix["from_tier"].astype(str), matrix["to_tier"].astype(str), strict=True):
        if f not in shared or t not in rows:
            kind.append("other")
        else:
            step = rows.index(f) - shared[t]
            kind.append("stayed" if step == 0 else ("up" if step > 0 else "down"))
    source = pd.DataFrame(
        {
            t_from: matrix["from_tier"].astype(str).to_numpy(),
            t_to: matrix["to_tier"].astype(str).to_numpy(),
            t_n: matrix["accounts_count"].astype("int64").to_numpy(),
            "move": kind,
        }
    )
    base = alt.Chart(source).encode(
        x=alt.X(f"{t_to}:N", sort=cols, axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y(f"{t_from}:N", sort=rows),
    )
    top = max(int(source[t_n].max()), 1)
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "move:N",
            legend=None,
            scale=alt.Scale(
                domain=["stayed", "up", "down", "other"],
                range=["#9aa5b1", "#2f6690", "#d1803b", "#c5ccd3"],
            ),
        ),
        opacity=alt.condition(
            f"datum['{t_n}'] > 0",
            alt.Opacity(f"{t_n}:Q", scale=alt.Scale(domain=[0, top], range=[0.25, 1]), legend=None),
            alt.value(0.06),
        ),
        tooltip=[
            alt.Tooltip(f"{t_from}:N"),
            alt.Tooltip(f"{t_to}:N"),
            alt.Tooltip(f"{t_n}:Q", format=",d"),
        ],  # fmt: skip
    )
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text(f"{t_n}:Q", format=",d"),
        color=alt.condition(
            f"datum['{t_n}'] > {top * 0.5}", alt.value("white"), alt.value("#1f2933")
        ),
    )
    return (cells + text).properties(width=alt.Step(92), height=alt.Step(34))


def gains_curve(
    gains: pd.DataFrame, *, lang: str = "en", empty: str = "nothing_to_show"
) -> alt.Chart:
    """Lines: cumulative share of next-year value against the share of accounts, ranking the
    accounts in different ways (the score, last year's revenue, the best possible), and the
    diagonal of a ranking that tells nothing.

    ``gains`` needs ``ranking`` (labels, in the order to list), ``account_share`` and
    ``value_share`` (:meth:`kamlib.views.portfolio.PortfolioReview.gains`).  The higher a curve, the
    more of next year's revenue the first accounts of that ranking bring.
    """
    check_lang(lang)
    require_columns(gains, ("ranking", "account_share", "value_share"), "gains_curve")
    if gains.empty:
        return message_chart(label(empty, lang))
    t_rank, t_x, t_y = (
        label("ranking_by", lang), label("cumulative_account_share", lang),
        label("cumulative_value_share", lang),
    )  # fmt: skip
    random = label("ranking_random", lang)
    source = pd.DataFrame(
        {
            t_rank: gains["ranking"].astype(str).to_numpy(),
            t_x: gains["account_share"].astype("float64").to_numpy(),
            t_y: gains["value_share"].astype("float64").to_numpy(),
        }
    )
    source = pd.concat(
        [source, pd.DataFrame({t_rank: random, t_x: [0.0, 1.0], t_y: [0.0, 1.0]})],
        ignore_index=True,
    )
    rankings = [*distinct_in_order(gains["ranking"]), random]
    colors = [CURVE_COLORS[min(i, len(CURVE_COLORS) - 1)] for i in range(len(rankings))]
    colors[-1] = CURVE_COLORS[-1]
    dashes = [[1, 0]] * (len(rankings) - 2) + [[5, 3], [2, 2]]
    return (
        alt.Chart(source)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X(f"{t_x}:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            y=alt.Y(f"{t_y}:Q", axis=alt.Axis(format="%")),
            color=alt.Color(
                f"{t_rank}:N", title=None, sort=rankings,
                scale=alt.Scale(domain=rankings, range=colors),
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=260),
            ),
            strokeDash=alt.StrokeDash(
                f"{t_rank}:N", sort=rankings, scale=alt.Scale(domain=rankings, range=dashes),
                legend=None,
            ),
            tooltip=[alt.Tooltip(f"{t_rank}:N"), alt.Tooltip(f"{t_x}:Q", format=".0%"),
                     alt.Tooltip(f"{t_y}:Q", format=".1%")],
        )
        .properties(width=WIDTH - 200, height=280)
    )  # fmt: skip


def tier_counts(
    counts: pd.DataFrame, *, lang: str = "en", empty: str = "nothing_to_show"
) -> alt.Chart:
    """Bars: accounts per tier, side by side for each setting when ``scenario`` is given
    (the scoring explorer compares the methodology's setting with the one being tried).

    ``counts`` needs ``tier`` (labels, highest first) and ``accounts_count``; ``scenario``
    is optional (labels, in the order to show).
    """
    check_lang(lang)
    require_columns(counts, ("tier", "accounts_count"), "tier_counts")
    if counts.empty:
        return message_chart(label(empty, lang))
    t_tier, t_n = label("tier", lang), label("accounts_count", lang)
    source = pd.DataFrame(
        {
            t_tier: counts["tier"].astype(str).to_numpy(),
            t_n: counts["accounts_count"].astype("int64").to_numpy(),
        }
    )
    tiers = distinct_in_order(counts["tier"])
    encoding: dict[str, Any] = {
        "y": alt.Y(f"{t_tier}:N", sort=tiers, title=None),
        "x": alt.X(f"{t_n}:Q", title=t_n, axis=count_axis(source[t_n].max())),
        "tooltip": [alt.Tooltip(f"{t_tier}:N"), alt.Tooltip(f"{t_n}:Q", format=",d")],
    }
    if "scenario" in counts:
        t_s = label("scenario", lang)
        source[t_s] = counts["scenario"].astype(str).to_numpy()
        scenarios = distinct_in_order(counts["scenario"])
        encoding["yOffset"] = alt.YOffset(f"{t_s}:N", sort=scenarios)
        encoding["color"] = alt.Color(
            f"{t_s}:N", title=None, sort=scenarios,
            scale=alt.Scale(domain=scenarios, range=["#9aa5b1", COLOR]),
            legend=alt.Legend(orient="bottom"),
        )  # fmt: skip
        encoding["tooltip"].insert(0, alt.Tooltip(f"{t_s}:N"))
    else:
        encoding["color"] = alt.Color(
            f"{t_tier}:N", legend=None, sort=tiers, scale=_tier_scale(tiers)
        )
    bars = alt.Chart(source).mark_bar().encode(**encoding)
    text = bars.mark_text(align="left", dx=3, color="#3d4852", fontSize=10).encode(
        text=alt.Text(f"{t_n}:Q", format=",d"), color=alt.value("#3d4852")
    )
    step = 14 if "scenario" in counts else BAR_STEP
    return (bars + text).properties(width=WIDTH - 220, height=alt.Step(step))
