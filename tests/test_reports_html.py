"""kamlib.reports.html: executed notebook → one self-contained report page."""

from __future__ import annotations

import html
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from report_fixtures import (
    REPORT_CHARTS,
    XSS,
    executed_report,
    make_data,
    rendered_notebook,
)

from kamlib import charts
from kamlib.data import health
from kamlib.errors import ReportError
from kamlib.reports.html import ReportHeader, _Page, contents_html, export_html
from kamlib.views.format import heading, table

HEADER = ReportHeader(
    title="Data health",
    period="2026-Q3",
    as_of="2026-09-30",
    snapshot="batch 2 · d4e5f6",
    generated_at="2026-10-02T06:00:00",
    reproduce_command="kam report data_health --store data/demo.duckdb -p as_of=2026-09-30",
    methodology_fingerprint="9f86d081884c7d65",
)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The report notebook run by papermill in a fresh kernel, and its page."""
    nb = executed_report(tmp_path_factory, "en")
    return nb, export_html(nb, header=HEADER)


@pytest.fixture(scope="module")
def result():
    return health.data_health(make_data())


def _no_external_references(page: str) -> None:
    assert _Page.parse(page).external == []
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, flags=re.IGNORECASE)
    assert not re.search(r"<link\b", page, flags=re.IGNORECASE)
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "require.min.js", "mathjax@", "mermaid@"):
        assert cdn not in page.lower()


# -- the executed report --------------------------------------------------------------------
def test_page_has_no_code_prompts_or_stray_output(executed):
    _, page = executed
    for source in (
        "kamlib.charts.rows_per_table(",
        "sys.path.insert",
        "warnings.warn",
        "TESTS_DIR",
    ):
        assert source not in page
    assert "In&nbsp;[" not in page and "Out[" not in page
    assert "jp-CodeMirrorEditor" not in page and "highlight-ipynb" not in page
    assert "DataHealth(" not in page  # the repr of a bare expression
    assert "a warning for the log" not in page  # stderr
    assert "printed on purpose" in page  # stdout is the author's choice
    assert "Intro text written in a <em>markdown</em> cell." in page


def test_page_is_self_contained_with_one_bundle(executed):
    _, page = executed
    _no_external_references(page)
    assert page.count('<script type="module">') == 1
    assert page.count('class="kamlib-chart"') == REPORT_CHARTS


def test_account_name_is_text_everywhere(executed):
    _, page = executed
    assert XSS not in page
    assert html.escape(XSS) in page  # in the quarantine examples table


def test_header_footer_and_contents(executed):
    _, page = executed
    for value in (HEADER.title, HEADER.period, "30 Sep 2026", "2 Oct 2026 06:00"):
        assert f">{value}<" in page
    assert f'datetime="{HEADER.as_of}"' in page and f'datetime="{HEADER.generated_at}"' in page
    assert html.escape(HEADER.snapshot) in page
    assert html.escape(HEADER.reproduce_command) in page
    assert HEADER.methodology_fingerprint in page
    assert '<html lang="en">' in page
    nav = re.search(r'<nav class="report-contents".*?</nav>', page, flags=re.DOTALL).group(0)
    titles = re.findall(r'<a href="#[^"]+">([^<]+)</a>', nav)
    assert titles == ["Key figures", "Tables", "Quarantined rows", "Rows per import batch",
                      "Coverage gaps"]  # fmt: skip
    assert "<ol><li><a" in nav.split("Quarantined rows")[1]  # the level-3 heading is nested
    for anchor in re.findall(r'href="#([^"]+)"', nav):
        assert f'id="{anchor}"' in page


def test_export_leaves_the_notebook_alone(executed):
    nb, _ = executed
    before = nbformat.writes(nb)
    export_html(nb, header=HEADER)
    assert nbformat.writes(nb) == before


# -- built notebooks (no kernel) ------------------------------------------------------------
def test_chinese_page(result):
    nb = rendered_notebook(
        [
            heading("tables_overview", lang="zh"),
            charts.rows_per_table(result.tables, lang="zh"),
            table(result.tables, lang="zh"),
        ],
        lang="zh",
    )
    header = ReportHeader(**{**HEADER.__dict__, "title": "数据健康检查", "lang": "zh"})
    page = export_html(nb, header=header)
    assert '<html lang="zh-CN">' in page
    for text in (
        "数据健康检查",
        "报告期",
        "截至",
        "数据快照",
        "生成时间",
        "如何重现本报告",
        "方法论文件指纹",
        ">2026年9月30日<",
        ">2026年10月2日 06:00<",
    ):
        assert text in page
    assert (
        "report-contents" not in page.split("<main")[0].split("</header>")[1]
    )  # short: no contents
    _no_external_references(page)


def test_header_values_are_escaped():
    header = ReportHeader(**{**HEADER.__dict__, "title": f"Q3 {XSS} & co"})
    page = export_html(new_notebook(cells=[new_markdown_cell("Hello")]), header=header)
    assert XSS not in page
    assert "Q3 &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_table_cells_are_escaped(result):
    page = export_html(rendered_notebook([table(result.quarantine)]), header=HEADER)
    assert XSS not in page and html.escape(XSS) in page


def test_external_image_is_refused():
    nb = new_notebook(cells=[new_markdown_cell("![logo](https://example.com/logo.png)")])
    with pytest.raises(ReportError, match=r"external resource.*https://example.com/logo.png"):
        export_html(nb, header=HEADER)


def test_external_stylesheet_in_an_output_is_refused():
    cell = new_code_cell("display(HTML(...))")
    cell.outputs = [
        new_output(
            "display_data",
            data={"text/html": '<link rel="stylesheet" href="https://cdn.example/x.css">'},
        )
    ]
    with pytest.raises(ReportError, match="cdn.example"):
        export_html(new_notebook(cells=[cell]), header=HEADER)


def test_plain_links_are_allowed():
    nb = new_notebook(cells=[new_markdown_cell("See [the wiki](https://wiki.example/kam).")])
    assert 'href="https://wiki.example/kam"' in export_html(nb, header=HEADER)


def test_error_output_stays_for_failed_runs():
    cell = new_code_cell("1 / 0")
    cell.outputs = [
        new_output(
            "error",
            ename="ZeroDivisionError",
            evalue="division by zero",
            traceback=["ZeroDivisionError: division by zero"],
        )
    ]
    page = export_html(new_notebook(cells=[cell]), header=HEADER)
    assert "ZeroDivisionError: division by zero" in page


def test_javascript_and_widget_outputs_are_dropped():
    cell = new_code_cell("widget")
    cell.outputs = [
        new_output(
            "display_data",
            data={
                "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2},
                "text/plain": "IntProgress(value=3)",
            },
        ),
        new_output("display_data", data={"application/javascript": "fetch('https://x.example')"}),
    ]
    page = export_html(new_notebook(cells=[cell]), header=HEADER)
    assert "IntProgress" not in page and "x.example" not in page


def test_unknown_language_is_refused():
    with pytest.raises(ReportError, match="must be one of en, zh. Got 'fr'"):
        export_html(new_notebook(), header=ReportHeader(**{**HEADER.__dict__, "lang": "fr"}))


def test_contents_nests_level_three_and_skips_short_reports():
    headings = [(2, "a", "A"), (3, "a1", "A.1"), (3, "a2", "A.2"), (2, "b", "B"), (2, "c", "C & D")]
    nav = contents_html(headings, title="Contents")
    assert nav.count("<ol>") == 2
    assert '<li><a href="#a">A</a><ol><li><a href="#a1">A.1</a></li>' in nav
    assert "C &amp; D" in nav
    assert contents_html(headings[:4], title="Contents") == ""  # two sections only


def test_forecast_money_columns_are_money_and_whole_numbers_have_no_decimals():
    """One format per kind of figure: P10/P50/P90, bookings, the gap and what is needed are
    money like every amount ("P10 0.00" next to "CN¥700,000" was the bug); days and errors
    are not; a whole small number prints without decimals."""
    import pandas as pd

    from kamlib.views.format import column_kinds, format_value

    frame = pd.DataFrame(
        {c: [0.0, 701850.0] for c in ("p10", "p50", "p90", "bookings", "gap", "needed",
                                      "p90_days", "error_p50", "share")}
    )  # fmt: skip
    kinds = column_kinds(frame)
    assert {c for c, k in kinds.items() if k == "currency"} == {
        "p10",
        "p50",
        "p90",
        "bookings",
        "gap",
        "needed",
    }
    assert kinds["p90_days"] == kinds["error_p50"] == "number" and kinds["share"] == "percent"
    assert format_value(0.0, "number") == "0" and format_value(2.5, "number") == "2.50"
    assert format_value(701850.0, "currency", currency="CNY") == format_value(
        701850, "currency", currency="CNY"
    )


def test_a_fact_that_is_a_sentence_spans_the_row_in_plain_type():
    """A verdict as a fact set in 1.15rem bold in a third of the width read as a wall of
    text; a figure stays a figure.  A CJK character counts two columns."""
    from kamlib.views.format import facts

    out = facts(
        {"verdict": "The run-rate model does worse than the mean of earlier periods.",
         "rows": 1234, "owner": "许辉波", "note": "该模型的回测误差高于手工计算的上期数值方法"},
    ).html  # fmt: skip
    cells = re.findall(r'<div style="([^"]*)"><dt[^>]*>([^<]*)</dt><dd style="([^"]*)">', out)
    shown = {name: (box, value) for box, name, value in cells}
    assert "grid-column:1/-1" in shown["Verdict"][0] and "font-weight:normal" in shown["Verdict"][1]
    assert "grid-column" not in shown["Rows"][0] and "font-weight:600" in shown["Rows"][1]
    assert "grid-column" not in shown["Owner"][0]
    assert "grid-column:1/-1" in shown["Note"][0]  # 21 CJK characters: 42 columns
