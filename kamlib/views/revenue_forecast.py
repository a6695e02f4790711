"""Everything the revenue forecast report shows, computed once (the notebook stays thin).

:func:`revenue_forecast` runs :func:`kamlib.forecast.revenue.forecast_revenue` — the
period's net order revenue by the run-rate model and by what a manager computes by hand
(last period, same period last year, the mean of earlier periods), back-tested at past
origins, the headline chosen and its P10–P90 calibrated by that track record, by segment —
and returns a :class:`RevenueForecast` whose methods give display-ready frames in the report
language it was built with: column names are label keys of
:mod:`kamlib.methodology.labels` whose names tell the report formatter how to write them
(``…_amount`` money, ``…_rate`` percentages); methods and scopes are translated here.

A part that cannot be computed for the data at hand (an unknown segment column) becomes a
notice (:class:`kamlib.views.notices.Notices`) and the rest still renders.  Data without
real order lines (won deals standing in for purchases are bookings: the pipeline forecast
covers them) cannot have this report and raise.  Bugs raise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.data.purchases import ORDER_LINES
from kamlib.errors import MissingTableError
from kamlib.forecast.revenue import (
    BASELINES,
    COMPANY,
    MODEL,
    OTHER,
    REVENUE_METHODS,
    OrderRevenueForecast,
    forecast_revenue,
)
from kamlib.forecast.tournament import MIN_SCORED_ORIGINS
from kamlib.forecast.win_probability import forecast_settings
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.methodology.labels import check_lang, label
from kamlib.periods import as_day
from kamlib.views.format import format_percent
from kamlib.views.notices import NOTICE_COLUMNS, Notices, notices_table, resolve_data
from kamlib.views.values import methods_track_frame

__all__ = ["RevenueForecast", "revenue_forecast"]

#: key figure (label key) of each method's P50 now (no "rate" in a money key: the formatter
#: would write it as a percentage)
FIGURE_KEYS = {
    "run_rate": "revenue_model_p50_amount",
    "naive": "naive_p50_amount",
    "seasonal_naive": "seasonal_naive_p50_amount",
    "mean": "mean_p50_amount",
}
#: MAPEs closer than this share of the larger are called about as accurate
TIE = 0.1


@dataclass(frozen=True)
class RevenueForecast:
    """The sections of the revenue forecast report (see :func:`revenue_forecast`).

    ``lang`` is the report language of the display methods; ``notices`` the things the
    reader should know (``section, message``: section label keys, English messages).
    """

    forecast: OrderRevenueForecast
    currency: str
    notices: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=NOTICE_COLUMNS), repr=False
    )
    lang: str = "en"

    def with_lang(self, lang: str) -> RevenueForecast:
        """The same report shown in ``lang`` (nothing is computed again)."""
        return dataclasses.replace(self, lang=check_lang(lang))

    # -- headline -----------------------------------------------------------------------------
    def key_figures(self) -> dict[str, Any]:
        """Label key → value: the headline, and next to it every method's forecast now and
        its back-test MAPE — the run-rate model and what a manager computes by hand."""
        lang = self.lang
        f = self.forecast
        row = f.scope(COMPANY)
        methods = f.methods(COMPANY).set_index("method")
        out: dict[str, Any] = {
            "forecast_period": f.period,
            "as_of_date": f.as_of,
            "ordered_to_date_amount": float(row["closed_to_date"]),
            "forecast_method": label(f"fc_method_{row['method']}", lang),
            "revenue_p10_amount": float(row["p10"]),
            "revenue_p50_amount": float(row["p50"]),
            "revenue_p90_amount": float(row["p90"]),
            "interval_method": label(f"revenue_interval_{row['interval_method']}", lang),
        }
        for m in REVENUE_METHODS:  # each method's P50 now, then its back-test MAPE
            out[FIGURE_KEYS[m]] = float(methods.loc[m, "p50"])
            out[f"{m}_mape_rate"] = float(methods.loc[m, "mape"])
        out["headline_coverage_text"] = self._headline_coverage()
        out["method_verdict"] = self.verdict()
        return out

    def verdict(self, scope: str = COMPANY) -> str:
        """One sentence: does the run-rate model beat what a manager computes by hand?"""
        lang = self.lang
        row = self.forecast.scope(scope)
        m = self.forecast.methods(scope).set_index("method")
        judged = m[(m["scored"] >= MIN_SCORED_ORIGINS) & m["mape"].notna()]
        bases = judged[judged.index.isin(BASELINES)]
        chosen = str(row["method"])
        if MODEL not in judged.index and chosen == MODEL:
            return label("revenue_verdict_too_little", lang).format(
                n=int(m.loc[MODEL, "scored"]), k=MIN_SCORED_ORIGINS
            )
        model_mape = format_percent(m.loc[MODEL, "mape"])
        if chosen == MODEL:
            if bases.empty:
                return label("revenue_verdict_model_alone", lang).format(model=model_mape)
            best = str(bases["mape"].idxmin())
            key = "revenue_verdict_model_ties" if _tie(m, MODEL, best) else (
                "revenue_verdict_model_wins"
            )  # fmt: skip
            return label(key, lang).format(
                model=model_mape, best=format_percent(bases.loc[best, "mape"]),
                baseline=_in_sentence(label(f"fc_method_{best}", lang)),
            )  # fmt: skip
        key = "revenue_verdict_baseline_ties" if _tie(m, MODEL, chosen) else (
            "revenue_verdict_baseline_wins"
        )  # fmt: skip
        return label(key, lang).format(
            model=model_mape, best=format_percent(m.loc[chosen, "mape"]),
            baseline=_in_sentence(label(f"fc_method_{chosen}", lang)),
        )  # fmt: skip

    def _headline_coverage(self, scope: str = COMPANY) -> str:
        acc = self.forecast.backtest.headline_accuracy(scope)
        if not acc["n"]:
            return "—"
        lo, hi = acc["coverage_interval"]
        return f"{acc['inside']} / {acc['n']} ({lo:.0%}–{hi:.0%})"

    # -- charts -------------------------------------------------------------------------------
    def fan_track(self, periods: int = 12) -> pd.DataFrame:
        """The last ``periods`` complete periods' revenue (``actual``), the headline each
        back-test period had the day before it began (``p10``, ``p50``, ``p90``), then the
        forecast period: ``period``, ``p10``, ``p50``, ``p90``, ``actual``."""
        f = self.forecast
        row = f.scope(COMPANY)
        h = f.history[f.history["scope"] == COMPANY].tail(periods)
        past = pd.DataFrame({"period": h["period"].to_numpy(), "actual": h["revenue"].to_numpy()})
        bt = f.backtest.headline
        first = bt[(bt["scope"] == COMPANY) & (bt["origin"] == f.backtest.origins[0])]
        past = past.merge(first[["period", "p10", "p50", "p90"]], on="period", how="left")
        now = pd.DataFrame({"period": [f.period], "p10": [float(row["p10"])],
                            "p50": [float(row["p50"])], "p90": [float(row["p90"])],
                            "actual": [np.nan]})  # fmt: skip
        out = pd.concat([past[["period", "p10", "p50", "p90", "actual"]], now], ignore_index=True)
        return out.astype({c: "float64" for c in ("p10", "p50", "p90", "actual")})

    def methods_track(self) -> pd.DataFrame:
        """Every method's P50 and the actual per back-test period (the day before it began):
        ``period``, ``method`` (label key), ``p50``, ``actual``, ``chosen``."""
        f = self.forecast
        tr = f.backtest.track
        tr = tr[(tr["scope"] == COMPANY) & (tr["origin"] == f.backtest.origins[0])]
        chosen = f.scope(COMPANY)["method"]
        return methods_track_frame(tr, chosen)

    def segment_chart_frame(self) -> pd.DataFrame:
        """The segments' headlines (not the company's: it would dwarf them) in the shape
        :func:`kamlib.charts.forecast_by_group` reads (no target: NaN)."""
        s = self.segment_table().iloc[1:]
        return pd.DataFrame(
            {
                "name": s["segment"],
                "p10": s["revenue_p10_amount"],
                "p50": s["revenue_p50_amount"],
                "p90": s["revenue_p90_amount"],
                "target": np.nan,
                "p_reach": np.nan,
            }
        )

    # -- tables ---------------------------------------------------------------------------------
    def methods_table(self, scope: str = COMPANY) -> pd.DataFrame:
        """Per method: P50 now and, over every back-test origin, MAPE, MAE, bias and the
        share of actuals inside its own P10–P90 as "k / n (low–high)" (Wilson 95 %)."""
        lang = self.lang
        m = self.forecast.methods(scope)
        cover = [
            "—" if int(r["n"]) == 0
            else f"{int(r['inside'])} / {int(r['n'])} ({r['coverage_low']:.0%}–"
            f"{r['coverage_high']:.0%})"
            for r in m.to_dict("records")
        ]  # fmt: skip
        return pd.DataFrame(
            {
                "method": [label(f"fc_method_{x}", lang) for x in m["method"]],
                "chosen": m["chosen"].astype(bool),
                "forecast_p50_amount": m["p50"].astype(float),
                "mape_rate": m["mape"].astype(float),
                "mae_amount": m["mae"].astype(float),
                "coverage_text": cover,
                "bias_rate": m["bias"].astype(float),
                "scored_count": m["scored"].astype("int64"),
            }
        )

    def backtest_table(self) -> pd.DataFrame:
        """The headline as it would have been published at each back-test origin: period,
        forecast date, method, P50, actual, error of P50, inside P10–P90, P10, P90."""
        lang = self.lang
        h = self.forecast.backtest.headline
        h = h[h["scope"] == COMPANY]
        return pd.DataFrame(
            {
                "period": h["period"].to_numpy(),
                "origin_date": pd.to_datetime(h["as_of"]).to_numpy(),
                "forecast_method": [label(f"fc_method_{x}", lang) for x in h["method"]],
                "revenue_p50_amount": h["p50"].astype(float).to_numpy(),
                "actual_amount": h["actual"].astype(float).to_numpy(),
                "error_rate": h["error"].astype(float).to_numpy(),
                "in_interval": h["in_interval"].astype(bool).to_numpy(),
                "revenue_p10_amount": h["p10"].astype(float).to_numpy(),
                "revenue_p90_amount": h["p90"].astype(float).to_numpy(),
            }
        )

    def segment_table(self) -> pd.DataFrame:
        """The company and each segment: headline method, P50 / P10 / P90, the back-test MAPE
        of the headline method and of the run-rate model, share of the last 12 months'
        revenue, ordered to date."""
        lang = self.lang
        f = self.forecast
        rows = []
        for r in f.forecasts.to_dict("records"):
            m = f.methods(r["scope"]).set_index("method")
            rows.append(
                {
                    "segment": self.scope_name(r["scope"]),
                    "forecast_method": label(f"fc_method_{r['method']}", lang),
                    "revenue_p50_amount": float(r["p50"]),
                    "revenue_p10_amount": float(r["p10"]),
                    "revenue_p90_amount": float(r["p90"]),
                    "headline_mape_rate": float(m.loc[r["method"], "mape"]),
                    "run_rate_mape_rate": float(m.loc[MODEL, "mape"]),
                    "revenue_12m_share": float(r["share_12m"]),
                    "ordered_to_date_amount": float(r["closed_to_date"]),
                }
            )
        return pd.DataFrame(rows)

    def scope_name(self, scope: str) -> str:
        """A scope key in the report language (segments keep their own names)."""
        if scope == COMPANY:
            return label("company", self.lang)
        if scope == OTHER:
            return label("other_segment", self.lang)
        return str(scope)

    def notes_table(self) -> pd.DataFrame:
        """What was assumed or left out: ``section`` (in the report language), ``message``
        (one English sentence each)."""
        return notices_table(self.notices, self.lang)


def _in_sentence(name: str) -> str:
    """A method's name inside a sentence: "Last period" → "last period" (Chinese unchanged)."""
    return name[:1].lower() + name[1:]


