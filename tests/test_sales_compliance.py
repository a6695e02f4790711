"""Playbook compliance (kamlib.sales.compliance) and the stage passages it reads, on a
hand-made case whose every count is worked out in the comments."""

from __future__ import annotations

import pandas as pd
import pytest
from sales_cases import CHECKLIST, PLAYBOOK, deals, tasks

from kamlib.data import KamData, Snapshot
from kamlib.errors import ConfigError, DataValidationError, MissingTableError
from kamlib.sales import compliance, sales_process_frames

pytestmark = pytest.mark.filterwarnings("ignore::kamlib.errors.DataQualityWarning")

AS_OF = "2026-06-30"

# tender: qualified → qualification, solution → technical_bid, quote → commercial_bid
# direct: qualified → qualification, quote → commercial_bid
OPPS, HISTORY = deals(
    # passes qualified 02-01, solution 03-01, quote 04-01 10:00 (won; negotiation skipped)
    dict(id="C1", path=[("lead", "2026-01-05"), ("qualified", "2026-01-10"),
                        ("solution", "2026-02-01"), ("quote", "2026-03-01"),
                        ("won", "2026-04-01 10:00")]),
    # jumps qualified → negotiation on 02-01 (skips requirement_confirmed, solution, quote)
    dict(id="C2", owner="Bob", team="West",
         path=[("qualified", "2026-01-10"), ("negotiation", "2026-02-01"),
               ("lost", "2026-03-01")], lost_to="Acme"),
    # jumps to quote 02-01 (skips solution), moves back to solution, forward again; open
    dict(id="C3", path=[("qualified", "2026-01-10"), ("quote", "2026-02-01"),
                        ("solution", "2026-02-10"), ("quote", "2026-03-01")]),
    # in solution at the as-of date (won only in August)
    dict(id="C4", path=[("qualified", "2026-01-10"), ("solution", "2026-02-01"),
                        ("won", "2026-08-01")]),
    # lost in solution: solution never passed, so not assessed
    dict(id="C6", owner="Cy", team="West",
         path=[("qualified", "2026-01-10"), ("solution", "2026-01-20"), ("lost", "2026-02-15")]),
    # the direct process: no solution task; quote passed at the win
    dict(id="C7", process="direct",
         path=[("qualified", "2026-01-10"), ("quote", "2026-02-01"), ("won", "2026-03-01")]),
    # created after the as-of date: does not exist yet
    dict(id="C9", path=[("qualified", "2026-07-10"), ("won", "2026-08-01")]),
)  # fmt: skip
TASKS = tasks(
    ("C1", "qualification", "2026-01-20"),  # in time (passed 02-01)
    ("C1", "technical_bid", "2026-03-05"),  # late: solution left 03-01
    ("C1", "commercial_bid", "2026-04-01 09:00"),  # an hour before the win: in time
    ("C2", "qualification", "2026-01-15"),  # in time
    ("C2", "technical_bid", "2026-01-25"),  # before solution was jumped over: in time
    ("C3", "qualification", "2026-02-05"),  # late
    ("C3", "technical_bid", "2026-02-20"),  # late: solution first passed (skipped) 02-01
    ("C4", "qualification", "2026-07-01"),  # after the as-of date: not done at all
    ("C6", "qualification", "2026-01-12"),  # in time
    ("C7", "commercial_bid", "2026-02-15"),  # in time (quote passed 03-01)
    ("C7", "technical_bid", "2026-01-11"),  # not in the direct playbook: ignored
    ("C9", "qualification", "2026-07-11", "done", "2026-07-10"),  # created after as_of
)


def process(as_of: str = AS_OF, **kw: object):
    frames = dict(opportunities=OPPS, stage_history=HISTORY, tasks=TASKS, playbook=PLAYBOOK,
                  checklist=CHECKLIST, bid_stage="quote")  # fmt: skip
    frames.update(kw)
    return sales_process_frames(as_of=as_of, **frames)


def row(frame: pd.DataFrame, **match: object) -> pd.Series:
    hit = frame
    for k, v in match.items():
        hit = hit[hit[k] == v]
    assert len(hit) == 1, match
    return hit.iloc[0]


