"""Every report notebook follows the conventions the engine relies on.

- committed with outputs stripped (no outputs, no execution counts, no papermill metadata);
- metadata ``kamlib.title`` in English and Chinese, ``per_account`` a flag, a known frequency;
  every report notebook lists its ``needs`` (valid table names or ``revenue``; maybe none);
- a ``parameters`` cell that papermill's ``inspect_notebook`` reads: every parameter typed
  (a type the engine converts command-line text to) with a help comment; the standard
  parameters present (``store``, ``as_of``, ``lang``, and ``account_id`` per account, typed
  ``str``; ``snapshot`` typed ``int``, default 0), with defaults the engine accepts;
- every notebook that loads a store reads the pinned batch: ``load(store, snapshot=snapshot …)``;
- what the engine passes is exactly a subset of what the notebook declares;
- thin: no function or class definitions (logic lives in kamlib).
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from papermill import inspect_notebook

from kamlib.data import TABLES
from kamlib.periods import FREQUENCIES, normalise_frequency, parse_date
from kamlib.reports.engine import ReportEngine
from kamlib.reports.specs import (
    ACCOUNT_PARAMETER,
    LANGUAGES,
    SNAPSHOT_PARAMETER,
    STANDARD_PARAMETERS,
    SUPPORTED_TYPES,
    load_report,
)

ROOT = Path(__file__).resolve().parents[1]
REPORT_NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TEST_NOTEBOOKS = sorted((Path(__file__).parent / "data" / "notebooks").glob("*.ipynb"))
TRAINING_NOTEBOOKS = sorted((ROOT / "notebooks" / "training").glob("*.ipynb"))
ALL = REPORT_NOTEBOOKS + TEST_NOTEBOOKS


def ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.name}" for p in paths]


def test_there_are_report_notebooks():
    assert REPORT_NOTEBOOKS, "notebooks/ holds no report notebook"


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_outputs_stripped(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name} cell {i} has outputs: strip them before commit"
        assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
        assert "papermill" not in cell.metadata, f"{path.name} cell {i} has papermill metadata"
        assert "injected-parameters" not in cell.metadata.get("tags", []), (
            f"{path.name} cell {i} is papermill's injected cell: commit the source notebook"
        )
    assert "papermill" not in nb.metadata and "widgets" not in nb.metadata


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_metadata(path):
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("kamlib")
    assert isinstance(meta, dict), f"{path.name}: notebook metadata needs a 'kamlib' entry"
    title = meta.get("title")
    assert isinstance(title, dict) and set(LANGUAGES) <= set(title), (
        f"{path.name}: kamlib.title needs {LANGUAGES}"
    )
    assert all(isinstance(t, str) and t.strip() for t in title.values())
    assert isinstance(meta.get("per_account", False), bool)
    assert normalise_frequency(meta.get("frequency", "monthly")) in FREQUENCIES
    assert nb.metadata.get("kernelspec", {}).get("language") == "python"
    if path in REPORT_NOTEBOOKS:  # what the store must hold, said even when it is nothing
        assert isinstance(meta.get("needs"), list), (
            f"{path.name}: kamlib.needs lists what the report cannot do without "
            '(tables or "revenue"; [] for nothing)'
        )
        assert load_report(path.stem, path.parent).needs == tuple(meta["needs"])


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_parameters_typed_with_help(path):
    params = inspect_notebook(str(path))
    assert params, f"{path.name}: no parameters cell papermill can read"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    declared = [ln.split(":")[0].strip() for ln in cell.source.splitlines() if ln.strip()]
    # papermill skips (with a log line only) a parameter line it cannot parse, e.g. one whose
    # help comment holds '=' or quotes: the engine would then not know the parameter
    assert declared == list(params), (
        f"{path.name}: papermill cannot read {set(declared) - set(params)}"
    )
    for name, p in params.items():
        assert p["inferred_type_name"] in SUPPORTED_TYPES, (
            f"{path.name}: parameter {name} has type {p['inferred_type_name']!r}; "
            f"annotate it with one of {SUPPORTED_TYPES}"
        )
        assert p["help"].strip(), f"{path.name}: parameter {name} needs a '# help' comment"
        ast.literal_eval(p["default"])  # a literal, not an expression
    spec = load_report(path.stem, path.parent)
    needed = STANDARD_PARAMETERS + ((ACCOUNT_PARAMETER,) if spec.per_account else ())
    for name in needed:
        wanted = "int" if name == SNAPSHOT_PARAMETER else "str"
        assert params[name]["inferred_type_name"] == wanted, f"{path.name}: {name} must be {wanted}"
    assert spec.parameters[SNAPSHOT_PARAMETER].default_value == 0, (
        f"{path.name}: snapshot defaults to 0 (the newest batch)"
    )
    assert spec.parameters["lang"].default_value in LANGUAGES
    parse_date(spec.parameters["as_of"].default_value)


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_engine_passes_only_declared_parameters(path, tmp_path, monkeypatch):
    from kamlib.reports import provenance

    store = tmp_path / "store.duckdb"
    store.write_bytes(b"")  # planning only checks that it exists; no snapshot needed here
    # nor its tables: say it holds every table, so that every report's needs are met
    held = {"batch_id": None, "tables": list(TABLES)}
    monkeypatch.setattr(provenance, "read_snapshot", lambda store, batch=None: held)
    engine = ReportEngine(store=store, out=tmp_path / "out", notebook_dir=path.parent)
    spec = load_report(path.stem, path.parent)
    extra = {ACCOUNT_PARAMETER: "A1"} if spec.per_account else {}
    [job] = engine.plan(spec.name, as_of="2026-09-30", parameters=extra)
    assert set(job.parameters) <= set(spec.parameters)
    assert set(STANDARD_PARAMETERS) <= set(job.parameters)
    assert job.parameters["as_of"] == "2026-09-30" and job.parameters["lang"] in LANGUAGES


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_notebooks_are_thin(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        tree = ast.parse(source)
        defined = [
            n.name
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        ]
        assert not defined, f"{path.name} cell {i} defines {defined}: move it into kamlib"


NOTEBOOKS_THAT_LOAD = REPORT_NOTEBOOKS + TRAINING_NOTEBOOKS + TEST_NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS_THAT_LOAD, ids=ids(NOTEBOOKS_THAT_LOAD))
def test_notebooks_read_the_pinned_snapshot(path):
    """Issue #17: a notebook that loads the store loads the batch the engine pinned, never
    simply the newest (an import landing mid-report would put its figures under the
    pinned batch's label)."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    tree = ast.parse(
        "\n".join(ln for ln in code.splitlines() if not ln.lstrip().startswith(("%", "!")))
    )
    loads = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute | ast.Name)
        and getattr(n.func, "attr", getattr(n.func, "id", None)) == "load"
    ]
    params = inspect_notebook(str(path))
    if loads:
        assert SNAPSHOT_PARAMETER in params, f"{path.name}: declare the snapshot parameter"
    for call in loads:
        keywords = {k.arg: ast.unparse(k.value) for k in call.keywords}
        assert keywords.get("snapshot", "").startswith("snapshot"), (
            f"{path.name}: {ast.unparse(call)} must read the pinned batch: "
            "load(store, snapshot=snapshot or None)"
        )
