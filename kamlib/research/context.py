"""The research context: what every customer research dossier of a batch shares, built once.

:func:`research_context` does the work that is the same for every account of a batch once
(point-in-time features and scores, the score at the comparison date, the industry peers'
purchases, the clocks of every service ticket, the open pipeline, per-account row indices of
every table) and is cached per process, so a batch of dossiers in one warm report kernel pays
for it once and each dossier (:func:`kamlib.research.account_dossier`) only slices its
account's rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.clv import clv_indicators
from kamlib.data.kamdata import KamData
from kamlib.errors import DataValidationError, KamlibError, KamlibWarning
from kamlib.methodology import Methodology, ResearchSettings, resolve_methodology
from kamlib.periods import as_day
from kamlib.pipeline import pipeline_as_of
from kamlib.research._common import months_back, settings_of
from kamlib.research.ogsm import check_cascade
from kamlib.research.overview import product_lines
from kamlib.research.service import service_stalls, service_trend, ticket_times
from kamlib.sales import SalesProcessData, bid_readiness, sales_process_data, stage_gaps
from kamlib.scoring import ScoreResult, score_accounts

_CACHE: dict[tuple[Any, ...], ResearchContext] = {}
_CACHE_SIZE = 2

#: How the open pipeline of a dossier was found: the point-in-time rule, or the cruder
#: fall-back used (and stated in ``ResearchContext.notes``) when it cannot run.
PIPELINE_RULES = {
    "pipeline_as_of": (
        "open deals as of the date, rebuilt from the stage history without look-ahead "
        "(kamlib.pipeline.pipeline_as_of)"
    ),
    "opportunities_table": (
        "opportunities whose status is open in the opportunities table as of the date; "
        "past due = expected_close_date before the date"
    ),
}


# -- the batch pre-computation -------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ResearchContext:
    """What every dossier of a batch shares (build with :func:`research_context`).

    Attributes
    ----------
    data, view
        The data and its :meth:`~kamlib.data.KamData.as_of` view.
    as_of, compare_date
        The date and the comparison date of the tier movement.
    methodology, settings
        The methodology and its ``research`` settings.
    features
        :func:`kamlib.features.account_features` at ``as_of`` (indexed by ``account_id``).
    scores, previous_scores
        ``account_id, score, tier, rank`` at ``as_of`` and at ``compare_date`` (``None`` when
        the methodology has no scoring section or scoring failed: see ``notes``).
    explanations
        :attr:`kamlib.scoring.ScoreResult.explanations` at ``as_of`` (or ``None``).
    groups
        ``account_id → group_id`` (top parent).
    orders
        The view's order lines with ``product_line`` resolved.
    peer_lines
        Per industry and product line: ``industry, product_line, peers, buyers, share,
        median_spend_12m``.
    tickets, ticket_issues, service_accounts, stalls
        Clocks of every ticket, impossible tickets, the per-account service trend and the
        department × region stalls (``None`` without ``service_tickets``).
    pipeline
        Open opportunities at ``as_of`` (``kamlib.pipeline.pipeline_as_of`` where it can
        run, else the view's open opportunities, said in ``notes``); ``None`` without
        ``opportunities``.
    pipeline_rule
        The rule the open pipeline was found by (a value of :data:`PIPELINE_RULES`).
    target_depths, target_issues
        :func:`kamlib.research.check_cascade` of the targets (``None`` without targets).
    p_alive
        ``account_id → P(alive)`` from :func:`kamlib.clv.clv_indicators` when asked for.
    sales_process
        :func:`kamlib.sales.sales_process_data` as of the date (``None`` without
        ``opportunities``, or when it cannot be read: see ``notes``).
    stage_gaps, bid_readiness
        :func:`kamlib.sales.stage_gaps` and :func:`kamlib.sales.bid_readiness` of every open
        deal (``None`` without a ``tasks`` table).
    notes
        What could not be computed and why (each also raised as a ``KamlibWarning``).
    """

    data: KamData
    view: KamData
    as_of: pd.Timestamp
    compare_date: pd.Timestamp
    methodology: Methodology
    settings: ResearchSettings
    features: pd.DataFrame
    scores: pd.DataFrame | None
    previous_scores: pd.DataFrame | None
    explanations: pd.DataFrame | None
    groups: pd.Series
    orders: pd.DataFrame
    peer_lines: pd.DataFrame
    tickets: pd.DataFrame | None
    ticket_issues: pd.DataFrame | None
    service_accounts: pd.DataFrame | None
    stalls: pd.DataFrame | None
    pipeline: pd.DataFrame | None
    p_alive: pd.Series | None
    notes: tuple[str, ...]
    tables: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)
    target_depths: pd.DataFrame | None = None
    target_issues: pd.DataFrame | None = None
    pipeline_rule: str = PIPELINE_RULES["pipeline_as_of"]
    sales_process: SalesProcessData | None = None
    stage_gaps: pd.DataFrame | None = None
    bid_readiness: pd.DataFrame | None = None
    _rows: dict[str, dict[Any, np.ndarray]] = field(repr=False, default_factory=dict)

    def rows(self, table: str, account_id: str) -> pd.DataFrame:
        """The rows of ``table`` (``orders``, ``contacts``, ``activities``, ``tickets``,
        ``opportunities``, ``plan_items``, ``pipeline``, ``targets``) that belong to
        ``account_id``."""
        frame = self._frame(table)
        index = self._rows.get(table, {}).get(account_id)
        if frame is None:
            return pd.DataFrame()
        if index is None:
            return frame.iloc[0:0]
        return frame.iloc[index]

    def _frame(self, table: str) -> pd.DataFrame | None:
        if table == "orders":
            return self.orders
        if table == "tickets":
            return self.tickets
        if table == "pipeline":
            return self.pipeline
        return self.tables.get(table)


class ResearchWarning(KamlibWarning):
    """Part of the research context could not be computed (the rest still works)."""


def research_context(
    data: KamData,
    *,
    as_of: str | pd.Timestamp,
    methodology: Methodology | str | None = None,
    scores: Any = None,
    compare_months: int = 3,
    with_clv: bool = False,
) -> ResearchContext:
    """Pre-compute what every dossier of a batch shares; cached per process.

    Parameters
    ----------
    data
        The data set (``accounts`` and ``orders`` required; every other table optional).
    as_of
        The date of the dossiers.
    methodology
        Scoring, fiscal calendar and research thresholds: a :class:`Methodology`, the path
        of a methodology file, or ``None`` for kamlib's default.
    scores
        Precomputed scores at ``as_of`` (a :class:`~kamlib.scoring.ScoreResult` or a frame
        with ``account_id, score, tier, rank``); computed when ``None``.
    compare_months
        How many months before ``as_of`` the tier movement is measured from.
    with_clv
        Also fit the BG/NBD model for P(alive) (:func:`kamlib.clv.clv_indicators`; a few
        seconds on the default demo).

    Returns
    -------
    ResearchContext
        The same object for the same data object, date, methodology and options within a
        process (the two most recent are kept).
    """
    cut = as_day(as_of, owner="research_context")
    meth = resolve_methodology(methodology, owner="research_context")
    key = (id(data), cut, meth.fingerprint, meth.source, id(scores), compare_months, with_clv)
    hit = _CACHE.get(key)
    if hit is not None and hit.data is data:
        return hit
    context = _build_context(data, cut, meth, scores, compare_months, with_clv)
    while len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = context
    return context


def _plain(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """Text columns as numpy objects: slicing one account's rows out of arrow-backed text
    costs a pyarrow ``take`` per column and call, which dominates a dossier's time."""
    if frame is None:
        return None
    text_cols = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c].dtype)
                 and not pd.api.types.is_object_dtype(frame[c].dtype)]  # fmt: skip
    if not text_cols:
        return frame
    out = pd.DataFrame(
        {c: frame[c].astype(object) if c in text_cols else frame[c] for c in frame.columns},
        index=frame.index,
    )
    return out