def _tie(m: pd.DataFrame, a: str, b: str) -> bool:
    """Whether methods ``a`` and ``b`` of a methods table have MAPEs within :data:`TIE`."""
    x, y = float(m.loc[a, "mape"]), float(m.loc[b, "mape"])
    return bool(np.isfinite(x) and np.isfinite(y) and abs(x - y) < TIE * max(x, y))


def revenue_forecast(
    data: KamData | str | Path,
    methodology: Methodology | str | Path | None = None,
    *,
    as_of: date | str | pd.Timestamp,
    lang: str = "en",
    period: str = "",
    segment_by: str = "",
    seed: int | None = None,
    backtest_periods: int = 8,
) -> RevenueForecast:
    """Compute every section of the revenue forecast report.

    Parameters
    ----------
    data
        ``KamData`` with real order lines, or the path of a store.
    methodology
        A :class:`~kamlib.methodology.Methodology`, the path of a methodology file, or
        ``None`` / ``""`` for kamlib's default.
    as_of, period
        Forecast date (``YYYY-MM-DD``) and period ('' → the quarter after a quarter-end
        ``as_of``, else ``as_of``'s quarter; ``2011-12`` forecasts a month and back-tests
        months).
    lang
        The report language (``en`` or ``zh``) of the display methods.
    segment_by
        ``product_line``, ``business_unit``, ``region`` (or another order column); '' the
        first of those the orders have; ``none`` no segments.
    seed
        Seed of the run-rate simulations ('' / None: the methodology's).
    backtest_periods
        Past periods of the forecast period's length in the track record (0: none).

    Returns
    -------
    RevenueForecast
    """
    owner = "revenue_forecast"
    day = as_day(as_of, owner=owner)
    check_lang(lang)
    data = resolve_data(data, owner=owner)
    meth, _ = forecast_settings(resolve_methodology(methodology, owner=owner))
    if data.revenue_source != ORDER_LINES:
        raise MissingTableError(
            "orders",
            "The revenue forecast forecasts real order lines (won deals are bookings: see the "
            "pipeline forecast); it",
        )
    notices = Notices()
    options = {"as_of": day, "period": period or None, "methodology": meth, "seed": seed,
               "backtest_periods": backtest_periods}  # fmt: skip
    fc = None
    with notices.section("revenue_segments_section"):
        fc = forecast_revenue(data, segment_by=segment_by, **options)
    if fc is None:  # the segments could not be made: the company alone (a real error raises)
        fc = forecast_revenue(data, segment_by="none", **options)
    row = fc.scope(COMPANY)
    notices.add(
        "revenue_methods_section",
        f"headline: {row['method']} ({row['reason']}); P10–P90 from {row['interval_method']}",
    )
    for n in fc.notes:
        notices.add("forecast_notes_section", str(n))
    return RevenueForecast(forecast=fc, currency=meth.currency, notices=notices.frame(),
                           lang=lang)  # fmt: skip
