"""The opportunity pipeline: as of any date, funnel conversion, velocity, stale deals, changes.

Everything here is rebuilt from ``stage_history`` (one row per stage entry and per amount /
close-date change) without look-ahead: what a function says "as of" a date uses only rows
entered by the end of that date.  Where the data has no ``stage_history`` table (the Maven
CRM export, for one) the opportunities table stands in — ``created_date`` opens a deal in
its current stage (``"unknown"`` for closed deals, whose earlier stage is not recorded),
``closed_date`` closes it — and every result says so (``attrs["source"]`` is
``"opportunities"`` instead of ``"stage_history"``).  Pure analysis: data quality is
reported in the results (``StageEvents.notices``) and with a ``DataQualityWarning``, never
printed; ``methodology`` is a Methodology, a path or empty (kamlib's default).

Modules: :mod:`~kamlib.pipeline.events` (the event log, the pipeline as of a date, and how
bad input is handled), :mod:`~kamlib.pipeline.conversion` (cohorts, funnel, win rates),
:mod:`~kamlib.pipeline.velocity` (days in stage, cycle times, stale deals),
:mod:`~kamlib.pipeline.timeline` (the pipeline at many dates in one pass),
:mod:`~kamlib.pipeline.changes` (what moved between two dates) and
:mod:`~kamlib.pipeline.slippage` (close-date slippage).

Public API
----------
- :func:`stage_events` — the cleaned, canonical event log every other function reads, with
  its data-quality notices.
- :func:`pipeline_as_of` — the open pipeline at the end of a day.
- :func:`pipeline_as_of_many` — the same at many dates in one pass (sorted integer event
  keys and ``numpy.searchsorted`` per date): training snapshots, back-tests.
- :func:`close_date_slippage` → :class:`SlippageModel` — actual minus expected close date by
  stage, with a vectorised ``draw`` for the Monte Carlo forecast.
- :func:`stage_conversion`, :func:`win_rates`, :func:`funnel` — cohort conversion, win
  rate and drop-off (the history's ids and stages mapped to integer keys once per
  ``KamData``, no join on the text id; the cohorts come from the first and last entry per
  stage and deal, scattered into one table by numpy, no sort — see ``benchmarks/README.md``).
- :func:`stage_velocity`, :func:`stage_durations`, :func:`cycle_times` — days in stage and
  created → closed.
- :func:`stale_deals` — open deals sitting far beyond their stage's norm, or slipped.
- :func:`pipeline_changes` (history) and :func:`snapshot_changes` (two ``KamData``) — what
  moved between two dates, with :func:`changes_reconciliation` (the bridge).
- :func:`cycle_time_summary` — created → closed by outcome.
- Constants: :data:`PIPELINE_COLUMNS`, :data:`CONVERSION_COLUMNS`, :data:`BRIDGE_STEPS`,
  :data:`UNKNOWN_STAGE` (the stage of a deal the data does not place), :data:`NONE_GROUP`.

Charts: :func:`kamlib.charts.pipeline_funnel`, :func:`kamlib.charts.stage_velocity_distribution`,
:func:`kamlib.charts.pipeline_changes_waterfall`.
"""

from kamlib.pipeline.changes import (
    BRIDGE_STEPS,
    changes_reconciliation,
    pipeline_changes,
    snapshot_changes,
)
from kamlib.pipeline.conversion import (
    CONVERSION_COLUMNS,
    NONE_GROUP,
    funnel,
    stage_conversion,
    win_rates,
)
from kamlib.pipeline.events import (
    PIPELINE_COLUMNS,
    UNKNOWN_STAGE,
    StageEvents,
    pipeline_as_of,
    stage_events,
)
from kamlib.pipeline.slippage import SlippageModel, close_date_slippage
from kamlib.pipeline.timeline import pipeline_as_of_many
from kamlib.pipeline.velocity import (
    cycle_time_summary,
    cycle_times,
    stage_durations,
    stage_velocity,
    stale_deals,
)

__all__ = [
    "BRIDGE_STEPS",
    "CONVERSION_COLUMNS",
    "NONE_GROUP",
    "PIPELINE_COLUMNS",
    "SlippageModel",
    "StageEvents",
    "UNKNOWN_STAGE",
    "changes_reconciliation",
    "close_date_slippage",
    "cycle_time_summary",
    "cycle_times",
    "funnel",
    "pipeline_as_of",
    "pipeline_as_of_many",
    "pipeline_changes",
    "snapshot_changes",
    "stage_conversion",
    "stage_durations",
    "stage_events",
    "stage_velocity",
    "stale_deals",
    "win_rates",
]
