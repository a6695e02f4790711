"""Shared fixtures: the real exports, a small demo store, helpers to write bad files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
NOW = "2026-11-26 12:00"

#: Environment variables CI sets so that tests needing something absent fail instead of
#: skipping (``.ci/run``): variable → the marker of the tests it covers.
REQUIREMENTS = {
    "KAMLIB_REQUIRE_SPARK": "spark",
    "KAMLIB_REQUIRE_BROWSER": "browser",
    "KAMLIB_REQUIRE_REAL_DATA": "real_data",
}


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "real_data: reads the real exports in ../shared/data (fixture shared_data)"
    )


def pytest_collection_modifyitems(items):
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.slow)
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_data)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI a skipped browser, real-data or Spark test is a failure, whatever skipped it
    (a ``skipif`` marker, ``pytest.skip`` in a fixture, ``importorskip``)."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    for variable, marker in REQUIREMENTS.items():
        if os.environ.get(variable) and item.get_closest_marker(marker) is not None:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
            report.outcome = "failed"
            report.longrepr = (
                f"{variable} is set (CI), so this {marker} test must run, not skip: {reason}"
            )
            return


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real exports (../shared/data); tests that need them skip when absent, and fail
    when ``KAMLIB_REQUIRE_REAL_DATA`` is set (CI: see ``pytest_runtest_makereport``)."""
    if not SHARED_DATA.exists():
        pytest.skip(f"real exports not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def retail_store(shared_data, tmp_path_factory) -> Path:
    """The real Online Retail export (../shared/data/online-retail) imported once per test
    session with its preset: read it, never change it."""
    import pandas as pd

    from kamlib.data import import_files

    store = tmp_path_factory.mktemp("retail") / "retail.duckdb"
    import_files(
        [shared_data / "online-retail" / "online_retail.csv.gz"],
        store=store,
        preset="online-retail",
        now=pd.Timestamp("2012-01-01"),
    )
    return store


@pytest.fixture(scope="session")
def retail(retail_store):
    """The Online Retail store as a KamData."""
    from kamlib.data import load

    return load(retail_store)


@pytest.fixture(scope="session")
def small_company():
    """The small demo company (seed 7), generated once per test session: read it, never
    change it."""
    from kamlib.demo import generate_demo

    return generate_demo(scale="small", seed=7)


@pytest.fixture(scope="session")
def small_data(small_company):
    """The small demo company as a KamData (no store)."""
    from kamlib.data.kamdata import KamData, Snapshot

    return KamData(small_company.tables, snapshot=Snapshot(None, "demo-small-7", None, "demo"))


@pytest.fixture(scope="session")
def busiest_account(small_company) -> str:
    """The account with the most contacts (a key account with a full dossier)."""
    return str(small_company.tables["contacts"].groupby("account_id").size().idxmax())


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory, small_company) -> Path:
    """The small demo company in a store (built once per test session)."""
    import pandas as pd

    from kamlib.data import import_frames, write_truth

    company = small_company
    store = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    report = import_frames(
        company.tables, store=store, source="demo small", now=company.end_date + pd.Timedelta(days=1)
    )
    assert report.reconciles
    write_truth(store, company.truth)
    return store


@pytest.fixture
def store_copy(demo_store, tmp_path) -> Path:
    """A writable copy of the small demo store, for a test that changes it."""
    import shutil

    copy = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_store, copy)
    return copy


def store_batches(store: Path) -> int:
    """How many import batches ``store`` records."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM import_batches").fetchone()[0]
    finally:
        con.close()


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def store_state(store: Path) -> dict[str, list]:
    """Everything in a DuckDB store, for exact before/after comparisons."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables ORDER BY 1"
            ).fetchall()
        ]
        return {n: sorted(map(repr, con.execute(f'SELECT * FROM "{n}"').fetchall())) for n in names}
    finally:
        con.close()


# -- the real exports in stores (each imported once per test session) --------------------------
@pytest.fixture(scope="session")
def maven_store(shared_data, tmp_path_factory) -> Path:
    """The Maven CRM export (accounts, products, opportunities; no order lines, no targets)."""
    from kamlib.data import import_files

    store = tmp_path_factory.mktemp("maven") / "maven.duckdb"
    import_files(
        [shared_data / "maven-crm"], store=store, preset="maven-crm", now="2026-11-26 12:00"
    )
    return store
