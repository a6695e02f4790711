"""The bookings forecast of one period: closed to date + open pipeline + deals not yet created.

The forecast quantity is **bookings**: the amounts of opportunities won with a close date
inside the period (the ``bookings`` measure of the OGSM targets).  It has three parts:

1. ``closed_to_date`` — deals already won in the period on or before the as-of date;
2. ``pipeline`` — each open deal at the as-of date (:func:`kamlib.pipeline.pipeline_as_of`)
   is won inside the period with probability ``p_won_in_period``: its win probability
   (:mod:`kamlib.forecast.win_probability`) × the chance it closes inside the period at its
   expected close date plus a slippage draw (:func:`kamlib.pipeline.close_date_slippage`,
   won deals of its stage; :func:`period_probability`) — or, where the deal has no expected
   close date or its stage's won deals slipped by more than ``timing_max_slip_days``
   (median |slip|, :func:`stage_timing`), the competing-risks cumulative incidence of "won"
   over the period (:mod:`kamlib.forecast.close_timing`), which already contains the chance
   of losing first.  Zombies count 0 and are listed in ``PeriodForecast.zombies``: P(ever
   closes) below ``zombie_min_close_probability``, or past the ``zombie_age_quantile`` of the
   days deals later won spent in the deal's stage (with stage history) or of the closed
   deals' ages at close (without; :func:`~kamlib.forecast.close_timing.zombie_deals`);
3. ``new_deals`` — deals created after the as-of date and won inside the period: in each of
   the last ``new_deal_periods`` periods, the bookings of deals created after the same
   point of that period; every trial draws one of those periods (a bootstrap).

Run-rate order revenue is forecast next to it (:mod:`kamlib.forecast.run_rate`), never added
to it (orders contain the deliveries of booked projects).

Fall-backs (each recorded in ``PeriodForecast.notes``)
-----------------------------------------------------
- open deal without an amount (the Maven export: open deals have none): the median won
  amount of its product line before the as-of date (of all lines when the line has fewer
  than 5 wins); ``amount_imputed`` flags it;
- open deal without an expected close date: the close-timing hazard model (above); with no
  deal closed before the as-of date to fit it, the cycle times (created → won) of won deals
  given the deal's age, as when no slippage can be measured;
- no stage history (the Maven export): the amounts of deals closed after the as-of date
  are today's closing values, unknown on the as-of date — treated as missing (imputed as
  above), so a back-test does not peek at the outcome; likewise the stage of every open deal
  is ``"unknown"`` unless the as-of date is the data's last day (today's stage of a deal
  still open, and "unknown" for one closed later, would tell which deals close);
- the weighted-pipeline baseline counts deals without an expected close date as closing
  inside the period;
- a deal past its expected close date beyond every observed slip: it closes after the
  as-of date like the positive slips of its stage;
- no won deal at all: every open deal is assumed to close inside the period (said so);
- no open deal / no history: the parts are zero — never NaN;
- deals not yet created: periods that began before the first recorded close are not used
  (their bookings are incomplete: an export that records outcomes from some day on).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data.purchases import ORDER_LINES, WON_DEALS
from kamlib.display import Brief, ShowsBrief, table_size
from kamlib.errors import DataValidationError
from kamlib.forecast.close_timing import (
    CloseTimingModel,
    fit_close_timing,
    stuck_limits,
)
from kamlib.forecast.deal_timing import (
    TIMING_COLUMNS,
    _hazard_wanted,
    _timed,
    _timing_method,
    _without_later_amounts,
    _without_later_stages,
    stage_timing,
)
from kamlib.forecast.run_rate import RunRateForecast, run_rate_forecast
from kamlib.forecast.simulation import simulate_matrix
from kamlib.forecast.win_probability import (
    WinProbabilityModel,
    current_values_known,
    deal_features,
    fit_win_probability,
    forecast_settings,
    pipeline_snapshots,
    snapshot_dates,
)
from kamlib.methodology import Methodology
from kamlib.periods import Period, as_day, parse_date, parse_period, period_of

#: grouping dimensions of the forecast (columns of the deals frame)
DIMENSIONS: tuple[str, ...] = ("team", "owner", "product_line", "tier")
#: quantiles reported
QUANTILES = (0.1, 0.5, 0.9)
#: wins a product line needs for its own median amount
MIN_LINE_WINS = 5

DEAL_COLUMNS = (
    "opportunity_id", "account_id", "name", "owner", "team", "product_line", "tier", "stage",
    "amount", "amount_imputed", "expected_close_date", "is_past_due", "days_in_stage",
    "p_win", "p_in_period", "expected_value", "stage_probability", "category",
    "drivers_up", "drivers_down", "age_days", "p_won_in_period", "timing",
)  # fmt: skip
#: columns of ``PeriodForecast.zombies``
ZOMBIE_COLUMNS = (
    "opportunity_id", "account_id", "owner", "team", "stage", "amount", "amount_imputed",
    "age_days", "days_in_stage",
)  # fmt: skip


@dataclass(frozen=True, repr=False)
class PeriodForecast(ShowsBrief):
    """The bookings forecast of ``period`` as of ``as_of`` (see the module docstring).

    Attributes
    ----------
    deals
        The open pipeline, one row per deal: :data:`DEAL_COLUMNS`.  ``p_win`` is the
        calibrated win probability (display, ``category`` commit / best_case / pipeline,
        drivers); ``p_won_in_period`` is what the simulation draws: the chance the deal is
        won inside the period — p_win × p_in_period where the deal is timed by its expected
        close date + slippage (``timing`` = ``"expected_close+slippage"``; ``"cycle_times"``
        when no deal closed before the as-of date to fit the hazard model), the
        competing-risks cumulative incidence of "won" over the period where it is timed by
        the hazard model (``timing`` = ``"hazard"``: losing is in it once, not twice), 0 for
        a zombie (``timing`` = ``"zombie"``).  ``p_in_period`` is the chance it closes
        inside the period if it is won (hazard: incidence in the period / incidence ever).
        ``expected_value`` = amount × p_won_in_period.
    zombies
        Open deals the forecast does not count on (:data:`ZOMBIE_COLUMNS`): older than the
        ``zombie_age_quantile`` of closed deals' ages at close, or unlikely ever to close
        (:func:`kamlib.forecast.close_timing.zombie_deals`).
    timing
        How each open stage is timed (:data:`TIMING_COLUMNS`): ``method`` ``"hazard"`` or
        ``"expected_close+slippage"``, by the median |slip| of the stage's won deals.
    timing_method
        ``"hazard"`` (every deal counted on is timed by the hazard model),
        ``"expected_close+slippage"``, ``"cycle_times"`` (nothing closed yet) or ``"mixed"``.
    close_timing
        The close-timing (hazard) model.
    totals
        Simulated bookings of the period per trial (closed to date included).
    groups
        One row per (``dimension``, ``group``) incl. ``dimension = "all"``:
        ``closed_to_date``, ``pipeline_expected``, ``new_deals_expected``, ``expected``,
        ``p10``, ``p50``, ``p90``, ``weighted_pipeline`` (the CRM baseline: closed to date +
        Σ amount × stage probability of deals expected to close in the period), ``deals``.
    group_totals
        Simulated bookings per trial for every row of ``groups`` (trials × rows).
    categories
        Forecast categories: ``category``, ``deals``, ``amount``, ``expected``.
    model
        The win-probability model used.
    run_rate
        The run-rate order revenue forecast (None when the data has no orders).
    """


    period: str
    as_of: pd.Timestamp
    start: pd.Timestamp
    end: pd.Timestamp
    simulations: int
    seed: int
    deals: pd.DataFrame
    totals: np.ndarray = field(repr=False)
    groups: pd.DataFrame = field(repr=False)
    group_totals: np.ndarray = field(repr=False)
    categories: pd.DataFrame = field(repr=False)
    model: WinProbabilityModel = field(repr=False)
    run_rate: RunRateForecast | None = field(repr=False)
    notes: tuple[str, ...] = ()
    slippage_note: str = ""
    zombies: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(ZOMBIE_COLUMNS)), repr=False
    )
    timing: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(TIMING_COLUMNS)), repr=False
    )
    timing_method: str = "expected_close+slippage"
    close_timing: CloseTimingModel | None = field(default=None, repr=False)

    @property
    def total(self) -> pd.Series:
        """The ``"all"`` row of ``groups``."""
        return self.groups[self.groups["dimension"] == "all"].iloc[0]

    def group_trials(self, dimension: str, group: str) -> np.ndarray:
        """Simulated bookings per trial of one group (zeros when the group has nothing)."""
        hit = np.flatnonzero(
            (self.groups["dimension"] == dimension).to_numpy()
            & (self.groups["group"].astype("str") == str(group)).to_numpy()
        )
        if len(hit) == 0:
            return np.zeros(len(self.totals))
        return self.group_totals[:, hit[0]]

    def summary(self) -> dict[str, Any]:
        """The headline figures (JSON-ready): period, as_of, closed_to_date, p10, p50, p90 …"""
        t = self.total
        out: dict[str, Any] = {
            "period": self.period,
            "as_of": self.as_of.date().isoformat(),
            "measure": "bookings",
            "closed_to_date": _num(t["closed_to_date"]),
            "pipeline_expected": _num(t["pipeline_expected"]),
            "new_deals_expected": _num(t["new_deals_expected"]),
            "expected": _num(t["expected"]),
            "p10": _num(t["p10"]),
            "p50": _num(t["p50"]),
            "p90": _num(t["p90"]),
            "weighted_pipeline": _num(t["weighted_pipeline"]),
            "open_deals": int(len(self.deals)),
            "simulations": self.simulations,
            "seed": self.seed,
            "win_model": self.model.method,
            "win_model_reason": self.model.reason,
            "timing_method": self.timing_method,
            "zombie_deals": int(len(self.zombies)),
            "zombie_amount": _num(self.zombies["amount"].astype("float64").sum()),
            "notes": list(self.notes),
        }
        if self.run_rate is not None:
            rr = self.run_rate.summary.iloc[0]
            out["run_rate_revenue"] = {
                "closed_to_date": _num(rr["closed_to_date"]),
                "expected": _num(rr["expected"]),
                "p10": _num(rr["p10"]),
                "p50": _num(rr["p50"]),
                "p90": _num(rr["p90"]),
                "method": self.run_rate.method,
            }
        return out

    def _brief(self) -> Brief:
        t = self.total
        return Brief(
            "PeriodForecast",
            {
                "period": self.period,
                "as of": self.as_of,
                "P10": float(t["p10"]),
                "P50": float(t["p50"]),
                "P90": float(t["p90"]),
                "closed to date": float(t["closed_to_date"]),
                "open deals": len(self.deals),
                "win model": self.model.method,
            },
            {
                ".summary()": "the headline figures (JSON-ready)",
                ".deals": table_size(self.deals),
                ".groups": table_size(self.groups),
                ".categories": table_size(self.categories),
            },
        )



def _num(x: object) -> float:
    v = float(x)  # type: ignore[arg-type]
    if not np.isfinite(v):
        raise DataValidationError(f"A forecast figure is not finite ({v!r}); this is a bug.")
    return round(v, 2)


def _period(period: Period | str, meth: Methodology) -> Period:
    if isinstance(period, Period):
        return period
    return parse_period(str(period), fiscal_year_start_month=meth.fiscal_year_start_month)


def forecast_period(
    data: Any,
    *,
    as_of: str | pd.Timestamp,
    period: Period | str,
    simulations: int | None = None,
    seed: int | None = None,
    methodology: Methodology | str | None = None,
    tiers: pd.Series | None = None,
    panel: pd.DataFrame | None = None,
    events: Any = None,
    run_rate: bool = True,
) -> PeriodForecast:
    """Forecast the bookings of ``period`` as of ``as_of`` (Monte Carlo, P10 / P50 / P90).

    Parameters
    ----------
    data
        ``KamData`` with ``opportunities`` (``stage_history``, contacts, ``orders`` used
        where present).  Nothing dated after ``as_of`` is used.
    as_of
        The forecast date (end of day).
    period
        The period (``"2026-Q4"``, ``"2026-11"``, a :class:`~kamlib.periods.Period`).
    simulations, seed
        Monte Carlo trials and seed (default: the methodology's ``forecast`` section).
    methodology
        Methodology file or object (stages, forecast settings).
    tiers
        Optional account_id → tier (e.g. from :mod:`kamlib.scoring`): adds the ``tier``
        dimension.
    panel
        Training snapshots (:func:`~kamlib.forecast.pipeline_snapshots`) built once for
        several forecasts (back-tests); rows after ``as_of`` are ignored.
    events
        :func:`kamlib.pipeline.stage_events` of ``data``, to save rebuilding it.
    run_rate
        Also forecast run-rate order revenue (needs ``orders``).

    Returns
    -------
    PeriodForecast

    Examples
    --------
    >>> fc = forecast_period(load("data/demo.duckdb"), as_of="2026-09-30", period="2026-Q4")  # doctest: +SKIP
    >>> fc.summary()["p50"]  # doctest: +SKIP
    """
    from kamlib.pipeline import close_date_slippage, pipeline_as_of, stage_events

    meth, settings = forecast_settings(methodology)
    per = _period(period, meth)
    day = as_day(as_of, owner="forecast_period")
    sims = int(settings.simulations if simulations is None else simulations)
    seed = int(settings.seed if seed is None else seed)
    if sims < 1:
        raise DataValidationError(f"The 'simulations' parameter must be at least 1. Got {sims}.")
    data.require("opportunities", "The pipeline forecast")
    view = data.as_of(day)
    se = events if events is not None else stage_events(data, methodology=meth)
    notes: list[str] = []
    start, end = pd.Timestamp(per.start), pd.Timestamp(per.end)
    if day > end:
        notes.append(f"the period ended on {end.date()}, before the as-of date: bookings are final")
    if panel is None:
        dates = snapshot_dates(
            day, months=settings.snapshot_months, step=settings.snapshot_step_months
        )
        panel = pipeline_snapshots(view, dates, methodology=meth, events=se)

    # -- the open pipeline and its probabilities ----------------------------------------------
    pipe = pipeline_as_of(se, day, methodology=meth)
    if day > end:  # the period is over: nothing still open can land in it
        pipe = pipe.iloc[:0]
    pipe = _without_later_amounts(pipe, data, day)
    use_contacts = current_values_known(data, day)
    pipe = _without_later_stages(pipe, known=use_contacts)
    if pipe.attrs.get("amounts_hidden"):
        notes.append(
            f"{pipe.attrs['amounts_hidden']} deals closed after the as-of date carry today's "
            "amount (the data has no stage history): treated as unknown then"
        )
    pipe = deal_features(pipe, view)
    model = fit_win_probability(
        panel, as_of=day, open_deals=pipe, methodology=meth, use_contacts=use_contacts
    )
    if model.method != "logit":
        notes.append(f"win probability: {model.reason}")
    opps = view.opportunities
    won = opps[opps["status"].astype("str").eq("won") & opps["closed_date"].notna()]
    amount, imputed = _amounts(pipe, won)
    if imputed.any() and won["amount"].notna().any():
        notes.append(
            f"{int(imputed.sum())} open deals have no amount: the median won amount of their "
            "product line is used"
        )
    elif imputed.any():
        notes.append(
            f"{int(imputed.sum())} open deals have no amount and no deal was won before the "
            "as-of date to learn one from: they count as 0"
        )
    slippage = close_date_slippage(se, day, methodology=meth) if len(pipe) else None
    # -- close timing: competing-risks hazard where dates are missing or slip, zombies ----------
    timing_stages = stage_timing(pipe, slippage, max_slip_days=settings.timing_max_slip_days)
    wanted = _hazard_wanted(pipe, timing_stages)
    timing_model = fit_close_timing(
        se, as_of=day, bucket_days=settings.timing_bucket_days,
        min_events=settings.timing_min_events, close_age_quantile=settings.zombie_age_quantile,
        covariates=bool(wanted.any()), fiscal_year_start_month=meth.fiscal_year_start_month,
    )  # fmt: skip
    by_hazard = wanted & (timing_model.method != "none")
    p_in = np.zeros(len(pipe))
    if (~by_hazard).any():
        p_in[~by_hazard], timing_note = period_probability(
            pipe[~by_hazard], slippage, won, as_of=day, start=start, end=end
        )
        if timing_note:
            notes.append(timing_note)
    drivers = (
        model.drivers(pipe)
        if len(pipe)
        else pd.DataFrame({"p_win": [], "drivers_up": [], "drivers_down": []})
    )
    p_win = drivers["p_win"].to_numpy(dtype=float)
    p_won_in, p_in, timing, zombie, timing_notes = _timed(
        pipe, p_win, p_in, timing_model, by_hazard, start=start, end=end,
        min_close_probability=settings.zombie_min_close_probability,
        stuck_limit=stuck_limits(se, day, quantile=settings.zombie_age_quantile),
    )  # fmt: skip
    notes.extend(timing_notes)
    stage_prob = _stage_probability(pipe, meth)
    deals = pipe.assign(
        amount=amount,
        amount_imputed=imputed,
        tier=_tier(pipe, tiers),
        p_win=p_win,
        p_in_period=p_in,
        p_won_in_period=p_won_in,
        timing=timing,
        expected_value=amount * p_won_in,
        stage_probability=stage_prob,
        category=categorise(p_win, commit=settings.commit, best_case=settings.best_case),
        drivers_up=drivers["drivers_up"].to_numpy(),
        drivers_down=drivers["drivers_down"].to_numpy(),
    )
    for col in ("owner", "team", "product_line", "tier"):
        deals[col] = deals[col].astype("str").where(deals[col].notna(), "(none)")
    zombies = (
        deals.loc[zombie, list(ZOMBIE_COLUMNS)]
        .sort_values(["age_days", "opportunity_id"], ascending=[False, True], kind="mergesort")
        .reset_index(drop=True)
    )
    if len(zombies):
        n_imp = int(zombies["amount_imputed"].sum())
        notes.append(
            f"{len(zombies):,} zombie deals ({zombies['amount'].sum():,.0f} incl. {n_imp:,} "
            "imputed amounts) are older than nearly every deal that ever closed, or unlikely "
            "ever to close: the forecast does not count on them"
        )
    timing_method = _timing_method(deals["timing"], timing_model, slippage)
    deals = (
        deals[list(DEAL_COLUMNS)]
        .sort_values(
            ["expected_value", "opportunity_id"], ascending=[False, True], kind="mergesort"
        )
        .reset_index(drop=True)
    )

    # -- groups: the columns the simulation sums ------------------------------------------------
    closed_in = won[(won["closed_date"] >= start) & (won["closed_date"] <= min(day, end))]
    closed_in = closed_in.assign(tier=_tier(closed_in, tiers))
    dims = [d for d in DIMENSIONS if d != "tier" or tiers is not None]
    labels: list[tuple[str, str]] = [("all", "all")]
    won_tiers = won.assign(tier=_tier(won, tiers))
    for dim in dims:
        # groups with open deals, or bookings in the period, or past wins (new deals)
        values = set(deals[dim].astype("str"))
        for frame in (closed_in, won_tiers):
            values |= set(frame[dim].astype("str").where(frame[dim].notna(), "(none)"))
        labels += [(dim, g) for g in sorted(values)]
    weights = np.zeros((len(deals), len(labels)))  # deal × label membership
    weights[:, 0] = 1.0
    groupings = []
    for dim in dims:
        own = [i for i, (d, _) in enumerate(labels) if d == dim]
        local = {labels[i][1]: k for k, i in enumerate(own)}
        codes = np.array([local[g] for g in deals[dim].astype("str")], dtype=np.int64)
        weights[np.arange(len(deals)), np.asarray(own, dtype=np.int64)[codes]] = 1.0
        groupings.append((codes, len(own), own))
    q = deals["p_won_in_period"].to_numpy(dtype=float)
    v = deals["amount"].to_numpy(dtype=float)
    totals, per_dim = simulate_matrix(
        q, v, simulations=sims, seed=seed, groupings=tuple((c, k) for c, k, _ in groupings)
    )
    sim = np.zeros((sims, len(labels)))
    sim[:, 0] = totals
    for (_, _, own), block in zip(groupings, per_dim, strict=True):
        sim[:, own] = block
    closed_vec = _group_sums(closed_in, "amount", labels, dims)
    new_hist, new_note = new_deal_history(
        se, view, per, day, periods=settings.new_deal_periods, labels=labels, dims=dims,
        tiers=tiers,
    )  # fmt: skip
    if new_note:
        notes.append(new_note)
    if len(new_hist) and day < end:
        pick = np.random.default_rng([seed, 1]).integers(0, len(new_hist), sims)
        new_trials = new_hist[pick]
        new_expected = new_hist.mean(axis=0)
    else:
        new_trials = np.zeros((sims, len(labels)))
        new_expected = np.zeros(len(labels))
    group_totals = closed_vec[None, :] + sim + new_trials
    # the CRM baseline counts deals expected to close in the period; a deal without an
    # expected close date counts too (the CRM could not place it elsewhere)
    ecd = deals["expected_close_date"]
    in_period_ecd = (ecd.between(start, end) | ecd.isna()).to_numpy()
    weighted = (
        closed_vec
        + ((deals["amount"] * deals["stage_probability"]).to_numpy() * in_period_ecd) @ weights
    )
    qs = np.quantile(group_totals, QUANTILES, axis=0)
    groups = pd.DataFrame(
        {
            "dimension": [d for d, _ in labels],
            "group": [g for _, g in labels],
            "closed_to_date": closed_vec,
            "pipeline_expected": (q * v) @ weights,
            "new_deals_expected": new_expected,
            "expected": group_totals.mean(axis=0),
            "p10": qs[0],
            "p50": qs[1],
            "p90": qs[2],
            "weighted_pipeline": weighted,
            "deals": weights.sum(axis=0).astype(int),
        }
    )
    categories = (
        deals.assign(expected=deals["expected_value"])
        .groupby("category", observed=False)
        .agg(
            deals=("opportunity_id", "size"), amount=("amount", "sum"), expected=("expected", "sum")
        )
        .reindex(["commit", "best_case", "pipeline"], fill_value=0)
        .reset_index()
    )
    rr = None
    if run_rate and data.revenue_source == WON_DEALS:
        notes.append(
            "run-rate order revenue needs order lines: the data has none (its revenue is won "
            "deals, which these bookings already count)"
        )
    elif run_rate and data.revenue_source == ORDER_LINES:
        rr = run_rate_forecast(
            data, as_of=day, period=per, months=settings.run_rate_months,
            repetitions=min(sims, 2000), seed=seed,
        )  # fmt: skip
    return PeriodForecast(
        period=per.label, as_of=day, start=start, end=end, simulations=sims, seed=seed, deals=deals,
        totals=group_totals[:, 0].copy(), groups=groups, group_totals=group_totals,
        categories=categories, model=model, run_rate=rr, notes=tuple(notes),
        slippage_note="" if slippage is None else slippage.note, zombies=zombies,
        timing=timing_stages, timing_method=timing_method, close_timing=timing_model,
    )  # fmt: skip


def categorise(p_win: np.ndarray, *, commit: float, best_case: float) -> np.ndarray:
    """Forecast category of each probability: commit (≥ commit), best_case, pipeline."""
    p = np.asarray(p_win, dtype=float)
    return np.where(p >= commit, "commit", np.where(p >= best_case, "best_case", "pipeline"))


def _tier(frame: pd.DataFrame, tiers: pd.Series | None) -> pd.Series:
    if tiers is None or "account_id" not in frame:
        return pd.Series("(none)", index=frame.index, dtype="str")
    return (
        frame["account_id"]
        .astype("str")
        .map(tiers)
        .astype("str")
        .where(frame["account_id"].astype("str").isin(tiers.index), "(none)")
    )


def _stage_probability(pipe: pd.DataFrame, meth: Methodology) -> np.ndarray:
    probs = {s.key: s.probability for s in meth.open_stages if s.probability is not None}
    mean = float(np.mean(list(probs.values()))) if probs else 0.0
    return pipe["stage"].astype("str").map(probs).astype("float64").fillna(mean).to_numpy()


def _amounts(pipe: pd.DataFrame, won: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    amount = pd.to_numeric(pipe["amount"], errors="coerce").to_numpy(dtype=float)
    missing = ~np.isfinite(amount) | (amount < 0)
    if not missing.any():
        return amount, missing
    won_amount = pd.to_numeric(won["amount"], errors="coerce")
    ok = won_amount.notna() & (won_amount >= 0)
    overall = float(won_amount[ok].median()) if ok.any() else 0.0
    by_line = (
        won_amount[ok].groupby(won.loc[ok, "product_line"].astype("str")).agg(["median", "size"])
    )
    line_median = by_line["median"].where(by_line["size"] >= MIN_LINE_WINS)
    fill = pipe["product_line"].astype("str").map(line_median).astype("float64").fillna(overall)
    return np.where(missing, fill.to_numpy(), amount), missing


def period_probability(
    pipe: pd.DataFrame,
    slippage: Any,
    won: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[np.ndarray, str]:
    """Chance each open deal, if won, closes inside ``[start, end]`` (given open at ``as_of``).

    With a slippage model: close = expected close + slip (weighted won-deal slips of the
    deal's stage), conditioned on closing after ``as_of``.  Without an expected close date
    or slippage: from the cycle times of won deals given the deal's age.  Returns the
    probabilities and a note on the fall-backs used ('' when none).
    """
    n = len(pipe)
    if n == 0:
        return np.zeros(0), ""
    lo = max(start, as_of + pd.Timedelta(days=1))
    if lo > end:
        return np.zeros(n), ""
    out = np.full(n, np.nan)
    ecd = pd.to_datetime(pipe["expected_close_date"])
    notes = []
    has_ecd = ecd.notna().to_numpy()
    usable = slippage is not None and getattr(slippage, "available", False)
    if usable and has_ecd.any():
        samples = slippage.samples
        samples = samples[samples["outcome"] == "won"]
        basis = slippage.summary("won").set_index("stage")["basis"]
        stages = pipe["stage"].astype("str").to_numpy()
        beyond = 0
        for stage in np.unique(stages[has_ecd]):
            rows = np.flatnonzero(has_ecd & (stages == stage))
            own = samples[samples["stage"] == stage]
            use = own if basis.get(stage, "pooled") == "stage" and len(own) else samples
            slip = use["slip_days"].to_numpy(dtype=float)
            w = use["weight"].to_numpy(dtype=float)
            order = np.argsort(slip, kind="mergesort")
            slip, w = slip[order], w[order]
            cum = np.concatenate([[0.0], np.cumsum(w)]) / w.sum()

            e = pd.DatetimeIndex(ecd.iloc[rows])
            d_lo = _days(lo, e)
            d_hi = _days(end, e)
            d_now = _days(as_of, e)
            alive = 1.0 - _cdf(slip, cum, d_now)
            inside = _cdf(slip, cum, d_hi) - _cdf(slip, cum, d_lo - 1)
            p = np.divide(inside, alive, out=np.zeros(len(rows)), where=alive > 1e-9)
            # beyond every observed slip: closes after as_of like the positive slips
            gone = alive <= 1e-9
            if gone.any():
                beyond += int(gone.sum())
                pos = slip > 0
                if pos.any():
                    ps, pw = slip[pos], w[pos] / w[pos].sum()
                    pc = np.concatenate([[0.0], np.cumsum(pw)])
                    a_lo = float((lo - as_of).days)
                    a_hi = float((end - as_of).days)
                    val = (
                        pc[np.searchsorted(ps, a_hi, side="right")]
                        - pc[np.searchsorted(ps, a_lo - 1, side="right")]
                    )
                    p[gone] = val
                else:
                    p[gone] = 1.0
            out[rows] = np.clip(p, 0.0, 1.0)
        if beyond:
            notes.append(
                f"{beyond} deals are past their expected close date by more than any won deal "
                "ever slipped: they close after the as-of date like the late deals of their stage"
            )
    rest = np.isnan(out)
    if rest.any():
        cycle = (won["closed_date"] - won["created_date"]).dt.days.dropna().to_numpy(dtype=float)
        cycle = np.sort(cycle[cycle >= 0])
        if len(cycle) == 0:
            out[rest] = 1.0
            notes.append(
                f"{int(rest.sum())} deals: no won deal to learn close dates from, so they are "
                "assumed to close inside the period"
            )
        else:
            created = pd.DatetimeIndex(
                pd.to_datetime(pipe["created_date"]).iloc[np.flatnonzero(rest)]
            )
            age_now = _days(as_of, created)
            a_lo = _days(lo, created)
            a_hi = _days(end, created)
            m = len(cycle)

            def ecdf(x: np.ndarray) -> np.ndarray:
                return np.searchsorted(cycle, x, side="right") / m

            alive = 1.0 - ecdf(age_now)
            inside = ecdf(a_hi) - ecdf(a_lo - 1)
            p = np.divide(inside, alive, out=np.zeros(len(age_now)), where=alive > 0)
            # older than every won deal: the oldest won deals' share — say it closes, at most
            # like a deal at the longest cycle seen, spread over one more cycle
            old = alive <= 0
            if old.any():
                span = max(float(cycle[-1] - np.median(cycle)), 1.0)
                p[old] = np.clip(((end - lo).days + 1) / span, 0.0, 1.0)
            out[rest] = np.clip(p, 0.0, 1.0)
            why = "no expected close date" if usable else "no close-date slippage could be measured"
            notes.append(
                f"{int(rest.sum())} deals ({why}): close dates from the cycle times of "
                f"{m:,} won deals, given each deal's age"
            )
    return out, "; ".join(notes)


def _cdf(values: np.ndarray, cum: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(X ≤ x) of a weighted sample: ``values`` sorted, ``cum`` its cumulative weights from 0."""
    return cum[np.searchsorted(values, x, side="right")]


def _days(day: pd.Timestamp, dates: pd.DatetimeIndex) -> np.ndarray:
    """Whole days from each of ``dates`` to ``day`` (float)."""
    return np.asarray((day - dates).days, dtype=float)


def _group_sums(
    frame: pd.DataFrame, column: str, labels: list[tuple[str, str]], dims: list[str]
) -> np.ndarray:
    out = np.zeros(len(labels))
    if frame.empty:
        return out
    index = {lab: i for i, lab in enumerate(labels)}
    values = pd.to_numeric(frame[column], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    out[0] = values.sum()
    for dim in dims:
        keys = frame[dim].astype("str").where(frame[dim].notna(), "(none)").to_numpy()
        for key, val in zip(keys, values, strict=True):
            col = index.get((dim, key))
            if col is not None:
                out[col] += val
    return out


def new_deal_history(
    events: Any,
    data: Any,
    period: Period,
    as_of: pd.Timestamp,
    *,
    periods: int,
    labels: list[tuple[str, str]],
    dims: list[str],
    tiers: pd.Series | None = None,
) -> tuple[np.ndarray, str]:
    """Bookings of deals created after the same point of each earlier period (rows) per group.

    For each of the last ``periods`` periods P' that ended on or before ``as_of`` and began on
    or after the first recorded close (before it the data's outcomes are incomplete): the won
    amounts of deals created after ``P'.start + (as_of − P.start)`` and won inside P'.
    Returns a (periods used × groups) array and a note.
    """
    if periods <= 0 or as_of >= pd.Timestamp(period.end):
        return np.zeros((0, len(labels))), ""
    opps = data.opportunities
    won = opps[opps["status"].astype("str").eq("won") & opps["closed_date"].notna()]
    won = won.assign(tier=_tier(won, tiers))
    offset = as_of - pd.Timestamp(period.start)
    # outcomes are recorded from the first close on: an earlier period's bookings are incomplete
    # (an export that begins recording closes later than it begins recording deals)
    closed = opps.loc[opps["status"].astype("str").isin(["won", "lost"]), "closed_date"].dropna()
    first_close = pd.Timestamp(closed.min()) if len(closed) else pd.Timestamp.max
    rows = []
    p = period.previous()
    while len(rows) < periods:
        p_start, p_end = pd.Timestamp(p.start), pd.Timestamp(p.end)
        if p_end > as_of:
            p = p.previous()
            continue
        first_seen = pd.Timestamp(opps["created_date"].min()) if len(opps) else p_end
        if pd.isna(first_seen) or p_start < first_seen or p_start < first_close:
            break
        cut = p_start + offset
        sel = won[
            (won["created_date"] > cut)
            & (won["closed_date"] >= p_start)
            & (won["closed_date"] <= p_end)
        ]
        rows.append(_group_sums(sel, "amount", labels, dims))
        p = p.previous()
    if not rows:
        return np.zeros((0, len(labels))), (
            "no complete earlier period in the data: deals not yet created are not forecast"
        )
    note = ""
    if len(rows) < periods:
        note = (
            f"deals not yet created: learnt from {len(rows)} earlier periods (of {periods} wanted)"
        )
    return np.vstack(rows), note


def default_forecast_period(
    as_of: str | pd.Timestamp, *, fiscal_year_start_month: int = 1
) -> Period:
    """The quarter a report as of ``as_of`` forecasts: the next one when ``as_of`` ends a
    quarter (the scheduled run on the last day), else the quarter ``as_of`` lies in."""
    day = parse_date(as_of, parameter="as_of", owner="default_forecast_period")
    quarter = period_of(day, "quarterly", fiscal_year_start_month=fiscal_year_start_month)
    return quarter.next() if day == quarter.end else quarter
