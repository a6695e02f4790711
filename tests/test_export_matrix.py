"""Every report notebook × {demo, Maven CRM export, Online Retail log}: rendered with every chart
drawn in Chromium with the network cut, or skipped with its reason — never failed (issue #18).

The three stores hold different tables: the demo all of them; Maven accounts, products and
opportunities (no order lines: revenue is its won deals, no targets); Online Retail accounts
and order lines (no opportunities, no targets).  Each store runs a schedule of every report
notebook (per-account reports for their top two accounts) as ``kam schedule run`` does, and
the README's matrix must say what happened.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import launched_chromium, needs_chromium, open_offline

from kamlib.reports.engine import ReportEngine
from kamlib.reports.schedule import parse_schedule, plan_schedule
from kamlib.reports.specs import list_reports

ROOT = Path(__file__).resolve().parents[1]
RENDERED = "rendered"
COLUMNS = ("demo", "maven", "retail")
#: what each store's schedule run gives each report (the README shows the same matrix)
EXPECTED = {
    "account_summary": {"demo": RENDERED, "maven": RENDERED, "retail": RENDERED},
    "customer_research": {"demo": RENDERED, "maven": RENDERED, "retail": RENDERED},
    "data_health": {"demo": RENDERED, "maven": RENDERED, "retail": RENDERED},
    "ogsm_review": {
        "demo": RENDERED,
        "maven": "skipped — needs targets",
        "retail": "skipped — needs targets",
    },
    "pipeline_forecast": {
        "demo": RENDERED,
        "maven": RENDERED,
        "retail": "skipped — needs opportunities",
    },
    "portfolio_review": {"demo": RENDERED, "maven": RENDERED, "retail": RENDERED},
    "revenue_forecast": {"demo": RENDERED, "maven": "skipped — needs orders", "retail": RENDERED},
    "sales_process_review": {
        "demo": RENDERED,
        "maven": RENDERED,
        "retail": "skipped — needs opportunities",
    },
}
#: the schedule date of each store (the due periods are the last complete ones before it)
#: and its methodology file
STORES = {
    "demo": ("2026-10-01", "data/methodology.yml"),
    "maven": ("2018-01-01", "data/methodology-maven-crm.yml"),
    "retail": ("2011-12-01", "data/methodology-online-retail.yml"),
}


def _schedule() -> dict:
    entries = []
    for spec in list_reports():
        entry = {"report": spec.name}
        if spec.per_account:
            entry["for"] = "top2"
        entries.append(entry)
    return {"reports": entries}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory, demo_store, maven_store, retail_store):
    """store → report → (outcome, rendered pages or the skip/failure text)."""
    paths = {"demo": demo_store, "maven": maven_store, "retail": retail_store}
    out: dict[str, dict[str, tuple[str, list]]] = {}
    for name, store in paths.items():
        day, methodology = STORES[name]
        folder = tmp_path_factory.mktemp(f"matrix-{name}")
        with ReportEngine(
            store=store, out=folder, methodology=ROOT / methodology, timeout=600
        ) as engine:
            due = plan_schedule(parse_schedule(_schedule()), engine, as_of=day, force=True)
            jobs = [job for d in due for job in d.jobs]
            batch = engine.run(jobs)
        results: dict[str, tuple[str, list]] = {}
        for d in due:
            report = d.entry.report
            if d.unmet is not None:
                results[report] = (f"skipped — {d.unmet.reason}", [d.unmet.detail])
            elif d.problem:
                results[report] = ("failed", [d.problem])
        for result in batch.results:
            outcome, pages = results.get(result.report, (RENDERED, []))
            if not result.ok:
                outcome, pages = "failed", [*pages, result.error or result.status]
            elif outcome == RENDERED:
                pages = [*pages, result.path]
            results[result.report] = (outcome, pages)
        out[name] = results
    return out


def test_every_report_renders_or_is_skipped_with_its_reason_never_fails(matrix):
    got = {r: {s: matrix[s].get(r, ("not planned", []))[0] for s in COLUMNS} for r in EXPECTED}
    failures = {
        f"{r} on {s}": matrix[s][r][1]
        for s in COLUMNS
        for r in matrix[s]
        if matrix[s][r][0] == "failed"
    }
    assert not failures, failures
    assert sorted(spec.name for spec in list_reports()) == sorted(EXPECTED), "a report is missing"
    assert got == EXPECTED


def test_a_skip_says_what_to_import(matrix):
    outcome, (detail,) = matrix["retail"]["pipeline_forecast"]
    assert outcome == "skipped — needs opportunities"
    assert "no 'opportunities' table" in detail and "kam import" in detail


def test_revenue_from_won_deals_is_stated_on_the_crm_export_pages(matrix):
    for report in ("portfolio_review", "account_summary", "customer_research"):
        for page in matrix["maven"][report][1]:
            assert "won deals — the data has no order lines" in page.read_text("utf-8"), page
    for page in matrix["demo"]["portfolio_review"][1]:
        assert "won deals" not in page.read_text("utf-8")


@pytest.mark.parametrize("store", COLUMNS)
@pytest.mark.parametrize("_browser", [pytest.param(None, marks=needs_chromium)])
def test_every_rendered_page_draws_every_chart_offline(matrix, store, _browser):
    pages = [p for outcome, found in matrix[store].values() if outcome == RENDERED for p in found]
    assert pages
    problems = []
    with launched_chromium() as browser:
        for page in pages:
            expected = page.read_text("utf-8").count("vegaEmbed(")  # one call per chart
            visit = open_offline(browser, page, expected)
            drawn = visit.page.locator(".vega-embed svg.marks").count()
            if drawn != expected or visit.errors or visit.requests:
                problems.append(
                    f"{page}: {drawn} of {expected} drawn {visit.errors} {visit.requests}"
                )
            visit.page.context.close()
    assert not problems, "\n".join(problems)


def test_the_readme_shows_this_matrix():
    rows = {}
    for line in (ROOT / "README.md").read_text("utf-8").splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 1 + len(COLUMNS) and cells[0] in EXPECTED:
            rows[cells[0]] = dict(zip(COLUMNS, cells[1:], strict=True))
    assert rows == EXPECTED
