"""Registry data in the score (issue 14, item 4): the registry features, the off rule of an
indicator that ``requires`` a table, and the default methodology's registry indicators.

Every expected value below is worked out by hand from the frames in this file.
"""

from __future__ import annotations

import math
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml
from feature_reference import make_kamdata, reference_features, ts

from kamlib.data import TABLES, import_frames, load
from kamlib.data.registry_records import record_as_of
from kamlib.errors import ConfigError
from kamlib.features import account_features, account_features_history, missing_reasons
from kamlib.methodology import CANONICAL_TABLES, load_methodology, parse_methodology
from kamlib.scoring import data_weights, score_accounts, score_history

# the tiny store has no opportunities, tickets, contacts or cost data: the default model's
# indicators of those tables have no value for any account, which scoring rightly warns about
pytestmark = pytest.mark.filterwarnings("ignore:Indicator.*had no usable value:UserWarning")

REGISTRY = ["registry_capital", "insured_headcount", "years_established", "listed"]
REGISTRY_WEIGHTS = {"registry_capital": 0.03, "insured_headcount": 0.02,
                    "years_established": 0.02, "listed": 0.01}  # fmt: skip


# -- a tiny store --------------------------------------------------------------------------------
def tiny_frames() -> dict[str, pd.DataFrame]:
    """Six accounts, each a case of the registry features.

    - NEW: retrieved 2023-01-10 and 2024-06-01 — the newest on or before the date counts.
    - LATER: retrieved only after every date (2025-01-15, 2025-06-01) — the earliest counts;
      capital in USD (missing), headcount from the band 1000-4999人, 股份有限公司(非上市…).
    - TIE: two sources retrieved the same day — the first source by name (dnb) counts.
    - BAND: no insured headcount, band 小于50人 (lower bound 0), type 股份有限公司（上市）.
    - YOUNG: established after the first date; 有限责任公司 says nothing about a listing.
    - NONE: no registry record.
    """
    ids = ["NEW", "LATER", "TIE", "BAND", "YOUNG", "NONE"]
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "name": [f"n{i}" for i in range(len(ids))],
            "industry": ["Machinery"] * len(ids),
            "created_date": [ts("2020-01-01")] * len(ids),
            "category_spend": [1e6] * len(ids),
            "strategic_fit": [3] * len(ids),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(len(ids))],
            "line_no": [1] * len(ids),
            "account_id": ids,
            "order_date": [ts("2024-01-15")] * len(ids),
            "amount": [1000.0 * (i + 1) for i in range(len(ids))],
        }
    )
    firms = [
        # account, source, retrieved_at, established, capital, currency, band, insured, listed, type
        ("NEW", "tyc", "2023-01-10 09:00", "2010-06-30", 1e7, "CNY", None, 120, True, None),
        ("NEW", "tyc", "2024-06-01 09:00", "2010-06-30", 2e7, "CNY", None, 150, True, None),
        ("LATER", "qcc", "2025-01-15 10:00", "2021-01-01", 5e6, "USD", "1000-4999人", None,
         None, "股份有限公司(非上市、自然人投资或控股)"),
        ("LATER", "qcc", "2025-06-01 10:00", "2021-01-01", 8e6, "CNY", "5000-9999人", None,
         None, None),
        ("TIE", "tyc", "2024-02-01 18:00", "2000-01-01", 3e8, "CNY", None, 400, None, None),
        ("TIE", "dnb", "2024-02-01 08:00", "2000-01-01", 5e7, "人民币", None, 380, False, None),
        ("BAND", "tyc", "2023-05-05 00:00", "2019-03-31", 9e8, " rmb ", "小于50人", None, None,
         "股份有限公司（上市）"),
        ("YOUNG", "tyc", "2024-01-01 00:00", "2024-05-01", 1e6, "CNY", "10000人以上", None,
         None, "有限责任公司(自然人独资)"),
    ]  # fmt: skip
    firmographics = pd.DataFrame(
        firms,
        columns=["account_id", "source", "retrieved_at", "established", "reg_capital",
                 "reg_capital_currency", "headcount_band", "insured_headcount", "listed",
                 "company_type"],
    ).assign(
        retrieved_at=lambda f: pd.to_datetime(f["retrieved_at"]),
        established=lambda f: pd.to_datetime(f["established"]),
        insured_headcount=lambda f: f["insured_headcount"].astype("Int64"),
        listed=lambda f: f["listed"].astype("boolean"),
    )  # fmt: skip
    return {"accounts": accounts, "orders": orders, "firmographics": firmographics}