def _index(frame: pd.DataFrame | None, column: str = "account_id") -> dict[Any, np.ndarray]:
    if frame is None or frame.empty:
        return {}
    return {k: v for k, v in frame.groupby(column, sort=False).indices.items()}


def _features_at(history: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """One date's rows of ``account_features_history`` (indexed by account, empty when no
    account existed then), like ``account_features(data, as_of=day)``."""
    dates = history.index.get_level_values("as_of")
    if pd.Timestamp(day) not in dates:
        return history.iloc[:0].droplevel("as_of")
    return history.xs(pd.Timestamp(day), level="as_of")


def _build_context(
    data: KamData,
    cut: pd.Timestamp,
    meth: Methodology,
    scores: Any,
    compare_months: int,
    with_clv: bool,
) -> ResearchContext:
    from kamlib.features import account_features_history, group_map

    settings = settings_of(meth)
    notes: list[str] = []
    view = data.as_of(cut)
    accounts = view.require("accounts", "The research dossier")
    orders = view.require("orders", "The research dossier")
    orders = orders.assign(product_line=product_lines(orders, view))
    compare = months_back(cut, compare_months)

    # the date and the comparison date in one call: month ends share one scan of the orders
    days = [cut.date()] if meth.scoring is None else [compare.date(), cut.date()]
    history = account_features_history(data, as_of_dates=days)
    features = _features_at(history, cut)
    current = previous = explanations = None
    if meth.scoring is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", KamlibWarning)
                if scores is None:
                    result = score_accounts(features, meth)
                    current, explanations = result.scores, result.explanations
                elif isinstance(scores, ScoreResult):
                    current, explanations = scores.scores, scores.explanations
                else:
                    current = scores
                previous = score_accounts(_features_at(history, compare), meth).scores
        except KamlibError as exc:
            notes.append(f"Scores could not be computed: {exc}")
    else:
        notes.append("The methodology file has no scoring section: no score or tier shown.")

    links = accounts[["account_id", "parent_account_id"]]
    try:
        groups = group_map(links).set_index("account_id")["group_id"]
    except DataValidationError as exc:
        notes.append(str(exc))
        groups = pd.Series(accounts["account_id"].to_numpy(), index=accounts["account_id"])

    # industry peers: who bought which line in the last 12 months (positive lines)
    since = months_back(cut, 12)
    recent = orders[(orders["order_date"] > since) & (orders["amount"] > 0)]
    spend = recent.groupby(["account_id", "product_line"])["amount"].sum().rename("spend")
    industry = accounts.set_index("account_id")["industry"]
    spend = spend.reset_index().assign(industry=lambda f: f["account_id"].map(industry))
    active = spend.drop_duplicates("account_id")
    peers = active.groupby("industry").size().rename("peers")
    peer_lines = (
        spend.groupby(["industry", "product_line"])
        .agg(buyers=("account_id", "nunique"), median_spend_12m=("spend", "median"))
        .reset_index()
        .join(peers, on="industry")
    )
    peer_lines["share"] = peer_lines["buyers"] / peer_lines["peers"]
    peer_lines = peer_lines[
        ["industry", "product_line", "peers", "buyers", "share", "median_spend_12m"]
    ]

    tickets = ticket_issues = service_accounts = stalls = None
    if view.has("service_tickets"):
        tickets, ticket_issues = ticket_times(view.service_tickets, cut=cut)
        service_accounts = service_trend(tickets, cut=cut, settings=settings)
        stalls = service_stalls(tickets, settings)
        if len(ticket_issues):
            notes.append(
                f"{len(ticket_issues)} ticket(s) have a response or resolution before they were "
                "opened; their times are left out (see ticket_issues)."
            )

    pipeline = None
    pipeline_rule = PIPELINE_RULES["pipeline_as_of"]
    if view.has("opportunities"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", KamlibWarning)
                pipeline = pipeline_as_of(data, cut, methodology=meth)
        except KamlibError as exc:
            pipeline_rule = PIPELINE_RULES["opportunities_table"]
            notes.append(
                f"The open pipeline as of {cut:%Y-%m-%d} could not be rebuilt from the stage "
                f"history ({exc}). Open deals are taken by the cruder rule instead: "
                f"{pipeline_rule}."
            )
            opps = view.opportunities
            pipeline = opps[opps["status"] == "open"].copy()
            pipeline["is_past_due"] = (pipeline["expected_close_date"] < cut).fillna(False)

    sales, gaps, readiness = _sales_process(data, cut, meth, notes)

    p_alive = None
    if with_clv:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", KamlibWarning)
                clv = clv_indicators(data, as_of=cut)
            p_alive = clv.set_index("account_id")["p_alive"]
        except KamlibError as exc:
            notes.append(f"P(alive) could not be computed: {exc}")

    target_depths = target_issues = None
    if data.has("targets"):
        target_depths, target_issues = check_cascade(data.targets)

    for note in notes:
        warnings.warn(note, ResearchWarning, stacklevel=3)

    orders, tickets, pipeline = _plain(orders), _plain(tickets), _plain(pipeline)
    tables = {
        t: _plain(view[t]) for t in ("contacts", "activities", "opportunities", "plan_items")
        if view.has(t)
    }  # fmt: skip
    rows = {
        "orders": _index(orders),
        "tickets": _index(tickets),
        "pipeline": _index(pipeline),
    }
    if view.has("targets"):
        tables["targets"] = _plain(data.targets)
    for table in ("contacts", "activities", "opportunities", "plan_items", "targets"):
        rows[table] = _index(tables.get(table))
    return ResearchContext(
        data=data,
        view=view,
        as_of=cut,
        compare_date=compare,
        methodology=meth,
        settings=settings,
        features=features,
        scores=current,
        previous_scores=previous,
        explanations=explanations,
        groups=groups,
        orders=orders,
        peer_lines=peer_lines,
        tickets=tickets,
        ticket_issues=ticket_issues,
        service_accounts=service_accounts,
        stalls=stalls,
        pipeline=pipeline,
        p_alive=p_alive,
        notes=tuple(notes),
        tables=tables,
        target_depths=target_depths,
        target_issues=target_issues,
        pipeline_rule=pipeline_rule,
        sales_process=sales,
        stage_gaps=gaps,
        bid_readiness=readiness,
        _rows=rows,
    )


def _sales_process(
    data: KamData, cut: pd.Timestamp, meth: Methodology, notes: list[str]
) -> tuple[SalesProcessData | None, pd.DataFrame | None, pd.DataFrame | None]:
    """The sales process as of ``cut`` and, with a tasks table, every open deal's playbook
    gaps and bid readiness; ``None`` where the data or the methodology do not allow it (what
    went wrong is added to ``notes``)."""
    if not data.has("opportunities"):
        return None, None, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", KamlibWarning)
            sales = sales_process_data(data, as_of=cut, methodology=meth)
            if sales.done_tasks is None:
                return sales, None, None
            return sales, stage_gaps(sales), bid_readiness(sales)
    except KamlibError as exc:
        notes.append(
            f"The sales process could not be read ({exc}): no competitors or playbook gaps "
            "are shown."
        )
        return None, None, None
