"""kamlib.charts: chart specs via to_dict()."""

from __future__ import annotations

import pandas as pd
import pytest
from report_fixtures import AS_OF, make_data

from kamlib import charts
from kamlib.data import health
from kamlib.errors import DataValidationError
from kamlib.research import account_overview


@pytest.fixture(scope="module")
def result():
    return health.data_health(make_data(), as_of=AS_OF)


def _values(spec: dict) -> list[dict]:
    (values,) = spec["datasets"].values()
    return values


def _layer_encoding(spec: dict) -> dict:
    return spec["layer"][0]["encoding"] if "layer" in spec else spec["encoding"]


# -- charts ---------------------------------------------------------------------------------
def test_rows_per_table_in_chinese_with_tooltips(result):
    spec = charts.rows_per_table(result.tables, lang="zh").to_dict()
    enc = _layer_encoding(spec)
    assert enc["y"]["field"] == "数据表"
    assert enc["x"]["field"] == "行数"
    assert [t["field"] for t in enc["tooltip"]] == ["数据表", "行数", "最早日期", "最晚日期"]
    rows = {v["数据表"]: v["行数"] for v in _values(spec)}
    assert rows == {
        "客户": 5,
        "产品": 3,
        "订单": 37,
        "商机": 4,
        "联系人": 3,
    }  # absent tables left out
    assert enc["y"]["sort"] == ["客户", "产品", "订单", "商机", "联系人"]  # canonical order


def test_quarantine_reasons_sorted_by_rows_and_capped(result):
    spec = charts.quarantine_reasons(result.quarantine, lang="en").to_dict()
    enc = spec["encoding"]
    assert enc["color"]["field"] == "Table"
    assert enc["y"]["sort"][:2] == ["amount is not a number", "unknown account"]
    assert "Examples" in [t["field"] for t in enc["tooltip"]]
    top = charts.quarantine_reasons(result.quarantine, lang="en", top=1).to_dict()
    assert {v["Reason"] for v in _values(top)} == {"amount is not a number"}


def test_small_counts_get_whole_number_ticks(result):
    spec = charts.quarantine_reasons(result.quarantine).to_dict()
    assert spec["encoding"]["x"]["axis"]["values"] == [0, 1, 2]


def test_every_chart_builds_a_valid_spec(result):
    overview = account_overview(make_data(), "A1", as_of=AS_OF)
    built = [
        charts.rows_per_table(result.tables),
        charts.quarantine_reasons(result.quarantine),
        charts.rows_per_batch(result.batch_tables),
        charts.coverage_gaps(result.coverage),
        charts.revenue_by_quarter(overview.revenue_by_quarter, lang="zh"),
        charts.revenue_by_product_line(overview.revenue_by_product_line, currency="USD"),
    ]
    for chart in built:
        spec = chart.to_dict()  # validates against the vega-lite schema
        assert spec["$schema"].endswith(".json")
    quarter = built[4].to_dict()
    assert quarter["encoding"]["y"]["title"] == "收入 (CNY)"
    assert [v["季度"] for v in _values(quarter)][-1] == "2026-Q3"


def test_empty_frames_give_a_message_chart(result):
    spec = charts.quarantine_reasons(result.quarantine.iloc[0:0], lang="zh").to_dict()
    assert spec["mark"]["type"] == "text"
    assert _values(spec) == [{"message": "没有被隔离的数据行。"}]


def test_missing_column_is_named():
    with pytest.raises(DataValidationError, match=r"required column\(s\) 'rows' missing"):
        charts.rows_per_table(pd.DataFrame({"table": ["orders"]}))


# -- no I/O -----------------------------------------------------------------------------------
FILE_MODULES = {"os", "io", "pathlib", "shutil", "tempfile", "glob", "urllib", "requests"}
FILE_CALLS = {
    "open", "print", "display", "save", "mkdir", "unlink",
    "read_text", "read_bytes", "write_text", "write_bytes", "to_csv", "to_parquet",
    "to_excel", "to_json", "to_html", "mkstemp", "fdopen",
}  # fmt: skip


def test_charts_do_no_io():
    """kamlib.charts only builds charts: no file, network or console I/O in its source."""
    import ast
    import pathlib

    import kamlib.charts

    found = []
    sources = sorted(pathlib.Path(kamlib.charts.__file__).parent.glob("*.py"))
    assert len(sources) > 1
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                names = []
            found += [(path.name, n) for n in names if n.split(".")[0] in FILE_MODULES]
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in FILE_CALLS:
                    found.append((path.name, f"{name}() at line {node.lineno}"))
    assert found == []


def test_money_axes_have_short_labels_in_the_report_language():
    """8M / 800万, never "8,000,000" next to "10,000,000" (issue #16)."""
    import json

    import pandas as pd

    from kamlib import charts

    frame = pd.DataFrame(
        {"product_line": ["PLC", "HMI"], "revenue": [8e6, 1e7], "share": [0.44, 0.56]}
    )
    for lang, word in (("en", "'~s'"), ("zh", "万")):
        spec = json.dumps(
            charts.revenue_by_product_line(frame, lang=lang).to_dict(), ensure_ascii=False
        )
        assert word in spec and "labelExpr" in spec, lang
