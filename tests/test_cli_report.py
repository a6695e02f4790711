"""`kam report` and `kam schedule run`: exit codes, one-line errors, summary tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from test_reports_engine import NOTEBOOKS, build_tiny_store

from kamlib.cli import main


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_tiny_store(tmp_path_factory.mktemp("cli-store") / "tiny.duckdb")


def kam(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_help():
    for command in (["report", "--help"], ["schedule", "--help"], ["schedule", "run", "--help"]):
        result = kam(*command)
        assert result.exit_code == 0, result.output
    assert "--for GROUP" in kam("report", "--help").output
    assert "-p, --param KEY=VALUE" in kam("report", "--help").output
    assert "--as-of DATE" in kam("schedule", "run", "--help").output


def test_list(store):
    result = kam("report", "--list", "--notebooks", NOTEBOOKS)
    assert result.exit_code == 0
    assert "account_brief — Account brief (quarterly, per account)" in result.output
    assert "top_n (int, default 5): how many accounts to list" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "Error: There is no report 'nope'. Available reports: account_brief, book_summary"),
        (["book_summary", "-p", "colour=red"], "Error: Report 'book_summary' has no parameter 'colour'. Valid parameters: store (str"),
        (["book_summary", "-p", "top_n=many"], "Error: Parameter 'top_n' of report 'book_summary' is 'many': expected int"),
        (["book_summary", "--period", "2026-Q5"], "Error: Period '2026-Q5' does not parse. Valid forms:"),
        (["book_summary", "-p", "as_of=yesterday"], "Error: Date 'yesterday' does not parse"),
        (["account_brief", "--for", "top3", "--period", "2019-Q1"], "Error: Target group 'top3' has no accounts on 2019-03-31"),
        (["account_brief", "--for", "biggest"], "Error: Target group 'biggest' is not known. Valid groups: all, top<N>"),
        (["account_brief", "-p", "account_id=A99"], "Error: Group 'ids:A99' names accounts that do not exist"),
        (["account_brief"], "Error: Report 'account_brief' is made per account"),
        (["book_summary", "--for", "top3"], "Error: Report 'book_summary' covers the whole book"),
    ],
)
def test_mistakes_exit_2_with_one_line(store, tmp_path, args, message):
    result = kam("report", *args, "--store", store, "--out", tmp_path / "out", "--notebooks", NOTEBOOKS)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1  # one line
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # nothing was rendered


def test_usage_mistakes(store, tmp_path):
    result = kam("report", "book_summary", "-p", "top_n", "--store", store, "--notebooks", NOTEBOOKS)
    assert result.exit_code == 2 and "-p takes key=value" in result.stderr
    result = kam("report", "book_summary", "--store", tmp_path / "none.duckdb", "--notebooks", NOTEBOOKS)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: The store") and "kam demo" in result.stderr
    result = kam("schedule", "run", tmp_path / "missing.yml", "--store", store)
    assert result.exit_code == 2 and result.stderr.startswith("Error: Cannot read schedule file")
    bad = tmp_path / "bad.yml"
    bad.write_text("reports:\n  - report: book_summary\n    every: day\n")
    result = kam("schedule", "run", bad, "--store", store, "--notebooks", NOTEBOOKS)
    assert result.exit_code == 2 and "unknown key(s) every" in result.stderr


def test_failed_report_exits_1_and_batch_renders(store, tmp_path):
    out = tmp_path / "reports"
    common = ["--store", store, "--out", out, "--notebooks", NOTEBOOKS, "--jobs", "1"]
    failed = kam("report", "broken", "-p", "as_of=2026-09-30", *common)
    assert failed.exit_code == 1
    assert "FAILED broken 2026-09 all: cell index 4, In [4] of broken.ipynb raised ZeroDivisionError" in failed.stderr
    lines = failed.stdout.splitlines()
    assert lines[0].split() == ["report", "parameters", "status", "seconds", "path"]
    assert lines[2].split()[:5] == ["broken", "as_of=2026-09-30", "lang=en", "snapshot=1", "failed"]
    assert lines[2].endswith("_failed/broken/2026-09/all/index.html")
    assert "1 report: 0 ok, 1 failed" in failed.stdout
    assert "Traceback" not in failed.output

    batch = kam("report", "account_brief", "--for", "top3", "--period", "2026-Q3", *common)
    assert batch.exit_code == 0, batch.output
    rows = batch.stdout.splitlines()[2:5]
    assert [r.split()[0] for r in rows] == ["account_brief"] * 3
    assert all(" ok " in r for r in rows)
    assert "华东精密制造有限公司-A1/index.html" in rows[0]
    assert "3 reports: 3 ok" in batch.stdout
    assert (out / "account_brief" / "2026-Q3" / "index.html").exists()
    assert (out / "index.html").exists()


def test_schedule_run(store, tmp_path):
    out = tmp_path / "reports"
    schedule = tmp_path / "schedule.yml"
    schedule.write_text(
        "reports:\n"
        "  - report: book_summary\n    frequency: monthly\n"
        "  - report: account_brief\n    frequency: quarterly\n    for: top3\n",
        encoding="utf-8",
    )
    common = ["--as-of", "2026-10-15", "--store", store, "--out", out, "--notebooks", NOTEBOOKS, "--jobs", "1"]
    dry = kam("schedule", "run", schedule, "--dry-run", *common)
    assert dry.exit_code == 0
    assert "book_summary (monthly): 2026-09 (as of 2026-09-30) — 1 to render, 0 already done" in dry.stderr
    assert "account_brief (quarterly for top3): 2026-Q3 (as of 2026-09-30) — 3 to render" in dry.stderr
    assert not out.exists()

    first = kam("schedule", "run", schedule, *common)
    assert first.exit_code == 0, first.output
    assert "4 reports: 4 ok" in first.stdout
    second = kam("schedule", "run", schedule, *common)
    assert second.exit_code == 0
    assert "Nothing to render: every due report is up to date." in second.stdout
    assert "1 already done" in second.stderr and "3 already done" in second.stderr
