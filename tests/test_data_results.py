"""Target groups and score history kept in the store (kamlib.data.results, `kam group`)."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from kamlib.data import (
    load,
    save_score_history,
    save_target_group,
    saved_score_history,
    saved_target_group,
    saved_target_groups,
)
from kamlib.errors import DataValidationError
from kamlib.methodology import load_methodology
from kamlib.segmentation import resolve_target_group, target_group

AS_OF = "2026-09-30"


@pytest.fixture
def store(demo_store, tmp_path):
    copy = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_store, copy)
    return copy


def kam(*args):
    from kamlib.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_a_saved_group_reads_back_with_its_record(store):
    data = load(store)
    group = resolve_target_group(data, "top10", as_of=AS_OF)
    save_target_group(store, group.record(), group.to_frame())
    members = saved_target_group(store, "top10", as_of=AS_OF)
    # independent reference: the ten largest trailing-12-month revenues, by hand
    orders = data.orders
    window = orders[(orders["order_date"] > "2025-09-30") & (orders["order_date"] <= AS_OF)]
    revenue = window.groupby("account_id")["amount"].sum().round(2)
    top = (
        revenue.reset_index()
        .sort_values(["amount", "account_id"], ascending=[False, True])
        .head(10)["account_id"]
    )
    assert list(members["account_id"]) == list(top)
    assert list(members["position"]) == list(range(1, 11))
    rec = members.attrs["record"]
    assert rec["snapshot"] == data.snapshot.fingerprint
    assert rec["methodology"] == load_methodology().fingerprint
    assert rec["members"] == 10 and rec["kind"] == "builtin"


def test_saving_the_same_formation_again_replaces_it(store):
    data = load(store)
    for _ in range(2):
        group = resolve_target_group(data, "top5", as_of=AS_OF)
        save_target_group(store, group.record(), group.to_frame())
    older = resolve_target_group(data, "top5", as_of="2025-09-30")
    save_target_group(store, older.record(), older.to_frame())
    saved = saved_target_groups(store)
    assert len(saved) == 2
    assert [str(d.date()) for d in saved["as_of"]] == [AS_OF, "2025-09-30"]
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM target_group_members").fetchone()[0] == 10
    # newest formation by default; an older one on request
    assert saved_target_group(store, "top5").attrs["record"]["as_of"] == pd.Timestamp(AS_OF)
    assert list(saved_target_group(store, "top5", as_of="2025-09-30")["account_id"]) == list(
        older.members["account_id"]
    )


def test_an_empty_group_is_kept_as_a_record(store):
    data = load(store)
    group = resolve_target_group(data, "top5", as_of="2001-01-01")
    assert len(group) == 0
    save_target_group(store, group.record(), group.to_frame())
    members = saved_target_group(store, "top5", as_of="2001-01-01")
    assert members.empty and members.attrs["record"]["members"] == 0


def test_missing_formations_and_bad_frames_are_refused_clearly(store, tmp_path):
    with pytest.raises(DataValidationError, match=r"Saved dates of this group: none.*kam group"):
        saved_target_group(store, "strategic")
    group = resolve_target_group(load(store), "top3", as_of=AS_OF)
    with pytest.raises(DataValidationError, match="lacks column"):
        save_target_group(store, group.record().drop(columns="basis"), group.to_frame())
    other = group.to_frame().assign(group="top4")
    with pytest.raises(DataValidationError, match="another formation"):
        save_target_group(store, group.record(), other)
    with pytest.raises(DataValidationError, match="does not exist"):
        saved_target_groups(tmp_path / "none.duckdb")
    assert saved_target_groups(store).empty  # nothing half-written


def test_score_history_round_trips_with_contributions(store):
    from kamlib.features import account_features_history
    from kamlib.scoring import score_history

    data = load(store)
    features = account_features_history(data, as_of_dates=["2026-06-30", AS_OF])
    history = score_history(features)
    n = save_score_history(store, history, snapshot=data.snapshot.fingerprint, methodology="m1")
    assert n == len(history)
    saved = saved_score_history(store, methodology="m1")
    key = ["as_of", "account_id"]
    left = history.sort_values(key).reset_index(drop=True)
    right = saved.sort_values(key).reset_index(drop=True)[left.columns]
    pd.testing.assert_frame_equal(left, right, check_dtype=False, check_exact=False, rtol=1e-12)
    # another methodology's scores live beside them; a re-save replaces only its own dates
    save_score_history(store, history, snapshot=data.snapshot.fingerprint, methodology="m2")
    save_score_history(
        store, history[history["as_of"] == AS_OF], snapshot=data.snapshot.fingerprint,
        methodology="m1",
    )  # fmt: skip
    assert len(saved_score_history(store, methodology="m1")) == len(history)
    assert len(saved_score_history(store)) == 2 * len(history)


def test_duplicate_scores_are_refused(store):
    frame = pd.DataFrame(
        {"as_of": [AS_OF, AS_OF], "account_id": ["A1", "A1"], "score": [1.0, 2.0],
         "tier": ["key", "key"], "rank": [1, 2]}
    )  # fmt: skip
    with pytest.raises(
        DataValidationError,
        match=r"has 1 duplicate \(as_of, account_id\) rows, e\.g\. A1 on 2026-09-30; score each",
    ):
        save_score_history(store, frame, snapshot="s", methodology="m")
    assert saved_score_history(store).empty


def test_kam_group_save_list_show(store):
    result = kam("group", "save", "top3", "--store", store, "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.output.startswith("Saved target group 'top3' as of 2026-09-30: 3 accounts")
    listing = kam("group", "list", "--store", store)
    assert "top3" in listing.output and "2026-09-30" in listing.output
    shown = kam("group", "show", "top3", "--store", store)
    assert shown.exit_code == 0
    expected = target_group(load(store), "top3", as_of=AS_OF)["account_id"]
    for account in expected:
        assert account in shown.output
    missing = kam("group", "show", "strategic", "--store", store)
    assert missing.exit_code == 2 and missing.stderr.startswith("kam: error: No saved formation")
    bad = kam("group", "save", "best", "--store", store, "--as-of", AS_OF)
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1


def test_report_batches_use_the_saved_membership(store):
    from kamlib.reports.engine import ReportEngine

    data = load(store)
    group = resolve_target_group(data, "top3", as_of=AS_OF)
    # keep a formation whose members differ from what would be formed today
    chosen = data.accounts["account_id"].sort_values().tail(2).tolist()
    members = group.to_frame().iloc[:2].assign(account_id=chosen)
    record = group.record().assign(members=2)
    save_target_group(store, record, members)
    engine = ReportEngine(store=store)
    try:
        assert list(engine.accounts_for("top3", as_of=AS_OF)["account_id"]) == chosen
        # another date has no saved formation: formed now
        fresh = engine.accounts_for("top3", as_of="2026-06-30")
        assert list(fresh["account_id"]) == list(
            target_group(data, "top3", as_of="2026-06-30")["account_id"]
        )
    finally:
        engine.close()
