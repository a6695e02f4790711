"""Skip, don't fail: a report whose essential data the store lacks is skipped with its reason.

Report notebooks declare in ``kamlib.needs`` what they cannot do without; planning checks it
against the tables of the pinned import batch and raises ``ReportSkipped`` (nothing written);
``kam report`` prints the reason and exits 0, ``kam schedule run`` lists the skip and exits 0
when nothing failed, ``kam report --list --store`` says which reports can render.  Stores are
the small demo company with tables dropped; only one tiny test notebook is rendered here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from test_reports_engine import NOTEBOOKS, build_tiny_store

from kamlib.cli import main
from kamlib.errors import KamlibError, ReportError, ReportSkipped
from kamlib.reports.engine import ReportEngine
from kamlib.reports.needs import report_skipped, skip_for, skip_reason
from kamlib.reports.schedule import parse_schedule, plan_schedule
from kamlib.reports.specs import load_report, read_needs

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "notebooks"
AS_OF = "2026-09-30"

#: What each report's view strictly requires (its ``require(...)`` calls): data_health reads
#: whatever is there; the account and portfolio views need accounts and revenue (order lines,
#: or won deals standing in for them); the pipeline forecast needs opportunities; the OGSM
#: review needs targets besides (an OGSM review without targets is empty).
EXPECTED_NEEDS = {
    "account_summary": ("accounts", "revenue"),
    "customer_research": ("accounts", "revenue"),
    "data_health": (),
    "ogsm_review": ("targets", "accounts", "revenue"),
    "pipeline_forecast": ("opportunities",),
    "portfolio_review": ("accounts", "revenue"),
}


# -- stores -----------------------------------------------------------------------------------
def store_without(company, path: Path, *dropped: str, keep: tuple[str, ...] = ()) -> Path:
    """The small demo company in a store, without the ``dropped`` tables (or with only
    ``keep``)."""
    from kamlib.data import import_frames

    tables = {
        name: frame
        for name, frame in company.tables.items()
        if name not in dropped and (not keep or name in keep)
    }
    report = import_frames(
        tables, store=path, source="demo small", now=company.end_date + pd.Timedelta(days=1)
    )
    assert report.reconciles
    return path


@pytest.fixture(scope="module")
def no_targets(small_company, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("needs") / "no-targets.duckdb"
    return store_without(small_company, path, "targets", "plan_items")


@pytest.fixture(scope="module")
def no_opportunities(small_company, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("needs") / "no-opportunities.duckdb"
    return store_without(
        small_company, path, "opportunities", "stage_history", "opportunity_contacts"
    )


@pytest.fixture(scope="module")
def crm_only(small_company, tmp_path_factory) -> Path:
    """Accounts and opportunities, no order lines: won deals stand in for revenue."""
    path = tmp_path_factory.mktemp("needs") / "crm.duckdb"
    return store_without(small_company, path, keep=("accounts", "products", "opportunities"))


@pytest.fixture(scope="module")
def accounts_only(small_company, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("needs") / "accounts.duckdb"
    return store_without(small_company, path, keep=("accounts",))


def engine_on(store: Path, tmp_path: Path, notebooks: Path = REPORTS) -> ReportEngine:
    return ReportEngine(store=store, out=tmp_path / "reports", notebook_dir=notebooks, jobs=1)


def kam(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# -- what a notebook declares --------------------------------------------------------------------
def test_every_report_notebook_declares_what_its_view_requires():
    assert {name: load_report(name, REPORTS).needs for name in EXPECTED_NEEDS} == EXPECTED_NEEDS


def test_needs_are_read_and_checked():
    assert read_needs([], "x.ipynb") == ()
    assert read_needs(["accounts", "revenue", "accounts"], "x.ipynb") == ("accounts", "revenue")
    with pytest.raises(ReportError, match=r"^Notebook x.ipynb: kamlib.needs must be a list"):
        read_needs("targets", "x.ipynb")
    with pytest.raises(ReportError, match=r"must be a list .* Got \['targets', 3\]"):
        read_needs(["targets", 3], "x.ipynb")
    with pytest.raises(
        ReportError,
        match=r"^Notebook x.ipynb: kamlib.needs names 'target', which is neither a canonical "
        r"table nor 'revenue'. Did you mean 'targets'\? Valid needs: revenue, accounts, ",
    ):
        read_needs(["target"], "x.ipynb")


def test_a_notebook_with_bad_needs_is_refused_naming_it(tmp_path):
    nb = json.loads((NOTEBOOKS / "book_summary.ipynb").read_text("utf-8"))
    nb["metadata"]["kamlib"]["needs"] = ["sales"]
    (tmp_path / "bad_needs.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(ReportError, match=r"bad_needs.ipynb: kamlib.needs names 'sales'"):
        load_report("bad_needs", tmp_path)


def test_skip_messages():
    skip = report_skipped("pipeline_forecast", ["opportunities"], store="data/retail.duckdb")
    assert isinstance(skip, ReportError) and isinstance(skip, KamlibError)
    assert (skip.report, skip.needs, skip.reason) == (
        "pipeline_forecast",
        ("opportunities",),
        "needs opportunities",
    )
    assert str(skip) == (
        "pipeline_forecast skipped — needs opportunities: the store has no 'opportunities' "
        "table (import a CRM opportunity export: kam import FILE --store data/retail.duckdb)"
    )
    assert skip_reason(["targets", "revenue"]) == (
        "needs targets and order lines or won opportunities"
    )
    both = skip_for("ogsm_review", EXPECTED_NEEDS["ogsm_review"], {"accounts"}, store="my store")
    assert str(both) == (
        "ogsm_review skipped — needs targets and order lines or won opportunities: the store "
        "has no 'targets' table and neither order lines ('orders') nor opportunities (import "
        "an OGSM targets export and an order-line export from the ERP or a CRM opportunity "
        "export: kam import FILE --store 'my store')"
    )
    assert skip_for("ogsm_review", ["targets"], {"targets", "accounts"}, store="s") is None


# -- planning ------------------------------------------------------------------------------------
def test_plan_skips_a_report_the_store_cannot_feed(no_targets, no_opportunities, tmp_path):
    with engine_on(no_targets, tmp_path) as engine:
        with pytest.raises(ReportSkipped) as caught:
            engine.plan("ogsm_review", as_of=AS_OF)
        [job] = engine.plan("pipeline_forecast", as_of=AS_OF)  # opportunities are there
    skip = caught.value
    assert (skip.report, skip.needs, skip.reason) == ("ogsm_review", ("targets",), "needs targets")
    assert str(skip) == (
        "ogsm_review skipped — needs targets: the store has no 'targets' table (import an OGSM "
        f"targets export: kam import FILE --store {no_targets})"
    )
    assert job.report == "pipeline_forecast"
    wanted = (
        r"^pipeline_forecast skipped — needs opportunities: the store has no 'opportunities' "
        r"table \(import a CRM opportunity export"
    )
    with (
        engine_on(no_opportunities, tmp_path) as engine,
        pytest.raises(ReportSkipped, match=wanted),
    ):
        engine.plan("pipeline_forecast", as_of=AS_OF)
    assert not (tmp_path / "reports").exists()  # nothing written: no _failed/, no manifest


def test_revenue_is_met_by_order_lines_or_won_deals(crm_only, accounts_only, demo_store, tmp_path):
    with engine_on(crm_only, tmp_path) as engine:
        assert len(engine.plan("portfolio_review", as_of=AS_OF)) == 1
    with engine_on(demo_store, tmp_path) as engine:
        assert len(engine.plan("ogsm_review", as_of=AS_OF)) == 1  # the demo has every table
    with engine_on(accounts_only, tmp_path) as engine:
        with pytest.raises(ReportSkipped, match=r"needs order lines or won opportunities: the store has neither order lines \('orders'\) nor opportunities"):  # fmt: skip
            engine.plan("portfolio_review", as_of=AS_OF)
        # a report without needs renders on anything
        assert len(engine.plan("data_health", as_of=AS_OF)) == 1


def test_a_chosen_batch_is_checked_and_named(small_company, tmp_path):
    store = store_without(small_company, tmp_path / "later.duckdb", "targets", "plan_items")
    from kamlib.data import import_frames

    import_frames({"targets": small_company.tables["targets"]}, store=store, now="2026-11-01")
    with engine_on(store, tmp_path) as engine:
        assert len(engine.plan("ogsm_review", as_of=AS_OF)) == 1  # batch 2 brought targets
        with pytest.raises(ReportSkipped, match=r"needs targets: import batch 1 of the store has no 'targets' table"):  # fmt: skip
            engine.plan("ogsm_review", as_of=AS_OF, parameters={"snapshot": "1"})


def test_schedule_plans_a_skip_not_a_problem(no_targets, accounts_only, tmp_path):
    schedule = parse_schedule(
        {
            "reports": [
                {"report": "ogsm_review", "frequency": "quarterly"},
                {"report": "pipeline_forecast", "frequency": "quarterly"},
            ]
        }
    )
    with engine_on(no_targets, tmp_path) as engine:
        skipped, planned = plan_schedule(schedule, engine, as_of="2026-10-15")
    assert skipped.unmet is not None and skipped.unmet.reason == "needs targets"
    assert (skipped.problem, skipped.jobs, skipped.skipped) == (None, (), ())
    assert planned.unmet is None and len(planned.jobs) == 1
    # a per-account report is skipped before its target group is formed from the data
    per_account = parse_schedule(
        {"reports": [{"report": "customer_research", "frequency": "quarterly", "for": "top5"}]}
    )
    with engine_on(accounts_only, tmp_path) as engine:
        [entry] = plan_schedule(per_account, engine, as_of="2026-10-15")
    assert entry.problem is None
    assert entry.unmet.reason == "needs order lines or won opportunities"


# -- the command line ----------------------------------------------------------------------------
def test_kam_report_prints_the_skip_and_exits_0(no_targets, accounts_only, tmp_path):
    out = tmp_path / "out"
    result = kam(
        "report", "ogsm_review", "--store", no_targets, "--out", out, "-p", f"as_of={AS_OF}"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "ogsm_review skipped — needs targets: the store has no 'targets' table (import an OGSM "
        f"targets export: kam import FILE --store {no_targets})\n"
    )
    assert result.stderr == ""  # no traceback, no error
    per_account = kam(
        "report", "customer_research", "--for", "top5", "--period", "2026-Q3",
        "--store", accounts_only, "--out", out,
    )  # fmt: skip
    assert per_account.exit_code == 0, per_account.output
    assert per_account.stdout.startswith(
        "customer_research skipped — needs order lines or won opportunities: "
    )
    assert not out.exists()


def test_kam_report_list_says_what_can_render_on_a_store(no_targets, tmp_path, monkeypatch):
    result = kam("report", "--list", "--store", no_targets, "--notebooks", REPORTS)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Store {no_targets} holds: accounts, products, orders, ")
    assert "ogsm_review — OGSM review (quarterly, whole book): skipped — needs targets" in lines
    assert "data_health — Data health (monthly, whole book): can render" in lines
    assert "pipeline_forecast — Pipeline forecast (quarterly, whole book): can render" in lines
    why = lines[lines.index("ogsm_review — OGSM review (quarterly, whole book): skipped — needs targets") + 1]  # fmt: skip
    assert why == (
        "    why: the store has no 'targets' table (import an OGSM targets export: "
        f"kam import FILE --store {no_targets})"
    )
    missing = kam("report", "--list", "--store", tmp_path / "none.duckdb", "--notebooks", REPORTS)
    assert missing.exit_code == 2 and missing.stderr.startswith("Error: The store")
    # no store given and no default store: the list as it always was
    monkeypatch.chdir(tmp_path)
    plain = kam("report", "--list", "--notebooks", REPORTS)
    assert plain.exit_code == 0
    assert "ogsm_review — OGSM review (quarterly, whole book)\n" in plain.stdout
    assert "can render" not in plain.stdout and "skipped" not in plain.stdout


def test_schedule_run_skips_and_exits_0(tmp_path):
    """One tiny report renders, one whose notebook needs targets is skipped: exit 0, the
    summary says so, and nothing lands under _failed/."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOKS / "book_summary.ipynb", notebooks)
    nb = json.loads((NOTEBOOKS / "book_summary.ipynb").read_text("utf-8"))
    nb["metadata"]["kamlib"]["needs"] = ["targets", "accounts", "revenue"]
    (notebooks / "target_review.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    store = build_tiny_store(tmp_path / "tiny.duckdb")  # accounts and orders, no targets
    schedule = tmp_path / "schedule.yml"
    schedule.write_text(
        "reports:\n  - report: book_summary\n  - report: target_review\n", encoding="utf-8"
    )
    out = tmp_path / "reports"
    common = ["--as-of", "2026-10-15", "--store", store, "--out", out, "--notebooks", notebooks]

    dry = kam("schedule", "run", schedule, "--dry-run", *common)
    assert dry.exit_code == 0, dry.output
    assert (
        "target_review (monthly): 2026-09 (as of 2026-09-30) — skipped — needs targets: the "
        "store has no 'targets' table (import an OGSM targets export: "
    ) in dry.stderr
    assert "book_summary (monthly): 2026-09 (as of 2026-09-30) — 1 to render" in dry.stderr
    assert not out.exists()

    run = kam("schedule", "run", schedule, *common, "--jobs", "1")
    assert run.exit_code == 0, run.output
    rows = run.stdout.splitlines()
    assert rows[0].split() == ["report", "parameters", "status", "seconds", "path"]
    assert rows[2].split()[:5] == ["book_summary", "as_of=2026-09-30", "lang=en", "snapshot=1", "ok"]  # fmt: skip
    assert rows[3].split() == [
        "target_review", "as_of=2026-09-30", "skipped", "—", "needs", "targets"
    ]  # fmt: skip
    assert "1 report: 1 ok" in run.stdout
    assert (
        "1 scheduled report skipped: the store lacks data it needs (not a failure)." in run.stdout
    )
    assert not (out / "_failed").exists() and not (out / "target_review").exists()

    again = kam("schedule", "run", schedule, *common)
    assert again.exit_code == 0, again.output
    assert "skipped — needs targets" in again.stdout
    assert "Nothing else to render: every other due report is up to date." in again.stdout
    assert "1 already done" in again.stderr  # the other kind of skip, in its own words
