"""Result frames → Altair charts, and the offline renderer that puts them into reports.

Charts
------
Every chart function takes a result frame (from :mod:`kamlib.data.health`, :mod:`kamlib.research`,
…) and ``lang`` (``"en"`` or ``"zh"``) and returns an Altair chart.  Nothing is saved and
nothing is displayed here; a chart is data.  An empty frame gives a small chart that says
there is nothing to show, so a report always has the same sections.

Offline renderer
----------------
Reports are read with the network cut, so charts cannot load vega from a CDN (Altair's
default) and must not repeat the ~900 KB vega bundle per chart (Altair's ``inline``).
:func:`enable_offline` registers the ``kamlib`` renderer: the first chart a notebook displays
carries the vega / vega-lite / vega-embed bundle once (from ``vl_convert.javascript_bundle``,
cached on disk per vl-convert version); every chart is a ``<div>`` plus a ``vegaEmbed`` call
with tooltips.  ``enable_offline(svg=True)`` draws static inline SVG instead, for e-mail.

The bundle is plain JavaScript without imports or exports, but it declares hundreds of
top-level names (``n``, ``t``, …).  As a classic ``<script>`` those would land in the page's
global scope and collide with any other script; it is therefore embedded as
``<script type="module">`` (its own scope; it publishes ``window.vegaEmbed`` itself).
Module scripts run after the page is parsed, so each chart's call waits in a queue the
bundle drains when it has run — correct in any order, also in a live JupyterLab.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from kamlib.methodology.labels import check_lang, label

RENDERER_NAME = "kamlib"

FONT = (
    '"Noto Sans", "Segoe UI", "Helvetica Neue", Arial, "Noto Sans CJK SC", '
    '"Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
)
COLOR = "#2f6690"
WIDTH = 560
BAR_STEP = 22

#: Chart look applied by the renderer under each chart's own ``config`` (the chart wins).
REPORT_CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "view": {"stroke": "transparent"},
    "mark": {"color": COLOR},
    "bar": {"color": COLOR},
    "axis": {
        "labelFontSize": 11,
        "titleFontSize": 12,
        "titleFontWeight": "normal",
        "titleColor": "#3d4852",
        "labelColor": "#3d4852",
        "gridColor": "#e8ebee",
        "domainColor": "#9aa5b1",
        "tickColor": "#9aa5b1",
        "labelLimit": 260,
    },
    "legend": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal"},
    "title": {"fontSize": 14, "fontWeight": 600, "anchor": "start", "color": "#1f2933"},
    "range": {
        "category": [
            "#2f6690", "#d1803b", "#3a7d44", "#b5485d", "#7b5ea7",
            "#8c6d46", "#c76fa4", "#6b7b8c", "#a8a23a", "#2aa1a8",
        ]
    },
}  # fmt: skip

_LOCALES = {"en": "en-US", "zh": "zh-CN"}
_EMBED_I18N = {
    "zh": {
        "CLICK_TO_VIEW_ACTIONS": "点击查看操作",
        "PNG_ACTION": "另存为 PNG",
        "SVG_ACTION": "另存为 SVG",
        "SOURCE_ACTION": "查看源代码",
        "COMPILED_ACTION": "查看 Vega 规范",
        "EDITOR_ACTION": "在 Vega 编辑器中打开",
    }
}
_QUEUE = "kamlibCharts"


# -- charts ---------------------------------------------------------------------------------
def rows_per_table(tables: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Horizontal bars: rows per canonical table, in canonical order.

    ``tables`` needs columns ``table`` and ``rows`` (e.g. :func:`kamlib.data.health.table_overview`);
    ``present``, ``first_date`` and ``last_date`` go into the tooltip when there.  Tables
    that were not imported are left out.

    >>> rows_per_table(table_overview(data), lang="zh")  # doctest: +SKIP
    """
    check_lang(lang)
    _require(tables, ("table", "rows"), "rows_per_table")
    frame = tables
    if "present" in frame:
        frame = frame[frame["present"].astype(bool)]
    if frame.empty:
        return _message_chart(label("nothing_to_show", lang))
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
            source[label(col, lang)] = _date_text(frame[col])
            tooltip.append(alt.Tooltip(f"{label(col, lang)}:N"))
    order = list(source[t_table])
    bars = (
        alt.Chart(source)
        .mark_bar()
        .encode(
            y=alt.Y(f"{t_table}:N", sort=order, title=None),
            x=alt.X(f"{t_rows}:Q", title=t_rows, axis=_count_axis(source[t_rows].max())),
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
    _require(summary, ("table", "reason", "rows"), "quarantine_reasons")
    if summary.empty:
        return _message_chart(label("no_quarantine", lang))
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
                axis=_count_axis(source.groupby(t_reason)[t_rows].sum().max()),
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
    _require(batch_tables, ("batch_id", "table", "rows_loaded"), "rows_per_batch")
    if batch_tables.empty:
        return _message_chart(label("no_batches", lang))
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
                axis=_count_axis(source.groupby(t_batch)[t_loaded].sum().max()),
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
    _require(coverage, ("check", "rows", "of_rows", "share"), "coverage_gaps")
    if coverage.empty:
        return _message_chart(label("nothing_to_show", lang))
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


def revenue_by_quarter(
    revenue: pd.DataFrame, *, lang: str = "en", currency: str = "CNY"
) -> alt.Chart:
    """Columns: revenue per quarter.

    ``revenue`` needs ``quarter`` (text, e.g. ``"2026-Q3"``) and ``revenue``
    (:attr:`kamlib.research.AccountOverview.revenue_by_quarter`); ``orders`` goes into the
    tooltip.
    """
    check_lang(lang)
    _require(revenue, ("quarter", "revenue"), "revenue_by_quarter")
    if revenue.empty:
        return _message_chart(label("no_orders", lang))
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
            y=alt.Y(f"{t_revenue}:Q", title=t_revenue, axis=alt.Axis(format=",.0f")),
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
    _require(revenue, ("product_line", "revenue"), "revenue_by_product_line")
    if revenue.empty:
        return _message_chart(label("no_orders", lang))
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
            x=alt.X(f"{t_revenue}:Q", title=t_revenue, axis=alt.Axis(format=",.0f")),
            tooltip=tooltip,
        )
        .properties(width=WIDTH - 160, height=alt.Step(BAR_STEP))
    )


