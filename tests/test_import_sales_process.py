"""Import of the sales-process tables: tasks, opportunity_competitors, and the opportunities'
sales_process / lost_to — aliases (en/zh), value spellings, validation and quarantine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import NOW, write_csv

from kamlib.data import import_files, load
from kamlib.methodology import load_methodology, parse_methodology

ACCOUNTS = """account_id,name
A1,Alpha Machinery
A2,Beta Electronics
"""
OPPORTUNITIES = """opportunity_id,account_id,created_date,stage,amount,sales_process,lost_to
P1,A1,2025-01-01,quote,100000,招投标,
P2,A1,2025-02-01,lost,50000,Direct Purchase,Siemens
P3,A2,2025-03-01,lost,20000,框架协议,无决策
P4,A2,2025-03-05,won,20000,spot buy,
"""


def _import(tmp_path: Path, files: dict[str, str], **kw):
    folder = tmp_path / "export"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        write_csv(folder / name, text)
    return import_files([folder], store=tmp_path / "store.duckdb", now=NOW, **kw)


def _by_row(report, table: str) -> pd.DataFrame:
    p = report.problems
    return p[p["table"] == table].set_index("row")


def test_chinese_headers_and_values_are_read(tmp_path):
    tasks = (
        "任务编号,商机编号,阶段,任务类型,负责人,创建日期,截止日期,完成日期,状态\n"
        "T1,P1,投标,技术标,王伟,2025-01-10,2025-01-20,2025-01-15 10:30,已完成\n"
        "T2,P1,报价,Commercial Bid,王伟,2025-01-10,2025-01-20,,跳过\n"
        "T3,P1,方案,试用,李娜,2025-01-05,,,进行中\n"
        "T4,P2,quote,executive_visit,李娜,2025-02-10,,,取消\n"
    )
    competitors = (
        "商机编号,竞争对手,主要对手,我方报价,对手报价,备注\n"
        'P1,Siemens,是,"100,000",95000,incumbent\n'
        "P1,Inovance,否,,,\n"
        "P2,Siemens,是,50000,,\n"
    )
    report = _import(
        tmp_path,
        {
            "accounts.csv": ACCOUNTS,
            "opportunities.csv": OPPORTUNITIES,
            "tasks.csv": tasks,
            "opportunity_competitors.csv": competitors,
        },
    )
    assert report.reconciles and report.problems.empty
    data = load(tmp_path / "store.duckdb")
    data.validate()
    t = data.tasks.set_index("task_id")
    assert t["task"].tolist() == [
        "bid_technical",
        "bid_commercial",
        "trial_sample",
        "executive_visit",
    ]
    assert t["stage"].tolist() == ["quote", "quote", "solution", "quote"]
    assert t["status"].tolist() == ["done", "skipped", "open", "skipped"]  # 取消: a task is skipped
    assert t.loc["T1", "done_date"] == pd.Timestamp("2025-01-15 10:30")
    assert t.loc["T1", "created_date"] == pd.Timestamp("2025-01-10")
    c = data.opportunity_competitors.set_index(["opportunity_id", "competitor"])
    assert c["primary"].tolist() == [False, True, True]  # sorted by key: Inovance first
    assert c.loc[("P1", "Siemens"), "our_price"] == 100_000.0
    assert c.loc[("P1", "Siemens"), "competitor_price"] == 95_000.0
    o = data.opportunities.set_index("opportunity_id")
    # process spellings (zh label, alias, case) become the playbooks' keys; others stay as written
    assert o["sales_process"].tolist() == ["tender", "direct", "framework", "spot buy"]
    assert o.loc["P2", "lost_to"] == "Siemens" and o.loc["P3", "lost_to"] == "no decision"
    notices = report.notices
    unknown = notices[notices["kind"] == "unknown_process"]
    assert len(unknown) == 1 and "spot buy" in unknown["message"].iloc[0]
    assert unknown["rows"].iloc[0] == 1


def test_english_crm_headers(tmp_path):
    # Salesforce-like API names: OpportunityId, CompetitorName, ActivityDate, CompletedDateTime
    tasks = (
        "Task ID,OpportunityId,Stage,Task Type,Assigned To,CreatedDate,ActivityDate,"
        "CompletedDateTime,Status\n"
        "T1,P1,Quote,Technical bid,Wang,2025-01-10,2025-01-20,2025-01-12 09:00:00,Completed\n"
        "T2,P1,Quote,site survey,Wang,2025-01-10,2025-01-20,,Not Started\n"
    )
    competitors = (
        "OpportunityId,CompetitorName,Is Primary,Our Price,Competitor Price\nP1,ABB,yes,1,2\n"
    )
    report = _import(
        tmp_path,
        {
            "accounts.csv": ACCOUNTS,
            "opportunities.csv": OPPORTUNITIES,
            "tasks.csv": tasks,
            "opportunity_competitors.csv": competitors,
        },
    )
    assert report.reconciles and report.problems.empty, report.problems
    data = load(tmp_path / "store.duckdb")
    t = data.tasks
    assert t["task"].tolist() == ["bid_technical", "site_survey"]
    assert t["status"].tolist() == ["done", "open"]
    assert t["due_date"].tolist() == [pd.Timestamp("2025-01-20")] * 2
    assert data.opportunity_competitors["primary"].tolist() == [True]


def test_hostile_task_rows_are_quarantined_with_reasons_and_counts_reconcile(tmp_path):
    tasks = (
        "task_id,opportunity_id,stage,task,created_date,done_date,status\n"
        "T1,P1,quote,bid_technical,2025-01-10,2025-01-15 10:00,done\n"  # row 2: fine
        "T2,P9,quote,bid_technical,2025-01-10,,open\n"  # row 3: unknown deal
        "T3,P1,quote,bid_technical,2025-01-10,2025-01-09 23:59,done\n"  # row 4: done before created
        "T4,P1,quote,golf_outing,2025-01-10,,open\n"  # row 5: unknown task code
        "T5,P1,quote,,2025-01-10,,open\n"  # row 6: no task code
        "T1,P1,quote,bid_commercial,2025-01-10,,open\n"  # row 7: duplicate task_id
        "T6,P1,dreaming,bid_commercial,2025-01-10,,open\n"  # row 8: unknown stage
        "T7,P1,quote,bid_commercial,2025-01-10,,finished\n"  # row 9: unknown status
        "T8,P1,quote,bid_commercial,2025-01-10,2099-01-01 10:00,done\n"  # row 10: future
        "T9,P1,quote,bid_commercial,2025-01-10,yesterday,done\n"  # row 11: not a date
        "T10,P1,quote,bid_commercial,2025-01-10,2025-01-10 08:00,done\n"  # row 12: same day: fine
    )
    report = _import(
        tmp_path,
        {"accounts.csv": ACCOUNTS, "opportunities.csv": OPPORTUNITIES, "tasks.csv": tasks},
    )
    counts = report.tables["tasks"]
    assert (counts.read, counts.loaded, counts.quarantined) == (11, 2, 9)
    assert report.reconciles
    p = _by_row(report, "tasks")
    assert p.loc[3, "column"] == "opportunity_id"
    assert p.loc[3, "reason"] == "unknown opportunity: P9 (not in opportunities)"
    assert p.loc[4, "column"] == "done_date"
    assert p.loc[4, "reason"] == (
        "done before created: done_date 2025-01-09 23:59 is before created_date 2025-01-10 "
        "(fix one of the dates)"
    )
    reason = p.loc[5, "reason"]
    assert p.loc[5, "column"] == "task" and reason.startswith(
        "unknown task code: golf_outing (known: "
    )
    codes = load_methodology().require_playbooks().task_codes
    assert all(code in reason for code in codes)  # names every valid code
    assert "add it to the tasks of the methodology file's playbooks" in reason
    assert "required value missing: task is empty" in p.loc[6, "reason"]
    assert "duplicate key" in p.loc[7, "reason"] and "row 2" in p.loc[7, "reason"]
    assert "unknown stage: dreaming" in p.loc[8, "reason"]
    assert "not an allowed value: finished (allowed: open, done, skipped)" in p.loc[9, "reason"]
    assert "date in the future" in p.loc[10, "reason"]
    assert "not a date and time" in p.loc[11, "reason"]
    data = load(tmp_path / "store.duckdb")
    assert sorted(data.tasks["task_id"]) == ["T1", "T10"]
    assert set(data.quarantine["check"]) >= {"unknown opportunity", "done before created",
                                             "unknown task code"}  # fmt: skip


def test_a_methodology_without_playbooks_quarantines_every_task_saying_so(tmp_path):
    from importlib import resources

    import yaml

    raw = yaml.safe_load(
        resources.files("kamlib.resources").joinpath("methodology.yml").read_text("utf-8")
    )
    raw.pop("playbooks")
    bare = parse_methodology(raw, source="bare.yml")
    tasks = "task_id,opportunity_id,task\nT1,P1,bid_technical\n"
    report = _import(
        tmp_path,
        {"accounts.csv": ACCOUNTS, "opportunities.csv": OPPORTUNITIES, "tasks.csv": tasks},
        methodology=bare,
        allow_shrink=True,  # every task row is quarantined: a table emptied on purpose
    )
    reason = _by_row(report, "tasks").loc[2, "reason"]
    assert reason.startswith(
        "unknown task code: bid_technical (the methodology file has no playbooks"
    )
    # without playbooks every process is unknown: loaded as written, with a notice
    assert set(load(tmp_path / "store.duckdb").opportunities["sales_process"]) == {
        "招投标", "Direct Purchase", "框架协议", "spot buy"
    }  # fmt: skip


def test_hostile_competitor_rows_are_quarantined_and_counts_reconcile(tmp_path):
    competitors = (
        "opportunity_id,competitor,primary,our_price,competitor_price\n"
        "P1,Siemens,yes,100,90\n"  # row 2: fine
        "P9,Siemens,yes,100,90\n"  # row 3: unknown deal
        "P1,Siemens,no,,\n"  # row 4: duplicate (opportunity, competitor)
        "P1,,no,,\n"  # row 5: no competitor
        "P1,ABB,maybe,,\n"  # row 6: flag not yes/no
        "P1,Omron,no,-5,\n"  # row 7: negative price
        "P1,Delta,no,,cheap\n"  # row 8: not a number
    )
    report = _import(
        tmp_path,
        {
            "accounts.csv": ACCOUNTS,
            "opportunities.csv": OPPORTUNITIES,
            "opportunity_competitors.csv": competitors,
        },
    )
    counts = report.tables["opportunity_competitors"]
    assert (counts.read, counts.loaded, counts.quarantined) == (7, 1, 6)
    assert report.reconciles
    p = _by_row(report, "opportunity_competitors")
    assert p.loc[3, "reason"] == "unknown opportunity: P9 (not in opportunities)"
    assert "duplicate key: (opportunity_id, competitor) = (P1, Siemens)" in p.loc[4, "reason"]
    assert "required value missing: competitor is empty" in p.loc[5, "reason"]
    assert p.loc[6, "reason"] == "not yes/no: maybe"
    assert "below the minimum 0" in p.loc[7, "reason"]
    assert p.loc[8, "reason"] == "not a number: cheap"


def test_tasks_without_an_opportunities_table_are_loaded_unchecked(tmp_path):
    tasks = "task_id,opportunity_id,task\nT1,P1,bid_technical\n"
    report = _import(tmp_path, {"accounts.csv": ACCOUNTS, "tasks.csv": tasks})
    assert report.tables["tasks"].loaded == 1
    unchecked = report.notices[report.notices["kind"] == "unchecked"]
    assert "opportunity_id not checked: no opportunities table imported" in set(
        unchecked["message"]
    )


def test_lost_to_on_a_deal_that_is_not_lost_is_noticed(tmp_path):
    opps = OPPORTUNITIES.replace(
        "P1,A1,2025-01-01,quote,100000,招投标,", "P1,A1,2025-01-01,quote,100000,招投标,ABB"
    )
    report = _import(tmp_path, {"accounts.csv": ACCOUNTS, "opportunities.csv": opps})
    notice = report.notices[report.notices["kind"] == "lost_to_not_lost"]
    assert notice["rows"].tolist() == [1]


@pytest.mark.parametrize("as_of", ["2025-01-12", "2025-01-15"])
def test_as_of_a_date_a_task_done_later_is_open(tmp_path, as_of):
    tasks = (
        "task_id,opportunity_id,task,created_date,done_date,status\n"
        "T1,P1,bid_technical,2025-01-10,2025-01-15 10:00,done\n"
        "T2,P1,bid_commercial,2025-01-13,2025-01-14 10:00,done\n"
    )
    competitors = "opportunity_id,competitor\nP1,ABB\nP3,Siemens\n"
    _import(
        tmp_path,
        {
            "accounts.csv": ACCOUNTS,
            "opportunities.csv": OPPORTUNITIES,
            "tasks.csv": tasks,
            "opportunity_competitors.csv": competitors,
        },
    )
    view = load(tmp_path / "store.duckdb").as_of(as_of)
    t = view.tasks.set_index("task_id")
    if as_of == "2025-01-12":
        assert list(t.index) == ["T1"]  # T2 created later
        assert t.loc["T1", "status"] == "open" and pd.isna(t.loc["T1", "done_date"])
        assert view.opportunity_competitors["opportunity_id"].tolist() == ["P1"]  # P3: later
    else:
        assert t["status"].tolist() == ["done", "done"]  # done during the as-of day counts
        assert t.loc["T1", "done_date"] == pd.Timestamp("2025-01-15 10:00")


def test_as_of_before_the_loss_a_deal_is_open_without_lost_to(tmp_path):
    opps = (
        "opportunity_id,account_id,created_date,stage,closed_date,lost_to\n"
        "P2,A1,2025-02-01,lost,2025-03-01,Siemens\n"
    )
    _import(tmp_path, {"accounts.csv": ACCOUNTS, "opportunities.csv": opps})
    data = load(tmp_path / "store.duckdb")
    assert data.opportunities["lost_to"].tolist() == ["Siemens"]
    then = data.as_of("2025-02-15").opportunities
    assert then["status"].tolist() == ["open"] and then["lost_to"].isna().all()
