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
    assert len(research.actions) == min(5, len(f))
    for action, rule in zip(research.actions["rule"], f["rule"], strict=False):
        assert action.startswith(f"{rule}: ")
    assert {"relationship_strength", "ogsm_status", "whitespace"} <= set(research.rules)
    assert "exp(−days since last contact / 90)" in research.rules["relationship_strength"]


def test_the_view_writes_findings_and_categories_in_its_language(small_data, busiest_account, research):
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


def test_the_open_pipeline_fall_back_is_a_notice_naming_its_rule(small_company, busiest_account, monkeypatch):
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