@pytest.fixture(scope="module")
def tiny():
    return make_kamdata(tiny_frames())


def years(as_of: str, established: str) -> float:
    return (ts(as_of) - ts(established)).days / 365.25


# -- the features by hand ------------------------------------------------------------------------
def test_registry_features_by_hand(tiny):
    f = account_features(tiny, as_of="2024-03-31")[REGISTRY]
    nan = np.nan
    expected = pd.DataFrame(
        {
            # NEW: the 2023-01-10 record (2024-06-01 is later); TIE: dnb before tyc
            "registry_capital": [1e7, nan, 5e7, 9e8, 1e6, nan],
            "insured_headcount": [120.0, 1000.0, 380.0, 0.0, 10000.0, nan],
            "years_established": [
                (ts("2024-03-31") - ts("2010-06-30")).days / 365.25,  # 5023 days
                (ts("2024-03-31") - ts("2021-01-01")).days / 365.25,  # 1185 days
                (ts("2024-03-31") - ts("2000-01-01")).days / 365.25,
                (ts("2024-03-31") - ts("2019-03-31")).days / 365.25,  # 1827 days
                nan,  # established 2024-05-01, after the date
                nan,
            ],
            "listed": [1.0, 0.0, 0.0, 1.0, nan, nan],
        },
        index=pd.Index(["NEW", "LATER", "TIE", "BAND", "YOUNG", "NONE"], name="account_id"),
    ).sort_index()
    assert years("2024-03-31", "2010-06-30") == pytest.approx(5023 / 365.25)
    pd.testing.assert_frame_equal(f.sort_index(), expected, rtol=1e-12)


def test_newest_on_or_before_and_the_earliest_fallback(tiny):
    later = account_features(tiny, as_of="2024-12-31")
    # NEW: the 2024-06-01 record now; LATER: still its earliest (2025-01-15), USD
    assert later.loc["NEW", "registry_capital"] == 2e7
    assert later.loc["NEW", "insured_headcount"] == 150.0
    assert np.isnan(later.loc["LATER", "registry_capital"])
    assert later.loc["LATER", "insured_headcount"] == 1000.0
    # after both of LATER's retrievals: the newer one (CNY, band 5000-9999人)
    last = account_features(tiny, as_of="2025-12-31")
    assert last.loc["LATER", "registry_capital"] == 8e6
    assert last.loc["LATER", "insured_headcount"] == 5000.0
    # the whole as-of day counts: NEW's 2024-06-01 09:00 retrieval is in as of 2024-06-01
    assert account_features(tiny, as_of="2024-06-01").loc["NEW", "registry_capital"] == 2e7
    assert account_features(tiny, as_of="2024-05-31").loc["NEW", "registry_capital"] == 1e7


def test_the_reports_read_the_record_the_score_reads(tiny):
    """One rule (kamlib.data.registry_records): the dossier / company-size record of each
    account is the one whose features the score used — also on a KamData cut at the date,
    which keeps an account's earliest retrieval when every retrieval is later."""
    firms = tiny.firmographics
    for day in ("2022-12-31", "2024-02-01", "2024-03-31", "2024-12-31", "2025-12-31"):
        feats = account_features(tiny, as_of=day)
        for data in (tiny, tiny.as_of(day)):
            chosen = record_as_of(data.firmographics, as_of=day).set_index("account_id")
            assert sorted(chosen.index) == ["BAND", "LATER", "NEW", "TIE", "YOUNG"]
            for account, row in chosen.iterrows():
                assert feats.loc[account, "insured_headcount"] == (
                    row["insured_headcount"] if pd.notna(row["insured_headcount"])
                    else {"1000-4999人": 1000.0, "5000-9999人": 5000.0, "小于50人": 0.0,
                          "10000人以上": 10000.0}[row["headcount_band"]]
                ), (day, account)  # fmt: skip
    # every LATER retrieval is after 2024-12-31: its earliest counts, in the cut data too
    cut = tiny.as_of("2024-12-31").firmographics
    assert cut.loc[cut["account_id"] == "LATER", "retrieved_at"].tolist() == [
        ts("2025-01-15 10:00")
    ]
    assert len(firms) == 8 and len(cut) == 7  # NEW's, TIE's, BAND's, YOUNG's and LATER's first


