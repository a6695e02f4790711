"""Competitive win/loss: whom we meet, how often we win against each, where and why we lose.

A competitor is *present* on a deal when ``opportunity_competitors`` has a row for the pair;
a deal with several competitors counts for each.  Only deals closed (won or lost) by the
as-of date count for the win rates.

Win rate against each competitor, with small samples pulled toward the rest
---------------------------------------------------------------------------
``win_rate`` = won / deals with the Wilson 95 % interval (``ci_low`` … ``ci_high``).  Two
wins in two deals is no evidence of a 100 % win rate, so the table also gives a
**partially pooled** rate from a hierarchical beta-binomial model
(:mod:`kamlib.sales.pooling`): the win rates against the competitors come from one
Beta(α, β) whose α and β are themselves uncertain (hyperprior (α + β)^-5/2, as in Gelman et
al., *Bayesian Data Analysis*, §5.3), solved on a grid.  Each competitor's pooled rate is
the posterior mean (``shrunk_win_rate``) with its 90 % posterior interval (``shrunk_low`` …
``shrunk_high``).  A competitor met twice is pulled most of the way to the common rate; one
met a hundred times keeps nearly its own.  When the rates differ by no more than chance
would make them, they are pulled together — but the interval keeps the uncertainty about
how far they really differ, instead of collapsing to a point as a single fitted prior
(empirical Bayes) does.  ``prior`` summarises the population: posterior means of α, β and
of the common rate, the median concentration α + β, the method.

Losses as competing outcomes
----------------------------
A closed deal where competitor C was present ends in one of: won; lost to C; lost to
another competitor; lost to **no decision** (``lost_to`` = "no decision": the customer did
not buy — no competitor won); lost, not recorded.  The competitors table counts each
(``lost_to_them`` … ``lost_unrecorded``).  ``funnel_losses`` says at which stage the deals
lost to each rival were (the open stage the deal was lost from); ``loss_reasons`` counts
the losses per quarter by outcome ("lost to competitor" / "no decision" / "not recorded")
and ``lost_reason``; ``prices`` gives ``price_delta`` = our_price / competitor_price − 1
where both are known (positive: we were dearer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kamlib.data import KamData
from kamlib.data.schemas import NO_DECISION
from kamlib.methodology import Methodology
from kamlib.periods import period_of
from kamlib.proportions import wilson_interval
from kamlib.sales.pooling import BetaHyperposterior, beta_hyperposterior
from kamlib.sales.process_data import SalesProcessData, resolve_process_data

#: the posterior interval of the pooled rates
POSTERIOR_LEVEL = 0.90

#: Columns of :attr:`CompetitiveWinLoss.competitors`, in order.
COMPETITOR_COLUMNS: tuple[str, ...] = (
    "competitor", "deals", "won", "win_rate", "ci_low", "ci_high", "shrunk_win_rate",
    "shrunk_low", "shrunk_high", "lost_to_them", "lost_to_other", "no_decision",
    "lost_unrecorded", "open", "primary", "price_deals", "price_delta_median",
)  # fmt: skip

#: Columns of :func:`competitors_met`, in order.
MET_COLUMNS: tuple[str, ...] = (
    "competitor", "deals", "won", "win_rate", "ci_low", "ci_high", "lost_to_them",
    "lost_to_other", "no_decision", "lost_unrecorded", "open", "primary", "price_deals",
    "price_delta_median", "last_met",
)  # fmt: skip

#: loss outcomes of :attr:`CompetitiveWinLoss.loss_reasons`
LOSS_OUTCOMES: tuple[str, ...] = ("lost to competitor", "no decision", "not recorded")


@dataclass(frozen=True)
class CompetitiveWinLoss:
    """Competitive win/loss as of a date (see the module docstring).

    Attributes
    ----------
    as_of
        The date (end of day).
    competitors
        :data:`COMPETITOR_COLUMNS`, one row per competitor met on a deal by then, most deals
        first: ``deals`` (closed, where present), ``won``, ``win_rate`` and its Wilson 95 %
        interval, the pooled ``shrunk_win_rate`` with its 90 % posterior interval, the
        loss outcomes, ``open`` (open deals where present), ``primary`` (closed deals where
        it was the primary competitor), ``price_deals`` (closed or open deals with both
        prices) and ``price_delta_median``.
    by_quarter
        ``competitor``, ``quarter`` (of the close), ``deals``, ``won``, ``win_rate``,
        ``ci_low``, ``ci_high``.
    funnel_losses
        ``lost_to``, ``stage``, ``stage_order``, ``deals``, ``share`` (of the losses to that
        rival): where in the funnel we lose to whom (``lost_to`` "no decision" included).
    loss_reasons
        ``quarter``, ``outcome`` (:data:`LOSS_OUTCOMES`), ``lost_reason`` (NA when none was
        given), ``deals``.
    prices
        ``opportunity_id``, ``competitor``, ``status``, ``our_price``, ``competitor_price``,
        ``price_delta``: one row per deal and competitor with both prices.
    prior
        The population the pooled rates are drawn from
        (:meth:`~kamlib.sales.pooling.BetaHyperposterior.summary`): posterior means of
        ``alpha``, ``beta`` and of the common rate (``mean``), the median
        ``concentration``, ``method``, ``competitors`` (used in the fit).
    overall
        ``deals`` and ``won`` of the closed deals with any competitor, ``win_rate``,
        ``ci_low``, ``ci_high``; the same for deals with no competitor recorded
        (``no_competitor_deals`` …).
    """

    as_of: pd.Timestamp
    competitors: pd.DataFrame = field(repr=False)
    by_quarter: pd.DataFrame = field(repr=False)
    funnel_losses: pd.DataFrame = field(repr=False)
    loss_reasons: pd.DataFrame = field(repr=False)
    prices: pd.DataFrame = field(repr=False)
    prior: dict[str, Any] = field(repr=False)
    overall: dict[str, Any] = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The competitors table."""
        return self.competitors.copy()

    def summary(self) -> dict[str, Any]:
        """The overall figures and the prior (plain Python values)."""
        return {"as_of": f"{self.as_of:%Y-%m-%d}", **self.overall, "prior": dict(self.prior)}


