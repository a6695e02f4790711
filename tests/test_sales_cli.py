"""`kam process` (kamlib.cli.process_commands): exit 2 with one line naming the missing
tables; the text and JSON output on hand-made data."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner
from sales_cases import CHECKLIST, PLAYBOOK, deals, tasks

from kamlib.cli import main
from kamlib.errors import MissingTableError


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def store_without_tasks(tmp_path_factory, small_company):
    """The small demo company in a store, without the #13 tables."""
    from kamlib.data import import_frames

    tables = {
        k: v
        for k, v in small_company.tables.items()
        if k not in ("tasks", "opportunity_competitors")
    }
    store = tmp_path_factory.mktemp("no_tasks") / "demo.duckdb"
    report = import_frames(
        tables, store=store, source="demo small", now=small_company.end_date + pd.Timedelta(days=1)
    )
    assert report.reconciles
    return store


def test_a_store_without_tasks_exits_2_with_one_line(store_without_tasks):
    result = run("process", "--store", store_without_tasks, "--as-of", "2026-06-30")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("kam: error: ")
    assert "'tasks'" in result.stderr
    assert result.stdout == ""


def test_missing_store_and_bad_date(tmp_path, store_without_tasks):
    result = run("process", "--store", tmp_path / "none.duckdb", "--as-of", "2026-06-30")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    result = run("process", "--store", store_without_tasks, "--as-of", "2026-13-45")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


def test_the_line_names_every_missing_table():
    text = str(MissingTableError(["tasks", "opportunity_competitors"], "The review"))
    assert text.startswith(
        "The data has no 'tasks' and 'opportunity_competitors' tables. The review needs them."
    )
    assert str(MissingTableError("tasks")).startswith("The data has no 'tasks' table.")


class _Store:
    """A stand-in for a loaded store: has every table except ``lacking``."""

    def __init__(self, lacking: tuple[str, ...] = ()) -> None:
        self.lacking = lacking

    def has(self, table: str) -> bool:
        return table not in self.lacking


def _process():
    from kamlib.sales import sales_process_frames

    opps, hist = deals(
        dict(id="P1", owner="Ann", path=[("qualified", "2026-01-10"), ("quote", "2026-02-01"),
                                         ("won", "2026-03-01")]),
        dict(id="P2", owner="Bob", path=[("qualified", "2026-01-10"), ("lost", "2026-03-01")],
             lost_to="Acme"),
        dict(id="P3", owner="Bob", path=[("qualified", "2026-01-10"), ("quote", "2026-05-01")]),
    )  # fmt: skip
    comp = pd.DataFrame(
        {"opportunity_id": ["P1", "P2"], "competitor": ["Acme", "Acme"], "primary": [True, True],
         "our_price": [90.0, None], "competitor_price": [100.0, None]}
    )  # fmt: skip
    return sales_process_frames(
        as_of="2026-06-30", opportunities=opps, stage_history=hist, playbook=PLAYBOOK,
        checklist=CHECKLIST, bid_stage="quote", opportunity_competitors=comp,
        tasks=tasks(("P1", "qualification", "2026-01-20"), ("P3", "commercial_bid", "2026-05-10")),
    )  # fmt: skip


@pytest.fixture
def fake_store(tmp_path, monkeypatch):
    """`kam process` reading hand-made data: load() and sales_process_data() patched."""
    import kamlib.data
    import kamlib.sales

    store = tmp_path / "fake.duckdb"
    store.write_bytes(b"")
    lacking: list[tuple[str, ...]] = [()]
    monkeypatch.setattr(kamlib.data, "load", lambda path: _Store(lacking[0]))
    monkeypatch.setattr(kamlib.sales, "sales_process_data", lambda data, **kw: _process())
    return store, lacking


def test_missing_tables_are_named_on_one_line(fake_store):
    store, lacking = fake_store
    lacking[0] = ("tasks", "opportunity_competitors")
    result = run("process", "--store", store, "--as-of", "2026-06-30")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "no 'tasks' and 'opportunity_competitors' tables" in result.stderr
    assert "kam process" in result.stderr


def test_json_has_the_contract_columns(fake_store):
    store, _ = fake_store
    result = run("process", "--store", store, "--as-of", "2026-06-30", "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert {"compliance", "task_effects", "competitors", "bid_readiness"} <= set(out)
    assert "association, not cause" in out["note"]
    effect = out["task_effects"][0]
    assert {"task", "n_with", "n_without", "win_rate_with", "win_rate_without", "difference",
            "ci_low", "ci_high"} <= set(effect)  # fmt: skip
    assert effect["task"] == "qualification" and effect["n_with"] == 1 and effect["n_without"] == 1
    acme = out["competitors"][0]
    assert (acme["competitor"], acme["deals"], acme["won"]) == ("Acme", 2, 1)
    assert {"win_rate", "ci_low", "ci_high"} <= set(acme)
    (ready,) = out["bid_readiness"]
    # the commercial bid (0.2); no contacts table: the contact conditions are not met
    assert (ready["opportunity_id"], ready["readiness"]) == ("P3", pytest.approx(0.2))
    assert "qualification_answered" in ready["missing"] and ready["next_tasks"] == []
    assert out["compliance"]["summary"]["deals"] == 2


def test_text_output(fake_store):
    store, _ = fake_store
    result = run("process", "--store", store, "--as-of", "2026-06-30")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    for heading in ("Compliance:", "Task effects", "association, not cause", "Competitors:",
                    "Bid readiness at stage quote: 1 open deal,"):  # fmt: skip
        assert heading in text
    assert "P3" in text and "Acme" in text
