"""Registry data in the reports: the portfolio review's company size against our revenue and
the dossier's registry profile and events (issue 14, item 4).

Pure parts on hand-made frames with the medians worked out by hand; the views on the small
demo company enriched from its own registry export (as `kam demo` does); both reports
rendered on it, every chart drawn offline (vl-convert here; in Chromium too when Debian's
chromium is installed).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from browser_support import CHROMIUM, keep_screenshot, launched_chromium, open_offline

from kamlib import charts
from kamlib.data import load
from kamlib.data.kamdata import KamData, Snapshot
from kamlib.data.registry_records import record_as_of
from kamlib.data.schemas import TABLES, conform
from kamlib.enrich import FileProvider, enrich_store
from kamlib.errors import ConfigError, DataValidationError
from kamlib.methodology import load_methodology
from kamlib.methodology.labels import label
from kamlib.methodology.research import parse_research
from kamlib.research import account_dossier
from kamlib.research.findings import SEVERITY
from kamlib.research.registry import capital_reduced
from kamlib.segmentation import company_size_matrix, company_sizes
from kamlib.views.customer_research import customer_research
from kamlib.views.format import facts
from kamlib.views.portfolio import portfolio_review
from kamlib.views.portfolio_size import company_size

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-09-30"
SHOTS = Path("/tmp/reg-views-shots")


# -- company size: the pure parts ----------------------------------------------------------------
def test_quadrants_of_a_hand_made_frame():
    frame = pd.DataFrame(
        {
            "account_id": ["A", "B", "C", "D", "E", "F"],
            "company_size": [100.0, 50.0, 10.0, 300.0, 30.0, None],
            "revenue_12m": [10.0, 200.0, 300.0, 500.0, 5.0, 100.0],
        }
    )
    m = company_size_matrix(frame)
    # placed: A–E (F has no size). Sizes 10 30 50 100 300 → median 50; revenues
    # 5 10 200 300 500 → median 200. Big = strictly above: A, D big companies; C, D big
    # customers; B sits on both medians and is small on both.
    assert (m.size_median, m.revenue_median) == (50.0, 200.0)
    assert m.unplaced == ("F",)
    got = dict(zip(m.accounts["account_id"], m.accounts["quadrant"], strict=True))
    assert got == {"A": "potential", "B": "small", "C": "dependency", "D": "core", "E": "small"}
    assert list(m.accounts["account_id"]) == ["D", "A", "B", "E", "C"]  # largest company first
    t = m.quadrant_table().set_index("quadrant")
    assert list(t.index) == ["core", "potential", "dependency", "small"]
    assert t["accounts_count"].tolist() == [1, 1, 1, 2]
    assert t.loc["small", "revenue_12m"] == 205.0
    assert t["revenue_share"].tolist() == pytest.approx([500 / 1015, 10 / 1015, 300 / 1015,
                                                         205 / 1015])  # fmt: skip
    assert m.summary()["potential"] == 1 and m.summary()["placed"] == 5


def test_a_frame_without_any_placed_account_is_refused():
    frame = pd.DataFrame({"account_id": ["A"], "company_size": [None], "revenue_12m": [1.0]})
    with pytest.raises(DataValidationError, match=r"cannot place any account.*kam enrich"):
        company_size_matrix(frame)


def _firms(rows: list[dict]) -> pd.DataFrame:
    return conform(pd.DataFrame(rows), TABLES["firmographics"])


def test_company_sizes_take_the_newest_record_on_or_before_the_date():
    firms = _firms(
        [
            {"account_id": "A", "source": "tianyancha", "retrieved_at": "2026-06-30",
             "reg_capital": 1e6, "reg_capital_currency": "CNY", "insured_headcount": 10},
            {"account_id": "A", "source": "tianyancha", "retrieved_at": "2026-09-30",
             "reg_capital": 2e6, "reg_capital_currency": "CNY", "insured_headcount": 20},
            {"account_id": "A", "source": "tianyancha", "retrieved_at": "2026-12-31",
             "reg_capital": 3e6, "reg_capital_currency": "CNY", "insured_headcount": 30},
            {"account_id": "B", "source": "dnb", "retrieved_at": "2026-09-01",
             "reg_capital": 5e6, "reg_capital_currency": "USD", "insured_headcount": 40},
            {"account_id": "C", "source": "qichacha", "retrieved_at": "2026-09-01",
             "reg_capital": None, "insured_headcount": None},
            # two sources the same day: the better match wins, whatever the row order
            {"account_id": "E", "source": "qichacha", "retrieved_at": "2026-09-01",
             "reg_capital": 7e6, "reg_capital_currency": "CNY", "match_confidence": 0.8},
            {"account_id": "E", "source": "tianyancha", "retrieved_at": "2026-09-01",
             "reg_capital": 9e6, "reg_capital_currency": "CNY", "match_confidence": 0.95},
        ]
    )  # fmt: skip
    sizes = company_sizes(firms, ["A", "B", "C", "D", "E"], as_of=AS_OF).set_index("account_id")
    assert sizes.loc["A", "company_size"] == 2e6
    assert sizes.loc["A", "retrieved_at"] == pd.Timestamp("2026-09-30")
    assert (
        sizes.loc["E", "company_size"] == 9e6 and sizes.loc["E", "registry_source"] == "tianyancha"
    )
    assert sizes["size_reason"].to_dict() == {
        "A": "", "B": "other_currency", "C": "no_size_value", "D": "no_registry_record", "E": "",
    }  # fmt: skip
    assert pd.isna(sizes.loc["B", "company_size"])
    earlier = company_sizes(firms, ["A"], as_of="2026-07-01", measure="insured_headcount")
    assert earlier["company_size"].tolist() == [10.0]
    heads = company_sizes(firms, ["B"], as_of=AS_OF, measure="insured_headcount")
    assert heads["company_size"].tolist() == [40.0]  # headcount has no currency
    assert len(record_as_of(firms)) == 4  # A (2026-12-31), B, C, E
    with pytest.raises(ConfigError, match=r"^The 'measure' parameter of company_sizes must be "
                       r"one of reg_capital, insured_headcount. Got 'staff' instead.$"):  # fmt: skip
        company_sizes(firms, as_of=AS_OF, measure="staff")


# -- the enriched demo ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def enriched_store(demo_store, small_company, tmp_path_factory) -> Path:
    """The small demo store enriched from the demo's registry export, as `kam demo` does."""
    folder = tmp_path_factory.mktemp("registry")
    store = folder / "enriched.duckdb"
    shutil.copy(demo_store, store)
    paths = []
    for name in ("companies", "events"):
        path = folder / f"tianyancha_{name}.csv"
        small_company.registry[name].to_csv(path, index=False)
        paths.append(path)
    now = small_company.end_date + pd.Timedelta(days=1)
    enrich_store(store, FileProvider(paths, retrieved_at=small_company.end_date), now=now)
    return store


