"""Target groups of accounts: which accounts a batch of reports is made for.

A minimal first version: the full segmentation (tags, ABC / Pareto, RFM, portfolio matrix,
clusters, scoring tiers) comes with the scoring work and will add its groups here.

Built-in groups (``target_group(data, name, as_of=...)``):

``all``
    every account that exists on the as-of date.
``top<N>`` (``top10``, ``top50`` …)
    the N accounts with the highest trailing-12-month revenue as of the date (net order
    amounts, returns included); accounts without positive revenue are left out; ties are
    broken by ``account_id``.
``strategic``
    **stand-in until scoring tiers exist**: the fewest top accounts (same order as ``top<N>``)
    whose trailing-12-month revenue makes up at least 50% of the total — the Pareto head
    of the book.  When tiers arrive this group becomes the Strategic tier.
``ids:A,B,C``
    exactly these accounts, in this order (duplicates dropped); an id that is not an account
    on the as-of date is an error.
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from kamlib.data.kamdata import KamData
from kamlib.errors import ConfigError
from kamlib.periods import parse_date, trailing_window

GROUPS_HELP = "all, top<N> (e.g. top10), strategic, ids:A,B,C"
STRATEGIC_REVENUE_SHARE = 0.5

_TOP = re.compile(r"^top(\d+)$")


def target_group(data: KamData, name: str, *, as_of: date | str) -> pd.DataFrame:
    """The accounts of target group ``name`` as of ``as_of``.

    Parameters
    ----------
    data
        The data set; needs ``accounts`` (and ``orders`` for ``top<N>`` / ``strategic``).
    name
        ``all``, ``top<N>``, ``strategic`` or ``ids:A,B,C`` (see the module docstring).
    as_of
        The date the group is formed at: accounts created later and orders after it are
        ignored; revenue is summed over the 12 months ending on it.

    Returns
    -------
    pd.DataFrame
        Columns ``account_id`` and ``name`` (text), one row per account, in group order
        (by revenue for ``top<N>`` / ``strategic``, by ``account_id`` for ``all``, as given
        for ``ids:``).  May be empty (e.g. no orders in the window); callers decide whether
        that is an error.

    Raises
    ------
    ConfigError
        Unknown group name (the message lists the valid groups), ``top0``, or ``ids:``
        naming accounts that do not exist.

    Examples
    --------
    >>> target_group(data, "top10", as_of="2026-09-30")  # doctest: +SKIP
       account_id          name
    0       A0042  华东精密机械有限公司
    ...
    """
    key = check_group_name(name)
    lowered = key.lower()
    day = parse_date(as_of)
    view = data.as_of(pd.Timestamp(day))
    accounts = _accounts(view)

    if lowered == "all":
        return accounts.sort_values("account_id", kind="stable").reset_index(drop=True)
    if lowered.startswith("ids:"):
        return _by_ids(accounts, key[4:], day)
    top = _TOP.match(lowered)
    if top:
        n = int(top.group(1))
        return _ranked(view, accounts, day).head(n).reset_index(drop=True)[["account_id", "name"]]
    if lowered == "strategic":
        ranked = _ranked(view, accounts, day)
        if ranked.empty:
            return ranked
        share = ranked["revenue"].cumsum() / ranked["revenue"].sum()
        # keep accounts up to and including the first one that reaches the share
        reached = int((share < STRATEGIC_REVENUE_SHARE).sum()) + 1
        return ranked.head(reached).reset_index(drop=True)[["account_id", "name"]]
    raise ConfigError(f"Target group {name!r} is not known. Valid groups: {GROUPS_HELP}.")


def check_group_name(name: str) -> str:
    """Check a group name's form without data; return it stripped.

    Raises ``ConfigError`` listing the valid groups for a name that is not one of them.
    """
    key = str(name).strip()
    lowered = key.lower()
    if lowered in ("all", "strategic") or _TOP.match(lowered):
        if lowered == "top0":
            raise ConfigError(f"Group {name!r} asks for no accounts; use top1 or more.")
        return key
    if lowered.startswith("ids:"):
        if not any(part.strip() for part in key[4:].split(",")):
            raise ConfigError(
                "Group 'ids:' names no accounts; write the account ids after it, "
                "e.g. ids:A001,A002."
            )
        return key
    raise ConfigError(f"Target group {name!r} is not known. Valid groups: {GROUPS_HELP}.")


def _accounts(view: KamData) -> pd.DataFrame:
    frame = view.require("accounts", "A target group")[["account_id", "name"]]
    out = frame.astype({"account_id": "str", "name": "str"})
    return out.drop_duplicates("account_id").reset_index(drop=True)


def _by_ids(accounts: pd.DataFrame, text: str, day: date) -> pd.DataFrame:
    ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise ConfigError(
            "Group 'ids:' names no accounts; write the account ids after it, e.g. ids:A001,A002."
        )
    known = accounts.set_index("account_id")
    missing = [i for i in ids if i not in known.index]
    if missing:
        raise ConfigError(
            f"Group 'ids:{text}' names accounts that do not exist on {day.isoformat()}: "
            f"{', '.join(missing)}. Check the ids against the accounts table."
        )
    return known.loc[ids].reset_index()[["account_id", "name"]]


def _ranked(view: KamData, accounts: pd.DataFrame, day: date) -> pd.DataFrame:
    """Accounts with positive trailing-12-month revenue, best first, ties by account_id."""
    start, end = trailing_window(day, months=12)
    orders = view.require("orders", "A revenue-ranked target group")
    dates = orders["order_date"].dt.normalize()
    window = orders.loc[
        (dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(end)), ["account_id", "amount"]
    ]
    revenue = (
        window.groupby("account_id", sort=False, as_index=False)["amount"]
        .sum()
        .rename(columns={"amount": "revenue"})
        .astype({"account_id": "str"})
    )
    ranked = accounts.merge(revenue, on="account_id", how="inner")
    ranked = ranked[ranked["revenue"] > 0]
    return ranked.sort_values(
        ["revenue", "account_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)[["account_id", "name", "revenue"]]