def _quarter(days: pd.Series, start_month: int) -> pd.Series:
    day = days.dt.normalize()
    labels = {
        d: period_of(d.date(), "quarterly", fiscal_year_start_month=start_month).label
        for d in day.dropna().unique()
    }
    return day.map(labels)


def _outcome(lost_to: pd.Series) -> pd.Series:
    text = lost_to.astype("string").str.strip()
    is_nd = text.str.casefold() == NO_DECISION
    out = pd.Series("not recorded", index=lost_to.index, dtype="object")
    out[(text.notna() & (text != "") & ~is_nd).fillna(False).to_numpy()] = LOSS_OUTCOMES[0]
    out[is_nd.fillna(False).to_numpy()] = LOSS_OUTCOMES[1]
    return out


def competitive_win_loss(
    data: KamData | SalesProcessData,
    *,
    as_of: object = None,
    methodology: Methodology | None = None,
) -> CompetitiveWinLoss:
    """Win rate against each competitor (raw and pooled), by quarter; where and why we lose.

    Parameters
    ----------
    data
        A KamData (needs ``opportunities`` with ``lost_to`` and ``lost_reason``,
        ``stage_history`` and ``opportunity_competitors``) or a
        :class:`~kamlib.sales.SalesProcessData`.
    as_of
        The date (required with a KamData): deals closed by then count.
    methodology
        Stages (default: kamlib's methodology file).

    Returns
    -------
    CompetitiveWinLoss

    Examples
    --------
    >>> cwl = competitive_win_loss(load("data/demo.duckdb"), as_of="2026-06-30")  # doctest: +SKIP
    >>> cwl.competitors[["competitor", "deals", "win_rate", "shrunk_win_rate"]]  # doctest: +SKIP
    """
    process = resolve_process_data(
        data, as_of=as_of, methodology=methodology, owner="competitive_win_loss"
    )
    rows = process.require_competitors("Competitive win/loss")
    closed, met, met_closed = _met(process, rows, process.deals)
    competitors = _competitor_table(met, met_closed)
    won, deals = competitors["won"].to_numpy(), competitors["deals"].to_numpy()
    population = beta_hyperposterior(won, deals)
    competitors = _pool(competitors, population)
    return CompetitiveWinLoss(
        as_of=process.as_of,
        competitors=competitors,
        by_quarter=_by_quarter(met_closed),
        funnel_losses=_funnel_losses(process, closed),
        loss_reasons=_loss_reasons(closed),
        prices=_prices(met),
        prior=population.summary(),
        overall=_overall(closed, set(rows["opportunity_id"])),
    )