@pytest.fixture(scope="module")
def enriched(enriched_store) -> KamData:
    return load(enriched_store)


@pytest.fixture(scope="module")
def review(enriched):
    return portfolio_review(enriched, as_of=AS_OF)


def test_company_size_on_the_enriched_demo(review, enriched):
    size = company_size(review, enriched)
    assert size.status.available
    m = size.matrix
    # by hand: the group's sizes (capital in CNY) and revenues, cut at their medians
    sizes = size.sizes.set_index("account_id")["company_size"]
    revenue = review.features.set_index("account_id")["revenue_12m"]
    both = pd.DataFrame({"s": sizes, "r": revenue.reindex(sizes.index)}).dropna()
    assert len(m.accounts) == len(both) > 100
    assert m.size_median == both["s"].median() and m.revenue_median == both["r"].median()
    expected = {
        a: ("core" if s > m.size_median and r > m.revenue_median else "potential"
            if s > m.size_median else "dependency" if r > m.revenue_median else "small")
        for a, s, r in both.itertuples()
    }  # fmt: skip
    assert dict(zip(m.accounts["account_id"], m.accounts["quadrant"], strict=True)) == expected
    figures = size.figures()
    assert figures["accounts_in_group"] == len(review.members)
    reasons = ("accounts_placed", "accounts_without_registry_record", "accounts_without_size",
               "accounts_capital_other_currency", "accounts_without_revenue")  # fmt: skip
    assert sum(figures[k] for k in reasons) == len(review.members)  # every account counted
    assert figures["accounts_capital_other_currency"] > 0  # foreign-invested: USD capital
    assert figures["registry_retrieved"] == "30 Sep 2026"
    top = size.top_accounts()
    assert set(top["quadrant"]) == {"Potential", "Dependency"}
    potential = top[top["quadrant"] == "Potential"]
    assert potential["size_capital_amount"].is_monotonic_decreasing and len(potential) == 10
    assert (top["registry_source"] == "tianyancha").all()
    assert set(size.quadrant_table()["quadrant"]) == {label(f"size_{q}") for q in
                                                       ("core", "potential", "dependency", "small")}  # fmt: skip
    spec = charts.company_size_matrix(size.points(), **size.chart_options()).to_dict()
    assert len(spec["layer"]) == 3  # dots and the two median rules
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    heads = company_size(review, enriched, measure="insured_headcount")
    assert heads.status.available and "size_insured_headcount" in heads.top_accounts()
    zh = company_size(review.with_lang("zh"), enriched)
    assert zh.quadrant_table()["quadrant"].iloc[0] == "核心：大企业、大客户"


def test_without_firmographics_the_section_says_what_is_needed(review, small_data):
    size = company_size(review, small_data)  # the demo tables without registry data
    assert not size.status.available
    assert size.empty_message() == "size_no_registry"
    assert size.empty_message(detail=True) == "size_needs_enrich"
    assert "kam enrich" in label("size_needs_enrich") and "Company registry data" in label(
        "size_needs_enrich"
    )
    assert size.points().empty and size.quadrant_table().empty and size.top_accounts().empty
    assert size.figures() == {
        "size_measure": label("size_measure_reg_capital"),
        "accounts_in_group": len(review.members),
        "accounts_without_registry_record": len(review.members),
    }
    chart = charts.company_size_matrix(size.points(), empty=size.empty_message()).to_dict()
    assert chart["mark"]["type"] == "text"
    assert chart["datasets"][next(iter(chart["datasets"]))][0]["message"] == label(
        "size_no_registry"
    )


def test_registry_tables_are_optional_for_both_reports():
    """firmographics / company_events are used when present, never a need: a store without
    them still plans and renders both reports (see kamlib.reports.needs)."""
    from kamlib.reports.specs import load_report

    for report in ("portfolio_review", "customer_research"):
        needs = load_report(report, ROOT / "notebooks").needs
        assert needs == ("accounts", "revenue")


# -- the dossier ---------------------------------------------------------------------------------
def _account_with(enriched: KamData, kind: str) -> str:
    events = enriched.company_events
    mine = events[(events["type"] == kind) & (events["date"] > "2024-10-01")]
    return str(mine["account_id"].iloc[0])


