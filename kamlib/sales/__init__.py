"""The sales process: stage playbooks and compliance, what goes with winning, bid readiness,
competitive win/loss (issue #13; METHODOLOGY.md, "Stage playbooks and bids", "Competition").

Every analysis reads one :class:`SalesProcessData` — deals, their stage passages, the tasks
done and the competitors met, as known at the end of an as-of date (no look-ahead) — built
by :func:`sales_process_data` from a KamData and the methodology's ``playbooks`` section, or
by :func:`sales_process_frames` from frames in the canonical shapes.  Each function also
takes a KamData and an ``as_of`` directly.  All pure: frames in, frames and small frozen
result objects out.

Compliance
    :func:`compliance` → :class:`Compliance`: required tasks done before the deal left the
    stage (from timestamps), skipped stages, backward moves; per deal, stage, owner, team.
Task effects
    :func:`task_effects`: win rate with and without each task / resource over the deals
    that reached its stage (no survivorship bias), the difference with Newcombe's interval,
    cycle times, and the difference adjusted for deal size, process and owner
    (:func:`adjusted_difference`); :func:`task_population` the deals counted for one task.
    An association, not a cause.
Bid readiness
    :func:`bid_readiness`: each open deal at the bid stage — weighted checklist score,
    missing items, next tasks; :func:`stage_gaps`: every open deal's required tasks of its
    current stage not done yet.
Competitive win/loss
    :func:`competitive_win_loss` → :class:`CompetitiveWinLoss`: win rate against each
    competitor with Wilson intervals and beta-binomial partial pooling
    (:func:`beta_hyperposterior`, a hierarchical beta-binomial model), by quarter; where in the funnel and why we lose; price deltas.
    :func:`competitors_met`: the same counts for one account's deals, with when each
    competitor was last met.

Example
-------
>>> from kamlib.data import load
>>> from kamlib.sales import sales_process_data, compliance, task_effects
>>> process = sales_process_data(load("data/demo.duckdb"), as_of="2026-06-30")  # doctest: +SKIP
>>> compliance(process).by_stage                                                # doctest: +SKIP
>>> task_effects(process)[["task", "difference", "ci_low", "ci_high"]]          # doctest: +SKIP
"""

from kamlib.data.schemas import NO_DECISION
from kamlib.sales.adjusted_effect import AdjustedDifference, adjusted_difference
from kamlib.sales.competition import (
    COMPETITOR_COLUMNS,
    MET_COLUMNS,
    CompetitiveWinLoss,
    competitive_win_loss,
    competitors_met,
)
from kamlib.sales.compliance import Compliance, compliance
from kamlib.sales.effects import (
    ASSOCIATION_NOTE,
    TASK_EFFECT_COLUMNS,
    task_effects,
    task_population,
)
from kamlib.sales.pooling import BetaHyperposterior, beta_hyperposterior
from kamlib.sales.process_data import (
    SalesProcessData,
    sales_process_data,
    sales_process_frames,
    stage_passages,
)
from kamlib.sales.readiness import (
    READINESS_COLUMNS,
    STAGE_GAP_COLUMNS,
    bid_readiness,
    stage_gaps,
)

__all__ = [
    "ASSOCIATION_NOTE",
    "COMPETITOR_COLUMNS",
    "MET_COLUMNS",
    "NO_DECISION",
    "READINESS_COLUMNS",
    "STAGE_GAP_COLUMNS",
    "TASK_EFFECT_COLUMNS",
    "AdjustedDifference",
    "BetaHyperposterior",
    "CompetitiveWinLoss",
    "Compliance",
    "SalesProcessData",
    "adjusted_difference",
    "beta_hyperposterior",
    "bid_readiness",
    "compliance",
    "competitive_win_loss",
    "competitors_met",
    "sales_process_data",
    "sales_process_frames",
    "stage_gaps",
    "stage_passages",
    "task_effects",
    "task_population",
]
