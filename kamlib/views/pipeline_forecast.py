"""Everything the pipeline forecast report shows, computed once (the notebook stays thin).

:func:`pipeline_forecast` runs the funnel analytics of :mod:`kamlib.pipeline`, the period
forecast, the gap to target, the win-probability hold-out and the back-test, and returns a
:class:`PipelineForecast` whose methods give display-ready frames in the report language it
was built with: column names are label keys of :mod:`kamlib.methodology.labels` whose names
tell the report formatter how to write them (``…_amount`` money, ``…_rate`` /
``…_probability`` percentages); categorical text (levels, target status, forecast
categories, methods) is translated by the view, opportunity stages stay keys that
:func:`kamlib.views.format.table` and :mod:`kamlib.charts` translate.

A part that cannot be computed for the data at hand (no stage history, no targets, too few
past periods for a back-test, a :class:`~kamlib.errors.KamlibError` in a section) is empty
and the notices say why (:class:`kamlib.views.notices.Notices`); the others still render.
Bugs raise.

The deal lists (:meth:`PipelineForecast.push_table`, :meth:`~PipelineForecast.stale_table`)
show each deal's **bid readiness** (:func:`kamlib.sales.bid_readiness`: the checklist score
and how many items are missing) for the deals open at the bid stage, "—" for the others; on a
store without a ``tasks`` table the column is not there.
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
from kamlib.forecast.backtest import BacktestResult
from kamlib.forecast.gap import deals_to_close_gap, gap_to_target
from kamlib.forecast.period import PeriodForecast, default_forecast_period, forecast_period
from kamlib.forecast.tournament import MIN_SCORED_ORIGINS
from kamlib.forecast.track_record import TrackRecordForecast, forecast_with_track_record
from kamlib.forecast.win_probability import (
    WinProbabilityEvaluation,
    evaluate_win_probability,
    forecast_settings,
    pipeline_snapshots,
    snapshot_dates,
)
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.methodology.labels import check_lang, label
from kamlib.periods import as_day
from kamlib.pipeline import funnel, stage_events, stage_velocity, stale_deals
from kamlib.sales import bid_readiness
from kamlib.views.notices import NOTICE_COLUMNS, Notices, notices_table, resolve_data
from kamlib.views.values import methods_track_frame

__all__ = ["PipelineForecast", "pipeline_forecast"]


@dataclass(frozen=True)
class PipelineForecast:
    """The sections of the pipeline forecast report (see :func:`pipeline_forecast`).

    ``lang`` is the report language of the display methods; ``notices`` the things the
    reader should know (``section, message``: section label keys, English messages);
    ``readiness`` the bid readiness of the deals open at the bid stage
    (:func:`kamlib.sales.bid_readiness`; ``None`` without a ``tasks`` table).
    """

    forecast: PeriodForecast
    gap: pd.DataFrame
    funnel: pd.DataFrame
    velocity: pd.DataFrame
    stale: pd.DataFrame
    evaluation: WinProbabilityEvaluation | None
    backtest: BacktestResult | None
    team: str
    currency: str
    notices: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=NOTICE_COLUMNS), repr=False
    )
    track_record: TrackRecordForecast | None = None
    lang: str = "en"
    readiness: pd.DataFrame | None = None

    def with_lang(self, lang: str) -> PipelineForecast:
        """The same report shown in ``lang`` (nothing is computed again)."""
        return dataclasses.replace(self, lang=check_lang(lang))

    # -- headline -----------------------------------------------------------------------------
    def key_figures(self) -> dict[str, Any]:
        """Label key → value: the headline of the report (for ``facts``)."""
        lang = self.lang
        f = self.forecast
        row = self._scope_row()
        gap = self._gap_scope()
        p10, p50, p90 = self.headline()
        out: dict[str, Any] = {
            "forecast_period": f.period,
            "as_of_date": f.as_of,
            "closed_to_date_amount": float(row["closed_to_date"]),
            "bookings_p10_amount": p10,
            "bookings_p50_amount": p50,
            "bookings_p90_amount": p90,
            "forecast_method": self.method_name(),
            "model_p50_amount": float(row["p50"]),
            "weighted_pipeline_amount": float(row["weighted_pipeline"]),
            "open_deals_count": int(row["deals"]),
        }
        if len(gap) and np.isfinite(gap["target"].iloc[0]):
            out["target_amount"] = float(gap["target"].iloc[0])
            out["gap_amount"] = float(gap["gap"].iloc[0])
            out["reach_probability"] = float(gap["p_reach"].iloc[0])
        else:
            out["target_amount"] = "—"
        out["win_model"] = label(f"win_method_{f.model.method}", lang)
        return out

    def headline(self) -> tuple[float, float, float]:
        """P10 / P50 / P90 of the headline (the track record's method), else the deal model's."""
        if self.track_record is not None:
            t = self.track_record
            return float(t.p10), float(t.p50), float(t.p90)
        row = self._scope_row()
        return float(row["p10"]), float(row["p50"]), float(row["p90"])

    def method_name(self) -> str:
        """The headline method's name in the report language."""
        lang = self.lang
        method = self.track_record.method if self.track_record is not None else "deal_model"
        return label(f"fc_method_{method}", lang)

    def _scope_row(self) -> pd.Series:
        g = self.forecast.groups
        if self.team:
            hit = g[(g["dimension"] == "team") & (g["group"] == self.team)]
            if len(hit):
                return hit.iloc[0]
        return g[g["dimension"] == "all"].iloc[0]

    def _gap_scope(self) -> pd.DataFrame:
        g = self.gap
        if self.team:
            return g[(g["level"] == "team") & (g["name"] == self.team)]
        return g[g["level"] == "company"]

    # -- tables ---------------------------------------------------------------------------------
    def funnel_table(self) -> pd.DataFrame:
        """Stage, entered, converted, dropped, still open, conversion / drop / win rate."""
        f = self.funnel
        if f.empty:
            return pd.DataFrame()
        cols = [c for c in ("stage", "entered", "converted", "dropped", "still_open",
                            "conversion_rate", "drop_rate", "win_rate", "entered_amount")
                if c in f]  # fmt: skip
        return f[cols].reset_index(drop=True)

    def velocity_table(self) -> pd.DataFrame:
        """Days in stage: median, quartiles, p90 of completed stints; deals open now."""
        v = self.velocity
        if v.empty:
            return pd.DataFrame()
        cols = [c for c in ("stage", "completed", "median_days", "p25_days", "p75_days",
                            "p90_days", "open_now", "open_median_days") if c in v]  # fmt: skip
        out = v[cols].reset_index(drop=True)
        for c in cols:
            if c.endswith("_days"):  # whole days read better than 12.00
                out[c] = out[c].round().astype("Int64")
        return out

    def stale_table(self, top: int = 20) -> pd.DataFrame:
        """Stuck and slipped deals, largest first; ``reason`` in the report language."""
        s = self.stale
        if self.team and len(s):
            s = s[s["team"].astype("str") == self.team]
        if s.empty:
            return pd.DataFrame()
        out = s.rename(columns={"name": "opportunity_name", "amount": "deal_amount"})
        out["reason"] = _stale_reasons(out, self.lang)
        cols = ["opportunity_id", "opportunity_name", "owner", "stage", "deal_amount",
                "days_in_stage", "days_past_due", "reason"]  # fmt: skip
        out = out[[c for c in cols if c in out]].head(top).reset_index(drop=True)
        return self._with_readiness(out)

    def gap_table(self) -> pd.DataFrame:
        """Company (or the team) and the teams / owners under it: target, forecast, gap."""
        g = self.gap
        if self.team:
            owners = set(self.forecast.deals.loc[self.forecast.deals["team"] == self.team, "owner"])
            g = g[((g["level"] == "team") & (g["name"] == self.team))
                  | ((g["level"] == "manager") & g["name"].isin(owners))]  # fmt: skip
        else:
            g = g[g["level"].isin(["company", "team"])]
        out = pd.DataFrame(
            {
                "level": _translated(g["level"], self.lang),
                "name": g["name"].to_numpy(),
                "target_amount": g["target"].to_numpy(),
                "closed_to_date_amount": g["closed_to_date"].to_numpy(),
                "bookings_p10_amount": g["p10"].to_numpy(),
                "bookings_p50_amount": g["p50"].to_numpy(),
                "bookings_p90_amount": g["p90"].to_numpy(),
                "gap_amount": g["gap"].to_numpy(),
                "coverage_ratio": g["coverage"].to_numpy(),
                "reach_probability": g["p_reach"].to_numpy(),
                "target_status": _translated(g["status"], self.lang),
            }
        )
        return out.reset_index(drop=True)

    def gap_chart_frame(self) -> pd.DataFrame:
        """The rows of :meth:`gap_table` in the shape :func:`kamlib.charts.forecast_by_group` reads."""
        g = self.gap_table()
        return pd.DataFrame(
            {
                "name": g["name"],
                "p10": g["bookings_p10_amount"],
                "p50": g["bookings_p50_amount"],
                "p90": g["bookings_p90_amount"],
                "target": g["target_amount"],
                "p_reach": g["reach_probability"],
            }
        )

    def push_table(self, top: int = 15) -> pd.DataFrame:
        """The deals that would close the gap, most promising first (with their drivers)."""
        gap = self._gap_scope()
        target = float(gap["target"].iloc[0]) if len(gap) else None
        dim, group = ("team", self.team) if self.team else ("all", "all")
        d = deals_to_close_gap(self.forecast, target=target, dimension=dim, group=group, top=top)
        return pd.DataFrame(
            {
                "opportunity_id": d["opportunity_id"],
                "opportunity_name": d["name"],
                "owner": d["owner"],
                "stage": d["stage"],
                "deal_amount": d["amount"],
                "win_probability": d["p_win"],
                "in_period_probability": d["p_in_period"],
                "expected_value": d["expected_value"],
                "closes_gap": d["closes_gap"],
                # the strongest driver each way (the deals frame keeps the top two)
                "drivers_up": _first_driver(
                    self.forecast.deals.set_index("opportunity_id").loc[
                        d["opportunity_id"], "drivers_up"
                    ],
                    self.lang,
                ),
                "drivers_down": _first_driver(d["drivers_down"], self.lang),
            }
        ).pipe(self._with_readiness)

    def _with_readiness(self, deals: pd.DataFrame) -> pd.DataFrame:
        """``deals`` with a ``bid_readiness`` column after ``stage``: "45%, 3 missing" for a
        deal open at the bid stage, "—" for the others; unchanged without a tasks table."""
        if self.readiness is None:
            return deals
        ready = self.readiness.set_index("opportunity_id")
        cell = label("bid_readiness_cell", self.lang)
        text = {
            i: cell.format(score=f"{r.readiness:.0%}", missing=len(r.missing))
            for i, r in zip(ready.index, ready.itertuples(index=False), strict=True)
        }
        column = [text.get(str(i), "—") for i in deals["opportunity_id"]]
        at = list(deals.columns).index("stage") + 1 if "stage" in deals else len(deals.columns)
        out = deals.copy()
        out.insert(at, "bid_readiness", column)
        return out

    def category_table(self) -> pd.DataFrame:
        """Forecast categories (commit / best case / pipeline): deals, amount, expected."""
        c = self.forecast.categories
        return pd.DataFrame(
            {
                "forecast_category": _translated(c["category"], self.lang),
                "deals_count": c["deals"].astype("int64"),
                "deal_amount": c["amount"].astype(float),
                "expected_value": c["expected"].astype(float),
            }
        )

    def run_rate_table(self) -> pd.DataFrame:
        """Run-rate order revenue of the period, total and by product line (not added)."""
        rr = self.forecast.run_rate
        if rr is None:
            return pd.DataFrame()
        s = rr.summary
        return pd.DataFrame(
            {
                "scope": s["scope"],
                "closed_to_date_amount": s["closed_to_date"],
                "revenue_p10_amount": s["p10"],
                "revenue_p50_amount": s["p50"],
                "revenue_p90_amount": s["p90"],
                "method": _translated(s["method"], self.lang),
            }
        )

    def model_table(self) -> pd.DataFrame:
        """Hold-out AUC and Brier score of the model next to the stage-rate baseline."""
        if self.evaluation is None:
            return pd.DataFrame()
        m = self.evaluation.metrics
        return pd.DataFrame(
            {
                "method": _translated(m["method"], self.lang),
                "auc": m["auc"].astype(float),
                "brier": m["brier"].astype(float),
                "rows": m["rows"].astype("int64"),
                "deals_count": m["deals"].astype("int64"),
            }
        )

    def reliability_table(self) -> pd.DataFrame:
        """Predicted vs observed win rate by probability band (the model)."""
        if self.evaluation is None or self.evaluation.reliability.empty:
            return pd.DataFrame()
        r = self.evaluation.reliability
        r = r[r["method"] == "model"]
        return pd.DataFrame(
            {
                "probability_band": r["bin"],
                "predicted_probability": r["predicted"],
                "observed_rate": r["observed"],
                "rows": r["rows"].astype("int64"),
            }
        ).reset_index(drop=True)

    def fan_track(self) -> pd.DataFrame:
        """Back-test periods then the forecast period: period, p10, p50, p90, actual, weighted."""
        row = self._scope_row()
        p10, p50, p90 = self.headline()
        now = pd.DataFrame(
            {"period": [self.forecast.period], "p10": [p10], "p50": [p50],
             "p90": [p90], "actual": [np.nan],
             "weighted_pipeline": [row["weighted_pipeline"]]}
        )  # fmt: skip
        if self.backtest is None or self.backtest.periods.empty:
            return now
        bt = self.backtest.periods
        bt = bt[(bt["team"] == (self.team or "all")) & (bt["origin"] == self.backtest.origins[0])]
        past = bt[["period", "p10", "p50", "p90", "actual", "weighted_pipeline"]]
        past = past[past["period"] != self.forecast.period]
        return pd.concat([past, now], ignore_index=True)

    def accuracy_table(self) -> pd.DataFrame:
        """Back-test accuracy per team: MAPE and bias of P50, P10–P90 coverage, baseline."""
        if self.backtest is None or self.backtest.accuracy.empty:
            return pd.DataFrame()
        a = self.backtest.accuracy
        return pd.DataFrame(
            {
                "team": a["team"],
                "periods_count": a["periods"].astype("int64"),
                "mape_rate": a["mape"],
                "bias_rate": a["bias"],
                "interval_coverage_rate": a["interval_coverage"],
                "baseline_mape_rate": a["baseline_mape"],
                "baseline_bias_rate": a["baseline_bias"],
            }
        )

    def methods_choice(self) -> dict[str, Any]:
        """Label key → value: the headline method, why, and where P10–P90 come from."""
        lang = self.lang
        t = self.track_record
        if t is None:
            return {"forecast_method": self.method_name()}
        m = t.methods.set_index("method")
        if t.method == "deal_model" and "too little" in t.reason:
            n = int(m.loc["deal_model", "scored"]) if "deal_model" in m.index else 0
            reason = label("method_reason_too_little", lang).format(n=n, k=MIN_SCORED_ORIGINS)
        elif t.method in m.index and np.isfinite(m.loc[t.method, "mape"]):
            reason = label("method_reason_best", lang).format(
                n=int(m.loc[t.method, "scored"]), mape=f"{float(m.loc[t.method, 'mape']):.1%}"
            )
        else:
            reason = t.reason
        return {
            "forecast_method": self.method_name(),
            "method_reason": reason,
            "interval_method": label(f"interval_{t.interval_method}", lang),
        }

    def methods_table(self) -> pd.DataFrame:
        """Per method: P50 now, and over every back-test origin: MAPE, bias,
        P10–P90 coverage as "k of n (low–high)" with its Wilson 95 % interval, chosen."""
        lang = self.lang
        t = self.track_record
        if t is None:
            return pd.DataFrame()
        m = t.methods
        cover = []
        for r in m.to_dict("records"):
            if int(r["n"]) == 0:
                cover.append("—")
            else:
                cover.append(
                    f"{int(r['inside'])} / {int(r['n'])} ({r['coverage_low']:.0%}–"
                    f"{r['coverage_high']:.0%})"
                )
        return pd.DataFrame(
            {
                "method": [label(f"fc_method_{x}", lang) for x in m["method"]],
                "forecast_p50_amount": m["p50"].astype(float),
                "scored_count": m["scored"].astype("int64"),
                "mape_rate": m["mape"].astype(float),
                "bias_rate": m["bias"].astype(float),
                "coverage_text": cover,
                "chosen": m["chosen"].astype(bool),
            }
        )

    def methods_track(self) -> pd.DataFrame:
        """Every method's P50 and the actual per back-test period (the day before it began):
        ``period``, ``method`` (label key), ``p50``, ``actual``, ``chosen``."""
        if self.backtest is None or self.backtest.track.empty:
            return pd.DataFrame(columns=["period", "method", "p50", "actual", "chosen"])
        tr = self.backtest.track
        tr = tr[(tr["team"] == (self.team or "all")) & (tr["origin"] == self.backtest.origins[0])]
        chosen = self.track_record.method if self.track_record is not None else "deal_model"
        return methods_track_frame(tr, chosen)

    def zombie_figures(self) -> dict[str, Any]:
        """Label key → value: how many open deals are zombies, their amount and age."""
        z = self._zombies()
        if z.empty:
            return {"zombie_deals_count": 0}
        age = pd.to_numeric(z["age_days"], errors="coerce")
        return {
            "zombie_deals_count": int(len(z)),
            "zombie_amount": float(pd.to_numeric(z["amount"], errors="coerce").fillna(0).sum()),
            "zombie_median_age_days": int(round(float(age.median()))) if age.notna().any() else "—",
            "zombie_oldest_age_days": int(age.max()) if age.notna().any() else "—",
            # amounts the export did not give (the median won amount of the line stands in)
            "zombie_amount_imputed": int(z["amount_imputed"].fillna(False).astype(bool).sum()),
        }

    def zombie_table(self, top: int = 15) -> pd.DataFrame:
        """The largest zombie deals: id, owner, team, stage, amount, age, days in stage."""
        z = self._zombies()
        if z.empty:
            return pd.DataFrame()
        z = z.sort_values(
            ["amount", "age_days", "opportunity_id"], ascending=[False, False, True],
            kind="mergesort",
        )  # fmt: skip
        return (
            pd.DataFrame(
                {
                    "opportunity_id": z["opportunity_id"].astype(str),
                    "owner": z["owner"].astype(str),
                    "team": z["team"].astype(str),
                    "stage": z["stage"].astype(str),
                    "deal_amount": pd.to_numeric(z["amount"], errors="coerce").astype(float),
                    "age_days": pd.to_numeric(z["age_days"], errors="coerce")
                    .round()
                    .astype("Int64"),
                    # with stage history the reason a deal is a zombie: stuck in its stage
                    "days_in_stage": pd.to_numeric(z["days_in_stage"], errors="coerce")
                    .round()
                    .astype("Int64"),
                }
            )
            .head(top)
            .reset_index(drop=True)
        )

    def _zombies(self) -> pd.DataFrame:
        z = self.forecast.zombies
        if len(z) == 0:
            return pd.DataFrame()
        if self.team:
            z = z[z["team"].astype(str) == self.team]
        return z

    def notes_table(self) -> pd.DataFrame:
        """What was assumed or left out: ``section`` (in the report language), ``message``
        (one English sentence each)."""
        return notices_table(self.notices, self.lang)


def _translated(values: pd.Series, lang: str) -> np.ndarray:
    """Label keys (text) in ``lang``; other values (missing) as they are."""
    return np.array([label(v, lang) if isinstance(v, str) else v for v in values], dtype=object)


def _first_driver(values: pd.Series, lang: str = "en") -> np.ndarray:
    """The strongest driver of each deal ("stage +1.57"), its name in ``lang``."""
    out = []
    for v in values:
        first = str(v).split("; ")[0]
        name, _, value = first.rpartition(" ")
        out.append(f"{label('driver_' + name, lang)} {value}" if name else first)
    return np.array(out, dtype=object)


def _stale_reasons(stale: pd.DataFrame, lang: str) -> list[str]:
    """Why each deal is stale, in ``lang`` (stuck in its stage and / or past its close date)."""
    stuck_text, slipped_text = label("stale_stuck", lang), label("stale_slipped", lang)
    reasons = []
    for row in stale.to_dict("records"):
        parts = []
        if row.get("is_stuck"):
            parts.append(stuck_text.format(stage=label(str(row["stage"]), lang),
                                           days=int(row["days_in_stage"]),
                                           limit=int(round(float(row["stuck_threshold_days"])))))  # fmt: skip
        if row.get("is_slipped"):
            parts.append(slipped_text.format(days=int(row["days_past_due"])))
        reasons.append("; ".join(parts))
    return reasons


def pipeline_forecast(
    data: KamData | str | Path,
    methodology: Methodology | str | Path | None = None,
    *,
    as_of: date | str | pd.Timestamp,
    lang: str = "en",
    period: str = "",
    team: str = "",
    simulations: int | None = None,
    seed: int | None = None,
    backtest_periods: int = 4,
    backtest_simulations: int = 1000,
) -> PipelineForecast:
    """Compute every section of the pipeline forecast report.

    Parameters
    ----------
    data
        ``KamData`` (needs ``opportunities``) or the path of a store.
    methodology
        A :class:`~kamlib.methodology.Methodology`, the path of a methodology file, or
        ``None`` / ``""`` for kamlib's default.
    as_of, period
        Forecast date (``YYYY-MM-DD``) and period ('' → :func:`default_forecast_period`).
    lang
        The report language (``en`` or ``zh``) of the display methods.
    team
        Focus on one team ('' = the company).
    simulations, seed
        Monte Carlo trials and seed of the period forecast.
    backtest_periods, backtest_simulations
        The accuracy track record: past periods of the forecast period's length (0: none) and
        trials per forecast; each is forecast at its start and a third and two thirds in, and
        the record chooses the headline method and calibrates P10–P90
        (:func:`~kamlib.forecast.forecast_with_track_record`).

    Returns
    -------
    PipelineForecast
    """
    owner = "pipeline_forecast"
    day = as_day(as_of, owner=owner)
    check_lang(lang)
    data = resolve_data(data, owner=owner)
    meth, settings = forecast_settings(resolve_methodology(methodology, owner=owner))
    if not period:
        period = default_forecast_period(
            day, fiscal_year_start_month=meth.fiscal_year_start_month
        ).label
    notices = Notices()
    se = stage_events(data, methodology=meth)
    dates = snapshot_dates(day, months=settings.snapshot_months, step=settings.snapshot_step_months)
    panel = pipeline_snapshots(data.as_of(day), dates, methodology=meth, events=se)
    fc = forecast_period(
        data, as_of=day, period=period, simulations=simulations, seed=seed, methodology=meth,
        panel=panel, events=se,
    )  # fmt: skip
    targets = data.targets if data.has("targets") else None
    if targets is None:
        notices.add("gap_section", "the data has no targets table: no gap to target")
    gap = gap_to_target(fc, targets)
    if team and team not in set(fc.groups.loc[fc.groups["dimension"] == "team", "group"]):
        notices.add("gap_section", f"team {team!r} has no deals or bookings: the company is shown")
        team = ""
    since = (day - pd.DateOffset(years=1)).normalize() + pd.Timedelta(days=1)
    # data-quality warnings are counted in stage_events: not repeated here
    fun = vel = stale = pd.DataFrame()
    with notices.section("funnel_section", keep=False):
        fun = funnel(data, as_of=day, since=since, methodology=meth)
    with notices.section("velocity_section", keep=False):
        vel = stage_velocity(se, as_of=day, since=since, methodology=meth)
    with notices.section("stale_section", keep=False):
        stale = stale_deals(se, as_of=day, methodology=meth)
    note = fun.attrs.get("note")
    if note and fun.attrs.get("source") != "stage_history":
        notices.add("funnel_section", str(note))
    evaluation = None
    with notices.section("win_model_section"):
        evaluation = evaluate_win_probability(panel, as_of=day, methodology=meth)
        if evaluation.method != "logit":
            notices.add(
                "win_model_section",
                f"win-probability hold-out: at {evaluation.cutoff.date()} the model fell back to "
                f"{evaluation.method}",
            )
    track = forecast_with_track_record(
        data, as_of=day, period=period, team=team, forecast=fc, track_periods=backtest_periods,
        backtest_simulations=backtest_simulations, seed=seed, methodology=meth,
    )  # fmt: skip
    for n in track.notes:
        notices.add("forecast_methods_section",
                    n.replace("no track record: ", "back-test not available: "))  # fmt: skip
    if track.method != "deal_model" or track.interval_method != "monte_carlo":
        notices.add(
            "forecast_methods_section",
            f"headline: {track.method} ({track.reason}); P10–P90 from {track.interval_method}",
        )
    for n in fc.notes:
        notices.add("forecast_notes_section", str(n))
    readiness = None
    if data.has("tasks"):  # without one the deal lists have no readiness column
        # data-quality warnings are counted in stage_events: not repeated here
        with notices.section("bid_readiness_section", keep=False):
            readiness = bid_readiness(data, as_of=day, methodology=meth)
    return PipelineForecast(
        forecast=fc, gap=gap, funnel=fun, velocity=vel, stale=stale, evaluation=evaluation,
        backtest=track.backtest, team=team, currency=meth.currency, notices=notices.frame(),
        track_record=track, lang=lang, readiness=readiness,
    )  # fmt: skip
