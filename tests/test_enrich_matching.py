"""Matching registry records to accounts (kamlib.enrich.matching), and the demo's export."""

from __future__ import annotations

import pandas as pd
import pytest

from kamlib.enrich import FileProvider, match_records
from kamlib.enrich.uscc import uscc_check_char
from kamlib.errors import DataValidationError

CODE_A = "91310000MA1FL0000" + uscc_check_char("91310000MA1FL0000")
CODE_B = "91440300MA5DA0000" + uscc_check_char("91440300MA5DA0000")
CODE_C = "91420100MA4KL0000" + uscc_check_char("91420100MA4KL0000")
BAD = CODE_A[:-1] + ("0" if CODE_A[-1] != "0" else "1")


@pytest.fixture()
def accounts() -> pd.DataFrame:
    return pd.DataFrame({
        "account_id": ["A1", "A2", "A3", "A4", "A5"],
        "name": ["华兴机械有限公司", "上海明达电子有限公司", "南方化工有限公司", "Acme Co., Ltd.", "东方包装有限公司"],
        "city": [None, "上海", "广州", "深圳", "苏州"],
        "province": [None, "上海", "广东", None, "江苏"],
        "uscc": [None, None, CODE_A, None, CODE_B],
        "duns": [None, None, None, "123456789", None],
    })  # fmt: skip


