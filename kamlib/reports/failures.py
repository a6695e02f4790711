"""How a failed report is told: its status, the failing cell, the message, a fallback page.

A report fails when a cell raised, ran past the timeout, the kernel died, or the HTML export
failed (:class:`kamlib.reports.kernels.CellFailure`).  Its manifest, its result and the
command line then name the failing cell by its index in the report notebook (not in the
executed one, where papermill inserted a cell), and when there is no exported page a minimal
one says what went wrong and how to reproduce it.
"""

from __future__ import annotations

from typing import Any

from kamlib.reports.jobs import ReportJob
from kamlib.reports.kernels import CellFailure
from kamlib.reports.specs import ReportSpec


def report_status(failure: CellFailure | None) -> str:
    """``ok``, ``timeout`` or ``failed``."""
    if failure is None:
        return "ok"
    return "timeout" if failure.kind == "timeout" else "failed"


def source_cell_index(spec: ReportSpec, failure: CellFailure | None) -> int | None:
    """The failing cell's index in the report notebook (papermill counts its injected cell)."""
    if failure is None or failure.cell_index is None:
        return None
    injected_at = (spec.parameters_cell if spec.parameters_cell is not None else -1) + 1
    return failure.cell_index - 1 if failure.cell_index > injected_at else failure.cell_index


def failure_message(
    job: ReportJob, failure: CellFailure | None, cell_index: int | None, timeout: float | None
) -> str | None:
    """What went wrong and where, in one line (``None`` when nothing did)."""
    if failure is None:
        return None
    where = ""
    if cell_index is not None:
        count = f", In [{failure.execution_count}]" if failure.execution_count else ""
        where = f"cell index {cell_index}{count} of {job.spec.path.name}"
    if failure.kind == "timeout":
        return f"{where} was still running after {timeout:g} s (the timeout)"
    if failure.kind == "kernel":
        return f"the kernel died in {where}"
    if failure.kind == "export":
        return f"HTML export failed: {failure.ename}: {failure.evalue}"
    if failure.kind == "internal":
        return f"could not run the notebook: {failure.ename}: {failure.evalue}"
    return f"{where} raised {failure.ename}: {failure.evalue}"


def fallback_html(job: ReportJob, header: Any, message: str) -> str:
    """A minimal page when the HTML export itself failed or there is no notebook."""
    import html

    e = html.escape
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{e(job.title)}</title></head><body>"
        f"<h1>{e(job.title)}</h1><p>{e(job.period.label)} · as of {e(job.as_of.isoformat())}</p>"
        f'<p style="color:#cf222e"><strong>This report failed:</strong> {e(message)}</p>'
        f"<p>Reproduce with: <code>{e(job.command)}</code></p></body></html>\n"
    )


__all__ = ["failure_message", "fallback_html", "report_status", "source_cell_index"]
