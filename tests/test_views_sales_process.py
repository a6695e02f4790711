"""The sales-process review view (#13): every section on the demo; on a CRM export without
tasks or competitors the sections say which table they need and the rest stands."""

from __future__ import annotations

import warnings

import pytest

from kamlib.views.sales_process_review import sales_process_review


@pytest.fixture(scope="module")
def review(small_data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sales_process_review(small_data, as_of="2026-09-30", lang="zh")


def test_every_section_is_filled_on_the_demo(review, small_data):
    assert review.key_figures["deals_assessed"] > 0
    assert 0 <= review.key_figures["share_done_in_time"] <= 1
    assert len(review.compliance_by_stage) and len(review.effects) and len(review.competitors)
    # task labels in the report language, intervals around every difference
    assert review.effects["task"].str.contains(r"[\u4e00-\u9fff]").all()
    fx = review.effects
    assert ((fx["ci_low"] <= fx["difference"]) & (fx["difference"] <= fx["ci_high"])).all()
    assert "association, not cause" in " ".join(review.notices["message"])
    # competitors: deals counted by hand from the canonical table
    comp = small_data.opportunity_competitors
    opps = small_data.opportunities
    closed = set(opps.loc[opps["status"].isin(["won", "lost"]), "opportunity_id"])
    first = review.competitors.iloc[0]
    met = comp[(comp["competitor"] == first["competitor"]) & comp["opportunity_id"].isin(closed)]
    assert first["deals"] == met["opportunity_id"].nunique()


def test_the_crm_export_without_tasks_says_what_each_section_needs(maven_store):
    from kamlib.data import load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        review = sales_process_review(load(maven_store), as_of="2017-12-31")
    said = " ".join(review.notices["message"])
    assert "needs a 'tasks' table" in said and "opportunity_competitors" in said
    assert review.effects.empty and review.readiness.empty


def test_without_stage_history_the_timed_sections_say_so_instead_of_showing_nothing(
    small_company,
):
    """Compliance and task effects need to know when a deal entered and left each stage."""
    from kamlib.data.kamdata import KamData, Snapshot
    from kamlib.errors import MissingTableError
    from kamlib.sales import compliance, task_effects

    tables = {n: f for n, f in small_company.tables.items() if n != "stage_history"}
    data = KamData(tables, snapshot=Snapshot(None, "no-history", None, "demo"))
    for analysis in (compliance, task_effects):
        with pytest.raises(MissingTableError, match="stage_history"):
            analysis(data, as_of="2026-09-30")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        review = sales_process_review(data, as_of="2026-09-30")
    said = " ".join(review.notices["message"])
    assert said.count("no 'stage_history' table") == 2
    assert review.compliance_by_stage.empty and review.effects.empty
    assert len(review.competitors)  # competition does not need the history: it stands
