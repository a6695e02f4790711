"""Result frames → Altair charts: one module per domain, no I/O.

Every chart function takes a result frame (from :mod:`kamlib.data.health`, :mod:`kamlib.research`,
:mod:`kamlib.pipeline`, :mod:`kamlib.forecast`, the report views …) and ``lang`` (``"en"`` or
``"zh"``) and returns an Altair chart.  Nothing is saved, displayed or read here; a chart is
data.  An empty frame gives a small chart that says there is nothing to show, so a report
always has the same sections.  :mod:`~kamlib.charts.base` holds the shared look (fonts,
colours, sizes, locales, :data:`REPORT_CONFIG`); :mod:`~kamlib.charts.data`,
:mod:`~kamlib.charts.accounts`, :mod:`~kamlib.charts.scoring`,
:mod:`~kamlib.charts.segmentation`, :mod:`~kamlib.charts.research`,
:mod:`~kamlib.charts.pipeline`, :mod:`~kamlib.charts.forecast` and :mod:`~kamlib.charts.sales`
the charts of each domain.
Putting charts into an offline report page (the vega bundle, its cache, the Altair renderer)
is the job of :mod:`kamlib.reports.offline`.
"""

from kamlib.charts.accounts import (
    activities_by_quarter,
    revenue_by_product_line,
    revenue_by_quarter,
    share_of_wallet_trend,
)
from kamlib.charts.base import BAR_STEP, COLOR, FONT, REPORT_CONFIG, WIDTH
from kamlib.charts.data import coverage_gaps, quarantine_reasons, rows_per_batch, rows_per_table
from kamlib.charts.forecast import forecast_by_group, forecast_fan, forecast_methods
from kamlib.charts.pipeline import (
    pipeline_changes_waterfall,
    pipeline_funnel,
    stage_velocity_distribution,
)
from kamlib.charts.research import ogsm_progress, power_map
from kamlib.charts.sales import competitor_win_rates, task_differences
from kamlib.charts.scoring import (
    TIER_COLORS,
    gains_curve,
    migration_matrix,
    score_breakdown,
    score_distribution,
    tier_counts,
    tier_profile,
    tier_shares,
)
from kamlib.charts.segmentation import (
    company_size_matrix,
    pareto_curve,
    portfolio_matrix,
    segment_profiles,
)

__all__ = [
    "BAR_STEP",
    "COLOR",
    "FONT",
    "REPORT_CONFIG",
    "TIER_COLORS",
    "WIDTH",
    "activities_by_quarter",
    "company_size_matrix",
    "competitor_win_rates",
    "coverage_gaps",
    "forecast_by_group",
    "forecast_fan",
    "forecast_methods",
    "gains_curve",
    "migration_matrix",
    "ogsm_progress",
    "pareto_curve",
    "pipeline_changes_waterfall",
    "pipeline_funnel",
    "portfolio_matrix",
    "power_map",
    "quarantine_reasons",
    "revenue_by_product_line",
    "revenue_by_quarter",
    "rows_per_batch",
    "rows_per_table",
    "score_breakdown",
    "score_distribution",
    "segment_profiles",
    "share_of_wallet_trend",
    "stage_velocity_distribution",
    "task_differences",
    "tier_counts",
    "tier_profile",
    "tier_shares",
]
