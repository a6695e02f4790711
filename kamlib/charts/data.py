"""Charts of the data-health report: rows per table and per import batch, quarantined rows,
coverage gaps (frames from :mod:`kamlib.data.health`)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from kamlib.charts.base import (
    BAR_STEP,
    WIDTH,
    count_axis,
    date_text,
    message_chart,
    require_columns,
)
from kamlib.methodology.labels import check_lang, label


def rows_per_table(tables: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Horizontal bars: rows per canonical table, in canonical order.

    ``tables`` needs columns ``table`` and ``rows`` (e.g. :func:`kamlib.data.health.table_overview`);
    ``present``, ``first_date`` and ``last_date`` go into the tooltip when there.  Tables
    that were not imported are left out.

    >>> rows_per_table(table_overview(data), lang="zh")  # doctest: +SKIP
    """
    check_lang(lang)
    require_columns(tables, ("table", "rows"), "rows_per_table")
    frame = tables
    if "present" in frame:
        frame = frame[frame["present"].astype(bool)]
    if frame.empty:
        return message_chart(label("nothing_to_show", lang))
    t_table, t_rows = label("table", lang), label("rows", lang)
    source = pd.DataFrame(
        {
            t_table: [label(t, lang) for t in frame["table"]],
            t_rows: frame["rows"].astype("int64").to_numpy(),
        }
    )
    tooltip = [alt.Tooltip(f"{t_table}:N"), alt.Tooltip(f"{t_rows}:Q", format=",d")]
    for col in ("first_date", "last_date"):
        if col in frame:
            source[label(col, lang)] = date_text(frame[col])
            tooltip.append(alt.Tooltip(f"{label(col, lang)}:N"))
    order = list(source[t_table])
    bars = (
        alt.Chart(source)
        .mark_bar()
        .encode(
            y=alt.Y(f"{t_table}:N", sort=order, title=None),
            x=alt.X(f"{t_rows}:Q", title=t_rows, axis=count_axis(source[t_rows].max())),
            tooltip=tooltip,
        )
    )
    text = bars.mark_text(align="left", dx=4, color="#3d4852").encode(
        text=alt.Text(f"{t_rows}:Q", format=",d")
    )
    return (bars + text).properties(width=WIDTH - 140, height=alt.Step(BAR_STEP))


def quarantine_reasons(summary: pd.DataFrame, *, lang: str = "en", top: int = 15) -> alt.Chart:
    """Horizontal bars: quarantined rows per reason, coloured by table.

    ``summary`` needs ``table``, ``reason`` and ``rows``
    (:func:`kamlib.data.health.quarantine_summary`); ``examples`` goes into the tooltip.  Only the
    ``top`` most frequent reasons are drawn (the table next to the chart lists them all).
    """
    check_lang(lang)
    require_columns(summary, ("table", "reason", "rows"), "quarantine_reasons")
    if summary.empty:
        return message_chart(label("no_quarantine", lang))
    t_table, t_reason, t_rows = label("table", lang), label("reason", lang), label("rows", lang)
    source = pd.DataFrame(
        {
            t_table: [label(t, lang) for t in summary["table"]],
            t_reason: summary["reason"].astype(str).to_numpy(),
            t_rows: summary["rows"].astype("int64").to_numpy(),
        }
    )
    tooltip = [
        alt.Tooltip(f"{t_reason}:N"),
        alt.Tooltip(f"{t_table}:N"),
        alt.Tooltip(f"{t_rows}:Q", format=",d"),
    ]
    if "examples" in summary:
        t_examples = label("examples", lang)
        source[t_examples] = summary["examples"].astype(str).to_numpy()
        tooltip.append(alt.Tooltip(f"{t_examples}:N"))
    reasons = (
        source.groupby(t_reason, sort=False)[t_rows]
        .sum()
        .reset_index()
        .sort_values([t_rows, t_reason], ascending=[False, True])[t_reason]
        .tolist()[:top]
    )
    source = source[source[t_reason].isin(reasons)]
    return (
        alt.Chart(source)
        .mark_bar()
        .encode(
            y=alt.Y(f"{t_reason}:N", sort=reasons, title=None, axis=alt.Axis(labelLimit=320)),
            x=alt.X(
                f"sum({t_rows}):Q",
                title=t_rows,
                axis=count_axis(source.groupby(t_reason)[t_rows].sum().max()),
            ),
            color=alt.Color(f"{t_table}:N", title=t_table),
            tooltip=tooltip,
        )
        .properties(width=WIDTH - 260, height=alt.Step(BAR_STEP))
    )


