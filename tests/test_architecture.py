"""The layout's rules that no linter checks (ARCHITECTURE.md, issue #12).

The layers contract itself is checked by import-linter (`lint-imports`, run by `make lint`
and so by `make test`); ruff checks blind excepts (BLE001).  Here: private names stay inside
their package, every package says what it is and what it exports, modules stay small.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KAMLIB = Path(__file__).resolve().parents[1] / "kamlib"
#: the size above which a module must say, in its docstring, why it is one idea
MAX_LINES = 800
ONE_IDEA = "One idea:"


def _modules() -> list[Path]:
    return sorted(KAMLIB.rglob("*.py"))


def _package_of(path: Path) -> str:
    """``kamlib.<package>`` of a module (``kamlib`` for the top-level modules)."""
    parts = path.relative_to(KAMLIB.parent).with_suffix("").parts
    return ".".join(parts[:2]) if len(parts) > 2 else "kamlib." + parts[1]


def test_no_private_name_is_imported_from_another_package():
    offences = []
    for path in _modules():
        mine = _package_of(path)
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kamlib.")):
                continue
            theirs = ".".join(node.module.split(".")[:2])
            private = [a.name for a in node.names if a.name.startswith("_")]
            if theirs != mine and private:
                where = f"{path.relative_to(KAMLIB.parent)}:{node.lineno}"
                offences.append(f"{where} imports {', '.join(private)} from {node.module}")
    assert not offences, "make these names public where they are defined:\n" + "\n".join(offences)


@pytest.mark.parametrize("init", sorted(KAMLIB.glob("*/__init__.py")), ids=lambda p: p.parent.name)
def test_every_package_describes_itself_and_lists_its_public_names(init):
    tree = ast.parse(init.read_text("utf-8"))
    doc = ast.get_docstring(tree)
    assert doc and len(doc.split()) >= 12, f"{init}: a docstring paragraph saying what it holds"
    names = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    }
    if init.parent.name not in {"cli", "resources"}:  # cli: a command, not an API
        assert "__all__" in names, f"{init}: __all__ lists what a user calls"


def test_no_module_is_over_800_lines_unless_it_says_why():
    long = []
    for path in _modules():
        lines = path.read_text("utf-8").count("\n")
        doc = ast.get_docstring(ast.parse(path.read_text("utf-8"))) or ""
        name = path.relative_to(KAMLIB.parent).as_posix()
        if lines > MAX_LINES and ONE_IDEA not in doc:
            long.append(f"{name}: {lines} lines")
    assert not long, (
        f"split these, or say in the docstring ('{ONE_IDEA} …') why each is one idea:\n"
        + "\n".join(long)
    )


def test_only_data_and_reports_touch_the_file_system_in_analysis_layers():
    """The analysis packages and charts open no files (a spot check of the house rule)."""
    pure = ["scoring", "segmentation", "clv", "sales", "pipeline", "forecast", "research", "charts"]
    offences = []
    for name in pure:
        for path in sorted((KAMLIB / name).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                call = node.func if isinstance(node, ast.Call) else None
                named = getattr(call, "id", None) or getattr(call, "attr", None)
                if named in {"open", "write_text", "write_bytes", "to_csv", "to_parquet", "mkdir"}:
                    offences.append(f"{path.relative_to(KAMLIB.parent)}:{node.lineno} {named}()")
    assert not offences, "\n".join(offences)
