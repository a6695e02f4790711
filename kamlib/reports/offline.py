"""The offline chart renderer of the reports, and the vega bundle it caches on disk.

Reports are read with the network cut, so charts cannot load vega from a CDN (Altair's
default) and must not repeat the ~900 KB vega bundle per chart (Altair's ``inline``).
:func:`enable_offline` registers the ``kamlib`` renderer: the first chart a notebook displays
carries the vega / vega-lite / vega-embed bundle once (from ``vl_convert.javascript_bundle``,
cached on disk per vl-convert version); every chart is a ``<div>`` plus a ``vegaEmbed`` call
with tooltips.  ``enable_offline(svg=True)`` draws static inline SVG instead, for e-mail.
A report notebook calls ``kamlib.reports.offline.enable_offline(lang=lang)`` once, near the top.

The bundle is plain JavaScript without imports or exports, but it declares hundreds of
top-level names (``n``, ``t``, …).  As a classic ``<script>`` those would land in the page's
global scope and collide with any other script; it is therefore embedded as
``<script type="module">`` (its own scope; it publishes ``window.vegaEmbed`` itself).
Module scripts run after the page is parsed, so each chart's call waits in a queue the
bundle drains when it has run — correct in any order, also in a live JupyterLab.

The charts themselves (:mod:`kamlib.charts`) and their look (:data:`kamlib.charts.REPORT_CONFIG`,
:data:`kamlib.charts.base.LOCALES`) live below; this module applies them and owns the only
file I/O of charting: the bundle cache (:func:`bundle_cache_dir`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import altair as alt

from kamlib.charts.base import LOCALES, REPORT_CONFIG
from kamlib.errors import ReportError
from kamlib.methodology.labels import check_lang, label

__all__ = [
    "RENDERER_NAME",
    "OfflineRenderer",
    "bundle_cache_dir",
    "bundle_cache_path",
    "bundle_html",
    "chart_html",
    "chart_svg",
    "embed_options",
    "enable_offline",
    "enable_offline_in_kernel",
    "report_spec",
    "vega_bundle",
    "vega_lite_version",
]

#: Name under which :func:`enable_offline` registers the renderer with Altair.
RENDERER_NAME = "kamlib"

#: Rows a chart may embed.  Altair refuses more than 5,000 by default, which a book of 20,000
#: accounts passes in one score histogram or scatter (the portfolio review failed on the large
#: demo); the data goes into the page either way, so the limit only guards the page's size.
CHART_MAX_ROWS = 200_000

#: vega-embed's action menu in the report languages other than English.
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
#: Global (``window.<name>``) where charts wait until the module-script bundle has run.
_QUEUE = "kamlibCharts"


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
        "formatLocale": vlc.get_format_locale(LOCALES[lang]),
        "timeFormatLocale": vlc.get_time_format_locale(LOCALES[lang]),
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
        format_locale=LOCALES[lang],
        time_format_locale=LOCALES[lang],
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
    _allow_big_books()


def enable_offline_in_kernel() -> bool:
    """In a Jupyter kernel whose Altair renderer is still Altair's default, draw every chart
    offline from now on — kamlib's and the user's own (``import kamlib`` calls this).

    Altair's default loads vega from a CDN, which a machine without internet cannot reach.
    A renderer the user chose is left alone, and nothing happens outside a kernel.  The vega
    bundle is read (or built, once per vl-convert version) when the first chart is shown, not
    at import.  Returns whether the renderer was switched.
    """
    if "ipykernel" not in sys.modules or alt.renderers.active != "default":
        return False
    from IPython import get_ipython

    if get_ipython() is None:
        return False
    alt.renderers.register(RENDERER_NAME, OfflineRenderer())
    alt.renderers.enable(RENDERER_NAME)
    _allow_big_books()
    return True


def _allow_big_books() -> None:
    """Raise Altair's row limit to :data:`CHART_MAX_ROWS` while its data transformer is its
    default one (a transformer the user chose, e.g. vegafusion, is left alone)."""
    if alt.data_transformers.active == "default":
        alt.data_transformers.enable("default", max_rows=CHART_MAX_ROWS)


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