def _records(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {"source": ["tianyancha"] * n, "id_scheme": ["uscc"] * n}
    return pd.DataFrame({**base, **columns})


def _reconciles(result) -> bool:
    c = result.summary()
    return c["read"] == c["matched"] + c["ambiguous"] + c["unmatched"] + c["quarantined"]


def test_twin_names_in_two_cities_go_to_review_not_to_an_account(accounts):
    records = _records(
        legal_name=["华兴机械(苏州)有限公司", "华兴机械(武汉)有限公司"], company_id=[None, None], city=["苏州", "武汉"]
    )  # fmt: skip
    result = match_records(records, accounts)
    assert result.summary()["ambiguous"] == 2 and result.summary()["matched"] == 0
    assert set(result.review["record"]) == {0, 1}
    assert set(result.review["account_id"]) == {"A1"}
    assert _reconciles(result)


def test_the_city_tells_twins_apart_when_the_account_has_one(accounts):
    records = _records(
        legal_name=["明达电子（上海）有限公司", "明达电子（武汉）有限公司"], company_id=[None, None],
        city=["上海市", "武汉市"],
    )  # fmt: skip
    result = match_records(records, accounts)
    assert result.matched[["record", "account_id", "match_method"]].values.tolist() == [
        [0, "A2", "name+city"]
    ]
    assert result.summary()["unmatched"] == 1
    assert 0 < result.matched["match_confidence"].iloc[0] <= 1


def test_uscc_wins_over_names_and_different_codes_never_match(accounts):
    records = _records(
        legal_name=["南方化学股份有限公司", "东方包装有限公司"], company_id=[CODE_A, CODE_C], city=["广州", "苏州"]
    )  # fmt: skip
    result = match_records(records, accounts)
    # record 0: renamed, but its code is A3's; record 1: A5's name, but A5's code is another
    assert result.matched[["record", "account_id", "match_method"]].values.tolist() == [
        [0, "A3", "uscc"]
    ]
    assert result.matched["match_confidence"].iloc[0] == 1.0
    assert result.summary()["unmatched"] == 1


def test_an_invalid_uscc_is_quarantined_never_matched(accounts):
    records = _records(legal_name=["南方化工有限公司"], company_id=[BAD], city=["广州"])
    result = match_records(records, accounts)
    assert result.summary() == {
        "read": 1,
        "matched": 0,
        "ambiguous": 0,
        "unmatched": 0,
        "quarantined": 1,
    }
    assert "invalid USCC" in result.quarantine["reason"].iloc[0]


def test_duns_matches_and_former_names_count(accounts):
    records = pd.DataFrame({
        "source": ["dnb", "tianyancha"], "id_scheme": ["duns", "uscc"],
        "company_id": ["123456789", None], "legal_name": ["ACME LIMITED", "明达智造(上海)有限公司"],
        "former_names": [None, "上海明达电子有限公司；明达电子"], "city": ["Shenzhen", "上海"],
    })  # fmt: skip
    result = match_records(records, accounts)
    got = result.matched.set_index("record")[["account_id", "match_method"]].to_dict("index")
    assert got == {
        0: {"account_id": "A4", "match_method": "duns"},
        1: {"account_id": "A2", "match_method": "name+city"},
    }


def test_overrides_win_accept_and_reject(accounts):
    records = _records(
        legal_name=["华兴机械(苏州)有限公司", "华兴机械(武汉)有限公司", "明达电子(上海)有限公司"],
        company_id=[None, None, None], city=["苏州", "武汉", "上海"],
    )  # fmt: skip
    overrides = pd.DataFrame({
        "account_id": ["A1", "A2"], "legal_name": ["华兴机械(武汉)有限公司", "明达电子(上海)有限公司"],
        "decision": ["accept", "reject"],
    })  # fmt: skip
    result = match_records(records, accounts, overrides=overrides)
    assert result.matched[["record", "account_id", "match_method"]].values.tolist() == [
        [1, "A1", "override"]
    ]
    assert result.summary()["unmatched"] == 2  # the Suzhou twin lost A1; the rejected pair
    assert _reconciles(result)


def test_overrides_that_name_unknown_accounts_or_decisions_are_refused(accounts):
    records = _records(legal_name=["x"], company_id=[None])
    with pytest.raises(DataValidationError, match="not in the store: Z9"):
        match_records(
            records,
            accounts,
            overrides=pd.DataFrame(
                {"account_id": ["Z9"], "legal_name": ["x"], "decision": ["accept"]}
            ),
        )
    with pytest.raises(DataValidationError, match="not accept or reject"):
        match_records(
            records,
            accounts,
            overrides=pd.DataFrame(
                {"account_id": ["A1"], "legal_name": ["x"], "decision": ["maybe"]}
            ),
        )


@pytest.fixture(scope="module")
def demo_match(small_company, tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    path = folder / "companies.csv"
    small_company.registry["companies"].to_csv(path, index=False)
    records = FileProvider([path], retrieved_at=small_company.end_date).fetch().records
    return match_records(records, small_company.tables["accounts"]), small_company.truth["registry"]


def test_demo_export_precision_and_recall(demo_match):
    result, truth = demo_match
    truth = truth.set_index("record")
    got = result.matched.set_index("record")["account_id"]
    precision = (got == truth.loc[got.index, "account_id"]).mean()
    matchable = truth[
        truth["account_id"].notna() & ~truth["invalid_uscc"] & ~truth["ambiguous_pair"]
    ]
    recall = (got.reindex(matchable.index) == matchable["account_id"]).mean()
    assert precision >= 0.99, precision
    assert recall >= 0.95, recall
    assert _reconciles(result)


def test_demo_export_ambiguous_pairs_reviewed_and_invalid_codes_quarantined(demo_match):
    result, truth = demo_match
    pairs = set(truth.loc[truth["ambiguous_pair"], "record"])
    assert pairs and pairs <= set(result.review["record"])
    assert set(result.quarantine["record"]) == set(truth.loc[truth["invalid_uscc"], "record"])
    # a record in review is never matched
    assert not set(result.review["record"]) & set(result.matched["record"])


def test_events_follow_the_matched_company_not_a_namesake():
    from kamlib.enrich.retrieval import attach_events

    rows = pd.DataFrame({
        "account_id": ["A1", "A2"], "company_id": [CODE_A, None],
        "legal_name": ["华兴机械(苏州)有限公司", "明达电子（上海）有限公司"],
    })  # fmt: skip
    events = pd.DataFrame({
        "company_id": [CODE_A, None, None, CODE_C],
        "legal_name": ["华兴机械(苏州)有限公司", "华兴机械(武汉)有限公司", "明达电子(上海)有限公司", "明达电子(上海)有限公司"],
    })  # fmt: skip
    got = attach_events(events, rows)
    # by code; a namesake in another city gets none; by exact name (brackets folded) when
    # the matched record has no code to disagree with, and the event takes a code-less id
    assert got["account_id"].fillna("-").tolist() == ["A1", "-", "A2", "A2"]
    assert got["company_id"].tolist()[:3] == [
        CODE_A,
        "华兴机械(武汉)有限公司",
        "明达电子(上海)有限公司",
    ]