def test_a_same_day_tie_goes_to_the_higher_match_confidence_then_the_source():
    firms = pd.DataFrame(
        {
            "account_id": ["A", "A", "B", "B"],
            "source": ["dnb", "tyc", "dnb", "tyc"],
            "retrieved_at": pd.to_datetime(["2024-02-01 08:00", "2024-02-01 18:00"] * 2),
            "match_confidence": [0.7, 0.9, np.nan, np.nan],
        }
    )
    chosen = record_as_of(firms, as_of="2024-03-31")
    assert chosen[["account_id", "source"]].values.tolist() == [["A", "tyc"], ["B", "dnb"]]
    # a retrieval during the as-of day counts; before it, the earliest (fall-back)
    assert record_as_of(firms.iloc[[0]], as_of="2024-02-01")["source"].tolist() == ["dnb"]
    assert record_as_of(firms.iloc[[0]], as_of="2023-01-01")["source"].tolist() == ["dnb"]


def test_history_and_the_pandas_reference_agree(tiny):
    dates = ["2024-03-31", "2024-06-30", "2025-12-31", "2024-06-15"]
    history = account_features_history(tiny, as_of_dates=dates)
    for day in dates:
        got = history.loc[ts(day), REGISTRY]
        ref = reference_features(tiny, day)[REGISTRY]
        pd.testing.assert_frame_equal(got, ref, rtol=1e-12, check_names=False)


def test_the_registry_features_compile_to_spark_sql(monkeypatch):
    """Every operation of the registry features has a Spark SQL translation (as in
    test_features: no Spark needed to find one that has not)."""
    import datetime as dt

    import ibis
    import ibis.config

    from kamlib.features import FeatureWindows, definitions, engines, history_events
    from kamlib.features import windows as feature_windows

    class PySparkOptions(ibis.config.Config):  # what the pyspark backend registers on import
        treat_nan_as_null: bool = False

    monkeypatch.setattr(ibis.options, "pyspark", PySparkOptions())
    windows = FeatureWindows()
    with engines._open(tiny_frames()) as src:
        for dates, single in (((dt.date(2024, 3, 31),), True),
                              ((dt.date(2024, 2, 29), dt.date(2024, 3, 31)), False)):  # fmt: skip
            plan = feature_windows._Plan(
                tuple(feature_windows._Cut.build(d, windows) for d in dates), windows
            )
            parts = None if single else history_events.empty_history_parts(src)
            expr = definitions._feature_table(
                src, plan, rollup=False, groups=None, single=single, history=parts
            )
            sql = str(ibis.to_sql(expr, dialect="pyspark")).upper()
            assert "REGEXP_EXTRACT" in sql and "ROW_NUMBER" in sql


def test_without_the_table_the_features_are_missing_and_say_why(tiny):
    frames = tiny_frames()
    frames.pop("firmographics")
    f = account_features(make_kamdata(frames), as_of="2024-03-31")
    assert f[REGISTRY].isna().all().all()
    reasons = missing_reasons(f)
    assert set(reasons.loc[reasons["feature"].isin(REGISTRY), "reason"]) == {
        "no firmographics table"
    }
    with_table = missing_reasons(account_features(tiny, as_of="2024-03-31"))
    capital = with_table[with_table["feature"] == "registry_capital"]
    assert set(capital["account_id"]) == {"LATER", "NONE"}
    assert set(capital["reason"]) == {
        "no registry record matched to the account, or its capital is not in CNY"
    }


# -- the off rule ----------------------------------------------------------------------------------
def test_no_table_switches_the_registry_indicators_off(tiny):
    frames = tiny_frames()
    frames.pop("firmographics")
    features = account_features(make_kamdata(frames), as_of="2024-03-31")
    result = score_accounts(features)
    assert not set(REGISTRY) & set(result.model.names)
    assert not set(REGISTRY) & set(result.contributions.columns)
    assert not set(REGISTRY) & set(result.explanations["indicator"])
    # the remaining weights re-normalised: each divided by 1 − 0.08 = 0.92, which gives back
    # the weights of the methodology before the registry indicators (0.276 / 0.92 = 0.30)
    assert math.isclose(result.weights.sum(), 1.0)
    assert result.weights["revenue_12m"] == pytest.approx(0.30)
    assert result.weights["category_spend"] == pytest.approx(0.12)
    assert (result.scores["coverage"] <= 1.0 + 1e-12).all()
    assert result.notes == (
        "registry_capital, insured_headcount, years_established, listed off: needs the "
        "firmographics table — see kam enrich (the other indicators' weights re-normalised)",
    )
    assert "note 1" in result._brief().facts
    # the same scores as a methodology without those indicators, weights given by hand
    default = load_methodology().require_scoring()
    by_hand = {n: w / 0.92 for n, w in default.weights.values if n not in REGISTRY}
    reduced = default.without(REGISTRY)
    expected = score_accounts(features, reduced, weights=by_hand)
    pd.testing.assert_frame_equal(result.scores, expected.scores)