def rows_per_batch(batch_tables: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Stacked bars: rows loaded per import batch, one colour per table.

    ``batch_tables`` needs ``batch_id``, ``table`` and ``rows_loaded``
    (:func:`kamlib.data.health.batch_rows`); ``rows_quarantined`` goes into the tooltip.
    """
    check_lang(lang)
    require_columns(batch_tables, ("batch_id", "table", "rows_loaded"), "rows_per_batch")
    if batch_tables.empty:
        return message_chart(label("no_batches", lang))
    t_batch, t_table = label("batch_id", lang), label("table", lang)
    t_loaded = label("rows_loaded", lang)
    source = pd.DataFrame(
        {
            t_batch: [f"#{b}" for b in batch_tables["batch_id"]],
            t_table: [label(t, lang) for t in batch_tables["table"]],
            t_loaded: batch_tables["rows_loaded"].astype("int64").to_numpy(),
        }
    )
    tooltip = [
        alt.Tooltip(f"{t_batch}:N"),
        alt.Tooltip(f"{t_table}:N"),
        alt.Tooltip(f"{t_loaded}:Q", format=",d"),
    ]
    if "rows_quarantined" in batch_tables:
        t_quarantined = label("rows_quarantined", lang)
        source[t_quarantined] = batch_tables["rows_quarantined"].astype("int64").to_numpy()
        tooltip.append(alt.Tooltip(f"{t_quarantined}:Q", format=",d"))
    batches = list(dict.fromkeys(source[t_batch]))
    return (
        alt.Chart(source)
        .mark_bar()
        .encode(
            x=alt.X(f"{t_batch}:N", sort=batches, title=t_batch, axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                f"sum({t_loaded}):Q",
                title=t_loaded,
                axis=count_axis(source.groupby(t_batch)[t_loaded].sum().max()),
            ),
            color=alt.Color(f"{t_table}:N", title=t_table),
            tooltip=tooltip,
        )
        .properties(width=alt.Step(48), height=220)
    )


def coverage_gaps(coverage: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Horizontal bars: share of records affected by each coverage check.

    ``coverage`` needs ``check``, ``rows``, ``of_rows`` and ``share``
    (:func:`kamlib.data.health.coverage_gaps`).
    """
    check_lang(lang)
    require_columns(coverage, ("check", "rows", "of_rows", "share"), "coverage_gaps")
    if coverage.empty:
        return message_chart(label("nothing_to_show", lang))
    t_check, t_rows = label("check", lang), label("rows", lang)
    t_of, t_share = label("of_rows", lang), label("share", lang)
    source = pd.DataFrame(
        {
            t_check: [label(c, lang) for c in coverage["check"]],
            t_rows: coverage["rows"].astype("int64").to_numpy(),
            t_of: coverage["of_rows"].astype("int64").to_numpy(),
            t_share: coverage["share"].astype("float64").to_numpy(),
        }
    )
    bars = (
        alt.Chart(source)
        .mark_bar()
        .encode(
            y=alt.Y(f"{t_check}:N", sort=list(source[t_check]), title=None),
            x=alt.X(
                f"{t_share}:Q",
                title=t_share,
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
            ),
            tooltip=[
                alt.Tooltip(f"{t_check}:N"),
                alt.Tooltip(f"{t_rows}:Q", format=",d"),
                alt.Tooltip(f"{t_of}:Q", format=",d"),
                alt.Tooltip(f"{t_share}:Q", format=".1%"),
            ],
        )
    )
    text = bars.mark_text(align="left", dx=4, color="#3d4852").encode(
        text=alt.Text(f"{t_rows}:Q", format=",d")
    )
    return (bars + text).properties(width=WIDTH - 300, height=alt.Step(BAR_STEP))
