"""`kam enrich` and `kam enrich review`, and what a retrieval does to the store."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import store_batches

from kamlib.cli import main
from kamlib.data import load
from kamlib.enrich import FileProvider, enrich_store


def _kam(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture()
def store(store_copy) -> Path:
    """The small demo store without registry data, a copy this test may change."""
    return store_copy


@pytest.fixture(scope="module")
def export(small_company, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("export")
    companies, events = folder / "天眼查导出.csv", folder / "变更记录.csv"
    small_company.registry["companies"].to_csv(companies, index=False)
    small_company.registry["events"].to_csv(events, index=False)
    return companies, events


def test_enrich_loads_firmographics_and_events_and_counts_reconcile(store, export):
    result = _kam("enrich", *export, "--store", store, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    c = out["counts"]
    assert c["read"] == c["matched"] + c["ambiguous"] + c["unmatched"] + c["quarantined"]
    assert c["matched"] > 0 and c["ambiguous"] > 0 and c["quarantined"] > 0
    assert c["events_loaded"] > 0
    assert {r["record"] for r in out["review"]} and out["status"] == "loaded"
    data = load(store)
    firms = data.firmographics
    assert len(firms) == c["matched"]
    assert firms["account_id"].isin(data.accounts["account_id"]).all()
    assert set(firms["match_method"]) <= {"uscc", "name", "name+city"}
    assert firms["reg_capital_currency"].dropna().isin(["CNY", "USD"]).all()
    assert firms["match_confidence"].between(0, 1).all()
    events = data.company_events
    assert len(events) == c["events_loaded"] and events["account_id"].notna().all()
    assert events["event_id"].is_unique
    assert {"abnormal_operation", "enforcement", "capital_change"} <= set(events["type"])


def test_text_output_and_the_kept_review_list(store, export):
    result = _kam("enrich", *export, "--store", store)
    assert result.exit_code == 0, result.output
    assert "read =" in result.output and "Review list:" in result.output
    review = _kam("enrich", "review", "--store", store, "--json")
    assert review.exit_code == 0
    kept = json.loads(review.output)
    assert kept and all(r["account_id"] for r in kept)
    text = _kam("enrich", "review", "--store", store)
    assert "Review list:" in text.output and kept[0]["account_id"] in text.output


def test_a_later_retrieval_adds_rows_and_keeps_the_earlier(store, export, small_company):
    now = small_company.end_date + pd.Timedelta(days=1)
    first = enrich_store(store, FileProvider(export, retrieved_at="2026-06-30"), now=now)
    second = enrich_store(store, FileProvider(export, retrieved_at="2026-09-30"), now=now)
    firms = load(store).firmographics
    assert len(firms) == first.summary()["matched"] + second.summary()["matched"]
    assert sorted(firms["retrieved_at"].dt.date.astype(str).unique()) == [
        "2026-06-30",
        "2026-09-30",
    ]
    # the same retrieval read again replaces itself; events are merged by id
    again = enrich_store(store, FileProvider(export, retrieved_at="2026-09-30"), now=now)
    data = load(store)
    assert len(data.firmographics) == len(firms)
    assert len(data.company_events) == again.events_loaded


def test_overrides_decide_an_ambiguous_pair(store, export, tmp_path):
    first = json.loads(_kam("enrich", *export, "--store", store, "--json").output)
    pick = first["review"][0]
    overrides = tmp_path / "overrides.csv"
    pd.DataFrame({
        "account_id": [pick["account_id"]], "company_id": [pick["company_id"]],
        "legal_name": [pick["legal_name"]], "decision": ["accept"],
    }).to_csv(overrides, index=False)  # fmt: skip
    result = _kam("enrich", *export, "--store", store, "--overrides", overrides, "--json")
    assert result.exit_code == 0, result.output
    firms = load(store).firmographics
    chosen = firms[firms["match_method"] == "override"]
    assert chosen["account_id"].tolist() == [pick["account_id"]]


def test_missing_file_or_key_column_exits_2_and_writes_nothing(store, export, tmp_path):
    before = store_batches(store)
    missing = _kam("enrich", tmp_path / "nope.csv", "--store", store)
    assert missing.exit_code == 2 and "nope.csv" in missing.output and "not found" in missing.output
    bad = tmp_path / "bad.csv"
    bad.write_text("名字,城市\n华兴机械,苏州\n", encoding="utf-8")
    refused = _kam("enrich", export[0], bad, "--store", store, "--json")
    assert refused.exit_code == 2
    message = json.loads(refused.output.splitlines()[0])
    assert (
        message["status"] == "refused"
        and "bad.csv" in message["error"]
        and "企业名称" in message["error"]
    )
    bad_overrides = tmp_path / "ov.csv"
    bad_overrides.write_text("who,what\n1,2\n", encoding="utf-8")
    wrong = _kam("enrich", export[0], "--store", store, "--overrides", bad_overrides)
    assert wrong.exit_code == 2 and "decision" in wrong.output
    no_store = _kam("enrich", export[0], "--store", tmp_path / "none.duckdb")
    assert no_store.exit_code == 2 and "does not exist" in no_store.output
    assert store_batches(store) == before
    assert "enrich_review" not in str(
        duckdb.connect(str(store), read_only=True).execute("SHOW TABLES").fetchall()
    )
