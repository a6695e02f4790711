"""When open deals close: a discrete-time competing-risks hazard model (won / lost), with censoring.

A deal is followed from its start (created date) in age buckets of ``bucket_days`` days.  In
each bucket it is still open, won or lost — two competing outcomes.  The history known at
``as_of`` becomes person-period rows (:func:`close_histories`): one row per deal and bucket
it was observed open at the bucket's start, its outcome in that bucket.  Deals still open at
``as_of`` (including deals closed later: nothing after ``as_of`` is looked at) are
**censored**: they add their complete open buckets, never an event — so the deals that never
close (a real export ends with many of them) lower the hazards of the ages they lived
through, instead of being left out as in a sample of closed deals.

Left truncation: when the data holds no close before some day (an export that starts
recording outcomes then — a deal closed earlier is simply not in it), buckets that began
before the first recorded close are not counted as exposure (the deals seen then are only
the survivors).

Model (:func:`fit_close_timing`)
--------------------------------
The cause-specific hazards h_won(k, x) and h_lost(k, x) of bucket k form a multinomial logit
(open / won / lost) on

- the age bucket: one level per bucket (or per few neighbouring buckets, at most
  ``MAX_AGE_LEVELS``) up to the ``close_age_quantile`` of closed deals' ages at close, one
  tail level beyond;
- the stage at the bucket's start, only when the data has stage history (without it the
  stage is today's: a look-ahead); between buckets an open deal moves between stages by the
  observed transition shares (:func:`stage_transitions`);
- the log amount, when at least 80% of the deals have one;
- the product line (lines with at least ``MIN_LINE_EVENTS`` events; the others pooled);
- the calendar: the position of the bucket's first day in its fiscal quarter (month 1, 2 or
  3: quarter-end pushes), when each position holds ``min_events`` closes; known in advance,
  so no look-ahead.

It is estimated as two binomial GLMs (statsmodels), won vs still open and lost vs still
open — the Begg & Gray (1984) individualised regressions, consistent for the multinomial
logit — on the distinct covariate cells with their counts.  Each level (age, stage, line,
quarter month) also gets one pseudo-row at the overall hazard (a weak prior, so a level with
no event gets a hazard near 0 instead of a separated fit).  With fewer than ``min_events``
wins (or losses) before ``as_of``, or no covariate but age, the nonparametric life table
(Aalen–Johansen for a discrete time scale): h_won(k) = won_k / at_risk_k, h_lost(k) =
lost_k / at_risk_k.

statsmodels, not lifelines: lifelines pins pandas < 3, and the pandas downgrade it forces
breaks kamlib (pinned to pandas 3).

Prediction (:meth:`CloseTimingModel.incidence`)
-----------------------------------------------
Within a bucket the hazard is spread evenly over its days (daily hazard
1 − (1 − h)^(1/bucket_days), split won / lost in the bucket's proportions).  For an open deal
of age a at ``as_of`` (stage and amount held at their values on ``as_of``), given that it is
open then: ``p_won_window`` = P(won on a day inside [start, end]) — the cumulative incidence
of "won" over the window —, ``p_lost_window``, ``p_won_ever`` and ``p_close_ever`` (the
cumulative incidences to infinity; the tail hazard continues forever).  Won and lost compete,
so p_won + p_lost ≤ 1 over any window.

Zombie deals (:func:`zombie_deals`): older than the ``zombie_age_quantile`` of the ages at
close of every deal closed by ``as_of``, or with ``p_close_ever`` below
``zombie_min_close_probability``: the forecast does not count on them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import DataValidationError
from kamlib.frames import isin
from kamlib.periods import as_day

#: events (wins + losses) a product line needs for its own hazard terms
MIN_LINE_EVENTS = 30
#: most age levels of the hazard GLM (neighbouring buckets share a level beyond that)
MAX_AGE_LEVELS = 20
#: share of deals with an amount needed to use the log amount
MIN_AMOUNT_SHARE = 0.8
#: ridge penalty used when the plain maximum-likelihood fit fails
RIDGE_ALPHA = 1e-4
#: outcome codes of the person-period rows
OPEN, WON, LOST = 0, 1, 2

PERSON_PERIOD_COLUMNS = (
    "opportunity_id", "bucket", "bucket_start", "stage", "product_line", "amount", "event",
)  # fmt: skip
INCIDENCE_COLUMNS = ("p_won_window", "p_lost_window", "p_won_ever", "p_close_ever")


# -- the history ---------------------------------------------------------------------------------
def close_histories(events: Any, *, as_of: pd.Timestamp) -> pd.DataFrame:
    """One row per deal started by ``as_of``: how long it was followed and how it ended.

    ``events`` is :func:`kamlib.pipeline.stage_events` output (any date range: only events on
    or before ``as_of`` are used).  Columns: ``opportunity_id``, ``start_date``, ``close_age``
    (days from start to the close, or to ``as_of`` when still open then), ``outcome``
    (``"won"``, ``"lost"`` or ``"open"`` = censored at ``as_of``), ``product_line``,
    ``amount`` (the last amount recorded by ``as_of``; NaN when none).
    """
    day = as_day(as_of, owner="close_histories")
    opps = events.opportunities
    opps = opps[opps["start_date"].notna() & (opps["start_date"] <= day)]
    ev = events.events
    ev = ev[(ev["day"] <= day) & isin(ev["opportunity_id"], opps["opportunity_id"])]
    closes = (
        ev[ev["status"].isin(["won", "lost"])]
        .groupby("opportunity_id", sort=False)
        .head(1)
        .set_index("opportunity_id")
    )
    last_amount = (
        ev.dropna(subset=["amount"]).groupby("opportunity_id", sort=False)["amount"].last()
    )
    ids = opps["opportunity_id"]
    start = pd.to_datetime(opps["start_date"]).dt.normalize()
    # by position (reindex): mapping by an empty datetime Series (no close yet) fails in
    # pandas 3, and a dict walks the text ids in Python
    close_day = pd.to_datetime(pd.Series(closes["day"].reindex(ids).to_numpy(), index=ids.index))
    outcome = pd.Series(closes["status"].reindex(ids).to_numpy(), index=ids.index)
    outcome = outcome.astype("object").where(outcome.notna(), "open").astype("str")
    end = close_day.where(close_day.notna(), day)
    if events.source == "opportunities":
        amount = pd.Series(np.nan, index=opps.index)  # today's amounts: unknown then
    else:
        amount = ids.map(last_amount).astype("float64")
    out = pd.DataFrame(
        {
            "opportunity_id": ids.astype("str").array,
            "start_date": start.to_numpy(),
            "close_age": np.maximum((end - start).dt.days.to_numpy(dtype="int64"), 0),
            "outcome": outcome.to_numpy(),
            "product_line": opps["product_line"].astype("str").array,
            "amount": amount.to_numpy(dtype="float64"),
        }
    )
    return out.sort_values("opportunity_id", kind="mergesort").reset_index(drop=True)


def person_periods(
    histories: pd.DataFrame,
    *,
    bucket_days: int,
    history_start: pd.Timestamp | None = None,
    stages: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Person-period rows of :func:`close_histories`: one per deal and age bucket at risk.

    A deal closed at age c has buckets 0 … c // bucket_days, the last one with its event; a
    censored deal followed to age a has the buckets it was seen open from start to end,
    0 … (a + 1) // bucket_days − 1, all without event.  Buckets that ended before
    ``history_start`` are dropped (left truncation).  ``stages`` (``opportunity_id``,
    ``day``, ``stage``: the open-stage events) gives each bucket the stage at its start.

    Columns: :data:`PERSON_PERIOD_COLUMNS`; ``event`` is 0 open, 1 won, 2 lost.
    """
    h = histories
    closed = h["outcome"].isin(["won", "lost"]).to_numpy()
    age = h["close_age"].to_numpy(dtype="int64")
    n_buckets = np.where(closed, age // bucket_days + 1, (age + 1) // bucket_days)
    n_buckets = np.maximum(n_buckets, 0)
    rows = np.repeat(np.arange(len(h)), n_buckets)
    first = np.repeat(np.cumsum(n_buckets) - n_buckets, n_buckets)
    bucket = np.arange(len(rows)) - first
    last = bucket == n_buckets[rows] - 1
    code = np.select(
        [h["outcome"].to_numpy() == "won", h["outcome"].to_numpy() == "lost"], [WON, LOST], OPEN
    )
    event = np.where(last & closed[rows], code[rows], OPEN)
    start = h["start_date"].to_numpy(dtype="datetime64[us]")[rows]
    bucket_start = start + (bucket * bucket_days).astype("timedelta64[D]")
    out = pd.DataFrame(
        {
            # taken as Arrow text, not as millions of Python strings
            "opportunity_id": h["opportunity_id"].array.take(rows),
            "bucket": bucket.astype("int64"),
            "bucket_start": bucket_start,
            "stage": "",
            "product_line": h["product_line"].array.take(rows),
            "amount": h["amount"].to_numpy(dtype="float64")[rows],
            "event": event.astype("int64"),
        }
    )
    if history_start is not None and len(out):
        first = np.datetime64(pd.Timestamp(history_start), "us") - np.timedelta64(
            bucket_days - 1, "D"
        )
        out = out[out["bucket_start"] >= first]
    if stages is not None and len(out) and len(stages):
        out = _stage_at(out, stages)
    return out.reset_index(drop=True)


def _stage_at(rows: pd.DataFrame, stages: pd.DataFrame) -> pd.DataFrame:
    """Each row's stage at its bucket start (the last open-stage event on or before it).

    The deals are matched by integer codes of their ids (one factorization of both sides):
    ``merge_asof`` by a text column hashes it per call."""
    codes, _ = pd.factorize(
        pd.concat([rows["opportunity_id"], stages["opportunity_id"]], ignore_index=True)
    )
    left = rows.reset_index(drop=True).assign(_row=np.arange(len(rows)), _deal=codes[: len(rows)])
    left = left.sort_values("bucket_start", kind="mergesort")
    right = pd.DataFrame(
        {
            "_deal": codes[len(rows) :],
            "bucket_start": pd.to_datetime(stages["day"]).astype("datetime64[us]").to_numpy(),
            "stage": stages["stage"].array,
        }
    ).sort_values("bucket_start", kind="mergesort")
    merged = pd.merge_asof(
        left.drop(columns="stage"), right, on="bucket_start", by="_deal", direction="backward"
    )
    first = right.groupby("_deal", sort=False)["stage"].first()
    merged["stage"] = merged["stage"].fillna(merged["_deal"].map(first)).fillna("unknown")
    return merged.sort_values("_row", kind="mergesort").drop(columns=["_row", "_deal"])


# -- the model -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CloseTimingModel:
    """Competing-risks close timing fitted as of ``as_of`` (see the module docstring).

    ``method``: ``"hazard"`` (the two GLMs), ``"life_table"`` (nonparametric, age only) or
    ``"none"`` (no deal closed by ``as_of``: nothing to learn from).  ``reason`` says why.
    ``life_table`` (always there): per age bucket ``bucket`` (the last is the tail, all older
    ages), ``at_risk``, ``won``, ``lost``, ``h_won``, ``h_lost``.  ``close_age_limit`` is the
    ``close_age_quantile`` of the ages at close (days) of deals closed by ``as_of``.
    """

    method: str
    reason: str
    as_of: pd.Timestamp
    bucket_days: int
    n_deals: int
    n_won: int
    n_lost: int
    n_censored: int
    n_rows: int
    close_age_limit: float
    history_start: pd.Timestamp | None
    life_table: pd.DataFrame = field(repr=False)
    tail_bucket: int = 0
    age_width: int = 1
    max_age: float = 0.0
    stages: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()
    use_amount: bool = False
    amount_median: float = 1.0
    columns: tuple[str, ...] = ()
    transitions: pd.DataFrame | None = field(default=None, repr=False)
    stage_shares: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"), repr=False)
    fiscal_year_start_month: int = 1
    coef_won: pd.Series | None = field(default=None, repr=False)
    coef_lost: pd.Series | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    def hazards(
        self, deals: pd.DataFrame, *, stage: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-bucket hazards (deals × buckets 0 … tail) of won and lost.

        ``deals`` needs ``stage``, ``product_line`` and ``amount`` when the model uses them;
        ``stage`` overrides the deals' stage (for the stage-transition propagation).
        """
        k = self.tail_bucket + 1
        n = len(deals)
        if self.method != "hazard" or self.coef_won is None or self.coef_lost is None:
            lt = self.life_table
            hw = np.broadcast_to(lt["h_won"].to_numpy(dtype=float), (n, k)).copy()
            hl = np.broadcast_to(lt["h_lost"].to_numpy(dtype=float), (n, k)).copy()
            return hw, hl
        hw = np.zeros((n, k))
        hl = np.zeros((n, k))
        base = _covariates(deals, self)
        if stage is not None:
            base["stage"] = np.full(n, stage, dtype=object)
        for b in range(k):
            x = _design_matrix(b, base, self)
            ew = np.exp(np.clip(x @ self.coef_won.to_numpy(), -50, 50))
            el = np.exp(np.clip(x @ self.coef_lost.to_numpy(), -50, 50))
            den = 1.0 + ew + el
            hw[:, b] = ew / den
            hl[:, b] = el / den
        return hw, hl

    def incidence(
        self,
        deals: pd.DataFrame,
        *,
        start: pd.Timestamp,
        end: pd.Timestamp,
    ) -> pd.DataFrame:
        """Cumulative incidences of each open deal given it is open at ``as_of``.

        ``deals`` needs ``age_days`` (at ``as_of``) and the covariates the model uses.  The
        window is ``[max(start, as_of + 1 day), end]``.  With stages, an open deal moves
        between stages at bucket ends by :attr:`transitions` (a discrete-time multi-state
        model), so an early-stage deal can still be won later.  Returns
        :data:`INCIDENCE_COLUMNS` (index of ``deals``).
        """
        n = len(deals)
        out = pd.DataFrame({c: np.zeros(n) for c in INCIDENCE_COLUMNS}, index=deals.index)
        if n == 0 or self.method == "none":
            return out
        age = pd.to_numeric(deals["age_days"], errors="coerce").fillna(0).to_numpy(dtype=float)
        age = np.maximum(age, 0.0)
        lo = max(pd.Timestamp(start), self.as_of + pd.Timedelta(days=1))
        w_lo = age + float((lo - self.as_of).days)  # first age inside the window
        w_hi = age + float((pd.Timestamp(end) - self.as_of).days)  # last age inside
        moving = self.method == "hazard" and self.transitions is not None and len(self.stages) > 1
        if moving:
            levels = list(self.stages)
            pairs = [self.hazards(deals, stage=st) for st in levels]
            hw = np.stack([p[0] for p in pairs], axis=2)  # deals × buckets × stages
            hl = np.stack([p[1] for p in pairs], axis=2)
            now = deals["stage"].astype("str").to_numpy()
            dist = np.zeros((n, len(levels)))
            known = np.isin(now, levels)
            dist[known, [levels.index(s) for s in now[known]]] = 1.0
            # a stage the model has not seen: spread like the history's deal-buckets
            dist[~known] = self.stage_shares.reindex(levels).fillna(0.0).to_numpy()
            trans = self.transitions.loc[levels, levels].to_numpy(dtype=float)
        else:
            h1, h2 = self.hazards(deals)
            hw, hl = h1[:, :, None], h2[:, :, None]
            dist = np.ones((n, 1))
            trans = np.ones((1, 1))
        won_w, lost_w, won_e, close_e = (np.zeros((n, dist.shape[1])) for _ in range(4))
        b = self.bucket_days
        for k in range(self.tail_bucket + 1):
            h = hw[:, k, :] + hl[:, k, :]
            share_w = np.divide(hw[:, k, :], h, out=np.zeros_like(h), where=h > 0)
            daily_keep = np.power(np.clip(1.0 - h, 0.0, 1.0), 1.0 / b)
            seg_lo = np.maximum(k * b, age + 1)[:, None]
            hi = (k + 1) * b - 1.0
            if k == self.tail_bucket:  # the tail lasts to the oldest age ever seen at risk
                hi = max(self.max_age, hi)
            days = np.maximum(hi - seg_lo + 1, 0)
            in_lo = np.maximum(seg_lo, w_lo[:, None])
            in_hi = np.minimum(hi, w_hi[:, None])
            n_in = np.maximum(in_hi - in_lo + 1, 0)
            n_before = np.clip(in_lo - seg_lo, 0, days)
            p_in = dist * np.power(daily_keep, n_before) * (1.0 - np.power(daily_keep, n_in))
            won_w += np.where(n_in > 0, p_in * share_w, 0.0)
            lost_w += np.where(n_in > 0, p_in * (1.0 - share_w), 0.0)
            gone = dist * (1.0 - np.power(daily_keep, days))
            won_e += gone * share_w
            close_e += gone
            dist = dist - gone
            if moving and k < self.tail_bucket:
                started = (days > 0).any(axis=1)  # only deals that lived through the bucket move
                dist[started] = dist[started] @ trans
        out["p_won_window"] = np.clip(won_w.sum(axis=1), 0.0, 1.0)
        out["p_lost_window"] = np.clip(lost_w.sum(axis=1), 0.0, 1.0)
        out["p_won_ever"] = np.clip(won_e.sum(axis=1), 0.0, 1.0)
        out["p_close_ever"] = np.clip(close_e.sum(axis=1), 0.0, 1.0)
        return out

    def summary(self) -> dict[str, Any]:
        """Method, counts and limits (JSON-ready)."""
        return {
            "method": self.method,
            "reason": self.reason,
            "bucket_days": self.bucket_days,
            "deals": self.n_deals,
            "won": self.n_won,
            "lost": self.n_lost,
            "censored": self.n_censored,
            "rows": self.n_rows,
            "close_age_limit": float(self.close_age_limit),
        }


def _covariates(frame: pd.DataFrame, model: CloseTimingModel) -> dict[str, np.ndarray]:
    n = len(frame)
    stage = (
        frame["stage"].astype("str").to_numpy()
        if "stage" in frame
        else np.full(n, "", dtype=object)
    )
    line = (
        frame["product_line"].astype("str").to_numpy()
        if "product_line" in frame
        else np.full(n, "", dtype=object)
    )
    amount = (
        pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=float)
        if "amount" in frame
        else np.full(n, np.nan)
    )
    amount = np.where(np.isfinite(amount) & (amount > 0), amount, model.amount_median)
    # on a grid of 0.25 (a factor of about 1.28): the design rows then aggregate well
    log_amount = np.round(4.0 * np.log(amount / model.amount_median)) / 4.0
    # the deal's start day: from the rows' bucket start, or as_of − age for open deals
    if "bucket_start" in frame:
        start = pd.to_datetime(frame["bucket_start"]).to_numpy(dtype="datetime64[D]") - (
            frame["bucket"].to_numpy(dtype="int64") * model.bucket_days
        ).astype("timedelta64[D]")
    else:
        age = pd.to_numeric(frame["age_days"], errors="coerce").fillna(0).to_numpy(dtype="int64")
        start = np.datetime64(model.as_of.date(), "D") - age.astype("timedelta64[D]")
    return {"stage": stage, "line": line, "log_amount": log_amount, "start": start}


def quarter_month(days: np.ndarray, *, fiscal_year_start_month: int = 1) -> np.ndarray:
    """Position of each day's month in its (fiscal) quarter: 0, 1 or 2."""
    month = np.asarray(days, dtype="datetime64[M]").astype("int64") % 12  # 0 = January
    return (month - (fiscal_year_start_month - 1)) % 3


def _design_matrix(
    bucket: int | np.ndarray, base: dict[str, np.ndarray], model: CloseTimingModel
) -> np.ndarray:
    n = len(base["stage"])
    raw = np.broadcast_to(np.asarray(bucket), (n,)).astype("int64")
    b = np.minimum(raw, model.tail_bucket)
    if "quarter_month" in base:
        qm = base["quarter_month"]
    else:  # the calendar position of the bucket's first day (never after as_of in history)
        first_day = base["start"] + (raw * model.bucket_days).astype("timedelta64[D]")
        qm = quarter_month(first_day, fiscal_year_start_month=model.fiscal_year_start_month)
    w = model.age_width
    level = np.where(b >= model.tail_bucket, -(-model.tail_bucket // w), b // w)
    cols = []
    for c in model.columns:
        if c == "intercept":
            cols.append(np.ones(n))
        elif c.startswith("age="):
            cols.append((level == int(c[4:])).astype(float))
        elif c.startswith("stage="):
            cols.append((base["stage"] == c[6:]).astype(float))
        elif c.startswith("line="):
            cols.append((base["line"] == c[5:]).astype(float))
        elif c == "log_amount":
            cols.append(base["log_amount"])
        elif c.startswith("quarter_month="):
            cols.append((qm == int(c[14:])).astype(float))
        else:  # pragma: no cover - the columns are made by _columns
            raise DataValidationError(f"Unknown close-timing design column {c!r}; this is a bug.")
    return np.column_stack(cols) if cols else np.zeros((n, 0))


def life_table(
    rows: pd.DataFrame, *, tail_bucket: int, weights: np.ndarray | None = None
) -> pd.DataFrame:
    """The discrete-time life table of person-period rows (buckets ≥ ``tail_bucket`` pooled).

    Columns: ``bucket``, ``at_risk``, ``won``, ``lost``, ``h_won`` (won / at_risk),
    ``h_lost`` (lost / at_risk); a bucket nobody was at risk in has hazards 0.
    """
    b = np.minimum(rows["bucket"].to_numpy(dtype="int64"), tail_bucket)
    ev = rows["event"].to_numpy(dtype="int64")
    w = np.ones(len(b)) if weights is None else np.asarray(weights, dtype=float)
    k = tail_bucket + 1
    at_risk = np.bincount(b, weights=w, minlength=k)
    won = np.bincount(b, weights=(ev == WON) * w, minlength=k)
    lost = np.bincount(b, weights=(ev == LOST) * w, minlength=k)
    h_won = np.divide(won, at_risk, out=np.zeros(k), where=at_risk > 0)
    h_lost = np.divide(lost, at_risk, out=np.zeros(k), where=at_risk > 0)
    return pd.DataFrame(
        {"bucket": np.arange(k), "at_risk": at_risk, "won": won, "lost": lost,
         "h_won": h_won, "h_lost": h_lost}
    )  # fmt: skip


def fit_close_timing(
    events: Any,
    *,
    as_of: str | pd.Timestamp,
    bucket_days: int = 7,
    min_events: int = 30,
    close_age_quantile: float = 0.99,
    covariates: bool = True,
    calendar: bool = True,
    fiscal_year_start_month: int = 1,
) -> CloseTimingModel:
    """Fit the close-timing model on the history known at ``as_of``.

    Parameters
    ----------
    events
        :func:`kamlib.pipeline.stage_events` output (events after ``as_of`` are ignored).
    as_of
        The date the model is fitted as of (end of day).
    bucket_days
        Length of an age bucket (days).
    min_events
        Wins and losses (each) needed for the GLM; with fewer, the life table.
    close_age_quantile
        Quantile of the closed deals' ages at close beyond which ages share one tail level
        (and beyond which an open deal is a zombie, :func:`zombie_deals`).
    calendar, fiscal_year_start_month
        Let the hazards depend on the month's position in the (fiscal) quarter (quarter-end
        pushes), when each position holds at least ``min_events`` closes.
    covariates
        False: the life table by age only (cheaper; what the zombie rule needs when no deal
        is timed by the hazard model).

    Returns
    -------
    CloseTimingModel

    Examples
    --------
    >>> se = stage_events(load("data/demo.duckdb"))  # doctest: +SKIP
    >>> m = fit_close_timing(se, as_of="2026-06-30")  # doctest: +SKIP
    >>> m.incidence(pipe, start="2026-07-01", end="2026-09-30")  # doctest: +SKIP
    """
    if int(bucket_days) < 1:
        raise DataValidationError(
            f"The 'bucket_days' parameter of fit_close_timing must be at least 1. Got "
            f"{bucket_days!r} instead."
        )
    b = int(bucket_days)
    day = as_day(as_of, owner="fit_close_timing")
    hist = close_histories(events, as_of=day)
    closed = hist[hist["outcome"] != "open"]
    n_won = int((hist["outcome"] == "won").sum())
    n_lost = int((hist["outcome"] == "lost").sum())
    common: dict[str, Any] = dict(
        as_of=day, bucket_days=b, n_deals=len(hist), n_won=n_won, n_lost=n_lost,
        n_censored=int((hist["outcome"] == "open").sum()),
    )  # fmt: skip
    if closed.empty:
        return CloseTimingModel(
            method="none", reason="no deal closed by the as-of date: close timing unknown",
            n_rows=0, close_age_limit=float("inf"), history_start=None,
            life_table=life_table(hist.iloc[:0].assign(bucket=[], event=[]), tail_bucket=0),
            **common,
        )  # fmt: skip
    limit = float(np.quantile(closed["close_age"].to_numpy(dtype=float), close_age_quantile))
    tail = int(limit // b) + 1
    close_days = pd.to_datetime(closed["start_date"]) + pd.to_timedelta(closed["close_age"], "D")
    history_start = pd.Timestamp(close_days.min())
    quick = float(np.quantile(closed["close_age"].to_numpy(dtype=float), 0.1))
    truncated = history_start > pd.Timestamp(hist["start_date"].min()) + pd.Timedelta(
        days=quick + b
    )
    stages = None
    if events.source == "stage_history":
        ev = events.events
        stages = ev[(ev["day"] <= day) & (ev["status"] == "open")][
            ["opportunity_id", "day", "stage"]
        ]
    rows = person_periods(
        hist, bucket_days=b, history_start=history_start if truncated else None, stages=stages
    )
    recency = np.ones(len(rows))  # every deal-bucket counts once
    lt = life_table(rows, tail_bucket=tail, weights=recency)
    common.update(
        n_rows=len(rows), close_age_limit=limit, max_age=float(hist["close_age"].max()),
        history_start=history_start if truncated else None, life_table=lt, tail_bucket=tail,
    )  # fmt: skip
    notes = []
    if truncated:
        notes.append(
            f"no close is recorded before {history_start.date()}: exposure from then on only "
            "(deals seen earlier are the survivors)"
        )
    ev_won = int((rows["event"] == WON).sum())
    ev_lost = int((rows["event"] == LOST).sum())
    counted = (
        f"life table by age ({ev_won:,} wins, {ev_lost:,} losses, "
        f"{common['n_censored']:,} deals censored)"
    )

    def life_table_model(reason: str) -> CloseTimingModel:
        return CloseTimingModel(method="life_table", reason=reason, notes=tuple(notes), **common)

    if not covariates:
        return life_table_model(counted)
    if min(ev_won, ev_lost) < min_events:
        return life_table_model(
            f"{ev_won} wins and {ev_lost} losses in the follow-up (the hazard model needs "
            f"{min_events} of each): life table by age"
        )
    # covariates
    use_stage = stages is not None
    stage_levels: tuple[str, ...] = ()
    if use_stage:
        counts = rows["stage"].astype("str").value_counts()
        stage_levels = tuple(s for s in sorted(counts.index) if counts[s] >= 1)
    events_by_line = rows[rows["event"] != OPEN]["product_line"].astype("str").value_counts()
    lines = tuple(sorted(events_by_line[events_by_line >= MIN_LINE_EVENTS].index))
    amounts = pd.to_numeric(hist["amount"], errors="coerce")
    use_amount = bool((amounts > 0).mean() >= MIN_AMOUNT_SHARE)
    median = float(amounts[amounts > 0].median()) if (amounts > 0).any() else 1.0
    # one age level per bucket, or per few neighbouring buckets when there are many; the tail
    # (older than nearly every closed deal) always has its own
    width = -(-tail // MAX_AGE_LEVELS)
    n_levels = -(-tail // width)
    columns = ["intercept", *(f"age={k}" for k in range(1, n_levels + 1))]
    columns += [f"stage={s}" for s in stage_levels[1:]]
    # lines with too few events are pooled as the reference; when none is, the first line is
    columns += [f"line={ln}" for ln in (lines if len(lines) < events_by_line.size else lines[1:])]
    if use_amount:
        columns.append("log_amount")
    if calendar:
        first_day = rows["bucket_start"].to_numpy(dtype="datetime64[D]")
        qm = quarter_month(first_day, fiscal_year_start_month=fiscal_year_start_month)
        closes = np.bincount(qm[rows["event"].to_numpy() != OPEN], minlength=3)
        if closes.min() >= min_events:  # every position seen closing deals
            columns += ["quarter_month=1", "quarter_month=2"]
    if len(columns) == n_levels + 1 and width == 1:  # age only: the life table is saturated
        return life_table_model(f"{counted}: no covariate beyond age")
    model = CloseTimingModel(
        method="hazard", reason="", stages=stage_levels, lines=lines, use_amount=use_amount,
        amount_median=median, columns=tuple(columns), notes=tuple(notes),
        fiscal_year_start_month=fiscal_year_start_month, age_width=width, **common,
    )  # fmt: skip
    # the distinct covariate patterns with their counts per outcome: the GLMs' rows
    base = _covariates(rows, model)
    bucket = np.minimum(rows["bucket"].to_numpy(dtype="int64"), tail)
    bucket = np.where(bucket >= tail, tail, (bucket // width) * width)  # one per age level
    first_day = base["start"] + (rows["bucket"].to_numpy(dtype="int64") * b).astype(
        "timedelta64[D]"
    )
    cells = (
        pd.DataFrame(
            {
                "bucket": bucket,
                "stage": base["stage"],
                "line": base["line"],
                "log_amount": base["log_amount"],
                "quarter_month": quarter_month(
                    first_day, fiscal_year_start_month=fiscal_year_start_month
                ),
                "event": rows["event"].to_numpy(dtype="int64"),
                "weight": recency,
            }
        )
        .groupby(["bucket", "stage", "line", "log_amount", "quarter_month", "event"], sort=True)[
            "weight"
        ]
        .sum()
        .reset_index()
    )
    x = _design_matrix(
        cells["bucket"].to_numpy(dtype="int64"),
        {c: cells[c].to_numpy() for c in ("stage", "line", "log_amount", "quarter_month")},
        model,
    )
    event = cells["event"].to_numpy(dtype="int64")
    weight = cells["weight"].to_numpy(dtype=float)
    coefs = {}
    fit_notes = []
    for name, code in (("won", WON), ("lost", LOST)):
        keep = (event == OPEN) | (event == code)
        y = (event[keep] == code).astype(float)
        xs, ys, ws = x[keep], y, weight[keep]
        # one pseudo-row per level (age, stage, line) at the overall hazard: a weak prior, so a
        # level with no event gets a hazard near 0 instead of a separated fit
        h_all = float(np.average(y, weights=ws))
        dummies = [i for i, c in enumerate(columns) if c != "log_amount"]
        prior = np.zeros((len(dummies), len(columns)))
        prior[:, 0] = 1.0
        prior[np.arange(len(dummies)), dummies] = 1.0
        xs = np.vstack([xs, prior, prior])
        ys = np.concatenate([ys, np.ones(len(dummies)), np.zeros(len(dummies))])
        ws = np.concatenate([ws, np.full(len(dummies), h_all), np.full(len(dummies), 1 - h_all)])
        params, note = _fit_binomial(xs, ys, ws)
        if note:
            fit_notes.append(f"{name}: {note}")
        coefs[name] = pd.Series(params, index=columns)
    return CloseTimingModel(
        method="hazard",
        reason=(
            f"competing-risks hazard model (two binomial GLMs on {len(rows):,} deal-buckets of "
            f"{b} days: {ev_won:,} wins, {ev_lost:,} losses, {common['n_censored']:,} deals "
            "censored)"
        ),
        stages=stage_levels, lines=lines, use_amount=use_amount, amount_median=median,
        columns=tuple(columns), coef_won=coefs["won"], coef_lost=coefs["lost"],
        transitions=stage_transitions(rows, stage_levels) if use_stage else None,
        stage_shares=rows["stage"].astype("str").value_counts(normalize=True),
        fiscal_year_start_month=fiscal_year_start_month, age_width=width,
        notes=tuple(notes + fit_notes), **common,
    )  # fmt: skip


def stage_transitions(rows: pd.DataFrame, stages: tuple[str, ...]) -> pd.DataFrame:
    """Share of open deals in stage s at a bucket start that are in stage s' at the next one.

    From consecutive person-period rows of a deal that stayed open; one pseudo-stay per
    stage (a stage never left stays).  Rows: from-stage, columns: to-stage (rows sum to 1).
    """
    levels = list(stages)
    k = len(levels)
    counts = np.eye(k)
    r = rows.sort_values(["opportunity_id", "bucket"], kind="mergesort")
    same = (r["opportunity_id"].to_numpy()[1:] == r["opportunity_id"].to_numpy()[:-1]) & (
        np.diff(r["bucket"].to_numpy()) == 1
    )
    st = pd.Index(levels).get_indexer(r["stage"].astype("str").to_numpy())
    a, b = st[:-1][same], st[1:][same]
    ok = (a >= 0) & (b >= 0)
    np.add.at(counts, (a[ok], b[ok]), 1.0)
    return pd.DataFrame(counts / counts.sum(axis=1, keepdims=True), index=levels, columns=levels)


def _fit_binomial(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, str]:
    import statsmodels.api as sm

    model = sm.GLM(y, x, family=sm.families.Binomial(), freq_weights=w)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = model.fit()
        params = np.asarray(result.params)
        if not np.isfinite(params).all():
            raise ValueError("non-finite coefficients")
        return params, ""
    except Exception as exc:  # statsmodels raises many kinds; a ridge penalty is the fix
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = model.fit_regularized(alpha=RIDGE_ALPHA, L1_wt=0.0)
        params = np.asarray(result.params)
        if not np.isfinite(params).all():
            raise DataValidationError(
                "The close-timing model did not converge even with a penalty; raise "
                "timing_min_events in the methodology's forecast section to use the life table."
            ) from exc
        return params, f"maximum likelihood failed ({type(exc).__name__}); ridge {RIDGE_ALPHA:g}"


# -- zombies -------------------------------------------------------------------------------------
def stuck_limits(
    events: Any, as_of: pd.Timestamp | str, *, quantile: float = 0.99, min_stints: int = 20
) -> pd.Series:
    """Per open stage: the ``quantile`` of the days that deals won by ``as_of`` spent in it.

    From stage history (:func:`kamlib.pipeline.stage_durations`, completed stints only); a
    stage with fewer than ``min_stints`` such stints takes the pooled quantile.  Empty when the
    data has no stage history or no won deal passed through a stage."""
    from kamlib.pipeline import stage_durations

    if events.source != "stage_history":
        return pd.Series(dtype="float64")
    day = as_day(as_of, owner="stuck_limits")
    stints = stage_durations(events, as_of=day)
    won = events.events
    won = won[(won["day"] <= day) & (won["status"] == "won")]["opportunity_id"]
    stints = stints[stints["completed"] & isin(stints["opportunity_id"], won)]
    if stints.empty:
        return pd.Series(dtype="float64")
    days = stints["days"].astype("float64")
    pooled = float(days.quantile(quantile))
    groups = days.groupby(stints["stage"].astype("str"))
    size, limit = groups.size(), groups.quantile(quantile)
    return limit.where(size >= min_stints, pooled).astype("float64")


def zombie_deals(
    deals: pd.DataFrame,
    incidence: pd.DataFrame,
    model: CloseTimingModel,
    *,
    min_close_probability: float,
    stuck_limit: pd.Series | None = None,
) -> np.ndarray:
    """Boolean mask of the open deals the forecast should not count on.

    A deal is a zombie when its ``p_close_ever`` (:meth:`CloseTimingModel.incidence`) is below
    ``min_close_probability``, or

    - with stage history (``stuck_limit`` given, :func:`stuck_limits`): it has been in its
      stage longer than nearly every deal that was later won stayed there — on the demo
      company the generator's zombies sit ~140 days in their stage (others ~15), while deal
      age alone flagged big, slow deals that were won;
    - without (``stuck_limit`` None or empty): its age exceeds ``model.close_age_limit``
      (older than nearly every deal that ever closed — the only clock such an export has).

    Nothing is a zombie when the model has no history (``method == "none"``).
    """
    if model.method == "none" or len(deals) == 0:
        return np.zeros(len(deals), dtype=bool)
    unlikely = incidence["p_close_ever"].to_numpy(dtype=float) < min_close_probability
    if stuck_limit is not None and len(stuck_limit):
        in_stage = pd.to_numeric(deals["days_in_stage"], errors="coerce").to_numpy(dtype=float)
        limit = deals["stage"].astype("str").map(stuck_limit).astype("float64").to_numpy()
        stuck = np.isfinite(in_stage) & np.isfinite(limit) & (in_stage > limit)
        return stuck | unlikely
    age = pd.to_numeric(deals["age_days"], errors="coerce").fillna(0).to_numpy(dtype=float)
    old = age > model.close_age_limit
    return old | unlikely
