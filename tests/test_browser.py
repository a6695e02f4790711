"""Rendered reports in real headless Chromium with the network cut.

Debian's ``chromium`` (``apt-get install chromium fonts-noto-cjk``) driven by Playwright for
Python; never ``playwright install``.  Every request that is not ``file://`` is aborted and
recorded: a report must draw every chart without one.  Screenshots of the pages go to
``build/screenshots/reports/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import keep_screenshot, launched_chromium, needs_chromium, open_offline
from report_fixtures import REPORT_CHARTS, XSS, executed_report, make_data, rendered_notebook

from kamlib import charts
from kamlib.data import health
from kamlib.reports.html import ReportHeader, export_html
from kamlib.views.format import heading, table

pytestmark = needs_chromium


def _header(lang: str) -> ReportHeader:
    return ReportHeader(
        title={"en": "Data health", "zh": "数据健康检查"}[lang],
        period="2026-Q3",
        as_of="2026-09-30",
        snapshot="batch 2 · d4e5f6",
        generated_at="2026-10-02T06:00:00",
        reproduce_command=f"kam report data_health -p lang={lang}",
        methodology_fingerprint="9f86d081884c7d65",
        lang=lang,
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, tuple[Path, int]]:
    """Report pages on disk → (path, charts expected)."""
    folder = tmp_path_factory.mktemp("browser")
    executed = executed_report(tmp_path_factory, "en")
    result = health.data_health(make_data())
    zh = rendered_notebook(
        [
            heading("tables_overview", lang="zh"),
            charts.rows_per_table(result.tables, lang="zh"),
            heading("quarantine", lang="zh"),
            charts.quarantine_reasons(result.quarantine, lang="zh"),
            table(result.quarantine, lang="zh"),
            heading("coverage", lang="zh"),
            charts.coverage_gaps(result.coverage, lang="zh"),
        ],
        lang="zh",
    )
    pages = {"en": (executed, "en", REPORT_CHARTS), "zh": (zh, "zh", 3)}
    out = {}
    for name, (nb, lang, expected) in pages.items():
        path = folder / f"{name}.html"
        path.write_text(export_html(nb, header=_header(lang)), encoding="utf-8")
        out[name] = (path, expected)
    return out


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as chromium:
        yield chromium


@pytest.mark.parametrize("name", ["en", "zh"])
def test_every_chart_renders_offline_without_errors(browser, reports, name):
    path, expected = reports[name]
    visit = open_offline(browser, path, expected)
    drawn = visit.page.locator(".vega-embed svg.marks").count()
    assert drawn == expected, f"{drawn} of {expected} charts drawn; errors: {visit.errors}"
    assert visit.errors == []
    assert visit.requests == [], "a request tried to leave the machine"
    assert visit.dialogs == []
    keep_screenshot(visit.page, f"reports/data_health-{name}")
    visit.page.context.close()


def test_account_name_shows_as_text_and_never_runs(browser, reports):
    path, expected = reports["en"]
    visit = open_offline(browser, path, expected)
    assert visit.dialogs == []
    cells = visit.page.locator("table.kamlib-table td").all_inner_texts()
    assert any(XSS in text for text in cells)
    visit.page.context.close()


def test_chart_tooltips_work(browser, reports):
    path, expected = reports["zh"]
    visit = open_offline(browser, path, expected)
    bar = visit.page.locator(".vega-embed svg.marks .mark-rect path").first
    bar.hover()
    tooltip = visit.page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert "数据表" in tooltip.inner_text()
    visit.page.context.close()


# -- the customer research dossier (kamlib.research) --------------------------------------------
@pytest.fixture(scope="module")
def research_page(tmp_path_factory) -> tuple[Path, int, str]:
    """A masked dossier's charts and tables as a report page (no kernel), its chart count and
    a contact's pseudonym."""
    from kamlib.data.kamdata import KamData, Snapshot
    from kamlib.demo import generate_demo
    from kamlib.views.customer_research import customer_research

    company = generate_demo(scale="small", seed=7)
    data = KamData(company.tables, snapshot=Snapshot(None, "demo", None, "demo"))
    account = str(company.tables["contacts"].groupby("account_id").size().idxmax())
    research = customer_research(data, account_id=account, as_of="2026-09-30", mask_pii=True)
    d = research.dossier
    items = [
        heading("summary_findings"),
        table(research.top_findings),
        charts.revenue_by_quarter(d.revenue_by_quarter),
        charts.share_of_wallet_trend(d.share_of_wallet),
        charts.activities_by_quarter(d.activities_by_quarter),
        heading("power_map"),
        charts.power_map(d.power_map.contacts),
        table(d.power_map.contacts),
        charts.ogsm_progress(d.targets.progress),
    ]
    path = tmp_path_factory.mktemp("research") / "dossier.html"
    path.write_text(export_html(rendered_notebook(items), header=_header("en")), encoding="utf-8")
    return path, 5, str(d.power_map.contacts["name"].iloc[0])


def test_research_dossier_charts_render_offline_with_power_map_tooltips(browser, research_page):
    path, expected, pseudonym = research_page
    visit = open_offline(browser, path, expected)
    drawn = visit.page.locator(".vega-embed svg.marks").count()
    assert drawn == expected, f"{drawn} of {expected} charts drawn; errors: {visit.errors}"
    assert visit.errors == [] and visit.requests == []
    # the power map is the fourth chart: hover its first contact, the tooltip names it
    dots = visit.page.locator(".vega-embed").nth(3).locator("svg.marks .mark-symbol path")
    assert dots.count() >= 3
    dots.first.hover(force=True)
    tooltip = visit.page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert "Person-" in tooltip.inner_text()
    assert pseudonym.startswith("Person-")
    keep_screenshot(visit.page, "reports/customer_research")
    visit.page.context.close()


# -- the pipeline forecast report (kamlib.forecast) ---------------------------------------------
PIPELINE_FORECAST_CHARTS = 4  # fan, gap by group, funnel, forecast methods


@pytest.fixture(scope="module")
def pipeline_forecast_page(tmp_path_factory, demo_store) -> Path:
    """The pipeline_forecast notebook executed on the small demo and exported as a page."""
    import nbformat
    import papermill as pm

    folder = tmp_path_factory.mktemp("pipeline-forecast")
    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "pipeline_forecast.ipynb"
    out = folder / "out.ipynb"
    pm.execute_notebook(
        str(notebook), str(out),
        parameters={"store": str(demo_store), "as_of": "2026-06-30", "lang": "zh",
                    "simulations": 500, "backtest_periods": 2},
        cwd=str(folder), progress_bar=False, kernel_name="python3",
    )  # fmt: skip
    path = folder / "pipeline_forecast.html"
    nb = nbformat.read(out, as_version=4)
    path.write_text(export_html(nb, header=_header("zh")), encoding="utf-8")
    return path


@pytest.mark.slow
def test_pipeline_forecast_report_draws_every_chart(browser, pipeline_forecast_page):
    visit = open_offline(browser, pipeline_forecast_page, PIPELINE_FORECAST_CHARTS)
    drawn = visit.page.locator(".vega-embed svg.marks").count()
    assert drawn == PIPELINE_FORECAST_CHARTS, f"{drawn} charts drawn; errors: {visit.errors}"
    assert visit.errors == [] and visit.requests == []
    text = visit.page.inner_text("body")
    assert "预测方法对比" in text and "逐单蒙特卡洛模型" in text  # the forecast methods section
    assert "僵尸商机" in text
    keep_screenshot(visit.page, "reports/pipeline_forecast-zh")
    visit.page.context.close()
