"""Win probability of open opportunities: a calibrated logistic model, or stage win rates.

Training sample
---------------
A deal's chance depends on where it is, so the model learns from deals *as they were while
open*: the pipeline at every month end of the last ``snapshot_months`` months
(:func:`pipeline_snapshots`, built with :func:`kamlib.pipeline.pipeline_as_of`, so each row
holds only what was known that day), labelled with the deal's final outcome.  Only deals
closed on or before the as-of date are used (nothing after it is looked at), and each deal's
rows are weighted 1 / (number of its rows), so a long-running deal counts once, like a short
one.  Caveat: deals still open at the as-of date are left out, so the sample leans towards
deals that closed quickly.

Features (all known on the snapshot day)
----------------------------------------
stage (one column per stage, the first stage is the reference), ``log1p`` of age and of
days in the stage, past-due flag, ``log`` of the amount (dropped when most open deals have
no amount, as in the Maven export), product line (lines with at least 50 rows), the deal's
contacts from ``opportunity_contacts`` / ``contacts`` (how many, their mean support −2 … +2,
an economic buyer on our side, an economic buyer against us), and the owner's win rate on
deals closed before the day, shrunk to the overall rate by ``owner_prior_deals``
pseudo-deals.

Contacts carry no history: their support and roles are today's values, a look-ahead for any
earlier date.  So the contact features are used only when the as-of date is the data's last
day (:func:`current_values_known`: a forecast of now); back-tests and forecasts as of an earlier
date fit and score the model without them (``use_contacts=False``).

Enough history
--------------
The logistic model (statsmodels GLM, binomial) is fitted when at least
``min_closed_deals`` (200) closed deals with ``min_per_outcome`` (30) won and 30 lost are
available; otherwise ``method`` is ``"stage_rates"``: the empirical win rate of each stage in
the snapshots, shrunk to the methodology's stage probability by ``stage_prior_deals``
pseudo-deals; with no closed deal at all, ``"methodology"``: the stage probabilities of the
methodology file.  ``WinProbabilityModel.reason`` says which and why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import DataValidationError
from kamlib.methodology import ForecastSettings, Methodology, resolve_methodology
from kamlib.periods import as_day

#: rows a product line needs in the training sample to get its own coefficient
MIN_LINE_ROWS = 50
#: share of open deals with an amount below which the amount is not a feature
MIN_AMOUNT_SHARE = 0.8
#: ridge penalty used when the plain maximum-likelihood fit fails (separation)
RIDGE_ALPHA = 1e-3

SNAPSHOT_COLUMNS = (
    "snapshot_date", "opportunity_id", "account_id", "owner", "team", "product_line", "stage",
    "stage_order", "amount", "age_days", "days_in_stage", "is_past_due",
)  # fmt: skip


def forecast_settings(
    methodology: Methodology | str | None,
) -> tuple[Methodology, ForecastSettings]:
    """The methodology (loaded when a path or None is given) and its forecast settings."""
    meth = resolve_methodology(methodology, owner="forecast_settings")
    return meth, meth.forecast or ForecastSettings()


# -- the training sample -------------------------------------------------------------------------
def snapshot_dates(as_of: str | pd.Timestamp, *, months: int, step: int) -> list[pd.Timestamp]:
    """Training snapshot days: ``as_of``'s month end (or ``as_of`` itself when that is later
    than the last month end before it) and every ``step``-th month end before it, back
    ``months`` months; oldest first."""
    day = as_day(as_of, owner="snapshot_dates")
    last = day if day.is_month_end else (day - pd.offsets.MonthEnd(1)).normalize()
    out = [
        (last - pd.offsets.MonthEnd(k)).normalize() if k else last for k in range(0, months, step)
    ]
    return sorted(out)


def pipeline_snapshots(
    data: Any,
    dates: list[pd.Timestamp],
    *,
    methodology: Methodology | str | None = None,
    events: Any = None,
) -> pd.DataFrame:
    """The open pipeline at each of ``dates`` (one row per deal and date) with deal features.

    Columns: ``snapshot_date``, the columns of :func:`kamlib.pipeline.pipeline_as_of`, the
    contact features (``n_contacts``, ``mean_support``, ``economic_for``,
    ``economic_against``), the owner's history (``owner_closed``, ``owner_won`` before the
    day) and the deal's final state in ``data``: ``outcome`` (won / lost / open) and
    ``closed_date``.  ``events`` (:func:`kamlib.pipeline.stage_events` of ``data``) saves
    rebuilding the event log.
    """
    from kamlib.pipeline import pipeline_as_of_many, stage_events

    meth, _ = forecast_settings(methodology)
    se = events if events is not None else stage_events(data, methodology=meth)
    # every date in one pass over the event log (rows identical to pipeline_as_of per date)
    parsed = [as_day(day, parameter="dates", owner="pipeline_snapshots") for day in dates]
    unique = list(dict.fromkeys(parsed))
    many = pipeline_as_of_many(se, unique, methodology=meth)
    if not len(many):
        return _empty_snapshots()
    if se.source == "opportunities":
        # no history: amounts are today's (a lost deal's 0, a won deal's closing value),
        # not what was known on the day — unknown, so the model cannot peek
        many = many.assign(amount=np.nan)
    # the rows come in blocks, one per unique day in order; each date of ``dates`` takes its
    # day's block, stamped with the date as given (as the per-date loop did)
    sizes = np.bincount(pd.Index(unique).get_indexer(many["as_of"]), minlength=len(unique))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    block = {day: i for i, day in enumerate(unique)}
    take, stamp = [], []
    for day, parsed_day in zip(dates, parsed, strict=True):
        b = block[parsed_day]
        if sizes[b]:
            take.append(np.arange(starts[b], starts[b] + sizes[b]))
            stamp.append(pd.Series(pd.Timestamp(day), index=range(sizes[b])))
    panel = many.drop(columns="as_of").take(np.concatenate(take)).reset_index(drop=True)
    panel["snapshot_date"] = pd.concat(stamp, ignore_index=True)
    return _with_outcome(deal_features(panel, data), data)


def _empty_snapshots() -> pd.DataFrame:
    cols = [*SNAPSHOT_COLUMNS, "n_contacts", "mean_support", "economic_for", "economic_against",
            "owner_closed", "owner_won", "outcome", "closed_date"]  # fmt: skip
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})


def _with_outcome(panel: pd.DataFrame, data: Any) -> pd.DataFrame:
    opps = data.require("opportunities", "The win-probability model")
    final = opps.drop_duplicates("opportunity_id").set_index("opportunity_id")
    status = final["status"].astype("str").str.lower()
    return panel.assign(
        outcome=panel["opportunity_id"].map(status).fillna("open").to_numpy(),
        closed_date=panel["opportunity_id"].map(final["closed_date"]).to_numpy(),
    )


def deal_features(pipeline: pd.DataFrame, data: Any) -> pd.DataFrame:
    """Add contact and owner-history features to pipeline rows (one per deal and day).

    ``pipeline`` needs ``opportunity_id`` and ``owner``; the day is ``snapshot_date`` when
    present, else ``data.as_of_date``.  Adds ``n_contacts``, ``mean_support`` (0 without
    contacts), ``economic_for`` / ``economic_against`` (an economic buyer with support ≥ 1 /
    ≤ −1 linked to the deal), ``owner_closed`` and ``owner_won`` (deals the owner closed
    before the day).
    """
    out = pipeline.copy()
    ids = out["opportunity_id"].astype("str")
    n = np.zeros(len(out))
    support = np.zeros(len(out))
    econ_for = np.zeros(len(out))
    econ_against = np.zeros(len(out))
    if data.has("opportunity_contacts") and data.has("contacts"):
        links = data.opportunity_contacts[["opportunity_id", "contact_id"]]
        people = data.contacts[["contact_id", "buying_role", "support"]]
        joined = links.merge(people, on="contact_id", how="left")
        sup = pd.to_numeric(joined["support"], errors="coerce").astype("float64")
        econ = joined["buying_role"].astype("str").str.lower().eq("economic").to_numpy()
        per = (
            pd.DataFrame(
                {
                    "opportunity_id": joined["opportunity_id"].astype("str").to_numpy(),
                    "n": 1.0,
                    "sup_sum": sup.fillna(0.0).to_numpy(),
                    "sup_n": sup.notna().to_numpy(dtype=float),
                    "econ_for": (econ & (sup >= 1).to_numpy()).astype(float),
                    "econ_against": (econ & (sup <= -1).to_numpy()).astype(float),
                }
            )
            .groupby("opportunity_id")
            .sum()
        )
        n = ids.map(per["n"]).fillna(0.0).to_numpy(dtype=float)
        s_sum = ids.map(per["sup_sum"]).fillna(0.0).to_numpy(dtype=float)
        s_n = ids.map(per["sup_n"]).fillna(0.0).to_numpy(dtype=float)
        support = np.divide(s_sum, s_n, out=np.zeros(len(out)), where=s_n > 0)
        econ_for = (ids.map(per["econ_for"]).fillna(0.0).to_numpy(dtype=float) > 0).astype(float)
        econ_against = (ids.map(per["econ_against"]).fillna(0.0).to_numpy(dtype=float) > 0) * 1.0
    out["n_contacts"] = n
    out["mean_support"] = support
    out["economic_for"] = econ_for
    out["economic_against"] = econ_against
    closed_n, closed_w = _owner_history(out, data)
    out["owner_closed"] = closed_n
    out["owner_won"] = closed_w
    return out


def _owner_history(frame: pd.DataFrame, data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Deals each row's owner closed (and won) strictly before the row's day."""
    opps = data.opportunities
    closed = opps[opps["status"].isin(["won", "lost"]) & opps["closed_date"].notna()]
    if "snapshot_date" in frame:
        days = pd.to_datetime(frame["snapshot_date"])
    else:
        day = data.as_of_date if data.as_of_date is not None else closed["closed_date"].max()
        days = pd.Series(pd.Timestamp(day), index=frame.index)
    n_out = np.zeros(len(frame))
    w_out = np.zeros(len(frame))
    if closed.empty or "owner" not in frame:
        return n_out, w_out
    # One sort of the closed deals and the rows together, by (owner, time); at equal times a
    # row comes before a deal (strictly before its day); counting the deals (and wins) since
    # the start of its owner's run gives each row's history.  A missing owner has none.
    owner_code, _ = pd.factorize(
        np.concatenate(
            [closed["owner"].astype("str").to_numpy(), frame["owner"].astype("str").to_numpy()]
        )
    )
    n_closed = len(closed)
    when = np.concatenate(
        [_ns(closed["closed_date"]), np.where(days.isna(), np.iinfo(np.int64).max, _ns(days))]
    )  # a row without a day comes after every deal (as numpy sorts NaT)
    is_row = np.r_[np.zeros(n_closed, dtype=np.int8), np.ones(len(frame), dtype=np.int8)]
    order = np.lexsort((1 - is_row, when, owner_code))
    code = owner_code[order]
    deal = (is_row[order] == 0) & (code >= 0)
    won = np.zeros(len(order))
    won[:n_closed] = closed["status"].eq("won").to_numpy(dtype=float)
    deals_so_far = np.cumsum(deal)
    wins_so_far = np.cumsum(np.where(deal, won[order], 0.0))
    run_start = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    start = np.repeat(run_start, np.diff(np.r_[run_start, len(code)]))
    before = start - 1  # the last position before the owner's run (-1: none)
    deals_before = np.where(before >= 0, deals_so_far[np.maximum(before, 0)], 0)
    wins_before = np.where(before >= 0, wins_so_far[np.maximum(before, 0)], 0.0)
    rows = np.flatnonzero((is_row[order] == 1) & (code >= 0))
    target = order[rows] - n_closed
    n_out[target] = deals_so_far[rows] - deals_before[rows]
    w_out[target] = wins_so_far[rows] - wins_before[rows]
    return n_out, w_out


