"""The research-side report views (kamlib.views.customer_research, ogsm_review,
account_summary, data_health) on the small demo company."""

from __future__ import annotations

import pytest

from kamlib.data.kamdata import KamData, Snapshot
from kamlib.errors import ConfigError
from kamlib.views.account_summary import account_summary
from kamlib.views.customer_research import customer_research
from kamlib.views.data_health import data_health
from kamlib.views.ogsm_review import ALERT_STATUSES, ogsm_review

AS_OF = "2026-09-30"


@pytest.fixture(scope="module")
def research(small_data, busiest_account):
    return customer_research(small_data, account_id=busiest_account, as_of=AS_OF)


def test_findings_and_actions_state_their_rules(research):
    f = research.ranked_findings
    assert len(f) and (f["rule_text"].str.len() > 0).all()
    assert list(f["rank"]) == list(range(1, len(f) + 1))
    assert f["severity"].is_monotonic_decreasing
    # one action per top finding; the playbook-gaps finding becomes one action per deal
    gap_rows = research.actions["rule"].str.startswith("deal_playbook_gaps: ")
    per_finding = research.actions[~gap_rows]
    top = f.head(5)
    top = top[top["rule"] != "deal_playbook_gaps"]
    assert len(per_finding) == len(top)
    for action, rule in zip(per_finding["rule"], top["rule"], strict=True):
        assert action.startswith(f"{rule}: ")
    assert gap_rows.sum() == len(research.playbook_gaps)
    assert {"relationship_strength", "ogsm_status", "whitespace"} <= set(research.rules)
    assert "exp(−days since last contact / 90)" in research.rules["relationship_strength"]


def test_the_view_writes_findings_and_categories_in_its_language(
    small_data, busiest_account, research
):
    zh = customer_research(small_data, account_id=busiest_account, as_of=AS_OF, lang="zh")
    assert list(zh.ranked_findings["rule"]) == list(research.ranked_findings["rule"])
    assert list(zh.findings["finding"]) != list(research.findings["finding"])
    assert "contact_name" in zh.contacts.columns
    assert set(zh.contacts["buying_role"].dropna()) & {"经济决策人", "技术把关人", "使用者", "内线"}
    assert list(research.top_findings.columns) == ["rank", "finding", "rule_text"]


def test_the_open_pipeline_rule_is_stated(research):
    assert "pipeline_as_of" in research.rules["open_pipeline"]


def test_ogsm_review_cuts_each_section(small_data):
    review = ogsm_review(small_data, as_of=AS_OF)
    assert review.period == "2026-Q3"
    assert (review.company_progress["level"] == "company").all()
    assert (review.team_progress["period"] == review.period).all()
    assert set(review.manager_progress["measure"]) <= {"revenue"}
    assert len(ALERT_STATUSES) == 3
    assert set(review.account_alerts["status"]) <= {"Missed", "Off track", "At risk"}
    assert review.key_figures["targets"] == len(review.review.progress)


def test_ogsm_review_without_targets_is_a_notice(small_company):
    tables = {t: small_company.tables[t] for t in ("accounts", "orders")}
    d = KamData(tables, snapshot=Snapshot(None, "orders-only", None, "demo"))
    review = ogsm_review(d, as_of=AS_OF)
    assert review.review is None and review.company_progress.empty
    assert len(review.notices) == 1 and not review.has_service


def test_views_take_one_date_parser(small_data, busiest_account):
    for call in (
        lambda: customer_research(small_data, account_id=busiest_account, as_of="30/09/2026"),
        lambda: ogsm_review(small_data, as_of="30/09/2026"),
        lambda: account_summary(small_data, account_id=busiest_account, as_of="30/09/2026"),
        lambda: data_health(small_data, as_of="30/09/2026"),
    ):
        with pytest.raises(ConfigError, match="'as_of' parameter"):
            call()


def test_account_summary_and_data_health(small_data, busiest_account):
    summary = account_summary(small_data, account_id=busiest_account, as_of=AS_OF)
    assert summary.profile["account_id"] == busiest_account and summary.currency
    health = data_health(small_data, as_of=AS_OF)
    assert health.key_figures["tables_present"] == int(health.tables["present"].sum())


