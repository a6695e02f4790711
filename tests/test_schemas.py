"""The canonical tables' declarations (``kamlib.data.schemas``): the import's column kinds and
checks and the pandera schema ``KamData.validate()`` runs come from one declaration; pandera
is imported only when a schema is first needed (every command's start-up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kamlib.data.kamdata import KamData, Snapshot
from kamlib.data.schemas import TABLES, Table, check_bounds, conform
from kamlib.errors import DataValidationError

ROOT = Path(__file__).resolve().parents[1]


def test_kamlib_data_and_the_cli_do_not_import_pandera():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    code = (
        "import json, sys\nimport kamlib.data, kamlib.cli\n"
        "from kamlib.data.schemas import TABLES\nTABLES['orders'].columns\n"
        "print(json.dumps('pandera' in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) is False


@pytest.mark.parametrize("name", list(TABLES))
def test_the_pandera_schema_says_what_the_declaration_says(name):
    spec = TABLES[name]
    schema = spec.model.to_schema()
    assert list(schema.columns) == list(spec.columns)
    bounds = check_bounds(spec)
    dtypes = {"text": "str", "integer": "Int64", "number": "float64", "flag": "boolean"}
    for col, kind in spec.columns.items():
        column = schema.columns[col]
        assert column.nullable == (col not in spec.required_columns)
        assert column.unique == bool(bounds[col].get("unique"))
        got = {c.name: c.statistics for c in column.checks}
        if "ge" in bounds[col]:
            assert got["greater_than_or_equal_to"]["min_value"] == bounds[col]["ge"]
        if "isin" in bounds[col]:
            assert list(got["isin"]["allowed_values"]) == bounds[col]["isin"]
        assert len(got) == len({"ge", "le", "isin"} & set(bounds[col]))
        if kind in ("date", "timestamp"):
            assert str(column.dtype).startswith("datetime64")
        else:
            assert str(column.dtype) in (dtypes[kind], "string[pyarrow]", "string[python]")


def test_validate_names_every_broken_column():
    accounts = conform(
        pd.DataFrame(
            {
                "account_id": ["A1", "A2", "A2"],  # not unique
                "name": ["Alpha", None, "Beta"],  # required
                "ownership": ["state", "guild", None],  # not an allowed value
                "strategic_fit": pd.array([1, 7, None], dtype="Int64"),  # 1–5
            }
        ),
        TABLES["accounts"],
    )
    orders = conform(
        pd.DataFrame(
            {
                "order_id": ["O1"],
                "line_no": pd.array([1], dtype="Int64"),
                "account_id": ["A1"],
                "order_date": [pd.Timestamp("2025-01-01")],
                "amount": [10.0],
            }
        ),
        TABLES["orders"],
    )
    data = KamData(
        {"accounts": accounts, "orders": orders}, snapshot=Snapshot(None, "t", None, "t")
    )
    with pytest.raises(DataValidationError) as err:
        data.validate()
    message = str(err.value)
    assert "Table 'accounts'" in message
    for col in ("account_id", "name", "ownership", "strategic_fit"):
        assert col in message


def test_a_table_lists_its_columns_in_declared_order():
    class Sample(Table):
        b = TABLES["orders"].model.columns["order_id"]
        a = TABLES["orders"].model.columns["amount"]

    assert list(Sample.columns) == ["b", "a"]
    assert list(Sample.to_schema().columns) == ["b", "a"]
