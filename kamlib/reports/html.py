"""Executed notebook → one self-contained HTML report.

The kamlib nbconvert template (``kamlib/resources/templates/kamlib``, derived from ``lab``)
shows outputs only — no code, no prompts — between a header (title, period, as-of, data
snapshot, generated at) and a footer saying how to reproduce the report.  A table of contents
is built from the section headings when the report has at least
:data:`CONTENTS_MIN_SECTIONS` of them.

The page never touches the network: the template loads nothing from a CDN, charts carry their
own vega bundle (:func:`kamlib.reports.offline.enable_offline`), and :func:`export_html`
refuses a page that still refers to an external resource (an ``<img src="https://…">`` in a
markdown cell, a stylesheet link, …), saying which.
"""

from __future__ import annotations

import copy
import html
import threading
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import nbformat
import pandas as pd

from kamlib.errors import ReportError
from kamlib.methodology.labels import LANGUAGES, label

TEMPLATE_NAME = "kamlib"
CONTENTS_MIN_SECTIONS = 3
CONTENTS_MARKER = "<!--kamlib:contents-->"

#: Outputs made only of these mimetypes are object reprs or widgets: not shown in a report.
_STRAY_MIMETYPES = {
    "text/plain",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
}
_HTML_LANG = {"en": "en", "zh": "zh-CN"}
_FRAME_LABELS = (
    "period", "as_of", "snapshot", "generated_at", "contents", "reproduce", "reproduce_hint",
    "methodology_fingerprint", "revenue_basis",
)  # fmt: skip


@dataclass(frozen=True)
class ReportHeader:
    """What the report's header and footer show."""

    title: str
    period: str
    as_of: str
    snapshot: str  # data snapshot fingerprint / batch id shown to the reader
    generated_at: str  # ISO timestamp
    reproduce_command: str  # the exact `kam report ...` command
    methodology_fingerprint: str
    lang: str = "en"
    #: where the report's revenue comes from, when it is not order lines (e.g. won deals)
    revenue_basis: str = ""


def export_html(notebook: nbformat.NotebookNode, *, header: ReportHeader) -> str:
    """Return the HTML text of an executed notebook as a report.

    Shows outputs only (markdown cells and what code cells displayed); leaves out code,
    prompts, object reprs (outputs that are only ``text/plain``), widgets, raw JavaScript
    outputs and stderr.  Error outputs stay, so a failed run's page shows the traceback.
    The notebook is not modified.

    Raises
    ------
    ReportError
        The header's language is not supported, or the page refers to an external resource.
    """
    if header.lang not in LANGUAGES:
        raise ReportError(
            f"The report language must be one of {', '.join(LANGUAGES)}. "
            f"Got {header.lang!r} instead."
        )
    import kamlib

    report = report_notebook(notebook)
    context = {
        "header": header,
        "as_of_text": _readable(header.as_of, header.lang, with_time=False),
        "generated_text": _readable(header.generated_at, header.lang, with_time=True),
        "labels": {key: label(key, header.lang) for key in _FRAME_LABELS},
        "html_lang": _HTML_LANG[header.lang],
        "version": kamlib.__version__,
    }
    try:
        body, _ = _exporter().from_notebook_node(report, resources={"kamlib": context})
    except Exception as exc:
        raise ReportError(f"nbconvert could not turn the notebook into HTML: {exc}") from exc
    page = _Page.parse(body)
    if page.external:
        listed = "; ".join(page.external[:5])
        raise ReportError(
            f"The report refers to {len(page.external)} external resource(s), which would "
            f"need the network: {listed}. Embed images in the notebook (drag them into a "
            "markdown cell: attachments) or remove them."
        )
    contents = contents_html(page.headings, title=label("contents", header.lang))
    return body.replace(CONTENTS_MARKER, contents, 1)


def report_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with only what a reader should see.

    Drops stderr streams, outputs that are only a ``text/plain`` repr or a widget,
    ``application/javascript`` data, and code cells left without outputs.
    """
    nb = copy.deepcopy(notebook)
    cells = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            cells.append(cell)
            continue
        outputs = []
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream" and output.get("name") == "stderr":
                continue
            if kind in ("display_data", "execute_result"):
                data = {
                    k: v for k, v in output.get("data", {}).items() if k != "application/javascript"
                }
                if set(data) <= _STRAY_MIMETYPES:
                    continue
                output["data"] = data
            outputs.append(output)
        if outputs:
            cell["outputs"] = outputs
            cells.append(cell)
    nb.cells = cells
    return nb


def contents_html(headings: list[tuple[int, str, str]], *, title: str) -> str:
    """The table of contents for ``(level, id, text)`` headings (levels 2 and 3).

    Empty when there are fewer than :data:`CONTENTS_MIN_SECTIONS` level-2 headings: a short
    report needs none.
    """
    if sum(1 for level, _, _ in headings if level == 2) < CONTENTS_MIN_SECTIONS:
        return ""
    parts = [
        f'<nav class="report-contents" aria-label="{html.escape(title)}">',
        f'<p class="report-contents-title">{html.escape(title)}</p>',
        "<ol>",
    ]
    open_sub = False
    started = False
    for level, anchor, text in headings:
        link = f'<a href="#{html.escape(anchor)}">{html.escape(text)}</a>'
        if level == 2 or not started:
            if open_sub:
                parts.append("</ol>")
                open_sub = False
            if started:
                parts.append("</li>")
            parts.append(f"<li>{link}")
            started = True
        else:
            if not open_sub:
                parts.append("<ol>")
                open_sub = True
            parts.append(f"<li>{link}</li>")
    if open_sub:
        parts.append("</ol>")
    if started:
        parts.append("</li>")
    parts.append("</ol></nav>")
    return "".join(parts)


def template_dir() -> Path:
    """The directory holding kamlib's nbconvert templates."""
    return Path(str(resources.files("kamlib") / "resources" / "templates"))