def competitors_met(
    data: KamData | SalesProcessData,
    *,
    as_of: object = None,
    methodology: Methodology | None = None,
    account_id: str | None = None,
) -> pd.DataFrame:
    """Whom we met on the deals of one account (or of all), and how each meeting ended.

    The counts of :func:`competitive_win_loss`'s competitors table (the same rules: closed
    deals by the as-of date; a deal with several competitors counts for each), without the
    pooling across competitors — one account's few deals say nothing about the spread —
    and with the day each competitor was last met.

    Parameters
    ----------
    data
        A KamData (needs ``opportunities`` and ``opportunity_competitors``) or a
        :class:`~kamlib.sales.SalesProcessData`.
    as_of
        The date (required with a KamData).
    methodology
        Stages and playbooks (default: kamlib's methodology file).
    account_id
        Only the deals of this account (default: every deal).

    Returns
    -------
    pandas.DataFrame
        :data:`MET_COLUMNS`, one row per competitor present on a deal created by then, the
        most met (closed and open) first: ``deals`` (closed), ``won``, ``win_rate`` with
        its Wilson 95 % interval, ``lost_to_them`` … ``lost_unrecorded`` (the loss
        outcomes), ``open``, ``primary``, ``price_deals`` and ``price_delta_median``
        (our price / theirs − 1), ``last_met`` (the latest stage move or close, by the
        as-of date, of a deal where they were present).

    Examples
    --------
    >>> competitors_met(load("data/demo.duckdb"), as_of="2026-06-30", account_id="A100012")  # doctest: +SKIP
    """
    process = resolve_process_data(
        data, as_of=as_of, methodology=methodology, owner="competitors_met"
    )
    rows = process.require_competitors("The competitors met")
    deals = process.deals
    if account_id is not None:
        deals = deals[deals["account_id"].astype("str") == str(account_id)]
        rows = rows[rows["opportunity_id"].isin(deals["opportunity_id"])]
    _, met, met_closed = _met(process, rows, deals)
    out = _competitor_table(met, met_closed)
    ev = process.events.events
    last_move = ev.groupby("opportunity_id", sort=False)["entered_at"].max()
    at = pd.to_datetime(met["opportunity_id"].map(last_move)).astype("datetime64[us]")
    last = met.assign(at=at).groupby("competitor")["at"].max()
    out["last_met"] = pd.Series(
        last.reindex(out["competitor"]).to_numpy(dtype="datetime64[us]"), index=out.index
    )
    out = out.assign(met=out["deals"] + out["open"]).sort_values(
        ["met", "last_met", "competitor"], ascending=[False, False, True], kind="mergesort",
        na_position="last",
    )  # fmt: skip
    return out[list(MET_COLUMNS)].reset_index(drop=True)


