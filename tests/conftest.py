"""Shared fixtures: the real exports, a small demo store, helpers to write bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
NOW = "2026-11-26 12:00"


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real exports (../shared/data); tests that need them skip when absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"real exports not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> Path:
    """A small demo company in a store (built once per test session)."""
    import pandas as pd

    from kamlib.data import import_frames, write_truth
    from kamlib.demo import generate_demo

    company = generate_demo(scale="small", seed=7)
    store = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    report = import_frames(
        company.tables, store=store, source="demo small", now=company.end_date + pd.Timedelta(days=1)
    )
    assert report.reconciles
    write_truth(store, company.truth)
    return store


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path