def test_off_without_attrs_when_the_column_is_absent_or_empty(tiny):
    frames = tiny_frames()
    frames.pop("firmographics")
    features = account_features(make_kamdata(frames), as_of="2024-03-31")
    bare = features.copy()
    bare.attrs = {}
    empty = score_accounts(bare)  # columns present, every value missing: off
    absent = score_accounts(bare.drop(columns=REGISTRY))  # columns absent: off, no error
    for r in (empty, absent):
        assert len(r.notes) == 1 and "needs the firmographics table" in r.notes[0]
        assert not set(REGISTRY) & set(r.model.names)
    pd.testing.assert_frame_equal(empty.scores, absent.scores)


def test_with_the_table_nothing_is_off_and_a_missing_record_is_excluded(tiny):
    features = account_features(tiny, as_of="2024-03-31")
    result = score_accounts(features)
    assert result.notes == ()
    assert set(REGISTRY) <= set(result.model.names)
    row = result.explain("NONE").set_index("indicator")
    assert row.loc[REGISTRY, "points"].isna().all()  # missing: exclude (section default)
    assert (row.loc[REGISTRY, "weight"] == 0).all()
    band = result.explain("BAND").set_index("indicator")
    # 9亿 → 1亿–10亿 (75); band 小于50人 → 0 people (10); 5.0 years → 3–10 (40); listed → 100
    assert list(band.loc[REGISTRY, "points"]) == [75.0, 10.0, 40.0, 100.0]
    assert band.loc["registry_capital", "band"] == "1亿 – 10亿"


def test_given_weights_are_checked_on_the_whole_model_then_renormalised(tiny):
    frames = tiny_frames()
    frames.pop("firmographics")
    features = account_features(make_kamdata(frames), as_of="2024-03-31")
    default = load_methodology().require_scoring()
    weights = dict(default.weights.values)
    result = score_accounts(features, weights=weights)
    assert result.weight_method == "given"
    assert result.weights["revenue_12m"] == pytest.approx(0.276 / 0.92)
    with pytest.raises(ConfigError, match="no weight for indicator"):
        score_accounts(features, weights={n: w for n, w in weights.items() if n != "listed"})


def test_score_history_keeps_a_column_for_an_indicator_that_was_off(tiny):
    frames = tiny_frames()
    frames.pop("firmographics")
    history = account_features_history(make_kamdata(frames), as_of_dates=["2024-03-31"])
    out = score_history(history)
    assert set(REGISTRY) <= set(out.columns)
    assert (out[REGISTRY] == 0).all().all()


def test_switching_off_every_weighted_indicator_is_refused():
    model = load_methodology().require_scoring()
    with pytest.raises(ConfigError, match="every indicator is off"):
        model.without(list(model.names))


# -- requires: validated against the canonical tables --------------------------------------------
def test_the_canonical_table_list_is_the_data_layers():
    assert tuple(TABLES) == CANONICAL_TABLES


def test_requires_an_unknown_table_is_refused_naming_file_and_key(tmp_path):
    text = (
        "extends: default\n"
        "scoring:\n"
        "  missing: exclude\n"
        "  indicators:\n"
        "    - name: revenue_12m\n"
        "      bands: [{points: 50}]\n"
        "    - name: registry_capital\n"
        "      requires: firmographic\n"
        "      bands: [{points: 50}]\n"
        "  weights: {method: manual, values: {revenue_12m: 0.5, registry_capital: 0.5}}\n"
        "  tiers: [{key: strategic, min_score: 80}, {key: key, min_score: 60},\n"
        "          {key: growth, min_score: 40}, {key: maintain, min_score: 0}]\n"
    )
    path = tmp_path / "m.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match=r"m\.yml scoring\.indicators\[1\] \(registry_capital\)\.requires: Unknown table "
        r"'firmographic'\. Did you mean 'firmographics'\?",
    ):
        load_methodology(path)
    path.write_text(text.replace("firmographic\n", "firmographics\n"), encoding="utf-8")
    model = load_methodology(path).require_scoring()
    assert model.indicator("registry_capital").requires == "firmographics"
    assert model.indicator("revenue_12m").requires is None


def test_default_registry_indicators_bands_and_weights():
    from importlib import resources

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped weights sum to 1
        raw = yaml.safe_load(
            resources.files("kamlib.resources").joinpath("methodology.yml").read_text("utf-8")
        )
        model = parse_methodology(raw).require_scoring()
    weights = dict(model.weights.values)
    assert {n: weights[n] for n in REGISTRY} == REGISTRY_WEIGHTS
    assert math.isclose(math.fsum(REGISTRY_WEIGHTS.values()), 0.08)
    assert math.isclose(math.fsum(weights.values()), 1.0)
    for name in REGISTRY:
        ind = model.indicator(name)
        assert ind.requires == "firmographics" and ind.kind == "static"
        assert ind.label_zh and ind.label_en != name
    mins = {n: [b.min for b in model.indicator(n).bands] for n in REGISTRY[:3]}
    assert mins == {
        "registry_capital": [None, 1e7, 5e7, 1e8, 1e9],  # 1000万 / 5000万 / 1亿 / 10亿
        "insured_headcount": [None, 50, 300, 1000, 5000],
        "years_established": [None, 3, 10, 20],
    }
    assert model.indicator("listed").categories == ((0.0, 0.0), (1.0, 100.0))


# -- the enriched demo -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def enriched_store(small_company, tmp_path_factory):
    """The small demo company enriched from its registry export, as `kam demo` does."""
    from kamlib.enrich import FileProvider, enrich_store

    folder = tmp_path_factory.mktemp("enriched")
    store = folder / "demo.duckdb"
    now = small_company.end_date + pd.Timedelta(days=1)
    import_frames(small_company.tables, store=store, source="demo small", now=now)
    paths = []
    for name in ("companies", "events"):
        path = folder / f"tianyancha_{name}.csv"
        small_company.registry[name].to_csv(path, index=False)
        paths.append(path)
    report = enrich_store(store, FileProvider(paths, retrieved_at=small_company.end_date), now=now)
    assert report.summary()["matched"] > 0
    return store


def test_scoring_the_enriched_demo_uses_the_registry_indicators(enriched_store, small_company):
    as_of = small_company.end_date.date().isoformat()
    features = account_features(enriched_store, as_of=as_of)
    known = features[REGISTRY].notna().mean()
    assert known["registry_capital"] > 0.5 and known["years_established"] > 0.5
    assert (features["years_established"].dropna() >= 0).all()
    result = score_accounts(features)
    assert result.notes == ()
    contributions = result.contributions.set_index("account_id")[REGISTRY]
    assert (contributions.sum() > 0).all()
    # a back-test a year earlier: every retrieval is later, the earliest one counts
    earlier = account_features(load(enriched_store), as_of="2025-09-30")
    both = earlier.index
    assert len(both) > 250 and both.isin(features.index).all()
    pd.testing.assert_series_equal(
        earlier["registry_capital"], features.loc[both, "registry_capital"]
    )
    age = (features.loc[both, "years_established"] - earlier["years_established"]).dropna()
    # a year earlier: 365 days younger (2025-09-30 → 2026-09-30), unless founded in between
    np.testing.assert_allclose(age, 365 / 365.25, rtol=1e-12)


def test_the_unenriched_demo_scores_with_the_indicators_off(demo_store, small_company, tmp_path):
    store = tmp_path / "copy.duckdb"
    shutil.copy(demo_store, store)
    as_of = small_company.end_date.date().isoformat()
    features = account_features(store, as_of=as_of)
    result = score_accounts(features)
    assert len(result.notes) == 1 and "see kam enrich" in result.notes[0]
    # data_weights keeps every indicator: one that is off has no value, so weight 0, and the
    # section it writes is complete (it loads as the methodology's weights)
    target = features["revenue_12m"].fillna(0.0) * 1.1
    implied = data_weights(features, target)
    assert (implied.weights[REGISTRY] == 0).all()
    section = implied.to_methodology()
    assert set(section["values"]) == set(load_methodology().require_scoring().names)


def test_kam_score_says_which_indicators_were_off(demo_store, tmp_path):
    from click.testing import CliRunner

    from kamlib.cli import main

    store = tmp_path / "copy.duckdb"
    shutil.copy(demo_store, store)
    out = tmp_path / "scores.csv"
    args = ["score", "--store", str(store), "--as-of", "2026-09-30", "--out", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.output.splitlines()[-1] == (
        "Note: registry_capital, insured_headcount, years_established, listed off: needs the "
        "firmographics table — see kam enrich (the other indicators' weights re-normalised)."
    )
    table = pd.read_csv(out)
    assert (table[REGISTRY] == 0).all().all()  # off: no contribution