def _ns(values: pd.Series) -> np.ndarray:
    """Timestamps as int64 nanoseconds (NaT: numpy's NaT integer)."""
    return pd.to_datetime(values).to_numpy(dtype="datetime64[ns]").view(np.int64)


def training_rows(panel: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Snapshot rows usable at ``as_of``: day ≤ as_of, deal closed (won/lost) by as_of.

    Adds ``won`` (1.0 / 0.0) and ``weight`` (1 / rows of the deal).
    """
    as_of = as_day(as_of, owner="training_rows")
    closed = panel["outcome"].isin(["won", "lost"]) & (panel["closed_date"] <= as_of)
    rows = panel[closed & (panel["snapshot_date"] <= as_of)].copy()
    rows["won"] = rows["outcome"].eq("won").astype(float)
    rows["weight"] = 1.0 / rows.groupby("opportunity_id")["opportunity_id"].transform("size")
    return rows


# -- the model -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Design:
    stages: tuple[str, ...]
    lines: tuple[str, ...]
    use_amount: bool
    amount_median: float
    columns: tuple[str, ...]
    means: pd.Series
    overall_rate: float
    owner_prior: float


@dataclass(frozen=True)
class WinProbabilityModel:
    """P(win) of open deals as of a date (see the module docstring for what it learns from).

    ``method``: ``"logit"``, ``"stage_rates"`` or ``"methodology"``; ``reason`` explains it.
    ``stage_rates`` (stage key → rate) is always there: it is the plain baseline.
    ``coefficients`` (log-odds per unit of each design column) only for ``"logit"``.
    """

    method: str
    reason: str
    as_of: pd.Timestamp
    n_closed: int
    n_won: int
    n_lost: int
    n_rows: int
    stage_rates: pd.Series
    coefficients: pd.Series | None = None
    standard_errors: pd.Series | None = None
    design: _Design | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    def predict(self, deals: pd.DataFrame) -> np.ndarray:
        """Win probability of each row of ``deals`` (pipeline rows with deal features)."""
        if self.method != "logit" or self.design is None or self.coefficients is None:
            return self.predict_stage_rates(deals)
        x = _matrix(deals, self.design)
        eta = x @ self.coefficients.to_numpy()
        return 1.0 / (1.0 + np.exp(-eta))

    def predict_stage_rates(self, deals: pd.DataFrame) -> np.ndarray:
        """The baseline: each deal's stage win rate."""
        fallback = float(self.stage_rates.mean()) if len(self.stage_rates) else 0.0
        rates = deals["stage"].astype("str").map(self.stage_rates).astype("float64")
        return rates.fillna(fallback).to_numpy()

    def contributions(self, deals: pd.DataFrame) -> pd.DataFrame:
        """Log-odds contribution of each feature group per deal (vs an average deal).

        Columns: one per feature group (``stage``, ``age``, ``days_in_stage``, ``past_due``,
        ``amount``, ``product_line``, ``contacts``, ``support``, ``economic_buyer``,
        ``owner_history``); empty without a logistic model.
        """
        if self.method != "logit" or self.design is None or self.coefficients is None:
            return pd.DataFrame(index=deals.index)
        x = _matrix(deals, self.design)
        centred = (x - self.design.means.to_numpy()) * self.coefficients.to_numpy()
        groups = [_group_of(c) for c in self.design.columns]
        frame = pd.DataFrame(centred, columns=list(self.design.columns), index=deals.index)
        return (
            frame.T.groupby(groups, sort=False).sum().T.drop(columns="intercept", errors="ignore")
        )

    def drivers(self, deals: pd.DataFrame, *, top: int = 2) -> pd.DataFrame:
        """Top positive and negative drivers of each deal's probability.

        Columns: ``opportunity_id``, ``p_win``, ``drivers_up``, ``drivers_down`` (feature
        groups with their log-odds contribution, e.g. ``"stage +1.20; support +0.40"``).
        """
        p = self.predict(deals)
        contrib = self.contributions(deals)
        if contrib.empty or contrib.shape[1] == 0:
            up = down = [""] * len(deals)
        else:
            names = np.array(contrib.columns, dtype=object)
            values = contrib.to_numpy(dtype=float)
            order = np.argsort(values, axis=1, kind="mergesort")
            up, down = [], []
            for row, idx in zip(values, order, strict=True):
                lo = [f"{names[j]} {row[j]:+.2f}" for j in idx[:top] if row[j] < -0.05]
                hi = [f"{names[j]} {row[j]:+.2f}" for j in idx[::-1][:top] if row[j] > 0.05]
                down.append("; ".join(lo))
                up.append("; ".join(hi))
        return pd.DataFrame(
            {
                "opportunity_id": deals["opportunity_id"].to_numpy(),
                "p_win": p,
                "drivers_up": up,
                "drivers_down": down,
            }
        )

    def summary(self) -> pd.DataFrame:
        """Coefficients (``term``, ``coef``, ``std_err``, ``z``) or the stage rates."""
        if self.coefficients is None:
            return pd.DataFrame(
                {"term": self.stage_rates.index, "coef": self.stage_rates.to_numpy()}
            )
        se = (
            self.standard_errors if self.standard_errors is not None else self.coefficients * np.nan
        )
        return pd.DataFrame(
            {
                "term": self.coefficients.index,
                "coef": self.coefficients.to_numpy(),
                "std_err": se.to_numpy(),
                "z": (self.coefficients / se).to_numpy(),
            }
        )


def _group_of(column: str) -> str:
    if column.startswith("stage="):
        return "stage"
    if column.startswith("line="):
        return "product_line"
    return {
        "log_age": "age",
        "log_days_in_stage": "days_in_stage",
        "is_past_due": "past_due",
        "log_amount": "amount",
        "log_contacts": "contacts",
        "mean_support": "support",
        "economic_for": "economic_buyer",
        "economic_against": "economic_buyer",
        "owner_rate": "owner_history",
    }.get(column, column)


def stage_win_rates(
    rows: pd.DataFrame, methodology: Methodology, *, prior_deals: float
) -> pd.Series:
    """Empirical win rate per open stage, shrunk to the methodology's stage probability.

    rate = (Σ weight·won + k · prior) / (Σ weight + k) with k = ``prior_deals``; the prior
    is the stage's ``probability`` (or the overall rate when the stage has none).
    """
    overall = float(np.average(rows["won"], weights=rows["weight"])) if len(rows) else np.nan
    out = {}
    for stage in methodology.open_stages:
        prior = stage.probability if stage.probability is not None else overall
        if prior is None or not np.isfinite(prior):
            prior = 0.0
        sel = rows[rows["stage"].astype("str") == stage.key] if len(rows) else rows
        w = float(sel["weight"].sum()) if len(sel) else 0.0
        wins = float((sel["weight"] * sel["won"]).sum()) if len(sel) else 0.0
        out[stage.key] = (
            (wins + prior_deals * prior) / (w + prior_deals) if w + prior_deals else prior
        )
    return pd.Series(out, name="win_rate", dtype="float64")


def current_values_known(data: Any, as_of: str | pd.Timestamp) -> bool:
    """Whether history-less values (today's contact support and roles; without stage history,
    the current stage of a deal still open) were known at ``as_of``.

    True only when ``as_of`` is on or after the last dated row of the data (the as-of column
    of every table that has one, and closed dates): the contact values are today's.
    """
    from kamlib.data.schemas import TABLES

    day = as_day(as_of, owner="current_values_known")
    last = []
    for table, spec in TABLES.items():
        if spec.as_of_column is None or not data.has(table):
            continue
        frame = data[table]
        for col in (spec.as_of_column, "closed_date"):
            if col in frame and frame[col].notna().any():
                last.append(pd.Timestamp(pd.to_datetime(frame[col]).max()).normalize())
    return not last or day >= max(last)


def fit_win_probability(
    panel: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp,
    open_deals: pd.DataFrame | None = None,
    methodology: Methodology | str | None = None,
    use_contacts: bool = True,
) -> WinProbabilityModel:
    """Fit the win-probability model on the snapshot rows known at ``as_of``.

    Parameters
    ----------
    panel
        :func:`pipeline_snapshots` output (it may reach past ``as_of``: rows after it and
        deals closed after it are ignored).
    as_of
        The date the model is fitted as of.
    open_deals
        The pipeline to be scored (decides whether the amount is a usable feature).
    methodology
        Methodology file (path or object); its ``forecast`` section sets the thresholds.
    use_contacts
        Use the contact features (today's values: pass :func:`current_values_known`).

    Returns
    -------
    WinProbabilityModel
    """
    meth, settings = forecast_settings(methodology)
    day = as_day(as_of, owner="fit_win_probability")
    rows = training_rows(panel, day) if len(panel) else panel.assign(won=[], weight=[])
    deals = rows.drop_duplicates("opportunity_id") if len(rows) else rows
    n_closed = len(deals)
    n_won = int(deals["won"].sum()) if n_closed else 0
    n_lost = n_closed - n_won
    rates = stage_win_rates(rows, meth, prior_deals=settings.stage_prior_deals)
    common = dict(as_of=day, n_closed=n_closed, n_won=n_won, n_lost=n_lost, n_rows=len(rows))
    if n_closed == 0:
        return WinProbabilityModel(
            method="methodology",
            reason="no deal closed before the as-of date: the stage probabilities of the "
            "methodology file are used",
            stage_rates=rates,
            **common,
        )
    if n_closed < settings.min_closed_deals or min(n_won, n_lost) < settings.min_per_outcome:
        return WinProbabilityModel(
            method="stage_rates",
            reason=(
                f"{n_closed} closed deals ({n_won} won, {n_lost} lost) before the as-of date; the "
                f"model needs {settings.min_closed_deals} with {settings.min_per_outcome} of each "
                "outcome, so empirical stage win rates are used"
            ),
            stage_rates=rates,
            **common,
        )
    design = _design(rows, meth, settings, open_deals, use_contacts=use_contacts)
    x = _matrix(rows, design)
    keep = x.std(axis=0) > 1e-9 * (1.0 + np.abs(x.mean(axis=0)))  # constant columns out
    keep[0] = True  # intercept
    design = _Design(
        stages=design.stages, lines=design.lines, use_amount=design.use_amount,
        amount_median=design.amount_median, columns=tuple(np.array(design.columns)[keep]),
        means=pd.Series(x[:, keep].mean(axis=0), index=np.array(design.columns)[keep]),
        overall_rate=design.overall_rate, owner_prior=design.owner_prior,
    )  # fmt: skip
    x = x[:, keep]
    params, se, notes = _fit_logit(x, rows["won"].to_numpy(), rows["weight"].to_numpy())
    return WinProbabilityModel(
        method="logit",
        reason=(
            f"logistic model on {len(rows):,} snapshot rows of {n_closed:,} closed deals "
            f"({n_won:,} won, {n_lost:,} lost)"
        ),
        stage_rates=rates,
        coefficients=pd.Series(params, index=list(design.columns)),
        standard_errors=pd.Series(se, index=list(design.columns)),
        design=design,
        notes=notes,
        **common,
    )


def _design(
    rows: pd.DataFrame,
    meth: Methodology,
    settings: ForecastSettings,
    open_deals: pd.DataFrame | None,
    *,
    use_contacts: bool = True,
) -> _Design:
    seen = set(rows["stage"].astype("str"))
    stages = tuple(s.key for s in meth.open_stages if s.key in seen)
    lines_count = rows["product_line"].astype("str").value_counts()
    lines = tuple(sorted(lines_count[lines_count >= MIN_LINE_ROWS].index))[1:]
    amounts = pd.to_numeric(rows["amount"], errors="coerce")
    use_amount = bool((amounts > 0).mean() >= MIN_AMOUNT_SHARE)
    if open_deals is not None and len(open_deals):
        scored = pd.to_numeric(open_deals["amount"], errors="coerce")
        use_amount = use_amount and bool((scored > 0).mean() >= MIN_AMOUNT_SHARE)
    median = float(amounts[amounts > 0].median()) if (amounts > 0).any() else 1.0
    overall = float(np.average(rows["won"], weights=rows["weight"]))
    columns = ["intercept", *(f"stage={s}" for s in stages[1:]), "log_age", "log_days_in_stage",
               "is_past_due"]  # fmt: skip
    if use_amount:
        columns.append("log_amount")
    columns += [f"line={ln}" for ln in lines]
    if use_contacts:
        columns += ["log_contacts", "mean_support", "economic_for", "economic_against"]
    columns.append("owner_rate")
    return _Design(
        stages=stages, lines=lines, use_amount=use_amount, amount_median=median,
        columns=tuple(columns), means=pd.Series(dtype="float64"), overall_rate=overall,
        owner_prior=settings.owner_prior_deals,
    )  # fmt: skip


def _matrix(deals: pd.DataFrame, design: _Design) -> np.ndarray:
    n = len(deals)
    stage = deals["stage"].astype("str").to_numpy()
    line = deals["product_line"].astype("str").to_numpy()
    amount = pd.to_numeric(deals["amount"], errors="coerce").to_numpy(dtype=float)
    amount = np.where(np.isfinite(amount) & (amount > 0), amount, design.amount_median)
    owner_n = _col(deals, "owner_closed")
    owner_w = _col(deals, "owner_won")
    k = design.owner_prior
    owner_rate = (owner_w + k * design.overall_rate) / np.maximum(owner_n + k, 1e-9)
    values: dict[str, np.ndarray] = {
        "intercept": np.ones(n),
        "log_age": np.log1p(np.maximum(_col(deals, "age_days"), 0)),
        "log_days_in_stage": np.log1p(np.maximum(_col(deals, "days_in_stage"), 0)),
        "is_past_due": _col(deals, "is_past_due"),
        "log_amount": np.log(amount / design.amount_median),
        "log_contacts": np.log1p(_col(deals, "n_contacts")),
        "mean_support": _col(deals, "mean_support"),
        "economic_for": _col(deals, "economic_for"),
        "economic_against": _col(deals, "economic_against"),
        "owner_rate": owner_rate - design.overall_rate,
    }
    cols = []
    for c in design.columns:
        if c.startswith("stage="):
            cols.append((stage == c[6:]).astype(float))
        elif c.startswith("line="):
            cols.append((line == c[5:]).astype(float))
        else:
            cols.append(values[c])
    return np.column_stack(cols) if cols else np.zeros((n, 0))


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.zeros(len(frame))
    values = pd.to_numeric(frame[name], errors="coerce").astype("float64").to_numpy()
    return np.where(np.isfinite(values), values, 0.0)


def _fit_logit(
    x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    import statsmodels.api as sm

    model = sm.GLM(y, x, family=sm.families.Binomial(), freq_weights=w)
    notes: tuple[str, ...] = ()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = model.fit()
        params, se = np.asarray(result.params), np.asarray(result.bse)
        if not (np.isfinite(params).all() and np.abs(params).max() < 25):
            raise ValueError("non-finite or separated coefficients")
    except (ValueError, ArithmeticError, Warning) as exc:  # separation, no convergence, a
        # singular design (LinAlgError is a ValueError), warnings made errors: a small ridge penalty
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = model.fit_regularized(alpha=RIDGE_ALPHA, L1_wt=0.0)
        params = np.asarray(result.params)
        se = np.full(len(params), np.nan)
        notes = (f"maximum likelihood failed ({type(exc).__name__}: {exc}); ridge penalty "
                 f"{RIDGE_ALPHA:g} used, standard errors not available",)  # fmt: skip
    if not np.isfinite(params).all():
        raise DataValidationError(
            "The win-probability model did not converge even with a penalty. Check the "
            "opportunities for extreme amounts or ages; or lower min_closed_deals is not the "
            "fix — raise it to use stage rates."
        )
    return params, se, notes


# -- evaluation ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class WinProbabilityEvaluation:
    """Time-based hold-out: fitted as of ``cutoff``, judged on snapshots after it.

    ``metrics``: one row per method (``model``, ``stage_rates``) with ``auc``, ``brier``,
    ``rows``, ``deals``; ``reliability``: ten bins of predicted probability with
    ``predicted``, ``observed``, ``rows`` per method.
    """

    cutoff: pd.Timestamp
    as_of: pd.Timestamp
    method: str
    metrics: pd.DataFrame
    reliability: pd.DataFrame


def auc_score(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    """Area under the ROC curve (weighted Mann–Whitney; ties count one half)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
    pos, neg = y == 1, y == 0
    wp, wn = w[pos].sum(), w[neg].sum()
    if wp == 0 or wn == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    ps, ys, ws = p[order], y[order], w[order]
    uniq, start = np.unique(ps, return_index=True)
    neg_w = np.add.reduceat(ws * (ys == 0), start)
    pos_w = np.add.reduceat(ws * (ys == 1), start)
    below = np.cumsum(neg_w) - neg_w
    return float(np.sum(pos_w * (below + 0.5 * neg_w)) / (wp * wn))


def evaluate_win_probability(
    panel: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp,
    methodology: Methodology | str | None = None,
) -> WinProbabilityEvaluation:
    """AUC, Brier score and reliability on a time-based hold-out, model vs stage rates.

    The model is fitted as of ``as_of`` minus ``holdout_months`` and judged on the snapshot
    rows after that cutoff of deals closed by ``as_of`` (weighted one per deal).
    """
    meth, settings = forecast_settings(methodology)
    day = as_day(as_of, owner="evaluate_win_probability")
    cutoff = (day - pd.DateOffset(months=settings.holdout_months)).normalize()
    model = fit_win_probability(panel, as_of=cutoff, methodology=meth)
    rows = training_rows(panel, day) if len(panel) else panel
    test = rows[rows["snapshot_date"] > cutoff] if len(rows) else rows
    if len(test):
        test = test.assign(
            weight=1.0 / test.groupby("opportunity_id")["opportunity_id"].transform("size")
        )
    metrics = []
    bins = []
    predictions = {
        "model": model.predict(test) if len(test) else np.zeros(0),
        "stage_rates": model.predict_stage_rates(test) if len(test) else np.zeros(0),
    }
    for name, p in predictions.items():
        y = test["won"].to_numpy(dtype=float) if len(test) else np.zeros(0)
        w = test["weight"].to_numpy(dtype=float) if len(test) else np.zeros(0)
        ok = len(y) > 0
        metrics.append(
            {
                "method": name,
                "auc": auc_score(y, p, w) if ok else float("nan"),
                "brier": float(np.average((p - y) ** 2, weights=w)) if ok else float("nan"),
                "rows": len(y),
                "deals": int(test["opportunity_id"].nunique()) if ok else 0,
            }
        )
        if ok:
            edges = np.linspace(0, 1, 11)
            b = np.clip(np.digitize(p, edges[1:-1]), 0, 9)
            for k in range(10):
                sel = b == k
                if sel.any():
                    bins.append(
                        {
                            "method": name,
                            "bin": f"{edges[k]:.1f}–{edges[k + 1]:.1f}",
                            "predicted": float(np.average(p[sel], weights=w[sel])),
                            "observed": float(np.average(y[sel], weights=w[sel])),
                            "rows": int(sel.sum()),
                        }
                    )
    reliability = pd.DataFrame(bins, columns=["method", "bin", "predicted", "observed", "rows"])
    return WinProbabilityEvaluation(
        cutoff=cutoff, as_of=day, method=model.method, metrics=pd.DataFrame(metrics),
        reliability=reliability,
    )  # fmt: skip
