"""Test data and notebook builders shared by the presentation tests.

``make_data()`` is a tiny company written out by hand so every expected count in
``test_health.py`` can be checked by reading this file: five accounts (one named
``<script>alert(1)</script>``, one Chinese), three products, 40 order lines, four
opportunities, three contacts, two import batches with quarantine and notices.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from kamlib.data import TABLES, KamData, Snapshot

TESTS_DIR = Path(__file__).resolve().parent
XSS = "<script>alert(1)</script>"
AS_OF = "2026-09-30"

_DTYPES = {
    "text": "str",
    "integer": "Int64",
    "number": "float64",
    "date": "datetime64[us]",
    "timestamp": "datetime64[us]",
    "flag": "boolean",
}


def canonical(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column of canonical table ``name``, typed as ``load`` gives them."""
    columns = {}
    for col, kind in TABLES[name].columns.items():
        values = frame[col] if col in frame else pd.Series([None] * len(frame), dtype=object)
        if kind == "text":
            columns[col] = values.astype("str").where(values.notna())
        else:
            columns[col] = values.astype(_DTYPES[kind])
    return pd.DataFrame(columns)


def make_data() -> KamData:
    ts = pd.Timestamp
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4", "A5"],
            "name": ["华东精密制造有限公司", XSS, "Northwind Traders", "Contoso Group", "Fabrikam"],
            "industry": ["制造业", "Retail", "Logistics", None, "Energy"],
            "region": ["华东", "EMEA", "EMEA", "APAC", None],
            "parent_account_id": [None, None, "A4", None, "A9"],  # A9 does not exist
            "owner": ["王伟", "Ann", None, "Bob", "Ann"],
            "created_date": [ts("2020-01-01")] * 5,
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3"],
            "name": ["Valve", "Pump", "Sensor"],
            "product_line": ["Flow", "Flow", "Sensing"],
        }
    )
    # Line i: order O{i//2}, 17 days apart from 2025-01-15 (line 36 is 2026-09-19, line 37
    # 2026-10-06: after the as-of date), accounts cycle A1 A2 A3 A1 A2, products P1 P2 P3 PX
    # (PX is unknown), amount 1000 * (i + 1), line 7 a return (negative).
    orders = pd.DataFrame(
        [
            {
                "order_id": f"O{i // 2:03d}",
                "line_no": i % 2 + 1,
                "account_id": ["A1", "A2", "A3", "A1", "A2"][i % 5],
                "order_date": ts("2025-01-15") + pd.Timedelta(days=17 * i),
                "product_id": ["P1", "P2", "P3", "PX"][i % 4],
                "amount": 1000.0 * (i + 1) * (-1 if i == 7 else 1),
            }
            for i in range(40)
        ]
    )
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["OP1", "OP2", "OP3", "OP4"],
            "account_id": ["A1", "A2", None, "A3"],
            "name": ["Line upgrade", "Retrofit", "Orphan deal", "New site"],
            "amount": [250000.0, 80000.0, 5000.0, 120000.0],
            "created_date": [
                ts("2026-01-10"),
                ts("2026-02-01"),
                ts("2026-03-01"),
                ts("2025-05-01"),
            ],
            "expected_close_date": [ts("2026-11-30"), None, ts("2026-12-15"), ts("2025-12-01")],
            "stage": ["quote", "qualified", "lead", "won"],
            "status": ["open", "open", "open", "won"],
            "closed_date": [None, None, None, ts("2025-11-20")],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_id": ["C1", "C2", "C3"],
            "account_id": ["A1", "A1", "A2"],
            "name": ["李娜", "张强", "Eve"],
        }
    )
    import_batches = pd.DataFrame(
        {
            "batch_id": [1, 2],
            "source": ["crm_export.xlsx", "erp_orders.csv"],
            "started_at": [ts("2026-07-01 09:00"), ts("2026-10-01 08:30")],
            "finished_at": [ts("2026-07-01 09:01"), ts("2026-10-01 08:32")],
            "status": ["loaded", "loaded"],
            "fingerprint": ["a1b2c3", "d4e5f6"],
            "kamlib_version": ["0.1.0", "0.1.0"],
        }
    )
    import_tables = pd.DataFrame(
        {
            "batch_id": [1, 1, 1, 1, 2],
            "table": ["accounts", "contacts", "opportunities", "products", "orders"],
            "files": ["crm.xlsx", "crm.xlsx", "crm.xlsx", "crm.xlsx", "orders.csv"],
            "rows_read": [6, 3, 4, 3, 44],
            "rows_loaded": [5, 3, 4, 3, 40],
            "rows_quarantined": [1, 0, 0, 0, 4],
        }
    )
    # orders.csv row 17 fails two checks: 4 distinct order rows, 5 failures.
    quarantine = pd.DataFrame(
        {
            "batch_id": [1, 2, 2, 2, 2, 2],
            "table": ["accounts", "orders", "orders", "orders", "orders", "orders"],
            "file": ["crm.xlsx"] + ["orders.csv"] * 5,
            "row": [7, 17, 17, 18, 30, 31],
            "column": ["name", "amount", "order_date", "amount", "account_id", "account_id"],
            "value": [XSS, "abc", "2099-01-01", "n/a", "A99", "A98"],
            "reason": [
                "name is empty",
                "amount is not a number",
                "order_date lies in the future",
                "amount is not a number",
                "unknown account",
                "unknown account",
            ],
        }
    )
    notices = pd.DataFrame(
        {
            "batch_id": [2],
            "table": ["orders"],
            "file": ["orders.csv"],
            "column": ["amount"],
            "kind": ["negative_amount"],
            "message": ["1 order line has a negative amount (returns)."],
            "rows": [1],
        }
    )
    tables = {
        "accounts": accounts,
        "products": products,
        "orders": orders,
        "opportunities": opportunities,
        "contacts": contacts,
    }
    return KamData(
        {name: canonical(name, frame) for name, frame in tables.items()},
        snapshot=Snapshot(2, "d4e5f6", ts("2026-10-01 08:32"), "test"),
        import_batches=import_batches,
        import_tables=import_tables,
        quarantine=quarantine,
        notices=notices,
    )


