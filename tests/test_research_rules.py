"""kamlib.research rules on hand-built frames: power map, service clocks, OGSM, masking.

Every expected value is worked out by hand in the test from the rule in the module
docstrings and the thresholds of the shipped methodology file's ``research`` section.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kamlib.data.kamdata import KamData, Snapshot
from kamlib.errors import ConfigError
from kamlib.methodology import ResearchSettings, load_methodology, parse_research
from kamlib.research import PiiMasker, check_cascade, ogsm_progress, relationship_strength
from kamlib.research.decision_makers import build_power_map, stance
from kamlib.research.findings import SEVERITY, finding
from kamlib.research.service import service_stalls, service_trend, ticket_times
from kamlib.views.research_findings import actions_frame, findings_frame

CUT = pd.Timestamp("2026-09-30")
S = ResearchSettings()


# -- settings ------------------------------------------------------------------------------------
def test_shipped_research_section_matches_the_documented_defaults():
    assert load_methodology().research == ResearchSettings()


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"high_influenc": 4}, "Unknown setting 'high_influenc'. Did you mean 'high_influence'"),
        ({"high_influence": 7}, r"high_influence: must be a whole number between 1 and 5\. Got 7"),
        ({"single_thread_share": "lots"}, "single_thread_share: must be a number"),
        ({"strength_support_weight": 0.9}, "must add up to 1. Got 1.4"),
        ({"at_risk_ratio": 0.99}, "at_risk_ratio .* must not exceed on_track_ratio"),
        ([1, 2], "must be a mapping"),
    ],
)
def test_bad_research_settings_are_refused(raw, match):
    with pytest.raises(ConfigError, match=match):
        parse_research(raw, source="m.yml")


# -- power map -----------------------------------------------------------------------------------
def test_relationship_strength_by_hand():
    got = relationship_strength(
        pd.Series([2, -2, 0, np.nan]),
        pd.Series([0.0, np.nan, 90.0, 0.0]),
        pd.Series([6, 0, 3, 12]),
        S,
    )
    # 100 × (0.5 × (s + 2)/4 + 0.25 × exp(−days/90) + 0.25 × min(n/6, 1))
    expected = [
        100.0,
        0.0,  # opponent, never contacted, no activity
        100 * (0.5 * 0.5 + 0.25 * math.exp(-1) + 0.25 * 0.5),
        100 * (0.5 * 0.5 + 0.25 * 1 + 0.25 * 1),  # unknown support counts as neutral
    ]
    np.testing.assert_allclose(got.to_numpy(), expected)


def test_stance_bands():
    got = stance(pd.Series([2, 1, 0, -0.5, -1, -2, np.nan]), S)
    assert list(got) == [
        "champion", "supporter", "neutral", "skeptic", "opponent", "opponent", "unknown",
    ]  # fmt: skip


def _contacts(rows: list[tuple]) -> pd.DataFrame:
    cols = ["contact_id", "name", "buying_role", "influence", "support", "last_contact_date"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["account_id"] = "A1"
    for c in ("title", "department", "reaction_mode", "business_challenges", "email", "phone"):
        frame[c] = None
    frame["last_contact_date"] = pd.to_datetime(frame["last_contact_date"])
    return frame


def _activities(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "activity_id": [f"X{i}" for i in range(len(pairs))],
            "account_id": "A1",
            "contact_id": [c for c, _ in pairs],
            "date": pd.to_datetime([d for _, d in pairs]),
            "type": "visit",
        }
    )


def test_coverage_gaps_at_account_level():
    contacts = _contacts(
        [
            ("C1", "Wang", "technical", 5, -2, "2026-09-01"),  # key person, opponent
            ("C2", "Li", "user", 2, 2, "2026-09-20"),
            ("C3", "Zhao", "coach", 4, 1, "2026-05-01"),  # key person, 152 days ago
        ]
    )
    # C2 carries 7 of 10 contact activities in the last 365 days → single-threaded (≥ 60 %)
    acts = _activities(
        [("C2", "2026-09-20")] * 7 + [("C1", "2026-09-01")] * 2 + [("C3", "2026-05-01")]
        + [("C1", "2025-01-01")]  # outside the window: not counted
    )  # fmt: skip
    pm = build_power_map(contacts, acts, cut=CUT, account_id="A1", settings=S)
    gaps = pm.gaps.set_index("gap")
    assert set(gaps.index) == {
        "no_economic_buyer", "high_influence_opponent", "single_threaded",
        "key_person_not_contacted",
    }  # fmt: skip
    assert gaps.loc["high_influence_opponent", "persons"] == "Wang"
    assert gaps.loc["single_threaded", "value"] == pytest.approx(0.7)
    assert gaps.loc["single_threaded", "persons"] == "Li"
    assert gaps.loc["key_person_not_contacted", "persons"] == "Zhao"
    assert gaps.loc["key_person_not_contacted", "value"] == (CUT - pd.Timestamp("2026-05-01")).days
    c = pm.contacts.set_index("contact_id")
    assert c.loc["C1", "activities_in_window"] == 2
    assert c.loc["C1", "days_since_contact"] == 29
    assert bool(c.loc["C1", "key_person"]) and not bool(c.loc["C2", "key_person"])
    # account strength: influence-weighted mean of the contacts' strengths
    w = c["influence"]
    assert pm.strength == pytest.approx(float((c["strength"] * w).sum() / w.sum()))
    assert pm.roles.set_index("buying_role").loc["technical", "opponents"] == 1


def test_no_gap_when_covered():
    contacts = _contacts(
        [
            ("C1", "Wang", "economic", 5, 2, "2026-09-01"),
            ("C2", "Li", "technical", 4, 1, "2026-09-10"),
        ]
    )
    acts = _activities([("C1", "2026-09-01")] * 3 + [("C2", "2026-09-10")] * 3)
    pm = build_power_map(contacts, acts, cut=CUT, account_id="A1", settings=S)
    assert pm.gaps.empty


def test_single_threaded_when_fewer_than_two_contacts_met():
    contacts = _contacts([("C1", "Wang", "economic", 5, 2, None), ("C2", "Li", "user", 2, 0, None)])
    pm = build_power_map(contacts, _activities([("C1", "2026-09-01")]), cut=CUT,
                         account_id="A1", settings=S)  # fmt: skip
    single = pm.gaps[pm.gaps["gap"] == "single_threaded"].iloc[0]
    assert single["value"] == 1 and single["threshold"] == 2


def test_opportunity_level_gaps():
    contacts = _contacts(
        [
            ("C1", "Wang", "economic", 5, 2, "2026-09-01"),
            ("C2", "Li", "technical", 4, -2, "2026-09-10"),
            ("C3", "Zhao", "user", 2, 1, "2026-09-10"),
        ]
    )
    opps = pd.DataFrame(
        {"opportunity_id": ["O1", "O2", "O3"], "name": ["a", "b", "c"],
         "amount": [100.0, 200.0, 300.0]}
    )  # fmt: skip
    links = pd.DataFrame(
        {"opportunity_id": ["O1", "O1", "O2", "O2"], "contact_id": ["C1", "C3", "C2", "C3"]}
    )
    pm = build_power_map(contacts, None, cut=CUT, account_id="A1", settings=S,
                         opportunities=opps, opportunity_contacts=links)  # fmt: skip
    deal = pm.gaps[pm.gaps["level"] == "opportunity"]
    by_rule = deal.groupby("gap")["subject"].apply(sorted).to_dict()
    assert by_rule == {
        "deal_no_economic_buyer": ["O2", "O3"],
        "deal_opponent": ["O2"],
        "deal_single_threaded": ["O3"],  # no linked contact at all
    }
    assert list(pm.deals["contacts"]) == [2, 2, 0]


def test_unknown_roles_and_out_of_range_values_are_neutralised_and_listed():
    contacts = _contacts(
        [
            ("C1", "Wang", "boss", 5, 1, None),
            ("C2", "Li", "technical", 9, "x", None),
        ]
    )
    contacts["reaction_mode"] = ["growth", "grumpy"]
    pm = build_power_map(contacts, None, cut=CUT, account_id="A1", settings=S)
    c = pm.contacts.set_index("contact_id")
    assert c.loc["C1", "buying_role"] == "other"
    assert np.isnan(c.loc["C2", "influence"]) and np.isnan(c.loc["C2", "support"])
    assert c.loc["C2", "stance"] == "unknown"
    issues = set(zip(pm.issues["contact_id"], pm.issues["column"], strict=True))
    assert issues == {("C1", "buying_role"), ("C2", "influence"), ("C2", "support"),
                      ("C2", "reaction_mode")}  # fmt: skip


# -- service -------------------------------------------------------------------------------------
def _tickets(rows: list[tuple]) -> pd.DataFrame:
    cols = ["ticket_id", "account_id", "opened_at", "first_response_at", "resolved_at",
            "priority", "sla_response_hours", "sla_resolution_hours"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("opened_at", "first_response_at", "resolved_at"):
        frame[c] = pd.to_datetime(frame[c])
    frame["department"] = "技术支持部"
    frame["region"] = "华东"
    frame["escalated"] = False
    frame["satisfaction"] = np.nan
    return frame


def test_ticket_clocks_and_sla_judgements_by_hand():
    t = _tickets(
        [
            ("T1", "A1", "2026-09-01 08:00", "2026-09-01 13:00", "2026-09-02 08:00", "p2", 4, 48),
            ("T2", "A1", "2026-09-29 08:00", None, None, "p2", 4, 48),  # unanswered 40 h > 4
            ("T3", "A1", "2026-09-30 22:00", None, None, "p2", 4, 48),  # 2 h: not judged yet
            ("T4", "A1", "2026-09-10 08:00", "2026-09-10 09:00", "2026-09-09 08:00", "p3", 4, 48),
        ]
    )
    times, issues = ticket_times(t, cut=CUT)
    r = times.set_index("ticket_id")
    assert r.loc["T1", "response_hours"] == 5 and r.loc["T1", "resolution_hours"] == 24
    assert r.loc["T1", "response_breached"] == 1 and r.loc["T1", "resolution_breached"] == 0
    assert r.loc["T2", "response_breached"] == 1  # elapsed 40 h past a 4 h SLA
    assert np.isnan(r.loc["T2", "resolution_breached"])  # 40 h of 48: not yet
    assert np.isnan(r.loc["T3", "response_breached"])
    assert r.loc["T2", "age_days"] == pytest.approx(40 / 24)
    # resolved before it was opened: listed, times left out (not clipped to 0)
    assert list(issues["ticket_id"]) == ["T4"]
    assert issues.loc[0, "problem"] == "resolved_before_opened"
    assert np.isnan(r.loc["T4", "resolution_hours"]) and np.isnan(r.loc["T4", "response_hours"])
    assert not bool(r.loc["T4", "is_open"])


def test_deteriorating_rule_by_hand():
    # A1: 3 baseline tickets at 1 h of a 4 h SLA, 3 recent ones at 4 h → slowdown 4×
    # A2: the same times throughout; both answered and resolved at the same ratio
    rows = []
    for acc, recent_h in (("A1", 4.0), ("A2", 1.0)):
        for i, day in enumerate(["2025-06-10", "2025-08-10", "2025-12-10"]):
            rows.append((f"{acc}b{i}", acc, f"{day} 08:00", 1.0))
        for i, day in enumerate(["2026-05-10", "2026-07-10", "2026-09-10"]):
            rows.append((f"{acc}r{i}", acc, f"{day} 08:00", recent_h))
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rows, columns=["ticket_id", "account_id", "opened_at", "h"])
    frame["opened_at"] = pd.to_datetime(frame["opened_at"])
    jitter = np.exp(rng.normal(0, 0.05, len(frame)))  # small noise: a pooled variance > 0
    frame["first_response_at"] = frame["opened_at"] + pd.to_timedelta(frame["h"] * jitter, "h")
    frame["resolved_at"] = frame["opened_at"] + pd.to_timedelta(frame["h"] * 10 * jitter, "h")
    frame["priority"], frame["sla_response_hours"], frame["sla_resolution_hours"] = "p2", 4.0, 40.0
    for c, v in (("department", "X"), ("region", "Y"), ("escalated", False),
                 ("satisfaction", np.nan)):  # fmt: skip
        frame[c] = v
    times, _ = ticket_times(frame.drop(columns="h"), cut=CUT)
    trend = service_trend(times, cut=CUT, settings=S).set_index("account_id")
    assert bool(trend.loc["A1", "deteriorating"]) and not bool(trend.loc["A2", "deteriorating"])
    assert trend.loc["A1", "slowdown_ratio"] == pytest.approx(4.0, rel=0.1)
    assert trend.loc["A1", "tickets_recent"] == 3 and trend.loc["A1", "tickets_baseline"] == 3
    # with 2 tickets per window nothing can be judged
    fewer = times[~times["ticket_id"].str.endswith("2")]
    assert not service_trend(fewer, cut=CUT, settings=S)["deteriorating"].any()


def test_stall_cells_by_hand():
    rows = []
    for i in range(20):
        rows.append((f"a{i}", "A1", "2026-01-05 08:00", "2026-01-05 09:00", "2026-01-06 08:00"))
        rows.append((f"b{i}", "A1", "2026-01-05 08:00", "2026-01-05 09:00", "2026-01-09 08:00"))
    frame = _tickets([(*r, "p3", 4, 48) for r in rows])
    frame.loc[frame["ticket_id"].str.startswith("b"), "department"] = "质量部"
    times, _ = ticket_times(frame, cut=CUT)
    stalls = service_stalls(times, S)
    # overall median of 24 h and 96 h resolutions (20 each) is 60 h → 96/60 = 1.6 ≥ 1.3
    top = stalls.iloc[0]
    assert (top["department"], top["ratio"], bool(top["stall"])) == ("质量部", 1.6, True)
    assert not bool(stalls.iloc[1]["stall"])


# -- OGSM ----------------------------------------------------------------------------------------
def _ogsm_data(targets: pd.DataFrame) -> KamData:
    accounts = pd.DataFrame(
        {"account_id": ["A1", "A2"], "name": ["One", "Two"], "owner": ["M1", "M2"],
         "category_spend": [1_000_000.0, np.nan], "parent_account_id": [None, None],
         "created_date": pd.to_datetime([None, None])}
    )  # fmt: skip
    orders = pd.DataFrame(
        {"order_id": ["o1", "o2", "o3", "o4"], "line_no": 1, "account_id": ["A1", "A1", "A2", "A1"],
         "order_date": pd.to_datetime(["2026-07-15", "2026-08-20", "2026-08-01", "2025-12-01"]),
         "amount": [100_000.0, 50_000.0, 30_000.0, 20_000.0]}
    )  # fmt: skip
    plan = pd.DataFrame(
        {"item_id": ["P1", "P2"], "account_id": ["A1", "A1"], "target_id": ["T4", "T4"],
         "title": ["call Wang", "demo"], "owner": ["M1", "M1"],
         "due_date": pd.to_datetime(["2026-08-01", "2026-10-15"]), "status": ["open", "open"],
         "kind": ["success_plan", "success_plan"]}
    )  # fmt: skip
    return KamData(
        {"accounts": accounts, "orders": orders, "targets": targets, "plan_items": plan},
        snapshot=Snapshot(None, "test", None, "test"),
    )


def _targets(rows: list[tuple]) -> pd.DataFrame:
    cols = ["target_id", "parent_id", "level", "owner", "team", "account_id", "period",
            "measure", "target_value"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=cols)
    frame["objective"] = "Grow"
    return frame


CASCADE = [
    ("T1", None, "company", "VP", None, None, "2026-Q3", "revenue", 400_000.0),
    ("T2", "T1", "team", "Head", "East", None, "2026-Q3", "revenue", 300_000.0),
    ("T3", "T2", "manager", "M1", "East", None, "2026-Q3", "revenue", 200_000.0),
    ("T4", "T3", "account", "M1", "East", "A1", "2026-Q3", "revenue", 150_000.0),
    ("T5", None, "account", "M1", "East", "A1", "FY2026", "share_of_wallet", 0.2),
    ("T6", "T3", "manager", "M2", "East", None, "2026-Q3", "revenue", 10_000.0),
]


def test_ogsm_progress_by_hand():
    data = _ogsm_data(_targets(CASCADE))
    # as of 2026-08-31: 62 of 92 days of Q3 elapsed
    r = ogsm_progress(data, period="2026-Q3", as_of="2026-08-31")
    p = r.progress.set_index("target_id")
    elapsed = 62 / 92
    assert p.loc["T1", "actual"] == 180_000.0  # every order in Q3 up to the date
    assert p.loc["T3", "actual"] == 150_000.0  # M1's account A1
    assert p.loc["T4", "elapsed"] == pytest.approx(elapsed)
    pace = 150_000.0 / (150_000.0 * elapsed)
    assert p.loc["T4", "pace"] == pytest.approx(pace) and p.loc["T4", "status"] == "achieved"
    assert p.loc["T2", "team"] == "East" and p.loc["T2", "actual"] == 180_000.0
    # T1: 180k of 400k × 62/92 = 269.6k expected → pace 0.668 < 0.8 → off track
    assert p.loc["T1", "pace"] == pytest.approx(180_000 / (400_000 * elapsed))
    assert p.loc["T1", "status"] == "off_track"
    assert p.loc["T6", "status"] == "achieved"  # 30k ≥ 10k
    # share of wallet: revenue of the 12 months to the date ÷ wallet, not pro-rated
    assert p.loc["T5", "actual"] == pytest.approx(170_000 / 1_000_000)
    # pace 0.17 / 0.2 = 0.85: between 0.8 and 0.95 → at risk
    assert p.loc["T5", "expected"] == 0.2 and p.loc["T5", "status"] == "at_risk"
    assert list(p["depth"].loc[["T1", "T2", "T3", "T4"]]) == [0, 1, 2, 3]
    assert p.loc["T4", "plan_items"] == 2 and p.loc["T4", "overdue_items"] == 1
    overdue = r.plan_items.set_index("item_id")
    assert overdue.loc["P1", "days_overdue"] == 30 and not overdue.loc["P2", "overdue"]
    assert r.issues.empty


def test_status_thresholds():
    rows = [("T1", None, "account", "M1", "E", "A1", "2026-Q3", "revenue", t)
            for t in (150_000.0,)]  # fmt: skip
    data = _ogsm_data(_targets(rows))
    # as of 2026-09-30 the quarter is over: 150k ÷ 160k = 0.9375 is missed, not "at risk"
    data2 = _ogsm_data(_targets([(*rows[0][:-1], 160_000.0)]))
    assert ogsm_progress(data, period="2026-Q3", as_of="2026-09-30").progress["status"][0] == (
        "achieved"
    )
    assert ogsm_progress(data2, period="2026-Q3", as_of="2026-09-30").progress["status"][0] == (
        "missed"
    )
    early = ogsm_progress(data, period="2026-Q3", as_of="2026-06-30").progress
    assert early["status"][0] == "not_started" and early["actual"][0] == 0.0


def test_unknown_parent_and_cycles_are_reported_not_fatal():
    rows = [
        *CASCADE,
        ("T7", "T99", "team", "X", "West", None, "2026-Q3", "revenue", 1.0),
        ("T8", "T9", "team", "Y", "West", None, "2026-Q3", "revenue", 1.0),
        ("T9", "T10", "manager", "Y", "West", None, "2026-Q3", "revenue", 1.0),
        ("T10", "T8", "manager", "Z", "West", None, "2026-Q3", "revenue", 1.0),
        ("T11", "T10", "account", "Z", "West", "A2", "2026-Q3", "revenue", 1.0),
    ]
    depths, issues = check_cascade(_targets(rows))
    problems = dict(zip(issues["target_id"], issues["problem"], strict=True))
    assert problems == {"T7": "unknown_parent", "T10": "cycle"}
    assert issues.set_index("target_id").loc["T10", "detail"] == "T10 → T8 → T9 → T10"
    assert "T99" in issues.set_index("target_id").loc["T7", "detail"]
    kept = set(depths["target_id"])
    assert {"T8", "T9", "T10", "T11"}.isdisjoint(kept)  # on the cycle or hanging from it
    assert depths.set_index("target_id").loc["T7", "depth"] == 0
    r = ogsm_progress(_ogsm_data(_targets(rows)), period="2026-Q3", as_of="2026-09-30")
    assert "T10" not in set(r.progress["target_id"]) and "T7" in set(r.progress["target_id"])
    assert set(r.issues["problem"]) == {"unknown_parent", "cycle"}


# -- findings and masking ------------------------------------------------------------------------
def test_findings_rank_by_severity_then_impact_and_name_their_rule():
    items = [
        finding("whitespace", impact=9e9, lines="Drives (80%)", industry="Auto"),
        finding("single_threaded", impact=10.0, detail="x"),
        finding("no_economic_buyer", impact=5.0, contacts=3),
        finding("high_influence_opponent", impact=50.0, persons="Wang"),
    ]
    frame = findings_frame(items, S)
    assert list(frame["rule"]) == [
        "high_influence_opponent", "no_economic_buyer", "single_threaded", "whitespace",
    ]  # fmt: skip
    assert frame.loc[0, "rule_text"] == "influence ≥ 4 and support ≤ -1"
    actions = actions_frame(frame.head(2))
    assert list(actions["rule"].str.split(":").str[0]) == ["high_influence_opponent",
                                                           "no_economic_buyer"]  # fmt: skip
    zh = findings_frame(items, S, lang="zh")
    assert "高影响力" in zh.loc[0, "finding"]
    assert set(SEVERITY) == set(__import__("kamlib.views.research_findings", fromlist=["TEXTS"]).TEXTS)


def test_pseudonyms_are_stable_keyed_and_swept_from_free_text():
    m = PiiMasker()
    assert m.person("王伟") == PiiMasker().person("王伟")
    assert m.person("王伟") != PiiMasker(key="other").person("王伟")
    assert m.person("王伟") != m.person("王芳")
    m.learn(persons=["王伟"], emails=["wei.wang@acme.cn"], phones=["+86 139 1234 5678"])
    text = "Met 王伟 (wei.wang@acme.cn, +86 139 1234 5678); also x.y@z.com, 13812345678, 2026-09-30"
    out = m.sweep(text)
    for secret in ("王伟", "wei.wang@acme.cn", "+86 139 1234 5678", "x.y@z.com", "13812345678"):
        assert secret not in out
    assert m.person("王伟") in out and "2026-09-30" in out  # dates are not phone numbers
    frame = pd.DataFrame({"name": ["王伟"], "email": ["wei.wang@acme.cn"], "phone": [None],
                          "notes": ["call 王伟"], "owner": ["张三"]})  # fmt: skip
    masked = m.mask_contacts(frame)
    assert masked.loc[0, "name"].startswith("Person-") and masked.loc[0, "phone"] is None
    assert masked.loc[0, "owner"].startswith("Staff-") and "王伟" not in masked.loc[0, "notes"]


# -- charts --------------------------------------------------------------------------------------
def test_research_charts_from_result_frames():
    from kamlib import charts

    contacts = _contacts(
        [("C1", "Wang", "economic", 5, 2, "2026-09-01"), ("C2", "Li", "user", 5, 2, None),
         ("C3", "Zhao", "coach", np.nan, 1, None)]
    )  # fmt: skip
    pm = build_power_map(contacts, None, cut=CUT, account_id="A1", settings=S)
    spec = charts.power_map(pm.contacts, lang="zh").to_dict()
    rows = next(d for d in spec["datasets"].values() if "联系人" in d[0])
    assert len(rows) == 2  # Zhao has no influence: in the table, not on the grid
    assert spec["title"]["text"].startswith("1 位联系人的影响力或支持度未知")  # and the chart says so
    # two contacts in one cell stand in a column around it (one label per line),
    # deterministically: same support, influence 5 ± 0.1
    assert {r["x"] for r in rows} == {2.0} and {r["联系人"] for r in rows} == {"Wang", "Li"}
    assert sorted(r["y"] for r in rows) == pytest.approx([4.9, 5.1])
    empty = charts.power_map(pm.contacts.iloc[0:0]).to_dict()
    assert empty["mark"]["type"] == "text"
    progress = pd.DataFrame(
        {"target_id": ["T1", "T2"], "level": ["account", "team"], "owner": ["M", "H"],
         "team": ["E", "East"], "account_id": ["A1", None],
         "measure": ["share_of_wallet", "revenue"], "period": ["FY2026", "2026-Q3"],
         "attainment": [0.5, 0.4], "elapsed": [0.75, 0.5], "expected": [0.2, 50.0],
         "target_value": [0.2, 100.0], "status": ["off_track", "off_track"]}
    )  # fmt: skip
    rows = next(iter(charts.ogsm_progress(progress).to_dict()["datasets"].values()))
    # a level measure is expected in full, a flow pro rata
    assert [r["On pace at"] for r in rows] == [1.0, 0.5]
    assert [r["Target"].split(" · ")[0] for r in rows] == ["A1", "East"]


def test_a_period_that_is_over_is_missed_not_at_risk():
    """As of the quarter's last day a target short of its value was missed; the month
    that is still running is judged by pace."""
    data = _ogsm_data(_targets(CASCADE))
    r = ogsm_progress(data, period="2026-Q3", as_of="2026-09-30")
    p = r.progress.set_index("target_id")
    assert (p["elapsed"].loc[["T1", "T4"]] == 1.0).all()
    assert p.loc["T4", "status"] == "achieved"  # 150k of 150k
    assert p.loc["T1", "actual"] < p.loc["T1", "target_value"]
    assert p.loc["T1", "status"] == "missed"
    assert "missed" in r.by_owner.columns
