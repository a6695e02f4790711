"""What a report needs from the store, and the skip when the store lacks it.

A report notebook declares in its metadata the data it cannot do without::

    "kamlib": {"title": {...}, "needs": ["targets", "accounts", "revenue"]}

Each need is a canonical table name, or ``revenue``: order lines, or won opportunities that
stand in for them (:mod:`kamlib.data.purchases`).  A report whose needs the store does not
meet (at the pinned import batch) is *skipped*, not failed: :func:`report_skipped` gives the
:class:`~kamlib.errors.ReportSkipped` that says which needs are unmet and what to import,
e.g. "pipeline_forecast skipped — needs opportunities: the store has no 'opportunities'
table (import a CRM opportunity export: kam import FILE --store data/retail.duckdb)".
Needs are what the report's view strictly requires (its ``require(...)`` calls); data a
view only uses when present (service tickets, stage history, the registry's ``firmographics``
and ``company_events`` …) is not a need.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Sequence

from kamlib.data.purchases import REVENUE_NEED, unmet_needs
from kamlib.errors import ReportSkipped

#: What to import to meet a need (any other table: "a '<table>' export").
IMPORT_HINTS = {
    "accounts": "an account export",
    "orders": "an order-line export from the ERP",
    "opportunities": "a CRM opportunity export",
    "targets": "an OGSM targets export",
    REVENUE_NEED: "an order-line export from the ERP or a CRM opportunity export",
}
#: How a summary names the revenue need.
REVENUE_WORDS = "order lines or won opportunities"


def need_words(need: str) -> str:
    """How a summary names ``need``: the table name, or "order lines or won opportunities"."""
    return REVENUE_WORDS if need == REVENUE_NEED else need


def skip_reason(needs: Sequence[str]) -> str:
    """The short reason of a skip: "needs targets", "needs accounts and order lines or won
    opportunities"."""
    return "needs " + " and ".join(need_words(n) for n in needs)


def report_skipped(
    report: str, needs: Sequence[str], *, store: str, snapshot: int | None = None
) -> ReportSkipped:
    """The skip of ``report`` whose ``needs`` the store does not meet (``snapshot``: the
    import batch read, when it was chosen by hand)."""
    where = "the store" if snapshot is None else f"import batch {snapshot} of the store"
    missing = [
        "neither order lines ('orders') nor opportunities"
        if n == REVENUE_NEED
        else f"no '{n}' table"
        for n in needs
    ]
    hints = [IMPORT_HINTS.get(n, f"a '{n}' export") for n in needs]
    detail = (
        f"{where} has {' and '.join(missing)} "
        f"(import {' and '.join(hints)}: kam import FILE --store {shlex.quote(store)})"
    )
    return ReportSkipped(report, needs, reason=skip_reason(needs), detail=detail)


def skip_for(
    report: str,
    needs: Sequence[str],
    tables: Collection[str],
    *,
    store: str,
    snapshot: int | None = None,
) -> ReportSkipped | None:
    """The skip of ``report`` on data holding ``tables``, or ``None`` when its ``needs`` are
    met."""
    unmet = unmet_needs(needs, tables)
    if not unmet:
        return None
    return report_skipped(report, unmet, store=store, snapshot=snapshot)


__all__ = [
    "IMPORT_HINTS",
    "REVENUE_WORDS",
    "need_words",
    "report_skipped",
    "skip_for",
    "skip_reason",
]