def _message_chart(message: str) -> alt.Chart:
    """A small chart that only says ``message`` (keeps the report's shape when data is empty)."""
    return (
        alt.Chart(pd.DataFrame({"message": [message]}))
        .mark_text(align="left", baseline="middle", fontSize=13, color="#52606d")
        .encode(text="message:N", x=alt.value(0), y=alt.value(12))
        .properties(width=WIDTH - 140, height=24)
    )


def _count_axis(largest: float) -> alt.Axis:
    """An axis for counts: whole numbers only (vega would put ticks at 0.5 for small counts)."""
    if pd.notna(largest) and largest <= 10:
        return alt.Axis(format=",d", values=list(range(int(largest) + 1)))
    return alt.Axis(format=",d", tickMinStep=1)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        from kamlib.errors import DataValidationError

        raise DataValidationError(
            f"{where}: required column(s) {', '.join(map(repr, missing))} missing. "
            f"Got columns {list(frame.columns)}; pass the frame kamlib.data.health / "
            "kamlib.research returns."
        )


def _date_text(values: pd.Series) -> list[str]:
    stamps = pd.to_datetime(values)
    return ["" if pd.isna(v) else v.strftime("%Y-%m-%d") for v in stamps]


# -- the vega bundle, cached on disk --------------------------------------------------------
def vega_lite_version() -> str | None:
    """The vega-lite version (``"6.4"``) matching Altair's schema, if vl-convert ships it."""
    import vl_convert as vlc

    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    available = {v.lstrip("v") for v in vlc.get_vegalite_versions()}
    return major_minor if major_minor in available else None