def test_the_open_pipeline_fall_back_is_a_notice_naming_its_rule(
    small_company, busiest_account, monkeypatch
):
    import kamlib.research.context as context
    from kamlib.errors import DataValidationError

    def broken(*args, **kwargs):
        raise DataValidationError("stage_history is inconsistent")

    monkeypatch.setattr(context, "pipeline_as_of", broken)
    d = KamData(small_company.tables, snapshot=Snapshot(None, "fallback", None, "demo"))
    research = customer_research(d, account_id=busiest_account, as_of=AS_OF)  # warnings → notices
    fallback = context.PIPELINE_RULES["opportunities_table"]
    assert research.rules["open_pipeline"] == fallback
    [message] = [m for m in research.notices["message"] if fallback in m]
    assert "stage_history is inconsistent" in message


def test_open_deals_playbook_gaps_are_next_actions_one_per_deal(small_data):
    """The account with a deal at the bid stage: its required tasks and the readiness gaps not
    proven by them are in its next actions, in the report's language."""
    from kamlib.research import research_context

    ready = research_context(small_data, as_of=AS_OF).bid_readiness
    deal = ready.iloc[0]
    research = customer_research(small_data, account_id=deal["account_id"], as_of=AS_OF, lang="zh")
    gaps = research.playbook_gaps.set_index("opportunity_id")
    assert gaps.loc[deal["opportunity_id"], "readiness_share"] == pytest.approx(deal["readiness"])
    assert gaps.loc[deal["opportunity_id"], "stage"] == "quote"
    rows = research.actions[research.actions["rule"].str.startswith("deal_playbook_gaps: ")]
    assert len(rows) == len(gaps)
    [row] = rows[rows["action"].str.startswith(deal["opportunity_id"])].to_dict("records")
    assert "技术标" in row["action"]  # the technical bid, in Chinese
    assert f"投标准备度 {deal['readiness']:.0%}" in row["because"]
    assert research.empty_texts == {
        "competitors": "no_competitors_met", "playbook_gaps": "no_playbook_gaps",
    }  # fmt: skip


def test_without_tasks_or_competitors_the_sections_name_the_tables_and_the_rest_stands(
    small_company, busiest_account
):
    tables = {
        n: f for n, f in small_company.tables.items()
        if n not in ("tasks", "opportunity_competitors")
    }  # fmt: skip
    d = KamData(tables, snapshot=Snapshot(None, "no-sales-tables", None, "demo"))
    research = customer_research(d, account_id=busiest_account, as_of=AS_OF)
    assert research.competitors.empty and research.playbook_gaps.empty
    assert research.empty_texts == {
        "competitors": "needs_competitors_table", "playbook_gaps": "needs_tasks_table",
    }  # fmt: skip
    said = " ".join(research.notices["message"])
    assert "needs a 'tasks' table" in said and "needs an 'opportunity_competitors' table" in said
    missing = set(zip(research.missing["what"], research.missing["section"], strict=True))
    assert {("tasks", "playbook_gaps"), ("opportunity_competitors", "competitors")} <= missing
    # the rest of the dossier stands
    assert len(research.open_pipeline) and len(research.contacts) and research.profile["name"]
    assert not research.actions["rule"].str.startswith("deal_playbook_gaps").any()


def test_the_crm_export_without_tasks_or_competitors_says_what_the_sections_need(maven_store):
    from pathlib import Path

    from kamlib.data import load

    methodology = Path(__file__).resolve().parents[1] / "data" / "methodology-maven-crm.yml"
    research = customer_research(load(maven_store), methodology, as_of="2017-12-31")
    assert research.empty_texts == {
        "competitors": "needs_competitors_table", "playbook_gaps": "needs_tasks_table",
    }  # fmt: skip
    said = " ".join(research.notices["message"])
    assert "needs a 'tasks' table" in said and "needs an 'opportunity_competitors' table" in said
    assert research.competitors.empty and research.playbook_gaps.empty
    assert len(research.open_pipeline) and len(research.findings)  # the rest stands


def test_a_sales_process_that_cannot_be_read_is_a_notice_and_the_rest_stands(
    small_company, busiest_account, monkeypatch
):
    import kamlib.research.context as context
    from kamlib.errors import ConfigError

    def no_playbooks(*args, **kwargs):
        raise ConfigError("the methodology file has no 'playbooks' section")

    monkeypatch.setattr(context, "sales_process_data", no_playbooks)
    d = KamData(small_company.tables, snapshot=Snapshot(None, "no-playbooks", None, "demo"))
    research = customer_research(d, account_id=busiest_account, as_of=AS_OF)
    [message] = [m for m in research.notices["message"] if "sales process could not" in m]
    assert "no 'playbooks' section" in message
    assert research.competitors.empty and research.playbook_gaps.empty
    assert set(research.empty_texts.values()) == {"nothing_to_show"}
    assert len(research.open_pipeline) and len(research.contacts)