def test_dossier_profile_shows_registry_data_with_source_and_date(enriched):
    account = _account_with(enriched, "name_change")
    research = customer_research(enriched, account_id=account, as_of=AS_OF)
    r = research.registry
    assert r["registry_source"] == "tianyancha"
    assert r["registry_retrieved_at"] == pd.Timestamp(AS_OF)
    firm = enriched.firmographics.set_index("account_id").loc[account]
    assert r["registry_legal_name"] == firm["legal_name"]
    assert r["registry_former_names"]  # a renamed company carries its former name
    assert r["registry_status"] == firm["reg_status"]
    assert r["registry_registered_capital"].startswith("CN¥")
    # a Chinese registry prints its GB/T 4754 division in Chinese, as the demo's export does
    assert firm["industry"].endswith("业") and r["registry_industry"] == firm["industry"]
    assert list(r)[-3:] == ["registry_source", "registry_retrieved_at", "registry_match"]
    html = facts(r).html
    assert "tianyancha" in html and "30 Sep 2026" in html and "Registry source" in html
    zh = customer_research(enriched, account_id=account, as_of=AS_OF, lang="zh")
    assert (
        "2026年9月30日" in facts(zh.registry, lang="zh").html
        and "获取日期" in facts(zh.registry, lang="zh").html
    )
    assert research.registry_events["type"].tolist()[:1] == ["Name change"]
    assert "name_change" in set(research.ranked_findings["rule"])


def test_a_store_without_registry_tables_says_so_and_the_dossier_stands(
    small_data, busiest_account
):
    research = customer_research(small_data, account_id=busiest_account, as_of=AS_OF)
    assert research.registry == {} and research.registry_events.empty
    assert research.registry_empty == "needs_registry_data"
    assert research.registry_events_empty == "needs_registry_events"
    assert research.notices["message"].str.contains("kam enrich").any()
    # an enrichment, not a gap in the account's records: no missing_data finding for it
    assert not research.missing["what"].isin(["firmographics", "company_events"]).any()
    assert len(research.ranked_findings) and len(research.contacts)


EVENTS = [  # (date, type, before, after, the finding it raises)
    ("2026-05-03", "enforcement", None, "执行标的 120 万元", "registry_credit_risk"),
    ("2025-01-10", "abnormal_operation", None, "列入经营异常名录", "registry_credit_risk"),
    ("2026-08-01", "dishonest_debtor", None, "执行标的 777 万元", "registry_credit_risk"),
    ("2026-02-01", "capital_change", "2000万人民币", "1000万人民币", "capital_reduction"),
    ("2026-03-01", "capital_change", "1000万人民币", "3000万人民币", None),  # an increase
    ("2025-12-01", "penalty", None, "罚款 5 万元", "registry_penalty"),
    ("2026-04-01", "name_change", "旧名有限公司", "新名有限公司", "name_change"),
    ("2026-04-02", "legal_representative_change", "张三", "李四", None),
    ("2024-09-30", "enforcement", None, "older than the 24 months", None),  # out of the window
    ("2026-10-05", "penalty", None, "after the date", None),  # after as_of
]


@pytest.fixture(scope="module")
def with_events(small_company, busiest_account) -> KamData:
    """The small demo with a registry record and every kind of event for one account."""
    tables = dict(small_company.tables)
    tables["firmographics"] = _firms(
        [{"account_id": busiest_account, "source": "qichacha", "retrieved_at": "2026-08-15",
          "id_scheme": "uscc", "company_id": "91310000MA1FL0XX00", "legal_name": "新名有限公司",
          "reg_capital": 1e7, "reg_capital_currency": "CNY", "listed": True}]
    )  # fmt: skip
    tables["company_events"] = conform(
        pd.DataFrame(
            [{"event_id": f"ev{i}", "company_id": "91310000MA1FL0XX00", "date": d, "type": t,
              "account_id": busiest_account, "before": b, "after": a, "source": "qichacha"}
             for i, (d, t, b, a, _) in enumerate(EVENTS)]
        ),
        TABLES["company_events"],
    )  # fmt: skip
    return KamData(tables, snapshot=Snapshot(None, "registry-events", None, "demo"))