def test_stage_passages_reach_skip_pass_and_lose():
    p = process().passages
    c2 = p[p["opportunity_id"] == "C2"].set_index("stage")
    assert list(c2.index) == ["qualified", "requirement_confirmed", "solution", "quote",
                              "negotiation"]  # fmt: skip
    assert c2.loc["solution", "skipped"] and not c2.loc["solution", "entered"]
    assert c2.loc["solution", "passed_at"] == pd.Timestamp("2026-02-01")
    assert c2.loc["negotiation", "lost_here"] and pd.isna(c2.loc["negotiation", "passed_at"])
    c3 = p[p["opportunity_id"] == "C3"].set_index("stage")
    # first reached by the jump, entered later by the backward move: still skipped first
    assert c3.loc["solution", "skipped"] and c3.loc["solution", "entered"]
    assert pd.isna(c3.loc["quote", "passed_at"])  # in quote at the as-of date
    c4 = p[p["opportunity_id"] == "C4"].set_index("stage")
    assert pd.isna(c4.loc["solution", "passed_at"])  # the August win is not seen yet
    assert "C9" not in set(p["opportunity_id"])


def test_moves_count_backward_moves_and_skipped_stages():
    m = process().moves
    back = m[m["kind"] == "back"]
    assert back[["opportunity_id", "stage", "to_stage"]].values.tolist() == [
        ["C3", "quote", "solution"]
    ]
    skips = m[m["kind"] == "skip"].groupby("opportunity_id").size().to_dict()
    # C1: requirement_confirmed, negotiation; C2: requirement_confirmed, solution, quote; C3:
    # requirement_confirmed, solution; C4, C6: requirement_confirmed; C7: requirement_confirmed,
    # solution, negotiation
    assert skips == {"C1": 2, "C2": 3, "C3": 2, "C4": 1, "C6": 1, "C7": 3}


def test_deal_stages_by_hand():
    ds = compliance(process()).deal_stages
    got = {(r.opportunity_id, r.stage): (r.required, r.done_in_time, r.done_late, r.compliant,
                                         r.skipped, r.missing) for r in ds.itertuples()}  # fmt: skip
    assert got == {
        ("C1", "qualified"): (1, 1, 0, True, False, ()),
        ("C1", "solution"): (1, 0, 1, False, False, ("technical_bid",)),  # done after leaving
        ("C1", "quote"): (1, 1, 0, True, False, ()),
        ("C2", "qualified"): (1, 1, 0, True, False, ()),
        ("C2", "solution"): (1, 1, 0, True, True, ()),
        ("C2", "quote"): (1, 0, 0, False, True, ("commercial_bid",)),
        ("C3", "qualified"): (1, 0, 1, False, False, ("qualification",)),
        ("C3", "solution"): (1, 0, 1, False, True, ("technical_bid",)),
        ("C4", "qualified"): (1, 0, 0, False, False, ("qualification",)),  # done after as_of
        ("C6", "qualified"): (1, 1, 0, True, False, ()),
        ("C7", "qualified"): (1, 0, 0, False, False, ("qualification",)),
        ("C7", "quote"): (1, 1, 0, True, False, ()),
    }


def test_by_stage_by_hand():
    c = compliance(process())
    q = row(c.by_stage, stage="qualified")
    assert (q.deals, q.passages, q.required, q.done_in_time, q.compliant) == (6, 6, 6, 3, 3)
    assert q.share_done_in_time == pytest.approx(0.5) and q.share_compliant == pytest.approx(0.5)
    s = row(c.by_stage, stage="solution")  # C1 late, C2 skipped in time, C3 skipped late
    assert (s.passages, s.done_in_time, s.compliant, s.skipped, s.backward_moves) == (3, 1, 1, 2, 0)
    t = row(c.by_stage, stage="quote")  # C1 in time, C2 skipped missing, C7 in time
    assert (t.passages, t.done_in_time, t.compliant, t.skipped, t.backward_moves) == (3, 2, 2, 1, 1)
    assert list(c.by_stage["stage"]) == ["qualified", "solution", "quote"]


def test_per_deal_owner_team_and_summary():
    c = compliance(process())
    d = c.deals.set_index("opportunity_id")
    assert d.loc["C6", "compliant"] and not d.loc["C1", "compliant"]
    assert d.loc["C1", "share_done_in_time"] == pytest.approx(2 / 3)
    assert d.loc["C3", "backward_moves"] == 1 and d.loc["C2", "skipped_stages"] == 3
    ann = row(c.by_owner, owner="Ann")  # C1, C3, C4, C7: 8 passages, 3 done in time
    assert (ann.deals, ann.passages, ann.required, ann.done_in_time, ann.compliant) == (
        4,
        8,
        8,
        3,
        0,
    )
    cy = row(c.by_owner, owner="Cy")
    assert (cy.deals, cy.compliant, cy.share_compliant) == (1, 1, 1.0)
    west = row(c.by_team, team="West")  # C2 (2 of 3) and C6 (1 of 1)
    assert (west.deals, west.required, west.done_in_time, west.compliant) == (2, 4, 3, 1)
    assert c.summary() == {
        "as_of": "2026-06-30", "deals": 6, "passages": 12, "required": 12, "done_in_time": 6,
        "share_done_in_time": 0.5, "deals_compliant": 1, "share_deals_compliant": 0.166667,
        "skipped_stages": 12, "backward_moves": 1,
    }  # fmt: skip


