"""Customer lifetime value: who will keep buying, how much, and what that is worth.

Public API
----------
- :func:`rfm_summary` — order lines → frequency / recency / T / mean spend per customer
  (same-day orders merged; optional calibration / holdout split).
- :class:`BetaGeoModel` (BG/NBD) and :class:`ParetoNBDModel` (Pareto/NBD) — repeat
  purchases and P(alive); :class:`GammaGammaModel` — spend per purchase.  scikit-learn
  style: ``Model(penalizer=...).fit(summary)`` returns the model with ``params_``,
  ``log_likelihood_``, ``standard_errors_`` and ``summary()``.
- :func:`customer_lifetime_value` — discounted value over a horizon, per customer.
- :func:`clv_indicators` — per-account indicators as of a date for the scoring model.
- :class:`ConvergenceWarning` — a fit that did not converge cleanly (never printed; the
  optimiser's output stays on the model as ``optimizer_result_``).

One file per model on a shared maximum-likelihood base (:mod:`kamlib.clv.base`).  The
fitted parameters reproduce the published Fader–Hardie estimates on the CDNOW sample
(see ``tests/test_clv.py``).
"""

from kamlib.clv.base import ConvergenceWarning, NotFittedError
from kamlib.clv.beta_geo import BetaGeoModel
from kamlib.clv.gamma_gamma import GammaGammaModel
from kamlib.clv.lifetime_value import clv_indicators, customer_lifetime_value
from kamlib.clv.pareto_nbd import ParetoNBDModel
from kamlib.clv.rfm import rfm_summary

__all__ = [
    "BetaGeoModel",
    "ConvergenceWarning",
    "GammaGammaModel",
    "NotFittedError",
    "ParetoNBDModel",
    "clv_indicators",
    "customer_lifetime_value",
    "rfm_summary",
]
