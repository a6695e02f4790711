"""Charts of segmentation: the Pareto curve, the key-account portfolio matrix, segment
profiles (frames from :mod:`kamlib.views.portfolio`), company size against our revenue
(:mod:`kamlib.views.portfolio_size`)."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from kamlib.charts.base import (
    COLOR,
    CURVE_COLORS,
    REPORT_CONFIG,
    WIDTH,
    distinct_in_order,
    message_chart,
    money_axis,
    require_columns,
)
from kamlib.methodology.labels import check_lang, label

#: Colours of the company-size quadrants in their order (core, potential, dependency, small).
SIZE_QUADRANT_COLORS = ("#2f6690", "#3a7d44", "#b5485d", "#9aa5b1")


def pareto_curve(
    curve: pd.DataFrame, *, lang: str = "en", empty: str = "nothing_to_show"
) -> alt.Chart:
    """The Pareto (Lorenz-style) curve: cumulative share of value against the share of
    accounts, largest first, with the diagonal of an even spread.

    ``curve`` needs ``account_share`` and ``value_share`` (cumulative fractions from 0 to
    1); ``abc_class`` (labels, A first), when given, colours the curve by class
    (:meth:`kamlib.views.portfolio.PortfolioReview.frame` ``("pareto", "curve")``).
    """
    check_lang(lang)
    require_columns(curve, ("account_share", "value_share"), "pareto_curve")
    if curve.empty:
        return message_chart(label(empty, lang))
    t_x, t_y = label("cumulative_account_share", lang), label("cumulative_revenue_share", lang)
    source = pd.DataFrame(
        {
            t_x: curve["account_share"].astype("float64").to_numpy(),
            t_y: curve["value_share"].astype("float64").to_numpy(),
        }
    )
    tooltip = [alt.Tooltip(f"{t_x}:Q", format=".1%"), alt.Tooltip(f"{t_y}:Q", format=".1%")]
    base = alt.Chart(source)
    encoding: dict[str, Any] = {
        "x": alt.X(f"{t_x}:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        "y": alt.Y(f"{t_y}:Q", axis=alt.Axis(format="%")),
        "tooltip": tooltip,
    }
    if "abc_class" in curve:
        t_class = label("abc_class", lang)
        source[t_class] = curve["abc_class"].astype(str).to_numpy()
        classes = distinct_in_order(curve["abc_class"])
        base = alt.Chart(source)
        area = base.mark_area(opacity=0.35).encode(
            x=encoding["x"],
            y=alt.Y(f"{t_y}:Q", axis=alt.Axis(format="%"), stack=None),
            color=alt.Color(
                f"{t_class}:N", title=t_class, sort=classes,
                scale=alt.Scale(domain=classes, range=list(CURVE_COLORS[: len(classes)])),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[alt.Tooltip(f"{t_class}:N"), *tooltip],
        )  # fmt: skip
    else:
        area = base.mark_area(opacity=0.25, color=COLOR).encode(**encoding)
    line = base.mark_line(color=COLOR, strokeWidth=2).encode(
        x=encoding["x"], y=encoding["y"], tooltip=tooltip
    )
    diagonal = (
        alt.Chart(pd.DataFrame({t_x: [0.0, 1.0], t_y: [0.0, 1.0]}))
        .mark_line(color="#9aa5b1", strokeDash=[2, 2])
        .encode(x=f"{t_x}:Q", y=f"{t_y}:Q")
    )
    return (area + line + diagonal).properties(width=WIDTH - 200, height=260)


def portfolio_matrix(
    points: pd.DataFrame,
    *,
    lang: str = "en",
    x_cut: float | None = None,
    y_cut: float | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    empty: str = "nothing_to_show",
) -> alt.Chart:
    """The key-account portfolio matrix: one dot per account, our position with the account
    (x) against its attractiveness (y), coloured by quadrant, sized by revenue.

    ``points`` needs ``account``, ``position``, ``attractiveness`` and ``quadrant`` (labels);
    ``revenue_12m`` sizes the dots and ``tier`` goes into the tooltip.  ``x_cut`` / ``y_cut``
    draw the quadrant boundaries; ``x_title`` / ``y_title`` say what the axes measure
    (:meth:`kamlib.views.portfolio.PortfolioReview.chart_options` gives all four).
    """
    check_lang(lang)
    require_columns(
        points, ("account", "position", "attractiveness", "quadrant"), "portfolio_matrix"
    )
    if points.empty:
        return message_chart(label(empty, lang))
    # the axis titles can hold any text (colons, dots …): fields get plain names
    t_acc, t_q = label("account", lang), label("quadrant", lang)
    t_x = x_title or label("position", lang)
    t_y = y_title or label("attractiveness", lang)
    source = pd.DataFrame(
        {
            "account": points["account"].astype(str).to_numpy(),
            "x": points["position"].astype("float64").to_numpy(),
            "y": points["attractiveness"].astype("float64").to_numpy(),
            "quadrant": points["quadrant"].astype(str).to_numpy(),
        }
    )
    source = source[source["x"].notna() & source["y"].notna()]
    tooltip = [
        alt.Tooltip("account:N", title=t_acc),
        alt.Tooltip("quadrant:N", title=t_q),
        alt.Tooltip("x:Q", title=t_x, format=".2f"),
        alt.Tooltip("y:Q", title=t_y, format=".2f"),
    ]
    encoding: dict[str, Any] = {}
    if "tier" in points:
        source["tier"] = points.loc[source.index, "tier"].astype(str).to_numpy()
        tooltip.insert(1, alt.Tooltip("tier:N", title=label("tier", lang)))
    if "revenue_12m" in points:
        source["revenue"] = (
            points.loc[source.index, "revenue_12m"].astype("float64").clip(lower=0).to_numpy()
        )
        encoding["size"] = alt.Size("revenue:Q", legend=None, scale=alt.Scale(range=[15, 400]))
        tooltip.append(alt.Tooltip("revenue:Q", title=label("revenue_12m", lang), format=",.0f"))
    quadrants = distinct_in_order(points["quadrant"])
    palette = list(REPORT_CONFIG["range"]["category"][: len(quadrants)])
    return _quadrant_scatter(
        alt.Chart(source).mark_circle(opacity=0.7, stroke="white", strokeWidth=0.5),
        x=alt.X("x:Q", title=t_x, scale=alt.Scale(zero=False, nice=True)),
        y=alt.Y("y:Q", title=t_y, scale=alt.Scale(zero=False, nice=True)),
        quadrants=(quadrants, palette, t_q), tooltip=tooltip, cuts=(x_cut, y_cut), **encoding,
    )  # fmt: skip


def _at_least_edge(values: pd.Series) -> pd.Series:
    """Values for a log axis: zero and negative ones at half the smallest positive value (1
    when there is none); missing stay missing."""
    positive = values[values > 0]
    edge = float(positive.min()) / 2 if len(positive) else 1.0
    return values.where(values.isna() | (values > 0), edge)


def _quadrant_scatter(
    dots: alt.Chart,
    *,
    x: alt.X,
    y: alt.Y,
    quadrants: tuple[list[str], list[str], str],
    tooltip: list[alt.Tooltip],
    cuts: tuple[float | None, float | None],
    **encoding: Any,
) -> alt.LayerChart:
    """A quadrant scatter: ``dots`` (a chart with its mark) placed by ``x`` / ``y``, coloured
    by quadrant (``quadrants``: their order, colours and legend title), with the dashed cut
    lines at ``cuts`` (a cut that is missing or not positive — no line on a log axis — is left
    out)."""
    order, palette, title = quadrants
    color = alt.Color(
        "quadrant:N", title=title, sort=order, scale=alt.Scale(domain=order, range=palette),
        legend=alt.Legend(orient="bottom", columns=2, labelLimit=260),
    )  # fmt: skip
    layers: list[alt.Chart] = [dots.encode(x=x, y=y, color=color, tooltip=tooltip, **encoding)]
    x_cut, y_cut = cuts
    if x_cut is not None and x_cut > 0:
        layers.append(
            alt.Chart(pd.DataFrame({"x": [float(x_cut)]}))
            .mark_rule(color="#9aa5b1", strokeDash=[4, 3])
            .encode(x="x:Q")
        )
    if y_cut is not None and y_cut > 0:
        layers.append(
            alt.Chart(pd.DataFrame({"y": [float(y_cut)]}))
            .mark_rule(color="#9aa5b1", strokeDash=[4, 3])
            .encode(y="y:Q")
        )
    return alt.layer(*layers).properties(width=WIDTH - 160, height=320)


def segment_profiles(
    profiles: pd.DataFrame, *, lang: str = "en", empty: str = "nothing_to_show"
) -> alt.Chart:
    """Heat map: how each segment differs from the average account, per feature.

    ``profiles`` needs ``segment`` (labels), ``feature`` (labels) and ``z`` (the segment's
    mean in standard deviations from the overall mean); ``value`` (the segment's mean, in
    the feature's unit) goes into the tooltip.
    """
    check_lang(lang)
    require_columns(profiles, ("segment", "feature", "z"), "segment_profiles")
    if profiles.empty:
        return message_chart(label(empty, lang))
    t_seg, t_feat, t_z = label("segment", lang), label("feature", lang), label("z_score", lang)
    source = pd.DataFrame(
        {
            t_seg: profiles["segment"].astype(str).to_numpy(),
            t_feat: profiles["feature"].astype(str).to_numpy(),
            t_z: profiles["z"].astype("float64").clip(-3, 3).to_numpy(),
        }
    )
    tooltip = [alt.Tooltip(f"{t_seg}:N"), alt.Tooltip(f"{t_feat}:N"),
               alt.Tooltip(f"{t_z}:Q", format="+.2f")]  # fmt: skip
    if "value" in profiles:
        t_v = label("segment_mean", lang)
        source[t_v] = profiles["value"].astype("float64").to_numpy()
        tooltip.append(alt.Tooltip(f"{t_v}:Q", format=",.2f"))
    source = source[source[t_z].notna()]
    # segments as rows (their names are long), features as columns
    base = alt.Chart(source).encode(
        y=alt.Y(f"{t_seg}:N", sort=distinct_in_order(profiles["segment"]), title=None,
                axis=alt.Axis(labelLimit=280)),
        x=alt.X(f"{t_feat}:N", sort=distinct_in_order(profiles["feature"]), title=None,
                axis=alt.Axis(orient="top", labelAngle=-30, labelAlign="left", labelLimit=160)),
    )  # fmt: skip
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(
            f"{t_z}:Q", title=t_z, scale=alt.Scale(domain=[-2, 2], scheme="redblue", reverse=True,
                                                    clamp=True),
            legend=alt.Legend(orient="right", gradientLength=100),
        ),
        tooltip=tooltip,
    )  # fmt: skip
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text(f"{t_z}:Q", format="+.1f"),
        color=alt.condition(f"abs(datum['{t_z}']) > 1.4", alt.value("white"), alt.value("#1f2933")),
    )
    return (cells + text).properties(width=alt.Step(72), height=alt.Step(26))


def company_size_matrix(
    points: pd.DataFrame,
    *,
    lang: str = "en",
    x_cut: float | None = None,
    y_cut: float | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    quadrant_order: list[str] | None = None,
    money_x: bool = False,
    empty: str = "nothing_to_show",
) -> alt.Chart:
    """Company size (x) against our 12-month revenue (y): one dot per account, coloured by
    quadrant (core, potential, dependency, small), with the median cuts as dashed rules.

    ``points`` needs ``account``, ``company_size``, ``revenue_12m`` and ``quadrant`` (labels);
    ``tier`` goes into the tooltip
    (:meth:`kamlib.views.portfolio_size.CompanySizeReview.points`).  Both axes are
    logarithmic (sizes and revenues span orders of magnitude); an account with a zero (or
    negative) value is drawn at the lower edge of its axis (half the smallest positive value)
    and its tooltip shows the true value.
    ``quadrant_order`` fixes the colours (the four quadrants in a set order); ``money_x``
    gives the x axis short money labels (registered capital).  ``x_cut`` / ``y_cut``,
    ``x_title`` / ``y_title``, ``quadrant_order`` and ``money_x`` come from
    :meth:`~kamlib.views.portfolio_size.CompanySizeReview.chart_options`.
    """
    check_lang(lang)
    require_columns(
        points, ("account", "company_size", "revenue_12m", "quadrant"), "company_size_matrix"
    )
    if points.empty:
        return message_chart(label(empty, lang))
    t_acc, t_q = label("account", lang), label("quadrant", lang)
    t_x = x_title or label("size_axis_company", lang)
    t_y = y_title or label("revenue_12m", lang)
    size = points["company_size"].astype("float64")
    revenue = points["revenue_12m"].astype("float64")
    source = pd.DataFrame(
        {
            "account": points["account"].astype(str).to_numpy(),
            "x": _at_least_edge(size).to_numpy(),
            "y": _at_least_edge(revenue).to_numpy(),
            "size_value": size.to_numpy(),
            "revenue_value": revenue.to_numpy(),
            "quadrant": points["quadrant"].astype(str).to_numpy(),
        }
    )
    tooltip = [
        alt.Tooltip("account:N", title=t_acc),
        alt.Tooltip("quadrant:N", title=t_q),
        alt.Tooltip("size_value:Q", title=t_x, format=",.0f"),
        alt.Tooltip("revenue_value:Q", title=t_y, format=",.0f"),
    ]
    if "tier" in points:
        source["tier"] = points["tier"].astype(str).to_numpy()
        tooltip.insert(1, alt.Tooltip("tier:N", title=label("tier", lang)))
    source = source[source["x"].notna() & source["y"].notna()]
    # a quadrant keeps its colour whether or not the others hold accounts
    present = distinct_in_order(points["quadrant"])
    known = list(quadrant_order or [])
    order = [q for q in known if q in present] + [q for q in present if q not in known]
    slot = {q: known.index(q) if q in known else len(known) + i for i, q in enumerate(order)}
    palette = [SIZE_QUADRANT_COLORS[slot[q] % len(SIZE_QUADRANT_COLORS)] for q in order]
    x_axis = money_axis(lang) if money_x else alt.Axis(format="~s")
    return _quadrant_scatter(
        alt.Chart(source).mark_circle(size=60, opacity=0.75, stroke="white", strokeWidth=0.5),
        x=alt.X("x:Q", title=t_x, scale=alt.Scale(type="log"), axis=x_axis),
        y=alt.Y("y:Q", title=t_y, scale=alt.Scale(type="log"), axis=money_axis(lang)),
        quadrants=(order, palette, t_q), tooltip=tooltip, cuts=(x_cut, y_cut),
    )  # fmt: skip
