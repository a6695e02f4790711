"""Forecast back-test: the forecast as of the start of each past period against what happened.

For each of the last ``periods`` complete periods the bookings forecast is made as of the day
before the period starts — the pipeline rebuilt with :func:`kamlib.pipeline.pipeline_as_of`,
the win-probability model fitted only on deals closed before then, the slippage and the
new-deal history cut there too — and compared with the bookings actually won in the period
(the same quantity: won opportunity amounts by close date).  The baseline is the CRM's
weighted pipeline (Σ amount × methodology stage probability of the deals expected to close
in the period).  With ``revenue=True`` the run-rate order revenue forecast is back-tested the
same way against the period's net order revenue.

Accuracy: ``mape`` (mean absolute percentage error of P50), ``bias`` (mean signed percentage
error: > 0 over-forecast), ``interval_coverage`` (share of periods whose actual lies within
P10–P90: about 0.8 when the intervals are honest), and the same for the baseline, overall
and by team.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kamlib.config import Methodology
from kamlib.errors import DataValidationError
from kamlib.forecast.period import forecast_period
from kamlib.forecast.run_rate import run_rate_forecast
from kamlib.forecast.win_probability import forecast_settings, pipeline_snapshots, snapshot_dates
from kamlib.periods import FREQUENCIES, normalise_frequency, period_of

BACKTEST_COLUMNS = (
    "period", "as_of", "team", "p10", "p50", "p90", "expected", "actual", "weighted_pipeline",
    "in_interval", "error_p50", "error_baseline",
)  # fmt: skip


@dataclass(frozen=True)
class BacktestResult:
    """Back-test results.

    ``periods``: one row per period and team (``team = "all"`` for the whole company):
    :data:`BACKTEST_COLUMNS` (errors as shares of the actual: > 0 over-forecast).
    ``revenue``: per period ``p10``, ``p50``, ``p90``, ``actual`` of run-rate order revenue
    (empty unless asked).  ``accuracy``: per team ``periods``, ``mape``, ``bias``,
    ``interval_coverage``, ``baseline_mape``, ``baseline_bias``.
    """

    freq: str
    periods: pd.DataFrame
    revenue: pd.DataFrame
    accuracy: pd.DataFrame
    win_models: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        """The company-level figures (JSON-ready)."""
        row = self.accuracy[self.accuracy["team"] == "all"]
        out: dict[str, Any] = {"freq": self.freq, "periods": 0}
        if len(row):
            r = row.iloc[0]
            out.update(
                periods=int(r["periods"]),
                mape=_clean(r["mape"]),
                bias=_clean(r["bias"]),
                interval_coverage=_clean(r["interval_coverage"]),
                baseline_mape=_clean(r["baseline_mape"]),
                baseline_bias=_clean(r["baseline_bias"]),
            )
        if len(self.revenue):
            rv = self.revenue
            ok = rv["actual"] > 0
            out["revenue_mape"] = _clean(
                float(np.mean(np.abs(rv.loc[ok, "p50"] - rv.loc[ok, "actual"]) / rv.loc[ok, "actual"]))
                if ok.any() else float("nan")
            )  # fmt: skip
            out["revenue_interval_coverage"] = _clean(
                float(((rv["actual"] >= rv["p10"]) & (rv["actual"] <= rv["p90"])).mean())
            )
        return out


def _clean(x: object) -> float | None:
    v = float(x)  # type: ignore[arg-type]
    return round(v, 6) if np.isfinite(v) else None


def data_end(data: Any) -> pd.Timestamp:
    """The last day the data knows about: its as-of date, else the newest dated row."""
    if getattr(data, "as_of_date", None) is not None:
        return pd.Timestamp(data.as_of_date)
    days = []
    opps = data.opportunities
    for col in ("created_date", "closed_date"):
        if col in opps and opps[col].notna().any():
            days.append(pd.Timestamp(opps[col].max()))
    if data.has("orders") and len(data.orders):
        days.append(pd.Timestamp(data.orders["order_date"].max()))
    if not days:
        raise DataValidationError(
            "The opportunities have no dates, so no period can be back-tested. Import "
            "opportunities with created_date / closed_date."
        )
    return max(days).normalize()


def backtest_forecast(
    data: Any,
    *,
    periods: int = 8,
    freq: str = "quarterly",
    end: str | pd.Timestamp | None = None,
    simulations: int = 2000,
    seed: int | None = None,
    methodology: Methodology | str | None = None,
    revenue: bool = True,
) -> BacktestResult:
    """Back-test the bookings forecast over the last ``periods`` complete periods.

    Parameters
    ----------
    data
        ``KamData`` with ``opportunities`` (``stage_history`` makes the past pipelines exact).
    periods
        How many past periods (≥ 1).
    freq
        ``"monthly"``, ``"quarterly"`` … (fiscal year from the methodology).
    end
        Only periods ending on or before this day (default: the last day of the data).
    simulations, seed
        Monte Carlo trials per forecast and the seed.
    methodology
        Methodology file or object.
    revenue
        Also back-test run-rate order revenue (needs ``orders``).

    Returns
    -------
    BacktestResult
    """
    from kamlib.pipeline import stage_events

    meth, settings = forecast_settings(methodology)
    if not isinstance(periods, int | np.integer) or periods < 1:
        raise DataValidationError(
            f"The 'periods' parameter of backtest_forecast must be a positive integer. Got "
            f"{periods!r} instead."
        )
    freq = normalise_frequency(freq)
    if freq not in FREQUENCIES:
        raise DataValidationError(f"Unknown frequency {freq!r}.")
    seed = int(settings.seed if seed is None else seed)
    last = pd.Timestamp(end).normalize() if end is not None else data_end(data)
    fy = meth.fiscal_year_start_month
    p = period_of(last.date(), freq, fiscal_year_start_month=fy)
    if pd.Timestamp(p.end) > last:
        p = p.previous()
    chosen = []
    for _ in range(periods):
        chosen.append(p)
        p = p.previous()
    chosen = chosen[::-1]
    se = stage_events(data, methodology=meth)
    first_as_of = pd.Timestamp(chosen[0].start) - pd.Timedelta(days=1)
    last_as_of = pd.Timestamp(chosen[-1].start) - pd.Timedelta(days=1)
    span = (last_as_of.year - first_as_of.year) * 12 + last_as_of.month - first_as_of.month
    dates = snapshot_dates(
        last_as_of, months=settings.snapshot_months + span, step=settings.snapshot_step_months
    )
    panel = pipeline_snapshots(data, dates, methodology=meth, events=se)
    opps = data.opportunities
    won = opps[opps["status"].astype("str").eq("won") & opps["closed_date"].notna()]
    rows = []
    rev_rows = []
    models = []
    for per in chosen:
        start, stop = pd.Timestamp(per.start), pd.Timestamp(per.end)
        as_of = start - pd.Timedelta(days=1)
        fc = forecast_period(
            data, as_of=as_of, period=per, simulations=simulations, seed=seed,
            methodology=meth, panel=panel, events=se, run_rate=False,
        )  # fmt: skip
        models.append({"period": per.label, "as_of": as_of, "method": fc.model.method,
                       "closed_deals": fc.model.n_closed})  # fmt: skip
        in_period = won[(won["closed_date"] >= start) & (won["closed_date"] <= stop)]
        actual_team = in_period.groupby(in_period["team"].astype("str"))["amount"].sum()
        g = fc.groups[fc.groups["dimension"].isin(["all", "team"])]
        teams = set(g.loc[g["dimension"] == "team", "group"]) | set(actual_team.index)
        for team in ["all", *sorted(teams)]:
            sel = (
                g[(g["dimension"] == "all")]
                if team == "all"
                else g[(g["dimension"] == "team") & (g["group"] == team)]
            )
            actual = (
                float(in_period["amount"].sum())
                if team == "all"
                else float(actual_team.get(team, 0.0))
            )
            if len(sel):
                r = sel.iloc[0]
                figures = {
                    k: float(r[k]) for k in ("p10", "p50", "p90", "expected", "weighted_pipeline")
                }
            else:
                figures = dict.fromkeys(("p10", "p50", "p90", "expected", "weighted_pipeline"), 0.0)
            rows.append({"period": per.label, "as_of": as_of, "team": team, **figures,
                         "actual": actual})  # fmt: skip
        if revenue and data.has("orders"):
            rr = run_rate_forecast(
                data, as_of=as_of, period=per, months=settings.run_rate_months,
                repetitions=min(simulations, 2000), seed=seed, by_product_line=False,
            )  # fmt: skip
            o = data.orders
            actual_rev = float(
                o.loc[(o["order_date"] >= start) & (o["order_date"] <= stop), "amount"].sum()
            )
            s = rr.summary.iloc[0]
            rev_rows.append({"period": per.label, "as_of": as_of, "p10": s["p10"], "p50": s["p50"],
                             "p90": s["p90"], "actual": actual_rev, "method": rr.method})  # fmt: skip
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=list(BACKTEST_COLUMNS))
    else:
        frame["in_interval"] = (frame["actual"] >= frame["p10"]) & (frame["actual"] <= frame["p90"])
        safe = frame["actual"].where(frame["actual"] > 0)
        frame["error_p50"] = (frame["p50"] - frame["actual"]) / safe
        frame["error_baseline"] = (frame["weighted_pipeline"] - frame["actual"]) / safe
        frame = frame[list(BACKTEST_COLUMNS)]
    accuracy = []
    for team, part in frame.groupby("team", sort=False):
        ok = part["error_p50"].notna()
        accuracy.append(
            {
                "team": team,
                "periods": len(part),
                "mape": float(part.loc[ok, "error_p50"].abs().mean()) if ok.any() else np.nan,
                "bias": float(part.loc[ok, "error_p50"].mean()) if ok.any() else np.nan,
                "interval_coverage": float(part["in_interval"].mean()),
                "baseline_mape": float(part.loc[ok, "error_baseline"].abs().mean())
                if ok.any()
                else np.nan,
                "baseline_bias": float(part.loc[ok, "error_baseline"].mean())
                if ok.any()
                else np.nan,
            }
        )
    return BacktestResult(
        freq=freq,
        periods=frame,
        revenue=pd.DataFrame(
            rev_rows, columns=["period", "as_of", "p10", "p50", "p90", "actual", "method"]
        ),
        accuracy=pd.DataFrame(
            accuracy,
            columns=[
                "team",
                "periods",
                "mape",
                "bias",
                "interval_coverage",
                "baseline_mape",
                "baseline_bias",
            ],
        ),  # fmt: skip
        win_models=pd.DataFrame(models),
    )
