"""Notebooks run as shipped from whatever folder their kernel starts in (kamlib.paths, #16)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kamlib.paths import project_path

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path, demo_store, monkeypatch) -> Path:
    """A project folder with its store and methodology, and a kernel started in
    notebooks/training/ (as JupyterLab starts it)."""
    (tmp_path / "data").mkdir()
    shutil.copy(demo_store, tmp_path / "data" / "demo.duckdb")
    shutil.copy(ROOT / "data" / "methodology.yml", tmp_path / "data" / "methodology.yml")
    below = tmp_path / "notebooks" / "training"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    return tmp_path


def test_a_relative_path_is_read_from_the_nearest_folder_above_that_has_it(project):
    assert project_path("data/demo.duckdb") == project / "data" / "demo.duckdb"
    assert project_path("missing/thing.duckdb") == Path("missing/thing.duckdb")  # as given
    absolute = project / "data" / "methodology.yml"
    assert project_path(absolute) == absolute
    (Path.cwd() / "data").mkdir()
    (Path.cwd() / "data" / "demo.duckdb").write_text("here")  # the working folder wins
    assert project_path("data/demo.duckdb") == Path("data/demo.duckdb")


def test_store_and_methodology_load_from_a_notebook_folder(project):
    from kamlib.data import load
    from kamlib.methodology import load_methodology

    data = load("data/demo.duckdb")
    assert data.has("orders")
    assert load_methodology("data/methodology.yml").fingerprint


def test_a_missing_store_is_still_named_as_written(project):
    from kamlib.data import load
    from kamlib.errors import KamlibError

    with pytest.raises(KamlibError, match="nowhere.duckdb"):
        load("data/nowhere.duckdb")


def test_per_account_views_default_to_the_top_account_and_say_so(small_data):
    from kamlib.views.account_summary import account_summary

    summary = account_summary(small_data, as_of="2026-09-30")
    orders = small_data.orders
    last = orders[(orders["order_date"] > "2025-09-30") & (orders["order_date"] <= "2026-09-30")]
    top = str(last.groupby("account_id")["amount"].sum().idxmax())  # by hand
    assert summary.overview.account_id == top
    text = " ".join(summary.notices.astype(str).stack())
    assert "No account_id was given" in text and top in text
