"""Views: one module per report notebook, turning analysis into what the report shows.

Every view follows one convention: it takes a :class:`~kamlib.data.KamData` (or the path of a
store), the methodology (a loaded one, a path, or empty for kamlib's default — resolved once),
``as_of`` (parsed once by :func:`kamlib.periods.as_day`) and ``lang``; it returns a view
object whose methods give translated display frames, figures and chart frames ready for
:mod:`kamlib.views.format` and :mod:`kamlib.charts`.  A section the data do not allow (a
:class:`~kamlib.errors.KamlibError`) becomes a notice (:class:`~kamlib.views.notices.Notices`)
and the report goes on; bugs raise.  The analysis itself lives in the packages below (scoring,
segmentation, clv, pipeline, forecast, research), which know nothing of languages.
"""

from kamlib.views.account_summary import AccountSummary, account_summary
from kamlib.views.customer_research import CustomerResearch, customer_research
from kamlib.views.data_health import DataHealthView, data_health
from kamlib.views.notices import Notices
from kamlib.views.ogsm_review import OgsmReview, ogsm_review
from kamlib.views.pipeline_forecast import PipelineForecast, pipeline_forecast
from kamlib.views.portfolio import PortfolioReview, portfolio_review
from kamlib.views.revenue_forecast import RevenueForecast, revenue_forecast
from kamlib.views.sales_process_review import SalesProcessReview, sales_process_review

__all__ = [
    "AccountSummary",
    "CustomerResearch",
    "DataHealthView",
    "Notices",
    "OgsmReview",
    "PipelineForecast",
    "PortfolioReview",
    "RevenueForecast",
    "SalesProcessReview",
    "account_summary",
    "customer_research",
    "data_health",
    "ogsm_review",
    "pipeline_forecast",
    "portfolio_review",
    "revenue_forecast",
    "sales_process_review",
]