def test_each_event_type_becomes_its_finding(with_events, busiest_account):
    d = account_dossier(with_events, busiest_account, as_of=AS_OF)
    shown = d.registry.events
    # the window: after 2024-09-30 (24 months before) up to the date
    assert sorted(shown["event_id"]) == [f"ev{i}" for i in range(8)]
    assert shown["date"].is_monotonic_decreasing
    assert shown.set_index("event_id")["capital_reduced"].to_dict() == {
        f"ev{i}": i == 3 for i in range(8)
    }
    f = d.findings.set_index("rule")
    raised = {rule for *_, rule in EVENTS if rule}
    assert raised <= set(f.index)
    assert {r: int(f.loc[r, "severity"]) for r in raised} == {
        "registry_credit_risk": 3, "capital_reduction": 2, "registry_penalty": 2, "name_change": 1,
    }  # fmt: skip
    assert {r: SEVERITY[r] for r in raised} == {r: int(f.loc[r, "severity"]) for r in raised}
    credit = f.loc["registry_credit_risk", "params"]
    assert credit["count"] == 3 and credit["latest"] == "2026-08-01" and credit["months"] == 24
    assert credit["events"].en.startswith(
        "Dishonest debtor (失信被执行人) 2026-08-01: 执行标的 777"
    )
    assert (
        f.loc["capital_reduction", "params"]["events"].zh
        == "减资 2026-02-01：2000万人民币 → 1000万人民币"
    )
    assert f.loc["registry_penalty", "params"]["count"] == 1  # the one after the date is not seen
    # ranked with the others: credit risk among the severity-3 findings, before every 2
    ranks = d.findings.set_index("rule")["rank"]
    twos = d.findings.loc[d.findings["severity"] == 2, "rank"]
    assert ranks["registry_credit_risk"] < twos.min()
    assert d.registry.profile["uscc"] == "91310000MA1FL0XX00" and d.registry.profile["listed"]


def test_the_view_writes_registry_findings_and_events(with_events, busiest_account):
    research = customer_research(with_events, account_id=busiest_account, as_of=AS_OF, lang="zh")
    f = research.ranked_findings.set_index("rule")
    assert f.loc["registry_credit_risk", "finding"].startswith(
        "工商登记显示信用风险：近 24 个月有 3 条"
    )
    assert "近 24 个月" in f.loc["name_change", "rule_text"]
    assert research.registry_events["type"].tolist()[:2] == ["失信被执行人", "被执行人"]
    assert "减资" in research.registry_events["type"].tolist()
    assert research.registry["registry_listed"] is True
    assert research.registry["registry_retrieved_at"] == pd.Timestamp("2026-08-15")
    assert research.registry["registry_source"] == "qichacha"


def test_a_masked_dossier_masks_the_legal_representatives(with_events, busiest_account):
    d = account_dossier(with_events, busiest_account, as_of=AS_OF, mask_pii=True)
    ev = d.registry.events.set_index("event_id")
    assert ev.loc["ev7", "before"] != "张三" and ev.loc["ev7", "after"] != "李四"
    assert ev.loc["ev7", "before"].startswith("Person-")
    assert ev.loc["ev6", "after"] == "新名有限公司"  # a company name is no person's


def test_the_event_window_is_a_methodology_setting(with_events, busiest_account, tmp_path):
    text = (ROOT / "kamlib" / "resources" / "methodology.yml").read_text("utf-8")
    assert "registry_event_months: 24" in text
    path = tmp_path / "six-months.yml"
    path.write_text(text.replace("registry_event_months: 24", "registry_event_months: 6"), "utf-8")
    d = account_dossier(
        with_events, busiest_account, as_of=AS_OF, methodology=load_methodology(path)
    )
    # after 2026-03-31: enforcement 05-03, dishonest debtor 08-01, name 04-01, legal rep 04-02
    assert sorted(d.registry.events["event_id"]) == ["ev0", "ev2", "ev6", "ev7"]
    rules = set(d.findings["rule"])
    assert {"registry_credit_risk", "name_change"} <= rules
    assert not {"capital_reduction", "registry_penalty"} & rules
    assert d.findings.set_index("rule").loc["registry_credit_risk", "params"]["count"] == 2
    for bad in (0, 2.5, "24", 241):
        with pytest.raises(ConfigError, match=r"research.registry_event_months: must be a whole "
                           r"number between 1 and 240"):  # fmt: skip
            parse_research({"registry_event_months": bad})