def bundle_cache_dir() -> Path:
    """Where the vega bundle is cached: ``$KAMLIB_CACHE_DIR``, else ``$XDG_CACHE_HOME/kamlib``,
    else ``~/.cache/kamlib``."""
    if os.environ.get("KAMLIB_CACHE_DIR"):
        return Path(os.environ["KAMLIB_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kamlib"


def bundle_cache_path() -> Path:
    """The cache file of the bundle for the installed vl-convert and vega-lite versions."""
    import vl_convert as vlc

    vl = vega_lite_version() or "latest"
    return bundle_cache_dir() / f"vega-bundle-vlconvert{vlc.__version__}-vegalite{vl}.js"


def vega_bundle() -> str:
    """The vega + vega-lite + vega-embed JavaScript bundle (~900 KB).

    Built by ``vl_convert.javascript_bundle`` (a few seconds) once per vl-convert version and
    kept in :func:`bundle_cache_path`; later kernels read the file.  If the cache directory is
    not writable the bundle is built and used without caching.
    """
    return _vega_bundle(str(bundle_cache_path()))


@cache
def _vega_bundle(path_text: str) -> str:
    path = Path(path_text)
    try:
        text = path.read_text(encoding="utf-8")
        if _looks_like_bundle(text):
            return text
    except OSError:
        pass
    import vl_convert as vlc

    text = vlc.javascript_bundle(vl_version=vega_lite_version())
    if not _looks_like_bundle(text):  # pragma: no cover - vl-convert changed its bundle
        from kamlib.errors import ReportError

        raise ReportError(
            "vl_convert.javascript_bundle() returned a bundle without window.vegaEmbed "
            f"(vl-convert {vlc.__version__}); pin vl-convert-python as constraints.txt says."
        )
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)  # atomic: a kernel reading the cache never sees half a file
    except OSError:  # a read-only or full disk still renders charts, only slower to start
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return text


def _looks_like_bundle(text: str) -> bool:
    return len(text) > 10_000 and "window.vegaEmbed" in text


# -- rendering ------------------------------------------------------------------------------
def report_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec`` with :data:`REPORT_CONFIG` under its own config (the spec's settings win)."""
    out = dict(spec)
    out["config"] = _deep_merge(REPORT_CONFIG, spec.get("config") or {})
    return out


def embed_options(lang: str = "en") -> dict[str, Any]:
    """vega-embed options: SVG, tooltips, export only (no editor link), number/date locale."""
    import vl_convert as vlc

    check_lang(lang)
    options: dict[str, Any] = {
        "renderer": "svg",
        "tooltip": True,
        "actions": {"export": True, "source": False, "compiled": False, "editor": False},
        "formatLocale": vlc.get_format_locale(_LOCALES[lang]),
        "timeFormatLocale": vlc.get_time_format_locale(_LOCALES[lang]),
    }
    if lang in _EMBED_I18N:
        options["i18n"] = _EMBED_I18N[lang]
    return options


def bundle_html() -> str:
    """The ``<script type="module">`` carrying the vega bundle; drains the chart queue."""
    drain = f"\n;(window.{_QUEUE} || []).splice(0).forEach(function (draw) {{ draw(); }});\n"
    return f'<script type="module">\n{_bundle_safe(vega_bundle())}{drain}</script>'


def chart_html(
    spec: Mapping[str, Any],
    *,
    lang: str = "en",
    include_bundle: bool = True,
    element_id: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> str:
    """HTML that draws ``spec`` with vega-embed, offline.

    ``include_bundle`` puts the vega bundle in front of the chart (do it once per page).
    ``options`` override :func:`embed_options` (e.g. from ``alt.renderers.set_embed_options``).
    The spec goes into the page as JSON with ``<``, ``>`` and ``&`` escaped, so text in the
    data (``</script>``) cannot end the script.
    """
    element_id = element_id or f"kamlib-chart-{uuid.uuid4().hex}"
    failed = json.dumps(label("chart_failed", lang), ensure_ascii=False)
    call = f"""<script>
(function () {{
  var el = document.getElementById({_json(element_id)});
  var spec = {_json(report_spec(spec))};
  var opts = {_json(_deep_merge(embed_options(lang), options or {}))};
  function draw() {{
    window.vegaEmbed(el, spec, opts).catch(function (err) {{
      el.textContent = {failed} + ": " + err;
      console.error(err);
    }});
  }}
  if (window.vegaEmbed) {{ draw(); }} else {{ (window.{_QUEUE} = window.{_QUEUE} || []).push(draw); }}
}})();
</script>"""
    div = f'<div class="kamlib-chart" id="{element_id}"></div>'
    bundle = bundle_html() if include_bundle else ""
    return f"{div}\n{bundle}\n{call}" if bundle else f"{div}\n{call}"


def chart_svg(spec: Mapping[str, Any], *, lang: str = "en") -> str:
    """Static SVG of ``spec`` (vl-convert), in a ``<figure>``: for e-mail, no script at all."""
    import vl_convert as vlc

    check_lang(lang)
    svg = vlc.vegalite_to_svg(
        report_spec(spec),
        vl_version=vega_lite_version(),
        format_locale=_LOCALES[lang],
        time_format_locale=_LOCALES[lang],
    )
    return f'<figure class="kamlib-chart kamlib-chart-static">{svg}</figure>'


class OfflineRenderer:
    """Altair renderer: charts as self-contained ``text/html`` (see the module docstring).

    One instance serves one notebook: the first chart it renders carries the bundle.
    """

    def __init__(self, *, svg: bool = False, lang: str = "en") -> None:
        self.svg = svg
        self.lang = check_lang(lang)
        self.bundle_sent = False

    def __call__(self, spec: dict[str, Any], **metadata: Any) -> dict[str, str]:
        if self.svg:
            return {"text/html": chart_svg(spec, lang=self.lang)}
        html = chart_html(
            spec,
            lang=self.lang,
            include_bundle=not self.bundle_sent,
            options=metadata.get("embed_options"),
        )
        self.bundle_sent = True
        return {"text/html": html}


def enable_offline(*, svg: bool = False, lang: str = "en") -> None:
    """Make every Altair chart displayed from now on render offline.

    Call it once near the top of a report notebook.  Each call starts a new page: the next
    chart embeds the vega bundle again (so a kernel reused for several notebooks still gives
    each its own bundle).

    Parameters
    ----------
    svg : bool
        Draw static inline SVG instead of interactive charts (e-mail attachments).
    lang : str
        ``"en"`` or ``"zh"``: number and date formats, and the chart menu's language.
    """
    renderer = OfflineRenderer(svg=svg, lang=lang)
    if not svg:
        vega_bundle()  # build or read the cache now, not inside the first chart's display
    alt.renderers.register(RENDERER_NAME, renderer)
    alt.renderers.enable(RENDERER_NAME)


def _json(value: Any) -> str:
    return _script_safe(json.dumps(value, ensure_ascii=False, allow_nan=False, default=str))


def _script_safe(json_text: str) -> str:
    """JSON that can sit inside ``<script>``: no ``</script>``, no ``<!--``, no raw U+2028."""
    return (
        json_text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _bundle_safe(code: str) -> str:
    """JavaScript code that cannot end its ``<script>`` early.

    Only the sequences the HTML parser reacts to are touched (``</script`` and ``<!--``
    occur, if ever, inside string or regex literals, where ``<\\/`` and ``<\\!`` mean the
    same).
    """
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\!--")


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# -- charts: scoring, the portfolio review, the scoring explorer ------------------------------
#: Colours of tiers, highest first (a tier's colour is the same in every chart of a report).
TIER_COLORS = ("#1f4e79", "#2f6690", "#6aa2c8", "#b9d3e6", "#d9e4ec", "#eef2f5")
_SHARE_COLORS = ("#2f6690", "#d1803b")
_CURVE_COLORS = ("#2f6690", "#d1803b", "#3a7d44", "#9aa5b1")


def _order(values: pd.Series) -> list[str]:
    """Distinct values in order of first appearance (the order the frame gives)."""
    return list(dict.fromkeys(values.astype(str)))


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
    _require(shares, ("tier", "account_share", "value_share"), "tier_shares")
    if shares.empty:
        return _message_chart(label(empty, lang))
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
            y=alt.Y(f"{t_tier}:N", sort=_order(shares["tier"]), title=None),
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
    _require(breakdown, ("account", "indicator", "contribution"), "score_breakdown")
    if breakdown.empty:
        return _message_chart(label(empty, lang))
    t_account, t_indicator = label("account", lang), label("indicator", lang)
    t_contribution = label("contribution", lang)
    source = pd.DataFrame(
        {
            t_account: breakdown["account"].astype(str).to_numpy(),
            t_indicator: breakdown["indicator"].astype(str).to_numpy(),
            t_contribution: breakdown["contribution"].astype("float64").to_numpy(),
        }
    )
    indicators = _order(breakdown["indicator"])
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
            y=alt.Y(f"{t_account}:N", sort=_order(breakdown["account"]), title=None),
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
    _require(points, ("tier", "indicator", "points"), "tier_profile")
    if points.empty:
        return _message_chart(label(empty, lang))
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
        x=alt.X(f"{t_tier}:N", sort=_order(points["tier"]), title=None,
                axis=alt.Axis(orient="top", labelAngle=0)),
        y=alt.Y(f"{t_indicator}:N", sort=_order(points["indicator"]), title=None),
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
    _require(scores, ("score", "tier"), "score_distribution")
    if scores.empty:
        return _message_chart(label(empty, lang))
    t_score, t_tier, t_n = label("score", lang), label("tier", lang), label("accounts_count", lang)
    tiers = _order(thresholds["tier"]) if thresholds is not None else _order(scores["tier"])
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
    _require(matrix, ("from_tier", "to_tier", "accounts_count"), "migration_matrix")
    if matrix.empty:
        return _message_chart(label(empty, lang))
    t_from = (
        label("tier_before", lang).format(date=from_date) if from_date else label("from_tier", lang)
    )
    t_to = label("tier_before", lang).format(date=to_date) if to_date else label("to_tier", lang)
    t_n = label("accounts_count", lang)
    rows, cols = _order(matrix["from_tier"]), _order(matrix["to_tier"])
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
    _require(gains, ("ranking", "account_share", "value_share"), "gains_curve")
    if gains.empty:
        return _message_chart(label(empty, lang))
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
    rankings = [*_order(gains["ranking"]), random]
    colors = [_CURVE_COLORS[min(i, len(_CURVE_COLORS) - 1)] for i in range(len(rankings))]
    colors[-1] = _CURVE_COLORS[-1]
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
    _require(counts, ("tier", "accounts_count"), "tier_counts")
    if counts.empty:
        return _message_chart(label(empty, lang))
    t_tier, t_n = label("tier", lang), label("accounts_count", lang)
    source = pd.DataFrame(
        {
            t_tier: counts["tier"].astype(str).to_numpy(),
            t_n: counts["accounts_count"].astype("int64").to_numpy(),
        }
    )
    tiers = _order(counts["tier"])
    encoding: dict[str, Any] = {
        "y": alt.Y(f"{t_tier}:N", sort=tiers, title=None),
        "x": alt.X(f"{t_n}:Q", title=t_n, axis=_count_axis(source[t_n].max())),
        "tooltip": [alt.Tooltip(f"{t_tier}:N"), alt.Tooltip(f"{t_n}:Q", format=",d")],
    }
    if "scenario" in counts:
        t_s = label("scenario", lang)
        source[t_s] = counts["scenario"].astype(str).to_numpy()
        scenarios = _order(counts["scenario"])
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
    _require(curve, ("account_share", "value_share"), "pareto_curve")
    if curve.empty:
        return _message_chart(label(empty, lang))
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
        classes = _order(curve["abc_class"])
        base = alt.Chart(source)
        area = base.mark_area(opacity=0.35).encode(
            x=encoding["x"],
            y=alt.Y(f"{t_y}:Q", axis=alt.Axis(format="%"), stack=None),
            color=alt.Color(
                f"{t_class}:N", title=t_class, sort=classes,
                scale=alt.Scale(domain=classes, range=list(_CURVE_COLORS[: len(classes)])),
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
    _require(points, ("account", "position", "attractiveness", "quadrant"), "portfolio_matrix")
    if points.empty:
        return _message_chart(label(empty, lang))
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
    quadrants = _order(points["quadrant"])
    palette = list(REPORT_CONFIG["range"]["category"][: len(quadrants)])
    dots = (
        alt.Chart(source)
        .mark_circle(opacity=0.7, stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("x:Q", title=t_x, scale=alt.Scale(zero=False, nice=True)),
            y=alt.Y("y:Q", title=t_y, scale=alt.Scale(zero=False, nice=True)),
            color=alt.Color(
                "quadrant:N", title=t_q, sort=quadrants,
                scale=alt.Scale(domain=quadrants, range=palette),
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=260),
            ),
            tooltip=tooltip,
            **encoding,
        )
    )  # fmt: skip
    layers: list[alt.Chart] = [dots]
    if x_cut is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"x": [float(x_cut)]}))
            .mark_rule(color="#9aa5b1", strokeDash=[4, 3])
            .encode(x="x:Q")
        )
    if y_cut is not None:
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
    _require(profiles, ("segment", "feature", "z"), "segment_profiles")
    if profiles.empty:
        return _message_chart(label(empty, lang))
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
        y=alt.Y(f"{t_seg}:N", sort=_order(profiles["segment"]), title=None,
                axis=alt.Axis(labelLimit=280)),
        x=alt.X(f"{t_feat}:N", sort=_order(profiles["feature"]), title=None,
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


# -- account research (kamlib.research) ---------------------------------------------------------
_ROLE_ORDER = ("economic", "technical", "user", "coach", "gatekeeper", "other")


def power_map(contacts: pd.DataFrame, *, lang: str = "en", high_influence: int = 4) -> alt.Chart:
    """Influence × support grid of an account's contacts (权力地图).

    ``contacts`` is :attr:`kamlib.research.PowerMap.contacts` (``name, title, buying_role,
    influence, support`` and, in the tooltip, ``stance, reaction_mode, last_contact_date,
    strength``).  Support runs from −2 (opponent) to +2 (champion) left to right, influence 1–5
    upwards; colour is the buying role, size the relationship strength.  Contacts sharing a
    cell are spread a little around it (deterministically) so each stays visible; a dashed
    line marks the key-person threshold ``high_influence``.  Contacts without influence or
    support are left out of the grid (they are in the table).
    """
    check_lang(lang)
    _require(contacts, ("name", "buying_role", "influence", "support"), "power_map")
    known = contacts[contacts["influence"].notna() & contacts["support"].notna()]
    if known.empty:
        return _message_chart(label("no_contacts", lang))
    t_name, t_title = label("contact_name", lang), label("title", lang)
    t_role, t_inf, t_sup = (
        label("buying_role", lang),
        label("influence", lang),
        label("support", lang),
    )
    cell = known.groupby(["influence", "support"]).cumcount().to_numpy()
    size = known.groupby(["influence", "support"])["name"].transform("size").to_numpy()
    angle = 2 * np.pi * cell / np.maximum(size, 1)
    radius = np.where(size > 1, 0.22, 0.0)
    source = pd.DataFrame(
        {
            t_name: known["name"].astype(str).to_numpy(),
            t_title: known["title"].astype("object").fillna("").astype(str).to_numpy()
            if "title" in known
            else "",
            t_role: [label(f"role_{r}", lang) for r in known["buying_role"].fillna("other")],
            t_inf: known["influence"].astype("float64").to_numpy(),
            t_sup: known["support"].astype("float64").to_numpy(),
            "x": known["support"].astype("float64").to_numpy() + radius * np.cos(angle),
            "y": known["influence"].astype("float64").to_numpy() + radius * np.sin(angle),
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
            source[t] = _date_text(known[col])
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
            size=(alt.Size(f"{size_field}:Q", scale=alt.Scale(domain=[0, 100], range=[60, 420]),
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
    names = points.mark_text(align="left", dx=9, fontSize=10, color="#3d4852").encode(
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


def share_of_wallet_trend(trend: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Line: share of wallet (trailing-12-month revenue ÷ category spend) at each quarter end.

    ``trend`` is :attr:`kamlib.research.AccountDossier.share_of_wallet` (``quarter,
    share_of_wallet``; ``revenue_12m`` in the tooltip).
    """
    check_lang(lang)
    _require(trend, ("quarter", "share_of_wallet"), "share_of_wallet_trend")
    known = trend[trend["share_of_wallet"].notna()]
    if known.empty:
        return _message_chart(label("no_wallet", lang))
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
    _require(activities, ("quarter", "type", "activities"), "activities_by_quarter")
    if activities.empty:
        return _message_chart(label("no_activities", lang))
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
            y=alt.Y(f"sum({t_n}):Q", title=t_n, axis=_count_axis(
                float(source.groupby(t_q)[t_n].sum().max()))),
            color=alt.Color(f"{t_t}:N", title=t_t),
            tooltip=[alt.Tooltip(f"{t_q}:N"), alt.Tooltip(f"{t_t}:N"),
                     alt.Tooltip(f"{t_n}:Q", format=",d")],
        )
        .properties(width=alt.Step(56), height=200)
    )  # fmt: skip


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
    _require(progress, ("target_id", "measure", "period", "attainment", "elapsed", "status"),
             "ogsm_progress")  # fmt: skip
    rows = progress[progress["attainment"].notna()].head(top)
    if rows.empty:
        return _message_chart(label("no_targets", lang))

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


# -- funnel and forecast (kamlib.pipeline, kamlib.forecast) -----------------------------------------
def pipeline_funnel(funnel: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Funnel bars: deals that entered each open stage, with conversion and drop-off.

    ``funnel`` is :func:`kamlib.pipeline.funnel` (``stage``, ``entered``, ``conversion_rate``,
    ``drop_rate``, ``win_rate``), one row per stage in funnel order.  Each bar is centred, so
    the shape reads as a funnel; the text gives the share that moved on to a later stage.
    """
    check_lang(lang)
    _require(funnel, ("stage", "entered", "conversion_rate", "drop_rate"), "pipeline_funnel")
    if funnel.empty:
        return _message_chart(label("nothing_to_show", lang))
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


def forecast_fan(track: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Fan chart: P10–P90 band and P50 line per period, with actuals where known.

    ``track`` needs ``period``, ``p10``, ``p50``, ``p90``; ``actual`` (NaN for the period
    still to come) and ``weighted_pipeline`` are drawn when present.  Pass the back-test's
    company rows followed by the current forecast to show the track record and the outlook.
    """
    check_lang(lang)
    _require(track, ("period", "p10", "p50", "p90"), "forecast_fan")
    if track.empty:
        return _message_chart(label("nothing_to_show", lang))
    t_per = label("period", lang)
    t_p10, t_p50, t_p90 = label("p10", lang), label("p50", lang), label("p90", lang)
    periods = track["period"].astype(str).tolist()
    source = pd.DataFrame(
        {
            t_per: periods,
            t_p10: track["p10"].astype(float).to_numpy(),
            t_p50: track["p50"].astype(float).to_numpy(),
            t_p90: track["p90"].astype(float).to_numpy(),
        }
    )
    x = alt.X(f"{t_per}:O", sort=periods, title=None, axis=alt.Axis(labelAngle=0))
    money = alt.Axis(format="~s")
    tips = [alt.Tooltip(f"{t_per}:O")] + [
        alt.Tooltip(f"{c}:Q", format=",.0f") for c in (t_p10, t_p50, t_p90)
    ]
    layers: list[alt.Chart] = [
        alt.Chart(source).mark_area(opacity=0.25, color=COLOR).encode(
            x=x, y=alt.Y(f"{t_p10}:Q", title=label("bookings", lang), axis=money),
            y2=f"{t_p90}:Q", tooltip=tips,
        ),
        alt.Chart(source).mark_line(point=True, color=COLOR).encode(
            x=x, y=f"{t_p50}:Q", tooltip=tips
        ),
    ]  # fmt: skip
    for column, colour, shape in (("weighted_pipeline", "#9aa5b1", "square"),
                                  ("actual", "#d64545", "diamond")):  # fmt: skip
        if column in track and track[column].notna().any():
            t_c = label(column, lang)
            pts = pd.DataFrame({t_per: periods, t_c: track[column].astype(float).to_numpy()})
            pts = pts[pts[t_c].notna()]
            layers.append(
                alt.Chart(pts).mark_point(shape=shape, filled=True, size=70, color=colour).encode(
                    x=x, y=f"{t_c}:Q",
                    tooltip=[alt.Tooltip(f"{t_per}:O"), alt.Tooltip(f"{t_c}:Q", format=",.0f")],
                )
            )  # fmt: skip
    return alt.layer(*layers).properties(width=WIDTH, height=260)


def forecast_methods(track: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """Every forecast method's P50 per back-test period (one line each) and the actuals.

    ``track`` has ``period``, ``method`` (label key, e.g. ``fc_method_naive``), ``p50``,
    ``actual`` and optionally ``chosen`` (bool: the headline method is drawn thicker).
    """
    check_lang(lang)
    _require(track, ("period", "method", "p50", "actual"), "forecast_methods")
    t = track[track["p50"].notna()]
    if t.empty:
        return _message_chart(label("nothing_to_show", lang))
    t_per, t_m, t_p50 = label("period", lang), label("method", lang), label("p50", lang)
    t_act = label("actual", lang)
    periods = list(dict.fromkeys(track["period"].astype(str)))
    names = [label(str(m), lang) for m in dict.fromkeys(t["method"].astype(str))]
    chosen = t["chosen"].astype(bool) if "chosen" in t else pd.Series(False, index=t.index)
    source = pd.DataFrame(
        {
            t_per: t["period"].astype(str).to_numpy(),
            t_m: [label(str(m), lang) for m in t["method"]],
            t_p50: t["p50"].astype(float).to_numpy(),
            "width": np.where(chosen.to_numpy(), 3.5, 1.5),
        }
    )
    x = alt.X(f"{t_per}:O", sort=periods, title=None, axis=alt.Axis(labelAngle=0))
    lines = (
        alt.Chart(source)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(f"{t_p50}:Q", title=label("bookings", lang), axis=alt.Axis(format="~s")),
            color=alt.Color(f"{t_m}:N", sort=names, scale=alt.Scale(scheme="tableau10")),
            strokeWidth=alt.StrokeWidth("width:Q", scale=None, legend=None),
            tooltip=[alt.Tooltip(f"{t_per}:O"), alt.Tooltip(f"{t_m}:N"),
                     alt.Tooltip(f"{t_p50}:Q", format=",.0f")],
        )
    )  # fmt: skip
    acts = track.drop_duplicates("period")
    acts = pd.DataFrame(
        {t_per: acts["period"].astype(str).to_numpy(), t_act: acts["actual"].astype(float)}
    )
    acts = acts[acts[t_act].notna()]
    points = (
        alt.Chart(acts)
        .mark_point(shape="diamond", filled=True, size=90, color="#d64545")
        .encode(x=x, y=f"{t_act}:Q",
                tooltip=[alt.Tooltip(f"{t_per}:O"), alt.Tooltip(f"{t_act}:Q", format=",.0f")])
    )  # fmt: skip
    return alt.layer(lines, points).properties(width=WIDTH, height=280)


def forecast_by_group(gap: pd.DataFrame, *, lang: str = "en") -> alt.Chart:
    """P10–P90 bars with the P50 tick and the target per team / owner (gap to target).

    ``gap`` is :func:`kamlib.forecast.gap_to_target` (``name``, ``p10``, ``p50``, ``p90``,
    ``closed_to_date``, ``target`` — NaN without one —, ``p_reach``), one row per group.
    """
    check_lang(lang)
    _require(gap, ("name", "p10", "p50", "p90", "target"), "forecast_by_group")
    if gap.empty:
        return _message_chart(label("nothing_to_show", lang))
    t_name, t_target = label("name", lang), label("target", lang)
    t_p10, t_p50, t_p90 = label("p10", lang), label("p50", lang), label("p90", lang)
    t_reach = label("p_reach", lang)
    names = gap["name"].astype(str).tolist()
    source = pd.DataFrame(
        {
            t_name: names,
            t_p10: gap["p10"].astype(float).to_numpy(),
            t_p50: gap["p50"].astype(float).to_numpy(),
            t_p90: gap["p90"].astype(float).to_numpy(),
            t_target: gap["target"].astype(float).to_numpy(),
            t_reach: gap["p_reach"].astype(float).to_numpy() if "p_reach" in gap else np.nan,
        }
    )
    y = alt.Y(f"{t_name}:N", sort=names, title=None)
    tips = (
        [alt.Tooltip(f"{t_name}:N")]
        + [alt.Tooltip(f"{c}:Q", format=",.0f") for c in (t_p10, t_p50, t_p90, t_target)]
        + [alt.Tooltip(f"{t_reach}:Q", format=".0%")]
    )
    band = alt.Chart(source).mark_bar(opacity=0.35, color=COLOR, height=12).encode(
        y=y, x=alt.X(f"{t_p10}:Q", title=label("bookings", lang), axis=alt.Axis(format="~s")),
        x2=f"{t_p90}:Q", tooltip=tips,
    )  # fmt: skip
    mid = (
        alt.Chart(source)
        .mark_tick(color=COLOR, thickness=3, size=16)
        .encode(y=y, x=f"{t_p50}:Q", tooltip=tips)
    )
    target = (
        alt.Chart(source[source[t_target].notna()])
        .mark_point(shape="diamond", filled=True, size=80, color="#d64545")
        .encode(y=y, x=f"{t_target}:Q", tooltip=tips)
    )
    return (band + mid + target).properties(width=WIDTH - 140, height=alt.Step(BAR_STEP + 4))


# -- pipeline velocity and changes (kamlib.pipeline) ------------------------------------------------
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
    _require(
        durations, ("stage", "stage_order", "days", "completed"), "stage_velocity_distribution"
    )
    done = durations[durations["completed"].astype(bool)]
    if done.empty:
        return _message_chart(label("nothing_to_show", lang))
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
    _require(bridge, ("step", "deals", "amount"), "pipeline_changes_waterfall")
    if bridge.empty:
        return _message_chart(label("nothing_to_show", lang))
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
            y=alt.Y("start:Q", title=t_amt, axis=alt.Axis(format="~s")),
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
