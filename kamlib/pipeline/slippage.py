"""Close-date slippage: actual minus expected close date by stage, and draws for the forecast."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.errors import ConfigError, DataValidationError
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.periods import as_day
from kamlib.pipeline.conversion import _FREQ_MONTHS
from kamlib.pipeline.events import _DAY, StageEvents, _events


# -- close-date slippage ----------------------------------------------------------------------
def _period_index(days: pd.Series | np.ndarray, months: int, fy_start: int) -> np.ndarray:
    d = pd.DatetimeIndex(days)
    return ((d.year * 12 + d.month - fy_start) // months).to_numpy()


@dataclass(frozen=True)
class _Sample:
    values: np.ndarray  # slip days, sorted within each block, blocks concatenated
    cum: np.ndarray  # block index + normalised cumulative weight (ends at block + 1)


@dataclass(frozen=True)
class SlippageModel:
    """Empirical slippage (actual − expected close date, days) by open stage.

    ``samples`` has one row per (deal, stage, expected close date in force while the deal was
    in the stage): ``opportunity_id``, ``stage``, ``outcome`` (won / lost), ``slip_days``,
    ``weight`` (days that expected close date was in force), ``next_period`` (closed in a later
    period than expected).  A deal observed at a random moment while in stage S is in force
    with that date with probability proportional to ``weight``: that is how the forecast sees
    open deals, so the statistics and :meth:`draw` are weighted that way (each deal counts in
    ``n`` once per stage).

    Stages with fewer than ``min_deals`` closed deals use the pooled distribution of all
    stages (``basis`` says which).  ``available`` is False when no closed deal had an expected
    close date (``note`` says why); :meth:`draw` then raises.

    ``past_due_win_rate`` is the share won among closed deals that were at some time still open
    after their expected close date (``past_due_closed`` of them), against ``win_rate`` of all
    closed deals; ``overdue`` breaks it down by how many days the deal was at most overdue
    (``days_overdue`` band, ``closed``, ``won``, ``win_rate``): the chance that a deal long
    past its date (a "zombie") still comes in.
    """

    as_of: pd.Timestamp
    stages: tuple[str, ...]
    min_deals: int
    freq: str
    samples: pd.DataFrame = field(repr=False)
    available: bool = True
    note: str = ""
    past_due_win_rate: float = float("nan")
    past_due_closed: int = 0
    win_rate: float = float("nan")
    overdue: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    _draw_won: _Sample | None = field(default=None, repr=False)
    _draw_closed: _Sample | None = field(default=None, repr=False)
    _basis: dict = field(default_factory=dict, repr=False)

    def summary(self, outcome: str = "won") -> pd.DataFrame:
        """Per open stage (and ``"pooled"``): ``stage``, ``n`` (deals), ``basis`` (``"stage"``
        or ``"pooled"``: what :meth:`draw` uses), ``median_days``, ``p10_days``, ``p90_days``,
        ``share_on_time`` (closed on or before the expected date), ``share_next_period``
        (closed in a later period than expected), for ``outcome`` ``"won"`` or ``"closed"``
        (won and lost)."""
        sub = self._subset(outcome)
        rows = []
        for stage in (*self.stages, "pooled"):
            own = sub if stage == "pooled" else sub[sub["stage"] == stage]
            basis = "pooled" if stage == "pooled" else self._basis[outcome][stage]
            used = sub if basis == "pooled" else own
            n = int(own["opportunity_id"].nunique())
            if len(used) == 0:
                stats = [np.nan] * 5
            else:
                v, w = used["slip_days"].to_numpy(float), used["weight"].to_numpy(float)
                q = _weighted_quantiles(v, w, [0.5, 0.1, 0.9])
                stats = [*q, np.average(v <= 0, weights=w),
                         np.average(used["next_period"].to_numpy(float), weights=w)]  # fmt: skip
            rows.append({"stage": stage, "n": n, "basis": basis, "median_days": stats[0],
                         "p10_days": stats[1], "p90_days": stats[2], "share_on_time": stats[3],
                         "share_next_period": stats[4]})  # fmt: skip
        return pd.DataFrame(rows)

    def _subset(self, outcome: str) -> pd.DataFrame:
        if outcome not in ("won", "closed"):
            raise ConfigError(
                f"The 'outcome' parameter must be 'won' or 'closed'. Got {outcome!r} instead."
            )
        s = self.samples
        return s[s["outcome"] == "won"] if outcome == "won" else s

    def draw(
        self, stages: np.ndarray, rng: np.random.Generator, *, outcome: str = "won"
    ) -> np.ndarray:
        """Slip days (int64, may be negative) for deals in ``stages``, one draw each.

        ``stages`` holds stage keys (str) or stage orders (int, 0 = first open stage); a
        stage not among the open stages (e.g. ``"unknown"``) draws from the pooled
        distribution.  Vectorised: one uniform number per deal and a ``searchsorted`` into
        per-stage sorted samples.
        """
        if not self.available:
            raise DataValidationError(f"No close-date slippage can be drawn: {self.note}")
        self._subset(outcome)  # checks the name
        sample = self._draw_won if outcome == "won" else self._draw_closed
        stages = np.asarray(stages)
        k = len(self.stages)
        if stages.dtype.kind in "iu":
            block = np.where((stages >= 0) & (stages < k), stages, k)
        else:  # map the distinct labels only
            codes, uniq = pd.factorize(stages)
            table = pd.Index(self.stages).get_indexer(pd.Index(uniq, dtype=object))
            table = np.append(np.where(table < 0, k, table), k)  # code -1 (missing) → pooled
            block = table[codes]
        block = self._block_map(outcome)[block]
        target = block + rng.random(len(block))
        idx = np.searchsorted(sample.cum, target, side="right")
        return sample.values[np.minimum(idx, len(sample.values) - 1)]

    def _block_map(self, outcome: str) -> np.ndarray:
        basis = self._basis[outcome]
        k = len(self.stages)
        return np.array([i if basis[s] == "stage" else k for i, s in enumerate(self.stages)] + [k])


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: list[float]) -> list[float]:
    """Inverse of the weighted empirical CDF (the value where the cumulative weight first
    reaches q), the same rule :meth:`SlippageModel.draw` samples by."""
    order = np.argsort(values, kind="mergesort")
    v, w = values[order], weights[order]
    cum = np.cumsum(w) / w.sum()
    return [float(v[min(np.searchsorted(cum, q, side="left"), len(v) - 1)]) for q in qs]


def _build_sample(sub: pd.DataFrame, stages: tuple[str, ...]) -> _Sample:
    blocks_v, blocks_c = [], []
    for b, stage in enumerate((*stages, None)):
        part = sub if stage is None else sub[sub["stage"] == stage]
        if len(part) == 0:
            part = sub
        order = np.argsort(part["slip_days"].to_numpy(), kind="mergesort")
        v = part["slip_days"].to_numpy()[order]
        w = part["weight"].to_numpy(float)[order]
        c = np.cumsum(w) / w.sum()
        c[-1] = 1.0
        blocks_v.append(v.astype("int64"))
        blocks_c.append(b + c)
    return _Sample(np.concatenate(blocks_v), np.concatenate(blocks_c))


def close_date_slippage(
    data: KamData | StageEvents,
    as_of: object,
    *,
    methodology: Methodology | str | Path | None = None,
    min_deals: int = 30,
    freq: str = "quarterly",
    anchor: str = "in_force",
) -> SlippageModel:
    """Fit the empirical close-date slippage of deals closed on or before ``as_of``.

    For every deal closed by ``as_of`` and every open stage it passed, each expected close date
    recorded while the deal was in that stage gives one sample: slip = actual close − that
    expected date, in days (negative: pulled in), weighted by the days that date was in force
    (so a deal observed at a random moment in the stage — as the forecast sees open deals —
    is represented fairly).  Nothing entered after ``as_of`` is used.

    Parameters
    ----------
    data
        The data, or its :func:`stage_events`.
    as_of
        Only deals closed on or before this date count.
    methodology
        Stages and fiscal year (default: kamlib's methodology file).
    min_deals
        Fewest closed deals a stage needs to use its own distribution; fewer → pooled.
    freq
        The period of ``share_next_period``: ``"monthly"``, ``"quarterly"``, ``"half-yearly"``
        or ``"yearly"`` (fiscal year start from the methodology file).
    anchor
        ``"in_force"`` (default): every expected close date the deal had in the stage, weighted
        by the days it was in force; ``"entry"``: the date recorded on entering the stage, one
        sample per stint, unweighted (on a deal's first stage: its first expected close date).

    Returns
    -------
    SlippageModel
        ``summary()`` per stage, ``draw()`` for simulations, ``past_due_win_rate``.
    """
    meth = resolve_methodology(methodology, owner="close_date_slippage")
    if freq not in _FREQ_MONTHS:
        raise ConfigError(
            f"The 'freq' parameter of close_date_slippage must be one of "
            f"{', '.join(_FREQ_MONTHS)}. Got {freq!r} instead."
        )
    if not isinstance(min_deals, int | np.integer) or min_deals < 1:
        raise ConfigError(
            f"The 'min_deals' parameter of close_date_slippage must be a positive integer. "
            f"Got {min_deals!r} instead."
        )
    if anchor not in ("in_force", "entry"):
        raise ConfigError(
            f"The 'anchor' parameter of close_date_slippage must be 'in_force' or 'entry'. "
            f"Got {anchor!r} instead."
        )
    se = _events(data, meth, owner="close_date_slippage")
    day = as_day(as_of, parameter="as_of", owner="close_date_slippage")
    ev = se.events[se.events["entered_at"] < day + _DAY]
    last = ev.groupby("opportunity_id", sort=False).tail(1)
    closed = last[last["status"].isin(["won", "lost"])][["opportunity_id", "status", "day"]]
    closed = closed.rename(columns={"status": "outcome", "day": "close_day"})
    rows = ev.merge(closed, on="opportunity_id", how="inner")
    nxt = rows.groupby("opportunity_id", sort=False)["day"].shift(-1)
    before_close = rows["entered_at"] < rows["close_day"] + _DAY
    # the rows of the final open stretch and earlier stints; a re-opened deal's earlier
    # close rows are not samples (their status is not open)
    s = rows[(rows["status"] == "open") & before_close & nxt.notna()].copy()
    s["until"] = nxt[s.index]
    if anchor == "in_force":
        s["weight"] = (s["until"] - s["day"]).dt.days.astype(float)
    else:  # the date recorded on entering the stage, one sample per stint
        s = s[s["is_entry"]]
        s["weight"] = 1.0
    s = s[(s["weight"] > 0) & s["expected_close_date"].notna() & (s["stage_order"] >= 0)]
    s["slip_days"] = (s["close_day"] - s["expected_close_date"]).dt.days.astype("int64")
    months = _FREQ_MONTHS[freq]
    fy = meth.fiscal_year_start_month if months > 1 else 1
    s["next_period"] = _period_index(s["close_day"], months, fy) > _period_index(
        s["expected_close_date"], months, fy
    )
    samples = s[["opportunity_id", "stage", "outcome", "slip_days", "weight", "next_period"]]
    samples = samples.reset_index(drop=True)
    # overdue deals: still open some days after their expected close date
    od = rows[(rows["status"] == "open") & rows["expected_close_date"].notna() & nxt.notna()]
    late = (nxt[od.index] - od["expected_close_date"]).dt.days
    most_late = late.groupby(od["opportunity_id"]).max().clip(lower=0)
    closed_ids = closed.set_index("opportunity_id")["outcome"]
    outcome_of = closed_ids.reindex(most_late.index)
    bands = pd.cut(most_late, [-1, 0, 30, 90, 180, np.inf],
                   labels=["on time", "1-30", "31-90", "91-180", ">180"])  # fmt: skip
    overdue = (
        pd.DataFrame({"days_overdue": bands, "won": (outcome_of == "won").to_numpy()})
        .groupby("days_overdue", observed=False)["won"]
        .agg(closed="size", won="sum")
        .reset_index()
    )
    overdue["win_rate"] = overdue["won"] / overdue["closed"].where(overdue["closed"] > 0)
    od_outcome = outcome_of[most_late > 0]
    past_due_rate = float((od_outcome == "won").mean()) if len(od_outcome) else float("nan")
    win_rate = float((closed_ids == "won").mean()) if len(closed_ids) else float("nan")

    stages = se.open_stages
    basis: dict[str, dict[str, str]] = {}
    for outcome in ("won", "closed"):
        sub = samples if outcome == "closed" else samples[samples["outcome"] == "won"]
        counts = sub.groupby("stage")["opportunity_id"].nunique()
        basis[outcome] = {
            st: "stage" if counts.get(st, 0) >= min_deals else "pooled" for st in stages
        }
    won = samples[samples["outcome"] == "won"]
    available = len(won) > 0
    if se.source == "opportunities" and not available:
        note = ("the data has no stage history and the opportunities carry no expected close "
                "date, so slippage cannot be measured")  # fmt: skip
    elif not available:
        note = (f"no deal won on or before {day.date()} had an expected close date recorded "
                "while it was open")  # fmt: skip
    else:
        note = f"{won['opportunity_id'].nunique():,} won deals, {samples['opportunity_id'].nunique():,} closed"
    return SlippageModel(
        as_of=day,
        stages=stages,
        min_deals=int(min_deals),
        freq=freq,
        samples=samples,
        available=available,
        note=note,
        past_due_win_rate=past_due_rate,
        past_due_closed=len(od_outcome),
        win_rate=win_rate,
        overdue=overdue,
        _draw_won=_build_sample(won, stages) if available else None,
        _draw_closed=_build_sample(samples, stages) if available else None,
        _basis=basis,
    )
