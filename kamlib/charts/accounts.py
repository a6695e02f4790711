"""Charts of one account: revenue per quarter and per product line, share of wallet over
time, activities per quarter (frames from :mod:`kamlib.research`)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from kamlib.charts.base import (
    BAR_STEP,
    WIDTH,
    count_axis,
    message_chart,
    money_axis,
    require_columns,
)
from kamlib.methodology.labels import check_lang, label


def revenue_by_quarter(
    revenue: pd.DataFrame, *, lang: str = "en", currency: str = "CNY"
) -> alt.Chart:
    """Columns: revenue per quarter.

    ``revenue`` needs ``quarter`` (text, e.g. ``"2026-Q3"``) and ``revenue``
    (:attr:`kamlib.research.AccountOverview.revenue_by_quarter`); ``orders`` goes into the
    tooltip.
    """
    check_lang(lang)
    require_columns(revenue, ("quarter", "revenue"), "revenue_by_quarter")
    if revenue.empty:
        return message_chart(label("no_orders", lang))
    t_quarter = label("quarter", lang)
    t_revenue = f"{label('revenue', lang)} ({currency})"
    source = pd.DataFrame(
        {
            t_quarter: revenue["quarter"].astype(str).to_numpy(),
            t_revenue: revenue["revenue"].astype("float64").to_numpy(),
        }
    )
    tooltip = [alt.Tooltip(f"{t_quarter}:N"), alt.Tooltip(f"{t_revenue}:Q", format=",.0f")]
    if "orders" in revenue:
        t_orders = label("orders_count", lang)
        source[t_orders] = revenue["orders"].astype("int64").to_numpy()
        tooltip.append(alt.Tooltip(f"{t_orders}:Q", format=",d"))
    return (
        alt.Chart(source)
        .mark_bar()
        .encode(
            x=alt.X(
                f"{t_quarter}:O",
                sort=list(source[t_quarter]),
                title=None,
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y(f"{t_revenue}:Q", title=t_revenue, axis=money_axis(lang)),
            tooltip=tooltip,
        )
        .properties(width=alt.Step(56), height=220)
    )


def revenue_by_product_line(
    revenue: pd.DataFrame, *, lang: str = "en", currency: str = "CNY"
) -> alt.Chart:
    """Horizontal bars: revenue per product line, largest first.

    ``revenue`` needs ``product_line`` and ``revenue``; ``share`` goes into the tooltip
    (:attr:`kamlib.research.AccountOverview.revenue_by_product_line`).
    """
    check_lang(lang)
    require_columns(revenue, ("product_line", "revenue"), "revenue_by_product_line")
    if revenue.empty:
        return message_chart(label("no_orders", lang))
    t_line = label("product_line", lang)
    t_revenue = f"{label('revenue', lang)} ({currency})"
    source = pd.DataFrame(
        {
            t_line: [
                label("unknown", lang) if v == "unknown" else v for v in revenue["product_line"]
            ],
            t_revenue: revenue["revenue"].astype("float64").to_numpy(),
        }
    )
    tooltip = [alt.Tooltip(f"{t_line}:N"), alt.Tooltip(f"{t_revenue}:Q", format=",.0f")]
    if "share" in revenue:
        t_share = label("share", lang)
        source[t_share] = revenue["share"].astype("float64").to_numpy()
        tooltip.append(alt.Tooltip(f"{t_share}:Q", format=".1%"))
    source = source.sort_values([t_revenue, t_line], ascending=[False, True])
    return (
        alt.Chart(source)
        .mark_bar()
        .encode(
            y=alt.Y(f"{t_line}:N", sort=list(source[t_line]), title=None),
            x=alt.X(f"{t_revenue}:Q", title=t_revenue, axis=money_axis(lang)),
            tooltip=tooltip,
        )
        .properties(width=WIDTH - 160, height=alt.Step(BAR_STEP))
    )


def share_of_wallet_trend(trend: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Line: share of wallet (trailing-12-month revenue ÷ category spend) at each quarter end.

    ``trend`` is :attr:`kamlib.research.AccountDossier.share_of_wallet` (``quarter,
    share_of_wallet``; ``revenue_12m`` in the tooltip).  Quarters whose revenue exceeded
    the wallet estimate have no share (``wallet_below_revenue``): they are not plotted.
    """
    check_lang(lang)
    require_columns(trend, ("quarter", "share_of_wallet"), "share_of_wallet_trend")
    known = trend[trend["share_of_wallet"].notna()]
    if known.empty:
        stale = "wallet_below_revenue" in trend and trend["wallet_below_revenue"].any()
        return message_chart(label("wallet_below_revenue" if stale else "no_wallet", lang))
    t_q, t_s = label("quarter", lang), label("share_of_wallet", lang)
    source = pd.DataFrame(
        {t_q: known["quarter"].astype(str).to_numpy(),
         t_s: known["share_of_wallet"].astype("float64").to_numpy()}
    )  # fmt: skip
    tooltip = [alt.Tooltip(f"{t_q}:N"), alt.Tooltip(f"{t_s}:Q", format=".1%")]
    if "revenue_12m" in known:
        t_r = label("revenue_12m", lang)
        source[t_r] = known["revenue_12m"].astype("float64").to_numpy()
        tooltip.append(alt.Tooltip(f"{t_r}:Q", format=",.0f"))
    return (
        alt.Chart(source)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{t_q}:O", sort=list(source[t_q]), title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{t_s}:Q", title=t_s, axis=alt.Axis(format=".0%"),
                    scale=alt.Scale(zero=True)),
            tooltip=tooltip,
        )
        .properties(width=alt.Step(56), height=200)
    )  # fmt: skip


def activities_by_quarter(activities: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Stacked columns: activities per quarter by type (visit, meeting, QBR, JBM …).

    ``activities`` is :attr:`kamlib.research.AccountDossier.activities_by_quarter`
    (``quarter, type, activities``).
    """
    check_lang(lang)
    require_columns(activities, ("quarter", "type", "activities"), "activities_by_quarter")
    if activities.empty:
        return message_chart(label("no_activities", lang))
    t_q, t_t, t_n = label("quarter", lang), label("type", lang), label("activities", lang)
    source = pd.DataFrame(
        {t_q: activities["quarter"].astype(str).to_numpy(),
         t_t: [label(f"activity_{v}", lang) for v in activities["type"].astype(str)],
         t_n: activities["activities"].astype("int64").to_numpy()}
    )  # fmt: skip
    quarters = sorted(source[t_q].unique())
    return (
        alt.Chart(source)
        .mark_bar()
        .encode(
            x=alt.X(f"{t_q}:O", sort=quarters, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"sum({t_n}):Q", title=t_n, axis=count_axis(
                float(source.groupby(t_q)[t_n].sum().max()))),
            color=alt.Color(f"{t_t}:N", title=t_t),
            tooltip=[alt.Tooltip(f"{t_q}:N"), alt.Tooltip(f"{t_t}:N"),
                     alt.Tooltip(f"{t_n}:Q", format=",d")],
        )
        .properties(width=alt.Step(56), height=200)
    )  # fmt: skip
