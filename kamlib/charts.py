"""Result frames → Altair charts, and the offline renderer that puts them into reports.

Charts
------
Every chart function takes a result frame (from :mod:`kamlib.health`, :mod:`kamlib.research`,
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
import pandas as pd

from kamlib.labels import check_lang, label

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

    ``tables`` needs columns ``table`` and ``rows`` (e.g. :func:`kamlib.health.table_overview`);
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
    (:func:`kamlib.health.quarantine_summary`); ``examples`` goes into the tooltip.  Only the
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
    (:func:`kamlib.health.batch_rows`); ``rows_quarantined`` goes into the tooltip.
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
    (:func:`kamlib.health.coverage_gaps`).
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
            f"Got columns {list(frame.columns)}; pass the frame kamlib.health / "
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
