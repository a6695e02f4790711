"""The importer's typing SQL: a number cast from the file's text untrimmed (a speed-up:
``trim`` copies every value) is exactly the number cast from the cleaned text, on awkward
values."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamlib.data.import_sql import column_sql
from kamlib.data.mapping import ColumnRule

#: Characters DuckDB's ``trim`` removes (Unicode space separators), ASCII white space it
#: keeps, and invisible ones, around values that read as numbers or do not.
EDGES = [
    "", " ", "  ", "\t", "\n", "\r", "\v", "\f", "\u00a0", "\u1680", "\u2000", "\u2005",
    "\u200a", "\u202f", "\u205f", "\u3000", "\ufeff", "\u200b", " \t", "\t ", "\u3000 ",
]  # fmt: skip
NUMBERS = [
    "12", "-3.5", "+7", "1e3", "1E-2", ".5", "5.", "0", "-0", "nan", "NaN", "inf", "-Infinity",
    "1,234.5", "¥1,200", "$ 3", "1 000", "12abc", "0x1F", "1e400", "-1e400", "9223372036854775807",
    "9.2e18", "3.0", "3.000000001", "", "abc", "٣", "１２",
]  # fmt: skip


def _typed(kind: str, values: list[str], *, fast: bool) -> list:
    # a rule without a source column reads the same column by its canonical name, without
    # the untrimmed cast: the reference
    rule = ColumnRule("c", source="c") if fast else ColumnRule("c")
    sql = column_sql(rule, kind, {}, "NULL").typed
    assert ('TRY_CAST("c" AS DOUBLE)' in sql) is (fast and kind in ("number", "integer"))
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, c VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    return [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY i").fetchall()]


def _same(kind: str, values: list[str]) -> None:
    fast, reference = _typed(kind, values, fast=True), _typed(kind, values, fast=False)
    for value, a, b in zip(values, fast, reference, strict=True):
        assert a == b or (a != a and b != b), (kind, value, a, b)  # NaN equals NaN here


@pytest.mark.parametrize("kind", ["number", "integer"])
def test_number_from_untrimmed_text_is_the_number_from_cleaned_text(kind):
    values = [a + v + b for v in NUMBERS for a in EDGES for b in ("", *EDGES[1:6], "\u3000")]
    _same(kind, values)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.text(
            alphabet=list("0123456789-+.eEinfa,¥$ ") + [e for e in EDGES if len(e) == 1],
            max_size=22,
        ),
        min_size=1,
        max_size=40,
    )
)
def test_number_from_untrimmed_text_on_random_text(values):
    for kind in ("number", "integer"):
        _same(kind, values)
