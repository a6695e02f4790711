"""The training course (notebooks/training/): every notebook runs clean under papermill on the
demo company with its worked answers checked strictly; the answer checker itself."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from papermill import inspect_notebook

from kamlib.errors import KamlibError
from kamlib.notebook.training import check

ROOT = Path(__file__).resolve().parents[1]
TRAINING = sorted((ROOT / "notebooks" / "training").glob("*.ipynb"))


def test_the_course_has_its_four_sessions():
    names = [p.stem for p in TRAINING]
    assert names == ["01_tiering", "02_funnel_forecast", "03_power_maps", "04_task_lift"], names


@pytest.mark.parametrize("path", TRAINING, ids=[p.stem for p in TRAINING])
def test_training_notebook_is_committed_clean_and_thin(path):
    nb = nbformat.read(path, as_version=4)
    params = inspect_notebook(str(path))
    assert {"store", "as_of", "lang"} <= set(params), f"{path.name}: standard parameters"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name} cell {i}"
        assert "def " not in cell.source and "class " not in cell.source, f"{path.name} cell {i}"
    sources = "\n".join(c.source for c in nb.cells)
    assert "kamlib.notebook.training.check(" in sources or "assert " in sources, (
        f"{path.name} ends without checked exercises"
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", TRAINING, ids=[p.stem for p in TRAINING])
def test_training_notebook_runs_clean_with_its_worked_answers(path, demo_store, tmp_path):
    import papermill as pm

    declared = inspect_notebook(str(path))
    parameters = {"store": str(demo_store), "as_of": "2026-09-30", "lang": "en"}
    if "strict" in declared:
        parameters["strict"] = True
    out = tmp_path / path.name
    pm.execute_notebook(
        str(path),
        str(out),
        parameters=parameters,
        cwd=str(ROOT),
        progress_bar=False,
        kernel_name="python3",
        execution_timeout=600,  # a stuck cell fails the test instead of hanging the suite
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs)
    text = "".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    if path.stem == "01_tiering":  # the live what-if control is there (a widget view)
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
        assert "kamlib-chart" in "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    if "kamlib.notebook.training.check(" in "".join(c.source for c in nb.cells):
        assert "❌" not in text and "✏️" not in text
        assert text.count("✅") >= 3


def _run_cell(source: str, namespace: dict):
    """Run one code cell as a kernel would; return its last expression's value (or None)."""
    import ast

    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)


@pytest.mark.slow
def test_tiering_checks_accept_correct_answers_wherever_the_sliders_are(demo_store):
    """A class moves the what-if sliders (step 6), then runs the exercise checks: a correct
    answer stays correct, and the checks leave the widget as its sliders say."""
    import altair as alt

    nb = nbformat.read(ROOT / "notebooks" / "training" / "01_tiering.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    checks = [c for c in cells if "kamlib.notebook.training.check(" in c]
    assert len(checks) == 4
    renderer = alt.renderers.active
    namespace: dict = {}
    try:
        _run_cell(cells[0], namespace)  # the parameters, then the values papermill would inject
        namespace.update(store=str(demo_store), as_of="2026-09-30", strict=True)
        for source in cells[1:]:
            _run_cell(source, namespace)
        explorer = namespace["explorer"]
        sliders = explorer._widgets
        sliders["weight:revenue_12m"].value = 0.0  # as a trainee does in step 6
        sliders["weight:share_of_wallet"].value = sliders["weight:share_of_wallet"].max
        sliders["threshold:strategic"].value = 50
        moved = explorer.state
        assert moved.changed > 0
        assert dict(moved.tier_counts) != dict(moved.methodology_counts)
        for source in checks:  # re-run every check: strict, so a wrong verdict raises
            feedback = _run_cell(source, namespace)
            assert feedback.correct, feedback
        assert explorer.state is moved  # the checks did not touch the widget
        assert sliders["weight:revenue_12m"].value == 0.0
        assert sliders["threshold:strategic"].value == 50
    finally:
        alt.renderers.enable(renderer)


# -- the checker -----------------------------------------------------------------------------
def test_check_numbers_texts_and_sets():
    assert check("1", 12, 12).correct
    assert not check("1", 13, 12).correct
    assert check("2", 0.581, 0.5842, tolerance=0.01).correct
    assert not check("2", 0.60, 0.5842, tolerance=0.01).correct
    assert check("3", " Revenue_12m ", "revenue_12m").correct
    assert not check("3", "growth_12m", "revenue_12m").correct
    assert check("4", ["b", "a"], ("a", "B")).correct
    assert not check("4", ["a"], ("a", "b")).correct
    assert not check("5", "12", 12).correct  # text is not a number
    assert not check("5", True, 1).correct  # nor is a flag
    assert not check("5", float("nan"), float("nan")).correct


def test_check_feedback_says_what_is_wrong_and_what_is_open():
    wrong = check("Exercise 1", 13, 12, hint="count the Strategic rows")
    assert wrong.status == "wrong"
    assert "13" in wrong.message and "count the Strategic rows" in wrong.message
    assert "12" not in wrong.message  # the answer is not given away
    assert wrong._repr_markdown_().startswith("❌ **Exercise 1**")
    still_open = check("Exercise 1", ..., 12, lang="zh")
    assert still_open.status == "open" and "尚未作答" in still_open.message


def test_strict_checks_raise_with_the_expected_value():
    with pytest.raises(KamlibError, match=r"Exercise 1: Not quite .*expected: 12"):
        check("Exercise 1", 13, 12, strict=True)
    with pytest.raises(KamlibError, match="Not answered yet"):
        check("Exercise 1", ..., 12, strict=True)
    assert check("Exercise 1", 12, 12, strict=True).correct