def test_capital_reduced_reads_the_amounts():
    assert capital_reduced("1500万人民币", "1000万人民币")
    assert not capital_reduced("1000万人民币", "1500万人民币")
    assert not capital_reduced("-", "1000万人民币") and not capital_reduced(None, None)
    assert not capital_reduced("500万美元", "100万人民币")  # different currencies: unknown


# -- both reports rendered on the enriched demo --------------------------------------------------
SPEC = re.compile(r"var spec = (\{.*?\});\n", re.S)


@pytest.fixture(scope="module")
def pages(enriched_store, enriched, tmp_path_factory) -> dict[str, Path]:
    from kamlib.reports.engine import ReportEngine

    out = tmp_path_factory.mktemp("reports")
    account = _account_with(enriched, "capital_change")
    found = {}
    with ReportEngine(store=enriched_store, out=out, notebook_dir=ROOT / "notebooks", jobs=1) as e:
        for report, params in (
            ("portfolio_review", {}),
            ("customer_research", {"account_id": account}),
        ):
            batch = e.render(report, as_of=AS_OF, parameters=params)
            assert [r.status for r in batch.results] == ["ok"], batch.results
            [found[report]] = list(out.glob(f"{report}/*/*/index.html"))
    return found


@pytest.mark.slow
def test_both_reports_show_the_registry_sections_and_draw_every_chart_offline(pages):
    import vl_convert as vlc

    from kamlib.reports.offline import LOCALES, vega_lite_version

    SHOTS.mkdir(parents=True, exist_ok=True)
    wanted = {
        "portfolio_review": ["Company size vs our revenue", "Potential and dependency accounts",
                             "Dependency: small company, big customer", "Median registered capital",
                             "Registry records retrieved"],
        "customer_research": ["Registry profile", "Registry events", "Registry source",
                              "tianyancha", "Unified social credit code (USCC)"],
    }  # fmt: skip
    for report, page in pages.items():
        html = page.read_text("utf-8")
        for text in wanted[report]:
            assert text in html, f"{report}: {text!r} not in the page"
        specs = [json.loads(s) for s in SPEC.findall(html)]
        assert specs and html.count('class="kamlib-chart"') == len(specs)
        for i, spec in enumerate(specs):  # every chart draws with no network: vl-convert
            svg = vlc.vegalite_to_svg(
                spec,
                vl_version=vega_lite_version(),
                format_locale=LOCALES["en"],
                time_format_locale=LOCALES["en"],
            )
            assert 'class="mark-' in svg, f"{report}: chart {i} drew no marks"
            title = json.dumps(spec)
            if "size_value" in title or report == "customer_research" and i == 0:
                png = vlc.vegalite_to_png(spec, scale=1.5, vl_version=vega_lite_version())
                (SHOTS / f"{report}-chart{i}.png").write_bytes(png)
        if "Company size" in wanted[report][0]:
            assert any("size_value" in json.dumps(s) for s in specs)  # the company-size chart


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_both_reports_in_chromium_offline(pages):
    with launched_chromium() as browser:
        for report, page in pages.items():
            expected = page.read_text("utf-8").count('class="kamlib-chart"')
            visit = open_offline(browser, page, expected)
            drawn = visit.page.locator(".vega-embed svg.marks").count()
            assert drawn == expected, f"{report}: {drawn} of {expected} charts; {visit.errors}"
            assert visit.errors == [] and visit.requests == [] and visit.dialogs == []
            shot = keep_screenshot(visit.page, f"reports/{report}-registry")
            SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, SHOTS / shot.name)
            visit.page.context.close()
