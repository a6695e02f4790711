"""How kamlib's result objects show themselves in a notebook: short, not a dump.

A result (``KamData``, ``ScoreResult``, ``PeriodForecast``, ``AccountDossier``, ``PowerMap``)
describes itself as a :class:`Brief`: what it is, a few headline facts (as-of date, snapshot,
sizes, the headline numbers) and the tables it holds with their sizes, i.e. how to get at
the rest.  :func:`brief_text` is its ``__repr__`` (one line), :func:`brief_html` its
``_repr_html_`` (a small table JupyterLab shows instead of thousands of characters of
default dataclass dump).  Pure string building; every value is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Brief", "ShowsBrief", "brief_html", "brief_text", "table_size"]


@dataclass(frozen=True)
class Brief:
    """What a result says about itself: its kind, headline facts and its tables."""

    kind: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    #: attribute (or call) → size text, e.g. ``{".scores": "2,000 × 7"}``
    tables: Mapping[str, str] = field(default_factory=dict)


class ShowsBrief:
    """Mix-in: ``repr`` and the notebook display from the class's ``_brief()``.  A dataclass
    using it is declared with ``repr=False`` (else the dataclass writes its own repr)."""

    def _brief(self) -> Brief:
        raise NotImplementedError

    def __repr__(self) -> str:
        return brief_text(self._brief())

    def _repr_html_(self) -> str:
        return brief_html(self._brief())


def table_size(frame: pd.DataFrame | None) -> str:
    """``"2,000 rows × 7 columns"`` (``"none"`` for ``None``)."""
    if frame is None:
        return "none"
    rows, cols = frame.shape
    return f"{rows:,} row{'s' if rows != 1 else ''} × {cols} column{'s' if cols != 1 else ''}"


def _value(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else str(value)
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() or abs(value) >= 1000 else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def brief_text(brief: Brief) -> str:
    """The one-line ``repr``: ``<ScoreResult as of 2026-09-30 · accounts 2,000 · …>``."""
    facts = " · ".join(f"{k} {_value(v)}" for k, v in brief.facts.items())
    return f"<{brief.kind}{' ' + facts if facts else ''}>"


def brief_html(brief: Brief) -> str:
    """The notebook display: the kind, a facts table and the tables with their sizes."""
    e = html.escape
    rows = "".join(
        f"<tr><th style='text-align:left'>{e(str(k))}</th><td style='text-align:left'>"
        f"{e(_value(v))}</td></tr>"
        for k, v in brief.facts.items()
    )
    tables = "".join(
        f"<tr><td style='text-align:left'><code>{e(name)}</code></td>"
        f"<td style='text-align:left'>{e(size)}</td></tr>"
        for name, size in brief.tables.items()
    )
    parts = [f"<div class='kamlib-brief'><strong>{e(brief.kind)}</strong>"]
    if rows:
        parts.append(f"<table>{rows}</table>")
    if tables:
        parts.append(
            "<details><summary>Tables</summary><table><tr><th>get it with</th><th>size</th>"
            f"</tr>{tables}</table></details>"
        )
    parts.append("</div>")
    return "".join(parts)
