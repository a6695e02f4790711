"""Bid readiness (kamlib.sales.readiness) on a hand-worked case."""

from __future__ import annotations

import pandas as pd
import pytest
from sales_cases import CHECKLIST, PLAYBOOK, deals, tasks

from kamlib.errors import MissingTableError
from kamlib.sales import (
    READINESS_COLUMNS,
    STAGE_GAP_COLUMNS,
    bid_readiness,
    sales_process_frames,
    stage_gaps,
)

AS_OF = "2026-06-30"
# checklist weights: qualification_answered 0.2 (task qualification), technical_bid_done 0.3,
# commercial_bid_done 0.2, economic_buyer_supportive 0.2, technical_buyer_not_opposed 0.1
OPPS, HISTORY = deals(
    dict(id="R1", account="A1", amount=500_000,
         path=[("qualified", "2026-01-10"), ("solution", "2026-02-01"), ("quote", "2026-05-01")]),
    dict(id="R2", account="A2", process="direct", amount=80_000,
         path=[("qualified", "2026-01-10"), ("quote", "2026-06-01")]),
    dict(id="R3", account="A3", amount=200_000,
         path=[("qualified", "2026-01-10"), ("quote", "2026-06-20")]),
    dict(id="R4", account="A1", path=[("qualified", "2026-01-10"), ("solution", "2026-06-01")]),
    dict(id="R5", account="A1", path=[("quote", "2026-01-10"), ("won", "2026-03-01")]),
    # at quote on the as-of date, moved on later: still at the bid stage then
    dict(id="R6", account="A3", amount=10_000,
         path=[("quote", "2026-06-01"), ("negotiation", "2026-07-15")]),
)  # fmt: skip
TASKS = tasks(
    ("R1", "qualification", "2026-01-15"),
    ("R1", "technical_bid", "2026-03-01"),
    ("R2", "commercial_bid", "2026-06-10"),
    ("R3", "commercial_bid", "2026-07-02"),  # after the as-of date: not done
    ("R6", "commercial_bid", "2026-06-05"),
    ("R6", "qualification", "2026-06-02"),
)
CONTACTS = pd.DataFrame(
    [
        ("K1", "A1", "economic", 2),
        ("K2", "A1", "technical", -1),
        ("K3", "A1", "technical", -2),  # not on R1: R1 has linked contacts
        ("K4", "A2", "economic", 0),
        ("K5", "A2", "technical", 1),
    ],
    columns=["contact_id", "account_id", "buying_role", "support"],
)
LINKS = pd.DataFrame({"opportunity_id": ["R1", "R1"], "contact_id": ["K1", "K2"]})


def readiness(**kw: object) -> pd.DataFrame:
    frames = dict(opportunities=OPPS, stage_history=HISTORY, tasks=TASKS, playbook=PLAYBOOK,
                  checklist=CHECKLIST, bid_stage="quote", contacts=CONTACTS,
                  opportunity_contacts=LINKS)  # fmt: skip
    frames.update(kw)
    return bid_readiness(sales_process_frames(as_of=AS_OF, **frames))


def test_bid_readiness_by_hand():
    r = readiness()
    assert list(r.columns) == list(READINESS_COLUMNS)
    # least ready first, then the larger deal
    assert list(r["opportunity_id"]) == ["R3", "R2", "R6", "R1"]
    got = r.set_index("opportunity_id")
    # R1: qualification 0.2 + technical bid 0.3 + economic buyer (K1, +2) 0.2; its technical
    # buyer K2 is opposed (−1); commercial bid not done
    assert got.loc["R1", "readiness"] == pytest.approx(0.7)
    assert got.loc["R1", "missing"] == ("commercial_bid_done", "technical_buyer_not_opposed")
    assert got.loc["R1", "next_tasks"] == ("commercial_bid",)
    # R2 (no linked contact: its account's): commercial bid 0.2 + technical buyer K5 (+1) 0.1;
    # economic buyer K4 is neutral (0); direct process: nothing required left at quote
    assert got.loc["R2", "readiness"] == pytest.approx(0.3)
    assert got.loc["R2", "satisfied"] == ("commercial_bid_done", "technical_buyer_not_opposed")
    assert got.loc["R2", "next_tasks"] == ()
    # R3: no contacts on A3 (no technical buyer, so none opposed: 0.1); the bid done after the
    # as-of date does not count
    assert got.loc["R3", "readiness"] == pytest.approx(0.1)
    assert got.loc["R3", "next_tasks"] == ("commercial_bid",)
    # R6: 0.2 + 0.2 + 0.1
    assert got.loc["R6", "readiness"] == pytest.approx(0.5)
    assert got.loc["R6", "days_in_stage"] == 29
    assert r.attrs["bid_stage"] == "quote"


def test_without_contacts_the_conditions_are_not_satisfied():
    got = readiness(contacts=None, opportunity_contacts=None).set_index("opportunity_id")
    assert got.loc["R1", "readiness"] == pytest.approx(0.5)
    assert got.loc["R3", "readiness"] == pytest.approx(0.0)
    assert "technical_buyer_not_opposed" in got.loc["R3", "missing"]


def test_the_checklist_applies_to_the_bid_processes_only():
    r = readiness(bid_processes=("tender",))
    assert list(r["opportunity_id"]) == ["R3", "R6", "R1"]  # R2 is a direct purchase


def test_stage_gaps_of_every_open_deal_by_hand():
    """Required tasks of the stage each open deal is in on 2026-06-30, not done by then."""
    frames = dict(opportunities=OPPS, stage_history=HISTORY, tasks=TASKS, playbook=PLAYBOOK,
                  checklist=CHECKLIST, bid_stage="quote")  # fmt: skip
    process = sales_process_frames(as_of=AS_OF, **frames)
    gaps = stage_gaps(process)
    assert list(gaps.columns) == list(STAGE_GAP_COLUMNS)
    got = gaps.set_index("opportunity_id")
    assert sorted(got.index) == ["R1", "R2", "R3", "R4", "R6"]  # R5 was won
    # tender at quote: commercial bid required; R1 has none, R3's is after the date, R6 did it
    assert got.loc["R1", "required"] == ("commercial_bid",)
    assert got.loc["R1", "next_tasks"] == ("commercial_bid",)
    assert got.loc["R3", "next_tasks"] == ("commercial_bid",)
    assert got.loc["R6", "next_tasks"] == ()
    # direct at quote: its commercial bid is done
    assert got.loc["R2", "process"] == "direct" and got.loc["R2", "next_tasks"] == ()
    # tender at solution (not the bid stage): the technical bid is owed
    assert got.loc["R4", "stage"] == "solution"
    assert got.loc["R4", "next_tasks"] == ("technical_bid",)
    # the bid stage's deals owe the same as bid readiness says
    bid = bid_readiness(process).set_index("opportunity_id")
    for deal in bid.index:
        assert bid.loc[deal, "next_tasks"] == got.loc[deal, "next_tasks"]
    without = sales_process_frames(as_of=AS_OF, **{**frames, "tasks": None})
    with pytest.raises(MissingTableError, match="tasks"):
        stage_gaps(without)
