"""kamlib.frames: shared frame helpers (formula escaping for CSV outputs, issue #17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamlib.errors import DataValidationError
from kamlib.frames import escape_formulas, isin


def test_formula_leading_text_cells_are_escaped_numbers_are_not():
    frame = pd.DataFrame(
        {
            "account_id": ["+cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")', "-A3", "@SUM(A1)",
                           "\tTAB", "\rCR", "A 5", None],
            "score": [-3.5, 0.0, -1e9, 1.0, 2.0, 3.0, np.nan, 4.0],
            "tier": pd.Categorical(["=x", "key", "key", "key", "key", "key", "key", "key"]),
        }
    )  # fmt: skip
    before = frame.copy()
    out = escape_formulas(frame)
    assert out["account_id"].tolist()[:7] == [
        "'+cmd|' /C calc'!A0", "'=HYPERLINK(\"http://x\",\"y\")", "'-A3", "'@SUM(A1)", "'\tTAB",
        "'\rCR", "A 5",
    ]  # fmt: skip
    assert pd.isna(out["account_id"].iloc[7])
    # negative numbers stay numbers
    assert out["score"].dtype == np.float64
    np.testing.assert_array_equal(out["score"].to_numpy(), frame["score"].to_numpy())
    assert out["tier"].tolist()[0] == "'=x"
    pd.testing.assert_frame_equal(frame, before)  # input not mutated


def test_column_names_are_escaped_too():
    out = escape_formulas(pd.DataFrame({"=cmd": [1], "ok": ["x"]}))
    assert list(out.columns) == ["'=cmd", "ok"]


def test_require_columns_names_what_is_missing_where_why_and_the_fix():
    from kamlib.frames import require_columns

    frame = pd.DataFrame({"account_id": ["A"], "score": [1.0]})
    require_columns(frame, ["account_id", "score"], "the scores frame")  # all there: no error
    with pytest.raises(DataValidationError) as caught:
        require_columns(
            frame, ["score", "tier", "rank"], "the scores frame", why="tiers need them",
            fix="Score the accounts first.", found=True,
        )  # fmt: skip
    assert str(caught.value) == (
        "Required columns 'tier', 'rank' missing from the scores frame (tiers need them). "
        "Columns found: account_id, score. Score the accounts first."
    )


_TEXT = st.one_of(st.none(), st.sampled_from(["a", "b", "ab", "", " a", "é", "中"]))


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    values=st.lists(_TEXT, max_size=12),
    candidates=st.lists(st.one_of(_TEXT, st.just(float("nan")), st.just(pd.NA), st.integers(0, 2))),
    kind=st.sampled_from(["list", "set", "series", "index", "object series"]),
    dtype=st.sampled_from(["str", "object", "category"]),
)
def test_isin_answers_what_pandas_answers(values, candidates, kind, dtype):
    series = pd.Series(values, dtype=dtype)
    given_ = {
        "list": candidates,
        "set": set(c for c in candidates if c is not pd.NA),
        "series": pd.Series(
            [c for c in candidates if c is None or isinstance(c, str)], dtype="str"
        ),
        "index": pd.Index([c for c in candidates if c is None or isinstance(c, str)], dtype="str"),
        "object series": pd.Series(candidates, dtype=object),
    }[kind]
    expected = series.isin(given_).to_numpy(dtype=bool)
    got = isin(series, given_)
    assert got.dtype == bool and got.tolist() == expected.tolist()


def test_isin_of_many_ids_takes_the_arrow_path():
    ids = pd.Series([f"O{i}" for i in range(5000)], dtype="str")
    chosen = ids[::3]
    assert isin(ids, chosen).sum() == len(chosen)
    assert isin(ids, set(chosen)).tolist() == ids.isin(set(chosen)).tolist()