@cache
def _exporter():  # one per process: building the Jinja environment costs more than a render
    from nbconvert import HTMLExporter

    return HTMLExporter(
        extra_template_basedirs=[str(template_dir())],
        template_name=TEMPLATE_NAME,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )


_prewarmed = threading.Event()


def prewarm_export() -> None:
    """Load nbconvert and the report template while the kernels start (saves seconds once).

    Runs a throw-away export of an empty notebook in a background thread; any problem is
    ignored here and met again, properly reported, by the first real export.
    """
    if _prewarmed.is_set():
        return
    _prewarmed.set()

    def warm() -> None:
        try:
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_markdown_cell("kamlib")]
            header = ReportHeader(
                title="", period="", as_of="", snapshot="", generated_at="",
                reproduce_command="", methodology_fingerprint="",
            )  # fmt: skip
            export_html(nb, header=header)
        except Exception:  # noqa: BLE001 - a warm-up only: the real export reports errors
            pass

    threading.Thread(target=warm, name="kamlib-export-warm-up", daemon=True).start()


class _Page(HTMLParser):
    """One pass over the page: section headings for the contents, external references."""

    _RESOURCE_ATTRS = {"src", "srcset", "poster", "data", "background", "lowsrc", "dynsrc"}
    _LOADING_LINKS = {"stylesheet", "icon", "preload", "prefetch", "modulepreload", "manifest"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str, str]] = []
        self.external: list[str] = []
        self._in_main = False
        self._heading: tuple[int, str] | None = None
        self._heading_text: list[str] = []
        self._skip_depth = 0  # inside an anchor link of a heading
        self._raw: str | None = None  # inside <style> / <script>

    @classmethod
    def parse(cls, text: str) -> _Page:
        page = cls()
        page.feed(text)
        page.close()
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        self._check_resources(tag, values)
        if tag in ("style", "script"):
            self._raw = tag
        if tag == "main":
            self._in_main = True
        elif self._in_main and tag in ("h2", "h3") and values.get("id"):
            self._heading = (int(tag[1]), values["id"])
            self._heading_text = []
        elif self._heading and tag == "a" and "anchor-link" in values.get("class", ""):
            self._skip_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._check_resources(tag, {k.lower(): (v or "") for k, v in attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw:
            self._raw = None
        if tag == "main":
            self._in_main = False
        elif tag == "a" and self._skip_depth:
            self._skip_depth -= 1
        elif self._heading and tag == f"h{self._heading[0]}":
            text = " ".join("".join(self._heading_text).split())
            if text:
                self.headings.append((self._heading[0], self._heading[1], text))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._raw == "style":
            self._check_css(data)
        elif self._heading and not self._skip_depth and self._raw is None:
            self._heading_text.append(data)

    def _check_resources(self, tag: str, values: dict[str, str]) -> None:
        for name, value in values.items():
            if name in self._RESOURCE_ATTRS and value and not _is_inline(value):
                self.external.append(f"<{tag} {name}={value!r}>")
            elif name == "style":
                self._check_css(value)
        if tag == "link" and set(values.get("rel", "").lower().split()) & self._LOADING_LINKS:
            href = values.get("href", "")
            if href and not _is_inline(href):
                self.external.append(f"<link href={href!r}>")
        if tag in ("image", "use", "feimage"):
            for name in ("href", "xlink:href"):
                href = values.get(name, "")
                if href and not _is_inline(href):
                    self.external.append(f"<{tag} {name}={href!r}>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.external.append("<meta http-equiv='refresh'>")

    def _check_css(self, css: str) -> None:
        lower = css.lower()
        start = 0
        while (i := lower.find("url(", start)) >= 0:
            end = lower.find(")", i)
            ref = css[i + 4 : end if end >= 0 else None].strip().strip("'\"")
            if ref and not _is_inline(ref):
                self.external.append(f"url({ref})")
            start = i + 4
        if "@import" in lower:
            self.external.append("@import in a stylesheet")


def _readable(value: str, lang: str, *, with_time: bool) -> str:
    """An ISO date / timestamp written for the reader (the raw text if it does not parse)."""
    from kamlib.views.format import format_date, format_datetime

    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return value
    if pd.isna(stamp):
        return value
    return format_datetime(stamp, lang=lang) if with_time else format_date(stamp, lang=lang)


def _is_inline(ref: str) -> bool:
    """A reference that needs nothing outside the page: a data: URI or a fragment."""
    ref = ref.strip().lower()
    return ref.startswith(("data:", "#", "about:blank"))