def _met(
    process: SalesProcessData, rows: pd.DataFrame, deals: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The closed ``deals`` (with quarter and loss outcome), and the competitor ``rows``
    joined to every deal and to the closed ones."""
    closed = deals[deals["status"].isin(["won", "lost"])].copy()
    closed["quarter"] = _quarter(closed["closed_at"], process.fiscal_year_start_month)
    closed["outcome"] = _outcome(closed["lost_to"])
    met = rows.merge(deals[["opportunity_id", "status"]], on="opportunity_id", how="inner")
    met_closed = rows.merge(
        closed[["opportunity_id", "status", "lost_to", "outcome", "quarter"]],
        on="opportunity_id", how="inner",
    )  # fmt: skip
    return closed, met, met_closed


def _rate_columns(frame: pd.DataFrame) -> pd.DataFrame:
    ci = [
        wilson_interval(int(k), int(n)) for k, n in zip(frame["won"], frame["deals"], strict=True)
    ]
    frame["win_rate"] = (frame["won"] / frame["deals"].where(frame["deals"] > 0)).astype(float)
    frame["ci_low"] = [lo for lo, _ in ci]
    frame["ci_high"] = [hi for _, hi in ci]
    return frame


def _competitor_table(met: pd.DataFrame, met_closed: pd.DataFrame) -> pd.DataFrame:
    names = pd.Index(sorted(met["competitor"].unique()), name="competitor")
    c = met_closed
    lost = c["status"] == "lost"
    to = c["lost_to"].astype("string").str.strip().str.casefold()
    them = lost & (to == c["competitor"].str.casefold()).fillna(False)
    other = lost & (c["outcome"] == LOSS_OUTCOMES[0]) & ~them
    primary = c["primary"].astype("boolean").fillna(False).astype(bool)

    def count(mask: pd.Series) -> pd.Series:
        return c[mask.to_numpy()].groupby("competitor").size().reindex(names, fill_value=0)

    out = pd.DataFrame(index=names)
    out["deals"] = c.groupby("competitor").size().reindex(names, fill_value=0)
    out["won"] = count(c["status"] == "won")
    out["lost_to_them"] = count(them)
    out["lost_to_other"] = count(other)
    out["no_decision"] = count(lost & (c["outcome"] == LOSS_OUTCOMES[1]))
    out["lost_unrecorded"] = count(lost & (c["outcome"] == LOSS_OUTCOMES[2]))
    out["open"] = (
        met[met["status"] == "open"].groupby("competitor").size().reindex(names, fill_value=0)
    )
    out["primary"] = count(primary)
    priced = met.assign(delta=_delta(met)).dropna(subset=["delta"])
    out["price_deals"] = priced.groupby("competitor").size().reindex(names, fill_value=0)
    out["price_delta_median"] = priced.groupby("competitor")["delta"].median().reindex(names)
    out = out.reset_index()
    for col in ("deals", "won", "lost_to_them", "lost_to_other", "no_decision",
                "lost_unrecorded", "open", "primary", "price_deals"):  # fmt: skip
        out[col] = out[col].astype("int64")
    return _rate_columns(out)


def _pool(table: pd.DataFrame, population: BetaHyperposterior) -> pd.DataFrame:
    mean, low, high = population.posterior(
        table["won"].to_numpy(), table["deals"].to_numpy(), level=POSTERIOR_LEVEL
    )
    table["shrunk_win_rate"], table["shrunk_low"], table["shrunk_high"] = mean, low, high
    out = table.sort_values(["deals", "competitor"], ascending=[False, True], kind="mergesort")
    return out[list(COMPETITOR_COLUMNS)].reset_index(drop=True)


def _delta(frame: pd.DataFrame) -> pd.Series:
    ours, theirs = frame["our_price"], frame["competitor_price"]
    return (ours / theirs.where(theirs > 0) - 1).where(ours.notna() & (ours >= 0))


def _prices(met: pd.DataFrame) -> pd.DataFrame:
    out = met.assign(price_delta=_delta(met)).dropna(subset=["price_delta"])
    cols = ["opportunity_id", "competitor", "status", "our_price", "competitor_price",
            "price_delta"]  # fmt: skip
    return out[cols].sort_values(["competitor", "opportunity_id"]).reset_index(drop=True)


def _by_quarter(met_closed: pd.DataFrame) -> pd.DataFrame:
    g = met_closed.groupby(["competitor", "quarter"], sort=True)
    out = g.agg(deals=("status", "size"), won=("status", lambda s: int((s == "won").sum())))
    out = out.reset_index()
    out["deals"] = out["deals"].astype("int64")
    out["won"] = out["won"].astype("int64")
    return _rate_columns(out)[
        ["competitor", "quarter", "deals", "won", "win_rate", "ci_low", "ci_high"]
    ]


def _funnel_losses(process: SalesProcessData, closed: pd.DataFrame) -> pd.DataFrame:
    lost = closed[(closed["status"] == "lost") & closed["lost_to"].notna()].copy()
    lost["lost_to"] = lost["lost_to"].astype("str").str.strip()
    nd = lost["lost_to"].str.casefold() == NO_DECISION
    lost.loc[nd.to_numpy(), "lost_to"] = NO_DECISION
    out = lost.groupby(["lost_to", "stage"], sort=False).size().rename("deals").reset_index()
    order = {s: i for i, s in enumerate(process.open_stages)}
    out["stage_order"] = out["stage"].map(order).fillna(-1).astype("int64")
    out["share"] = out["deals"] / out.groupby("lost_to")["deals"].transform("sum")
    out["deals"] = out["deals"].astype("int64")
    out = out.sort_values(["lost_to", "stage_order"], kind="mergesort")
    return out[["lost_to", "stage", "stage_order", "deals", "share"]].reset_index(drop=True)


def _loss_reasons(closed: pd.DataFrame) -> pd.DataFrame:
    lost = closed[closed["status"] == "lost"]
    out = (
        lost.groupby(["quarter", "outcome", "lost_reason"], sort=True, dropna=False)
        .size()
        .rename("deals")
        .reset_index()
    )
    out["deals"] = out["deals"].astype("int64")
    return out[["quarter", "outcome", "lost_reason", "deals"]]


def _overall(closed: pd.DataFrame, with_rows: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    has = closed["opportunity_id"].isin(with_rows)
    for prefix, part in (("", closed[has]), ("no_competitor_", closed[~has])):
        n, k = len(part), int((part["status"] == "won").sum())
        lo, hi = wilson_interval(k, n)
        out |= {f"{prefix}deals": n, f"{prefix}won": k,
                f"{prefix}win_rate": k / n if n else None,
                f"{prefix}ci_low": lo if n else None, f"{prefix}ci_high": hi if n else None}  # fmt: skip
    return out