def test_a_task_done_after_the_stage_was_left_is_late_not_compliant():
    late = tasks(("C1", "qualification", "2026-02-01 00:00:01"))  # a second after leaving
    ds = compliance(process(tasks=late)).deal_stages
    r = row(ds, opportunity_id="C1", stage="qualified")
    assert (r.done_in_time, r.done_late, r.compliant) == (0, 1, False)
    on_time = tasks(("C1", "qualification", "2026-02-01 00:00:00"))  # at the move: in time
    r = row(compliance(process(tasks=on_time)).deal_stages, opportunity_id="C1", stage="qualified")
    assert (r.done_in_time, r.compliant) == (1, True)


def test_no_look_ahead_an_earlier_as_of_date():
    c = compliance(process("2026-02-20"))
    # C1 had passed only qualified by then; C7 had not passed quote; C2's jump happened
    c1 = c.deal_stages[c.deal_stages["opportunity_id"] == "C1"]
    assert list(c1["stage"]) == ["qualified"]
    assert not (
        (c.deal_stages["opportunity_id"] == "C7") & (c.deal_stages["stage"] == "quote")
    ).any()
    # a task done after the as-of date is not done: C3's technical bid (02-20) is, just
    r = row(c.deal_stages, opportunity_id="C3", stage="solution")
    assert r.done_late == 1
    r = row(compliance(process("2026-02-19")).deal_stages, opportunity_id="C3", stage="solution")
    assert r.done_late == 0


def test_skipped_and_undated_tasks_are_not_done():
    t = tasks(
        ("C6", "qualification", "2026-01-12", "skipped"),  # skipped with a date: not done
        ("C1", "qualification", None, "done"),  # done without a date: cannot be placed
    )
    p = process(tasks=t)
    assert p.notices.loc[0, "check"] == "task done without a done_date"
    ds = compliance(p).deal_stages
    assert not row(ds, opportunity_id="C6", stage="qualified").compliant
    assert not row(ds, opportunity_id="C1", stage="qualified").compliant


def test_deals_without_a_known_process_use_the_default():
    opps = OPPS.assign(sales_process=OPPS["sales_process"].where(OPPS["opportunity_id"] != "C7"))
    p = process(opportunities=opps)
    d = p.deals.set_index("opportunity_id")
    assert d.loc["C7", "process"] == "tender" and d.loc["C7", "process_assumed"]
    direct = process(opportunities=opps, default_process="direct")
    assert direct.deals.set_index("opportunity_id").loc["C7", "process"] == "direct"
    with pytest.raises(ConfigError, match="'default_process' parameter names 'x'"):
        process(default_process="x")


def test_missing_tasks_table_and_bad_inputs():
    with pytest.raises(MissingTableError, match="no 'tasks' table. Playbook compliance needs"):
        compliance(process(tasks=None))
    with pytest.raises(DataValidationError, match="needs an 'as_of' date"):
        compliance(KamData({}, snapshot=Snapshot(None, "empty", None, "test")))
    with pytest.raises(DataValidationError, match="must be a KamData"):
        compliance(OPPS, as_of=AS_OF)
    with pytest.raises(DataValidationError, match="built as of 2026-06-30"):
        compliance(process(), as_of="2026-05-31")
    bad = PLAYBOOK.assign(stage=PLAYBOOK["stage"].replace({"quote": "bidding"}))
    with pytest.raises(ConfigError, match="stage 'bidding', which is not an open stage"):
        process(playbook=bad)
    with pytest.raises(ConfigError, match="bid stage is 'tender'"):
        process(bid_stage="tender")


def test_nothing_to_assess_gives_empty_tables_and_an_early_date_an_error():
    c = compliance(process("2026-01-12"))  # every deal still in its first stages
    assert c.deal_stages.empty and c.by_owner.empty and c.summary()["share_done_in_time"] is None
    with pytest.raises(DataValidationError, match="No opportunity had been created by 2025-12-31"):
        process("2025-12-31")