# -- notebooks ------------------------------------------------------------------------------
def display_output(obj: Any, renderer: Any) -> nbformat.NotebookNode:
    """The ``display_data`` output a kernel would record for ``obj`` (charts via ``renderer``)."""
    import altair as alt

    if isinstance(obj, alt.TopLevelMixin):
        data = dict(renderer(obj.to_dict()))
    elif hasattr(obj, "_repr_html_"):
        data = {"text/html": obj._repr_html_()}
    elif hasattr(obj, "_repr_markdown_"):
        data = {"text/markdown": obj._repr_markdown_()}
    else:
        data = {}
    data["text/plain"] = repr(obj)
    return new_output("display_data", data=data)


def rendered_notebook(items: list[Any], *, lang: str = "en", svg: bool = False):
    """A notebook whose code cells already hold the outputs of ``items`` (no kernel)."""
    from kamlib.reports.offline import OfflineRenderer

    renderer = OfflineRenderer(lang=lang, svg=svg)
    cells = []
    for item in items:
        cell = new_code_cell("display(item)")
        cell.outputs = [display_output(item, renderer)]
        cells.append(cell)
    return new_notebook(cells=cells)


REPORT_CELLS = [
    (
        "code",
        "import kamlib.charts, kamlib.data.health, kamlib.reports.offline\nfrom kamlib.views.format import facts, heading, table",
    ),
    ("code", "import sys\nsys.path.insert(0, TESTS_DIR)\nfrom report_fixtures import make_data"),
    (
        "code",
        "kamlib.reports.offline.enable_offline(lang=lang)\nhealth = kamlib.data.health.data_health(make_data(), as_of=AS_OF)",
    ),
    ("markdown", "Intro text written in a *markdown* cell."),
    ("code", 'heading("key_figures", lang=lang)'),
    ("code", "facts(health.key_figures(), lang=lang)"),
    ("code", 'heading("tables_overview", lang=lang)'),
    ("code", "kamlib.charts.rows_per_table(health.tables, lang=lang)"),
    ("code", "table(health.tables, lang=lang)"),
    ("code", 'heading("quarantine", lang=lang)'),
    ("code", "kamlib.charts.quarantine_reasons(health.quarantine, lang=lang)"),
    ("code", "table(health.quarantine, lang=lang)"),
    ("code", 'heading("rows_per_batch", lang=lang, level=3)'),
    ("code", "kamlib.charts.rows_per_batch(health.batch_tables, lang=lang)"),
    ("code", 'heading("coverage", lang=lang)'),
    ("code", "kamlib.charts.coverage_gaps(health.coverage, lang=lang)"),
    ("code", "table(health.coverage, lang=lang)"),
    ("code", "import warnings\nwarnings.warn('a warning for the log, not the reader')"),
    ("code", "print('printed on purpose')"),
    ("code", "health  # a stray repr"),
]
#: Charts the report notebook draws.
REPORT_CHARTS = 4


def report_notebook(lang: str = "en") -> nbformat.NotebookNode:
    """A data-health-like report notebook with a ``parameters`` cell, not executed."""
    params = new_code_cell(
        f'lang: str = "{lang}"  # report language\n'
        f'TESTS_DIR: str = "{TESTS_DIR.as_posix()}"  # where report_fixtures lives\n'
        f'AS_OF: str = "{AS_OF}"  # last day of the period'
    )
    params.metadata["tags"] = ["parameters"]
    cells = [params]
    for kind, source in REPORT_CELLS:
        cells.append(new_code_cell(source) if kind == "code" else new_markdown_cell(source))
    return new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )


def executed_report(tmp_path_factory: Any, lang: str = "en") -> nbformat.NotebookNode:
    """:func:`report_notebook` executed once per test session (shared by the test modules)."""
    done = tmp_path_factory.getbasetemp() / f"kamlib-executed-report-{lang}.ipynb"
    if done.exists():
        return nbformat.read(done, as_version=4)
    nb = execute(report_notebook(lang), tmp_path_factory.mktemp(f"report-{lang}"), lang=lang)
    nbformat.write(nb, done)
    return nb


def execute(nb: nbformat.NotebookNode, tmp_path: Path, **parameters: Any) -> nbformat.NotebookNode:
    """Execute ``nb`` with papermill in ``tmp_path`` (in-process client, a fresh kernel)."""
    import papermill as pm

    source = tmp_path / "report.ipynb"
    nbformat.write(nb, source)
    return pm.execute_notebook(
        str(source),
        str(tmp_path / "report.out.ipynb"),
        parameters=parameters,
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )
