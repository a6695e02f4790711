"""Executed notebook → one self-contained HTML report (placeholder, replaced by the
presentation work: kamlib nbconvert template, header, table of contents, footer)."""

from __future__ import annotations

from dataclasses import dataclass

import nbformat


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


def export_html(notebook: nbformat.NotebookNode, *, header: ReportHeader) -> str:
    """Return the HTML text of an executed notebook, with no code cells and no prompts."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(notebook)
    return body
