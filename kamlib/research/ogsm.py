"""OGSM goal cascade (目标制订): objectives → goals → strategies → measures, and their progress.

The ``targets`` table holds the cascade: each row a goal (``measure`` and ``target_value`` for
a ``period``) of a level (company → team → manager → account), linked to the goal it
serves by ``parent_id``; ``objective`` names the objective.  The *strategies* are the plan
items (``plan_items.target_id``) that serve a goal; the *measure* is the actual value of
``measure`` in the period as of the date.

Actuals (only data dated on or before ``as_of`` and inside the target's period)
---------------------------------------------------------------------------------
- ``revenue``: net order amounts (returns included) of the accounts in scope;
- ``bookings``: amounts of opportunities won (``closed_date``) in the period;
- ``new_opportunities``: opportunities created in the period;
- ``share_of_wallet``: revenue of the 12 months to the earlier of ``as_of`` and the period's
  end ÷ ``category_spend`` (account targets only);
- any other measure has no actual (``status`` = ``no_actual``).

Scope by level: company = everything; team = accounts (orders) or opportunities whose owner
belongs to the team (owners' teams from the manager-level targets, else the opportunities'
``team``); manager = accounts / opportunities owned by that person (``owner``); account =
that account.

Status rule (thresholds: ``research`` section of the methodology file)
--------------------------------------------------------------------
``elapsed`` = share of the period's days up to ``as_of`` (0–1); ``expected`` = target ×
elapsed (share of wallet: the target itself, it is a level, not a flow); ``pace`` = actual ÷
expected.  ``achieved`` when actual ≥ target; ``missed`` when the period is over and the
actual fell short (a closed period is no longer at risk: it was missed); otherwise
``on_track`` when pace ≥ ``on_track_ratio`` (0.95), ``at_risk`` when pace ≥
``at_risk_ratio`` (0.8), else ``off_track``; ``not_started`` before the period begins.

Broken cascades are reported, not fatal: a target whose ``parent_id`` names no target is kept
as a root and listed in ``issues`` (``unknown_parent``); targets on a ``parent_id`` cycle are
left out of the cascade and listed (``cycle``, the ids on the cycle in order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.data.kamdata import KamData
from kamlib.errors import ConfigError
from kamlib.methodology import Methodology, ResearchSettings, resolve_methodology
from kamlib.periods import as_day, parse_period
from kamlib.research._common import months_back, settings_of

LEVELS = ("company", "team", "manager", "account")
MEASURES = ("revenue", "bookings", "new_opportunities", "share_of_wallet")
PROGRESS_COLUMNS = [
    "target_id", "parent_id", "depth", "level", "owner", "team", "account_id", "period",
    "objective", "measure", "target_value", "actual", "elapsed", "expected", "attainment",
    "pace", "status", "plan_items", "overdue_items",
]  # fmt: skip
ISSUE_COLUMNS = ["target_id", "problem", "detail"]


@dataclass(frozen=True)
class OgsmResult:
    """OGSM progress for a period (see :func:`ogsm_progress`).

    Attributes
    ----------
    progress
        One row per target whose period overlaps the requested one, in cascade order
        (parents before children): :data:`PROGRESS_COLUMNS`.  ``depth`` 0 = a root.
    issues
        Broken links: ``target_id, problem`` (``unknown_parent`` / ``cycle``), ``detail``.
    plan_items
        Plan items of the targets shown (or of the account): ``item_id, account_id,
        target_id, title, owner, due_date, status, kind, overdue, days_overdue``.
    by_owner
        Status counts per level and owner (empty for one account's targets): ``level, owner, team, targets, achieved,
        on_track, at_risk, off_track, missed, not_started, no_actual``.
    period, as_of
        The period label and date.
    """

    progress: pd.DataFrame
    issues: pd.DataFrame
    plan_items: pd.DataFrame
    by_owner: pd.DataFrame
    period: str
    as_of: pd.Timestamp


def check_cascade(targets: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Depth of every target in the parent chain, and the broken links.

    Returns ``(depths, issues)``: ``depths`` has ``target_id, depth, root`` for targets not
    on a cycle; ``issues`` lists ``unknown_parent`` and ``cycle`` targets.
    """
    ids = targets["target_id"].astype(str).tolist()
    parents = {
        t: (None if p is None or p is pd.NA or p != p or str(p).strip() == "" else str(p))
        for t, p in zip(ids, targets["parent_id"].astype(object).tolist(), strict=True)
    }
    known = set(ids)
    issues: list[dict[str, str]] = []
    depth: dict[str, int] = {}
    root: dict[str, str] = {}
    on_cycle: set[str] = set()
    for tid in sorted(ids):
        path: list[str] = []
        node: str | None = tid
        while node is not None and node not in depth and node not in on_cycle:
            if node in path:
                cycle = path[path.index(node) :]
                on_cycle.update(cycle)
                issues.append(
                    {"target_id": cycle[0], "problem": "cycle",
                     "detail": " → ".join([*cycle, cycle[0]])}
                )  # fmt: skip
                break
            path.append(node)
            parent = parents.get(node)
            if parent is not None and parent not in known:
                issues.append(
                    {"target_id": node, "problem": "unknown_parent",
                     "detail": f"parent_id {parent!r} is not a target_id"}
                )  # fmt: skip
                parent = None
            if parent is None:
                depth[node], root[node] = 0, node
                path.pop()
                break
            node = parent
        # unwind: everything on the path below a resolved node
        for member in reversed(path):
            if member in on_cycle:
                continue
            parent = parents.get(member)
            if parent in on_cycle or parent is None or parent not in depth:
                on_cycle.add(member) if parent in on_cycle else None
                continue
            depth[member] = depth[parent] + 1
            root[member] = root[parent]
    depths = pd.DataFrame(
        {"target_id": list(depth), "depth": list(depth.values()),
         "root": [root[t] for t in depth]}
    )  # fmt: skip
    issues_frame = pd.DataFrame(issues, columns=ISSUE_COLUMNS).drop_duplicates()
    return depths, issues_frame.reset_index(drop=True)


def _period_bounds(label: str, fiscal_start: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    p = parse_period(label, fiscal_year_start_month=fiscal_start)
    return pd.Timestamp(p.start), pd.Timestamp(p.end)


def _owner_teams(targets: pd.DataFrame, opportunities: pd.DataFrame | None) -> dict[str, str]:
    teams: dict[str, str] = {}
    if opportunities is not None and "team" in opportunities:
        o = opportunities.dropna(subset=["owner", "team"])
        if len(o):
            mode = o.groupby("owner")["team"].agg(lambda s: s.value_counts().index[0])
            teams.update({str(k): str(v) for k, v in mode.items()})
    m = targets[(targets["level"] == "manager")].dropna(subset=["owner", "team"])
    teams.update({str(k): str(v) for k, v in zip(m["owner"], m["team"], strict=True)})
    return teams


class _Events:
    """One event table (``date``, ``value`` and scope columns) indexed for sums per target.

    A target's actual is the sum of ``value`` over the rows of its scope (all rows, or one
    ``account_id`` / ``owner`` / ``team``) dated in a window.  Rows are grouped once per scope
    column (a stable sort, so each group keeps the table's row order); a sum then reads the
    group's slice, masks it by date and adds the selected values in table order, exactly as
    ``events.loc[mask, "value"].sum()`` over the whole table would — the same numbers in the
    same order give the same float — at the cost of the group, not of the table.  Equal
    questions (the same scope, key and window) are answered once.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        dates = frame["date"].to_numpy()
        # Datetime columns only; anything else (an all-missing object column …) takes the
        # frame path, which compares as pandas does.
        self.fast = np.issubdtype(dates.dtype, np.datetime64)
        self.dates = dates
        values = frame["value"].to_numpy(dtype="float64")
        # pandas' sum (skipna) adds a missing value as 0.0: the same sequence of numbers
        self.values = np.where(np.isnan(values), 0.0, values)
        self._groups: dict[str, tuple[dict[object, int], np.ndarray, np.ndarray, np.ndarray]] = {}
        self._memo: dict[tuple, float] = {}

    def _group(self, column: str) -> tuple[dict[object, int], np.ndarray, np.ndarray, np.ndarray]:
        if column not in self._groups:
            codes, uniques = pd.factorize(self.frame[column], use_na_sentinel=True)
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1), side="left")
            code_of = {u: i for i, u in enumerate(uniques.tolist())}
            self._groups[column] = (code_of, bounds, self.dates[order], self.values[order])
        return self._groups[column]

    def total(
        self,
        column: str | None,
        key: object,
        low: pd.Timestamp,
        high: pd.Timestamp,
        *,
        include_low: bool = True,
    ) -> float:
        """Sum of ``value`` where ``column == key`` (every row when ``column`` is None) and
        ``low <= date <= high`` (``low < date`` without ``include_low``)."""
        if column is not None and (key is None or key is pd.NA or key != key):
            return 0.0  # a missing key equals nothing
        memo_key = (column, key, low, high, include_low)
        if memo_key in self._memo:
            return self._memo[memo_key]
        if not self.fast:
            f = self.frame
            mask = (f["date"] >= low) if include_low else (f["date"] > low)
            mask &= f["date"] <= high
            if column is not None:
                mask &= f[column] == key
            out = float(f.loc[mask, "value"].sum())
        else:
            if column is None:
                dates, values = self.dates, self.values
            else:
                code_of, bounds, all_dates, all_values = self._group(column)
                code = code_of.get(key)
                if code is None:
                    self._memo[memo_key] = 0.0
                    return 0.0
                lo, hi = bounds[code], bounds[code + 1]
                dates, values = all_dates[lo:hi], all_values[lo:hi]
            lo_d, hi_d = np.datetime64(low.to_datetime64()), np.datetime64(high.to_datetime64())
            mask = (dates >= lo_d) if include_low else (dates > lo_d)
            mask &= dates <= hi_d
            out = float(values[mask].sum())
        self._memo[memo_key] = out
        return out


class _Actuals:
    """Event tables with their scope columns, to sum per target quickly."""

    def __init__(
        self,
        accounts: pd.DataFrame,
        orders: pd.DataFrame,
        opps: pd.DataFrame | None,
        targets: pd.DataFrame,
        need_teams: bool = True,
    ) -> None:
        # teams scope team-level targets only; one account's targets do not need them
        self.teams = _owner_teams(targets, opps) if need_teams else {}
        owner_of = accounts.set_index("account_id")["owner"]
        self.category_spend = accounts.set_index("account_id")["category_spend"]
        owner = orders["account_id"].map(owner_of)
        self.orders = _Events(
            pd.DataFrame(
                {
                    "account_id": orders["account_id"].astype(str).to_numpy(),
                    "date": orders["order_date"].to_numpy(),
                    "value": orders["amount"].astype("float64").to_numpy(),
                    "owner": owner.astype("object").to_numpy(),
                    "team": owner.map(self.teams).astype("object").to_numpy(),
                }
            )
        )
        self.won = self.created = None
        if opps is not None:
            team = (
                opps["team"]
                .astype("object")
                .where(opps["team"].notna(), opps["owner"].map(self.teams))
            )
            base = pd.DataFrame(
                {
                    "account_id": opps["account_id"].astype("object").to_numpy(),
                    "owner": opps["owner"].astype("object").to_numpy(),
                    "team": team.to_numpy(),
                }
            )
            won = (opps["status"] == "won").to_numpy()
            self.won = _Events(
                base[won].assign(
                    date=opps.loc[won, "closed_date"].to_numpy(),
                    value=opps.loc[won, "amount"].astype("float64").fillna(0.0).to_numpy(),
                )
            )
            self.created = _Events(base.assign(date=opps["created_date"].to_numpy(), value=1.0))

    def events(self, measure: str) -> _Events | None:
        return {
            "revenue": self.orders,
            "bookings": self.won,
            "new_opportunities": self.created,
        }.get(measure)


#: The scope column of a level's targets (any other level: every row).
_SCOPE = {"account": "account_id", "manager": "owner", "team": "team"}


def _actual(
    row: dict[str, object],
    acts: _Actuals,
    start: pd.Timestamp,
    end: pd.Timestamp,
    cut: pd.Timestamp,
) -> float:
    measure = str(row["measure"])
    level = str(row["level"]) if pd.notna(row["level"]) else "company"
    if measure == "share_of_wallet":
        acc = row["account_id"]
        if pd.isna(acc):
            return float("nan")
        upto = min(cut, end)
        since = months_back(upto, 12)
        wallet = acts.category_spend.get(acc, np.nan)
        if not wallet or pd.isna(wallet) or wallet <= 0:
            return float("nan")
        revenue = acts.orders.total("account_id", acc, since, upto, include_low=False)
        return revenue / float(wallet)
    events = acts.events(measure)
    if events is None:
        return float("nan")
    upto = min(cut, end)
    if upto < start:
        return 0.0
    column = _SCOPE.get(level)
    key = None if column is None else row[column]
    return events.total(column, key, start, upto + pd.Timedelta(hours=23, minutes=59, seconds=59))


def plan_item_status(plan_items: pd.DataFrame, *, cut: pd.Timestamp) -> pd.DataFrame:
    """Plan items with ``overdue`` (open and due before ``as_of``) and ``days_overdue``."""
    due = pd.to_datetime(plan_items["due_date"])
    overdue = (plan_items["status"].astype("object") == "open") & due.notna() & (due < cut)
    out = plan_items[
        ["item_id", "account_id", "target_id", "title", "owner", "due_date", "status", "kind"]
    ].copy()
    out["overdue"] = overdue.to_numpy(dtype=bool)
    out["days_overdue"] = np.where(overdue, (cut - due).dt.days, 0).astype("int64")
    return out.sort_values(["overdue", "due_date", "item_id"], ascending=[False, True, True])


def ogsm_progress(
    data: KamData,
    *,
    period: str,
    as_of: str | pd.Timestamp,
    methodology: Methodology | str | None = None,
    account_id: str | None = None,
    mask_pii: bool = False,
) -> OgsmResult:
    """Progress of every OGSM target whose period overlaps ``period``, as of a date.

    Parameters
    ----------
    data
        Needs ``targets`` (``MissingTableError`` otherwise), ``accounts`` and ``orders``;
        ``opportunities`` for bookings and new opportunities, ``plan_items`` for strategies.
    period
        ``"2026-Q3"``, ``"2026-09"``, ``"FY2026"`` …: targets of that period and of periods
        overlapping it (months of a quarter, the year holding it).
    as_of
        Actuals use data dated on or before it.
    methodology
        Fiscal calendar and thresholds (kamlib's default when ``None``).
    account_id
        Only that account's targets.
    mask_pii
        Replace owners' names (and names inside plan item titles) by stable pseudonyms
        (:class:`~kamlib.research.PiiMasker`).

    Returns
    -------
    OgsmResult

    Examples
    --------
    >>> r = ogsm_progress(data, period="2026-Q3", as_of="2026-09-30")  # doctest: +SKIP
    >>> r.progress.query("level == 'team'")[["team", "measure", "pace", "status"]]  # doctest: +SKIP
    """
    cut = as_day(as_of, owner="ogsm_progress")
    meth = resolve_methodology(methodology, owner="ogsm_progress")
    view = data.as_of(cut)
    targets = data.require("targets", "The OGSM review")
    depths, issues = check_cascade(targets)
    orders = view.require("orders", "The OGSM review")
    opps = view.opportunities if view.has("opportunities") else None
    items = data.plan_items if data.has("plan_items") else None
    if account_id is not None:
        orders = orders[orders["account_id"] == account_id]
        opps = None if opps is None else opps[opps["account_id"] == account_id]
        items = None if items is None else items[items["account_id"] == account_id]
    result = progress_of(
        targets, depths, issues, accounts=view.accounts, orders=orders, opportunities=opps,
        plan_items=items, period=period, cut=cut, methodology=meth, account_id=account_id,
    )  # fmt: skip
    if not mask_pii:
        return result
    from kamlib.research.masking import PiiMasker

    masker = PiiMasker()
    owners = [*result.progress["owner"], *result.plan_items["owner"]]
    masker.learn(staff=[o for o in owners if isinstance(o, str)])
    return OgsmResult(
        progress=masker.mask_frame(result.progress),
        issues=result.issues,
        plan_items=masker.mask_frame(result.plan_items),
        by_owner=masker.mask_frame(result.by_owner),
        period=result.period,
        as_of=result.as_of,
    )


def progress_of(
    targets: pd.DataFrame,
    depths: pd.DataFrame,
    issues: pd.DataFrame,
    *,
    accounts: pd.DataFrame,
    orders: pd.DataFrame,
    opportunities: pd.DataFrame | None,
    plan_items: pd.DataFrame | None,
    period: str,
    cut: pd.Timestamp,
    methodology: Methodology,
    account_id: str | None = None,
) -> OgsmResult:
    """:func:`ogsm_progress` from frames already cut at ``cut`` (and checked by
    :func:`check_cascade`); with ``account_id`` the event frames may hold that account only."""
    meth = methodology
    settings = settings_of(meth)
    p_start, p_end = _period_bounds(period, meth.fiscal_year_start_month)
    t = targets if account_id is None else targets[targets["account_id"] == account_id]
    depth_of = depths.set_index("target_id")["depth"]
    t = t.assign(depth=t["target_id"].map(depth_of))
    t = t[t["depth"].notna()]
    bounds = {}
    bad_periods = []
    for label in t["period"].astype(str).unique():
        try:
            bounds[label] = _period_bounds(label, meth.fiscal_year_start_month)
        except ConfigError:
            bad_periods.append(label)
    if bad_periods:
        bad = t[t["period"].astype(str).isin(bad_periods)]
        issues = pd.concat(
            [issues, pd.DataFrame({"target_id": bad["target_id"].astype(str),
                                   "problem": "bad_period",
                                   "detail": "period " + bad["period"].astype(str)
                                   + " does not parse"})],
            ignore_index=True,
        )  # fmt: skip
        t = t[~t["period"].astype(str).isin(bad_periods)]
    starts = t["period"].astype(str).map(lambda x: bounds[x][0])
    ends = t["period"].astype(str).map(lambda x: bounds[x][1])
    t = t[(starts <= p_end) & (ends >= p_start)].copy()
    acts = _Actuals(accounts, orders, opportunities, targets, need_teams=account_id is None)
    rows = []
    shown = ("target_id", "parent_id", "depth", "level", "owner", "team", "account_id",
             "period", "objective", "measure")  # fmt: skip
    columns = {c: t[c].tolist() if c in t else [None] * len(t) for c in shown}
    for values, target_value in zip(
        zip(*columns.values(), strict=True), t["target_value"].tolist(), strict=True
    ):
        row = dict(zip(shown, values, strict=True))
        start, end = bounds[str(row["period"])]
        actual = _actual(row, acts, start, end, cut)
        days = (end - start).days + 1
        elapsed = float(np.clip(((cut - start).days + 1) / days, 0.0, 1.0))
        target = float(target_value)
        level_measure = str(row["measure"]) == "share_of_wallet"
        expected = target if level_measure else target * elapsed
        pace = actual / expected if expected > 0 and not np.isnan(actual) else np.nan
        if np.isnan(actual):
            status = "no_actual"
        elif elapsed == 0 and not level_measure:
            status = "not_started"
        elif actual >= target:
            status = "achieved"
        elif cut >= end:
            status = "missed"
        elif pace >= settings.on_track_ratio:
            status = "on_track"
        elif pace >= settings.at_risk_ratio:
            status = "at_risk"
        else:
            status = "off_track"
        rows.append(
            {**row,
             "target_value": target, "actual": actual, "elapsed": elapsed,
             "expected": expected,
             "attainment": actual / target if target > 0 and not np.isnan(actual) else np.nan,
             "pace": pace, "status": status}
        )  # fmt: skip
    progress = pd.DataFrame(rows, columns=PROGRESS_COLUMNS[:-2])
    items = pd.DataFrame(
        columns=["item_id", "account_id", "target_id", "title", "owner", "due_date", "status",
                 "kind", "overdue", "days_overdue"]
    )  # fmt: skip
    if plan_items is not None:
        pi = plan_item_status(plan_items, cut=cut)
        if account_id is not None:
            items = pi[pi["account_id"] == account_id]
        else:
            items = pi[pi["target_id"].isin(progress["target_id"])]
    linked = items.dropna(subset=["target_id"]).groupby("target_id")
    progress["plan_items"] = progress["target_id"].map(linked.size()).fillna(0).astype("int64")
    progress["overdue_items"] = (
        progress["target_id"].map(linked["overdue"].sum()).fillna(0).astype("int64")
    )
    level_rank = {lv: i for i, lv in enumerate(LEVELS)}
    progress = progress.assign(
        _lv=progress["level"].map(level_rank).fillna(len(LEVELS)),
        _len=progress["period"].astype(str).map(lambda x: -(bounds[x][1] - bounds[x][0]).days),
    ).sort_values(["_lv", "measure", "team", "owner", "account_id", "_len", "period",
                   "target_id"], na_position="first")  # fmt: skip
    progress = progress.drop(columns=["_lv", "_len"]).reset_index(drop=True)
    progress["depth"] = progress["depth"].astype("int64")
    by_owner = _by_owner(progress) if account_id is None else pd.DataFrame()
    return OgsmResult(
        progress=progress,
        issues=issues,
        plan_items=items.reset_index(drop=True),
        by_owner=by_owner,
        period=parse_period(period, fiscal_year_start_month=meth.fiscal_year_start_month).label,
        as_of=cut,
    )


STATUSES = ("achieved", "on_track", "at_risk", "off_track", "missed", "not_started", "no_actual")


def _by_owner(progress: pd.DataFrame) -> pd.DataFrame:
    cols = ["level", "owner", "team", "targets", *STATUSES]
    if progress.empty:
        return pd.DataFrame(columns=cols)
    p = progress.assign(owner=progress["owner"].fillna("–"), team=progress["team"].fillna("–"))
    counts = pd.crosstab([p["level"], p["owner"], p["team"]], p["status"])
    counts = counts.reindex(columns=list(STATUSES), fill_value=0)
    counts.insert(0, "targets", counts.sum(axis=1))
    out = counts.reset_index()
    out["_lv"] = out["level"].map({lv: i for i, lv in enumerate(LEVELS)})
    out = out.sort_values(["_lv", "team", "owner"]).drop(columns="_lv").reset_index(drop=True)
    out.columns.name = None
    return out[cols]


def status_rule_text(settings: ResearchSettings) -> str:
    """The on-track rule with its thresholds, for reports."""
    return (
        f"pace = actual ÷ (target × elapsed share of the period); achieved: actual ≥ target; "
        f"missed: the period is over and actual < target; on track: pace ≥ "
        f"{settings.on_track_ratio:g}; at risk: pace ≥ {settings.at_risk_ratio:g}; off track: below"
    )
