"""Report jobs and their results: one report to render, what came of it, and of a batch.

A :class:`ReportJob` holds everything decided when a report is planned (parameters, period,
slug, pinned data snapshot, the command that reproduces it); a :class:`ReportResult` says how
it went; a :class:`BatchResult` collects the results of one run, in job order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from kamlib.periods import Period
from kamlib.reports.specs import ACCOUNT_PARAMETER, STANDARD_PARAMETERS, ReportSpec


@dataclass(frozen=True)
class ReportJob:
    """One report to render: everything decided before execution."""

    spec: ReportSpec
    parameters: Mapping[str, Any]  # exactly what papermill injects
    as_of: date
    period: Period
    slug: str
    lang: str
    account_id: str | None = None
    account_name: str | None = None
    group: str | None = None
    command: str = ""  # the `kam report …` command that reproduces this report
    snapshot: Mapping[str, Any] | None = None
    store: str = ""  # the store as the user gave it

    @property
    def report(self) -> str:
        return self.spec.name

    @property
    def rel_path(self) -> str:
        """``<report>/<period>/<slug>`` (relative to the output directory)."""
        return f"{self.spec.name}/{self.period.label}/{self.slug}"

    @property
    def title(self) -> str:
        base = self.spec.title_for(self.lang)
        return f"{base} · {self.account_name or self.account_id}" if self.account_id else base

    def describe(self) -> str:
        """``account_summary 2026-Q3 华东精密-A001`` for messages."""
        return f"{self.spec.name} {self.period.label} {self.slug}"


@dataclass(frozen=True)
class ReportResult:
    """The outcome of one report.

    ``status`` is ``ok``, ``failed`` (a cell raised, the kernel died, the export failed) or
    ``timeout``; ``path`` is the report's ``index.html`` (under ``_failed/`` when it
    failed).  ``cell_index`` is the failing cell's 0-based index in the report notebook
    (``notebooks/NAME.ipynb``), ``execution_count`` its ``In [n]``.
    """

    job: ReportJob
    status: str
    seconds: float
    path: Path
    error: str | None = None
    cell_index: int | None = None
    execution_count: int | None = None
    ename: str | None = None
    evalue: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def report(self) -> str:
        return self.job.report

    def parameters_text(self) -> str:
        """The parameters a reader needs to tell reports apart (store left out)."""
        shown = {k: v for k, v in self.job.parameters.items() if k != "store"}
        return " ".join(f"{k}={param_text(v)}" for k, v in shown.items())


@dataclass(frozen=True)
class BatchResult:
    """The outcome of :meth:`kamlib.reports.engine.ReportEngine.run`: one result per job, in job order."""

    results: tuple[ReportResult, ...]
    index: Path | None = None
    period_indexes: tuple[Path, ...] = ()

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> tuple[ReportResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    def to_frame(self) -> pd.DataFrame:
        """Columns ``report``, ``parameters``, ``status``, ``seconds``, ``path``, ``error``."""
        return pd.DataFrame(
            [
                {
                    "report": r.report,
                    "parameters": r.parameters_text(),
                    "status": r.status,
                    "seconds": round(r.seconds, 2),
                    "path": str(r.path),
                    "error": r.error,
                }
                for r in self.results
            ],
            columns=["report", "parameters", "status", "seconds", "path", "error"],
        )

    def __add__(self, other: BatchResult) -> BatchResult:
        return BatchResult(
            self.results + other.results,
            other.index or self.index,
            self.period_indexes + other.period_indexes,
        )


def param_text(value: Any) -> str:
    """A parameter value as written after ``-p name=`` (a list comma-separated)."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def slug_suffix(spec: ReportSpec, values: Mapping[str, Any], lang: str) -> str:
    """Slug suffix telling apart renderings with another language or other parameters."""
    suffix = "" if lang == "en" else f"-{lang}"
    extras = {
        k: v
        for k, v in values.items()
        if k not in (*STANDARD_PARAMETERS, ACCOUNT_PARAMETER)
        and v != spec.parameters[k].default_value
    }
    if extras:
        digest = hashlib.sha1(
            json.dumps(extras, sort_keys=True, default=str).encode("utf-8")
        ).hexdigest()[:6]
        suffix += f"-{digest}"
    return suffix


__all__ = ["BatchResult", "ReportJob", "ReportResult", "param_text", "slug_suffix"]
