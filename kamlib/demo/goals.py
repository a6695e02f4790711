"""OGSM targets cascaded company → team → manager → key account, and success-plan items.

Targets of a year are last year's actuals plus a stretch, split by each unit's share of
last year's actuals, as a planning department would do it.  They cover the previous and
the current fiscal year (calendar years), by month ("2026-09") and quarter ("2026-Q3").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamlib.demo import vocabulary as voc
from kamlib.demo._common import (
    Calendar,
    canonical_frame,
    choice_index,
    dates,
    make_ids,
)
from kamlib.demo.company import LINES, Customers, SalesForce
from kamlib.demo.orders import OrderBook
from kamlib.demo.pipeline import Pipeline

STRETCH = {"revenue": 1.12, "bookings": 1.15, "new_opportunities": 1.10}


def _month_number(days: np.ndarray) -> np.ndarray:
    return (dates(days).astype("datetime64[M]") - np.datetime64("1970-01", "M")).astype(np.int64)


def draw_targets(
    rng: np.random.Generator,
    cal: Calendar,
    cust: Customers,
    sales: SalesForce,
    book: OrderBook,
    pipe: Pipeline,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``targets`` table and an index of account-level targets (for plan items)."""
    end_year = int(pd.Timestamp(dates(np.array([cal.end]))[0]).year)
    years = [end_year - 1, end_year]
    n_mgr = len(sales.names)

    # actuals per (manager, month) for each measure
    owner = np.where(cust.owner >= 0, cust.owner, 0)
    vis = np.flatnonzero(pipe.visible)
    won = vis[pipe.won[vis] & (pipe.close[vis] <= cal.end)]
    actual = {
        "revenue": pd.DataFrame(
            {
                "mgr": owner[book.monthly["account"].to_numpy()],
                "month": book.monthly["month"].to_numpy(),
                "value": book.monthly["amount"].to_numpy(),
            }
        ),
        "bookings": pd.DataFrame(
            {
                "mgr": pipe.owner[won],
                "month": _month_number(pipe.close[won]),
                "value": pipe.amount[won],
            }
        ),  # fmt: skip
        "new_opportunities": pd.DataFrame(
            {"mgr": pipe.owner[vis], "month": _month_number(pipe.created[vis]), "value": 1.0}
        ),
    }
    rows: list[dict[str, object]] = []
    key_of: dict[tuple[str, str, str, object], int] = {}

    def add(level: str, period: str, measure: str, value: float, *, owner_name: object = None,
            team: object = None, account: object = None, parent: object = None) -> int:  # fmt: skip
        rows.append(
            {"level": level, "period": period, "measure": measure, "target_value": value,
             "owner": owner_name, "team": team, "account": account, "parent": parent,
             "objective": voc.OBJECTIVES[measure]}
        )  # fmt: skip
        return len(rows) - 1

    for measure, frame in actual.items():
        frame = frame.assign(year=1970 + frame["month"] // 12, mon=frame["month"] % 12 + 1)
        for year in years:
            base = frame[frame["year"] == year - 1]
            company_month = (
                base.groupby("mon")["value"].sum().reindex(range(1, 13), fill_value=0.0).to_numpy()
            )
            by_mgr = np.bincount(base["mgr"], base["value"], minlength=n_mgr)
            by_team = np.bincount(sales.team, by_mgr, minlength=len(sales.team_names))
            team_share = (by_team + 1.0) / (by_team + 1.0).sum()
            team_lift = rng.uniform(1.0, 1.05, len(sales.team_names))
            mgr_share = (by_mgr + 1.0) / (by_team + 1.0 * np.bincount(sales.team))[sales.team]
            mgr_lift = rng.uniform(1.0, 1.04, n_mgr)
            periods = [(f"{year}-{mo:02d}", [mo]) for mo in range(1, 13)] + [
                (f"{year}-Q{q}", [3 * q - 2, 3 * q - 1, 3 * q]) for q in range(1, 5)
            ]
            rnd = 0 if measure == "new_opportunities" else -3
            for period, months in periods:
                value = float(company_month[np.array(months) - 1].sum()) * STRETCH[measure]
                c = add("company", period, measure, max(round(value, rnd), 1.0),
                        owner_name=sales.vp)  # fmt: skip
                for t, team_name in enumerate(sales.team_names):
                    tv = value * float(team_share[t] * team_lift[t])
                    tid = add("team", period, measure, max(round(tv, rnd), 1.0),
                              owner_name=sales.team_heads[t], team=team_name, parent=c)  # fmt: skip
                    members = np.flatnonzero(sales.team == t)
                    values = np.maximum(
                        np.round(tv * mgr_share[members] * mgr_lift[members], rnd), 1.0
                    )
                    for mgr, mv in zip(members, values, strict=True):
                        key_of[("manager", period, measure, int(mgr))] = add(
                            "manager", period, measure, float(mv),
                            owner_name=sales.names[mgr], team=team_name, parent=tid,
                        )  # fmt: skip

    # key accounts: quarterly revenue targets under their manager, and a share-of-wallet goal
    monthly = book.monthly.assign(
        year=1970 + book.monthly["month"] // 12, q=(book.monthly["month"] % 12) // 3 + 1
    )
    last_year = monthly[monthly["year"] == end_year - 1].groupby(["account", "q"])["amount"].sum()
    trailing = monthly[monthly["month"] > _month_number(np.array([cal.end]))[0] - 12]
    trailing = trailing.groupby("account")["amount"].sum()
    account_targets: list[tuple[int, int, str]] = []  # (account, row, period)
    for a in np.flatnonzero(cust.key):
        mgr = int(cust.owner[a])
        team_name = sales.team_names[sales.team[mgr]]
        for q in range(1, 5):
            period = f"{end_year}-Q{q}"
            base = float(last_year.get((a, q), 0.0))
            if base <= 0:
                continue
            row = add("account", period, "revenue", round(base * rng.uniform(1.05, 1.25), -3),
                      owner_name=sales.names[mgr], team=team_name, account=a,
                      parent=key_of[("manager", period, "revenue", mgr)])  # fmt: skip
            account_targets.append((a, row, period))
        wallet = cust.accounts["category_spend"].iloc[a]
        if pd.notna(wallet) and wallet > 0:
            now = min(float(trailing.get(a, 0.0)) / wallet, 0.85)
            row = add("account", f"FY{end_year}", "share_of_wallet",
                      round(min(0.9, now + rng.uniform(0.03, 0.08)), 3),
                      owner_name=sales.names[mgr], team=team_name, account=a)  # fmt: skip
            account_targets.append((a, row, f"FY{end_year}"))

    n_rows = len(rows)
    ids = make_ids("TGT-", np.arange(1, n_rows + 1), 6).to_numpy(dtype=object)
    parent = np.array([-1 if r["parent"] is None else r["parent"] for r in rows])
    account = np.array([-1 if r["account"] is None else r["account"] for r in rows])
    targets = canonical_frame(
        "targets",
        {
            "target_id": ids,
            "parent_id": np.where(parent >= 0, ids[np.maximum(parent, 0)], None),
            "level": [r["level"] for r in rows],
            "owner": [r["owner"] for r in rows],
            "team": [r["team"] for r in rows],
            "account_id": np.where(account >= 0, cust.account_id[np.maximum(account, 0)], None),
            "period": [r["period"] for r in rows],
            "objective": [r["objective"] for r in rows],
            "measure": [r["measure"] for r in rows],
            "target_value": [float(r["target_value"]) for r in rows],
        },
    )
    index = pd.DataFrame(
        {
            "account": [a for a, _, _ in account_targets],
            "target_id": [ids[r] for _, r, _ in account_targets],
            "period": [p for _, _, p in account_targets],
        }
    )
    return targets, index


def draw_plan_items(
    rng: np.random.Generator,
    cal: Calendar,
    cust: Customers,
    sales: SalesForce,
    account_targets: pd.DataFrame,
) -> pd.DataFrame:
    """Success-plan and action items for key accounts and the next tier; some overdue."""
    chosen = np.flatnonzero(
        cust.key | (~cust.churned & (cust.size_rank > 0.75) & (rng.random(cust.n) < 0.3))
    )
    count = rng.integers(2, 7, len(chosen))
    acct = np.repeat(chosen, count)
    m = len(acct)
    kinds = list(voc.PLAN_ITEMS)
    kind = choice_index(rng, [0.4, 0.2, 0.2, 0.2], m)
    main_line = cust.line_mix.argmax(axis=1)
    white_space = cust.line_mix.argmin(axis=1)
    line = np.where(kind == 3, white_space[acct], main_line[acct])
    pick = rng.integers(0, 1000, m)
    title = [
        voc.PLAN_ITEMS[kinds[k]][p % len(voc.PLAN_ITEMS[kinds[k]])].format(line=LINES[ln])
        for k, p, ln in zip(kind, pick, line, strict=True)
    ]
    due = cal.end + rng.integers(-540, 181, m)
    past = due < cal.end
    status = np.where(
        past, choice_index(rng, [0.23, 0.65, 0.12], m), choice_index(rng, [0.85, 0.12, 0.03], m)
    )
    owner = cust.owner[acct].copy()
    by_head = (rng.random(m) < 0.15) | (owner < 0)
    head_names = np.array(sales.team_heads, dtype=object)
    owner_name = np.where(by_head, head_names[cust.team[acct]], sales.names[np.maximum(owner, 0)])
    # link to the account's target of the same quarter (or its share-of-wallet goal)
    due_period = pd.PeriodIndex(dates(due), freq="Q").strftime("%Y-Q%q").to_numpy(dtype=object)
    lookup = {(a, p): t for a, t, p in account_targets.itertuples(index=False)}
    fy = {a: t for a, t, p in account_targets.itertuples(index=False) if p.startswith("FY")}
    target = np.array(
        [lookup.get((a, p), fy.get(a)) if r < 0.6 else None
         for a, p, r in zip(acct, due_period, rng.random(m), strict=True)],
        dtype=object,
    )  # fmt: skip
    order = np.lexsort((acct, due))
    return canonical_frame(
        "plan_items",
        {
            "item_id": make_ids("PI-", np.arange(1, m + 1), 6),
            "account_id": cust.account_id[acct[order]],
            "target_id": target[order],
            "title": np.array(title, dtype=object)[order],
            "owner": owner_name[order],
            "due_date": dates(due[order]),
            "status": np.array(["open", "done", "dropped"], dtype=object)[status[order]],
            "kind": np.array(kinds, dtype=object)[kind[order]],
        },
    )
