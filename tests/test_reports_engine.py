"""The report engine with tiny notebooks (tests/data/notebooks) on a tiny hand-made store.

Kernels are slow to start, so one engine (two warm kernels) serves the whole module; each
test points it at its own output directory.  No test asserts on wall-clock time.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from kamlib.errors import ConfigError, ReportError
from kamlib.reports import layout
from kamlib.reports.engine import ReportEngine
from kamlib.reports.schedule import load_schedule, parse_schedule, plan_schedule
from kamlib.reports.specs import convert_parameter, load_report

NOTEBOOKS = Path(__file__).resolve().parent / "data" / "notebooks"
ROOT = Path(__file__).resolve().parents[1]
XSS = "<script>alert(1)</script>"
AS_OF = "2026-09-30"


# -- fixtures ---------------------------------------------------------------------------------
def build_tiny_store(path: Path) -> Path:
    """Six accounts (hostile and Chinese names, a duplicate name) and eight order lines.

    Trailing-12-month revenue on 2026-09-30 (window 2025-10-01 … 2026-09-30):
    A1 100 + 50 = 150 (the 1,000 on 2026-10-05 is after the date), A2 80, A3 60, A4 10,
    A5 10, A6 0 (its only order is from 2024).  Total 310.
    """
    from kamlib.data import import_frames

    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4", "A5", "A6"],
            "name": ["华东精密制造有限公司", XSS, "../../etc", "Northwind Traders",
                     "Northwind Traders", "Dormant Ltd"],
            "created_date": pd.to_datetime(["2020-01-01"] * 6),
        }
    )  # fmt: skip
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(8)],
            "line_no": [1] * 8,
            "account_id": ["A1", "A1", "A2", "A3", "A4", "A5", "A6", "A1"],
            "order_date": pd.to_datetime(
                ["2026-09-01", "2025-10-01", "2026-05-05", "2026-01-10", "2026-03-03",
                 "2026-03-04", "2024-01-01", "2026-10-05"]
            ),
            "amount": [100.0, 50.0, 80.0, 60.0, 10.0, 10.0, 999.0, 1000.0],
        }
    )  # fmt: skip
    report = import_frames({"accounts": accounts, "orders": orders}, store=path, now="2026-11-01")
    assert report.reconciles
    return path


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory) -> Path:
    return build_tiny_store(tmp_path_factory.mktemp("store") / "tiny.duckdb").resolve()


@pytest.fixture(scope="module")
def shared_engine(tiny_store, tmp_path_factory):
    engine = ReportEngine(
        store=tiny_store,
        out=tmp_path_factory.mktemp("unused"),
        notebook_dir=NOTEBOOKS,
        timeout=60,
        jobs=2,
    )
    yield engine
    engine.close()


@pytest.fixture
def engine(shared_engine, tmp_path):
    shared_engine.out = tmp_path / "reports"
    shared_engine.timeout = 60
    return shared_engine


def read_manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text("utf-8"))


def our_work_dirs(out: Path) -> list[Path]:
    tmp = out / layout.TMP_DIR
    if not tmp.exists():
        return []
    return [p for p in tmp.iterdir() if p.name.split("-")[1:2] == [str(os.getpid())]]


# -- success: layout, manifest, index -----------------------------------------------------------
def test_success_layout_manifest_and_index(engine, tiny_store):
    from kamlib.data import snapshot_info

    batch = engine.render("book_summary", as_of=AS_OF, parameters={"top_n": "7"})
    assert batch.ok, batch.to_frame()
    [result] = batch.results
    out = engine.out
    # a non-default parameter gives the slug a short hash suffix: other parameters, other page
    directory = out / "book_summary" / "2026-09" / result.job.slug
    assert result.job.slug.startswith("all-") and len(result.job.slug) == 10
    assert result.path == directory / "index.html"
    assert {p.name for p in directory.iterdir()} == {
        "index.html",
        "book_summary.ipynb",
        "manifest.json",
    }

    m = read_manifest(directory)
    assert m["status"] == "ok" and m["error"] is None
    assert m["report"] == "book_summary" and m["title"] == "Book summary"
    assert (m["period"], m["frequency"], m["as_of"], m["lang"]) == (
        "2026-09",
        "monthly",
        AS_OF,
        "en",
    )
    assert m["parameters"] == {
        "store": str(tiny_store),
        "as_of": AS_OF,
        "lang": "en",
        "snapshot": 1,
        "top_n": 7,
    }  # "7" from the command line became an int, as the notebook declares
    snap = snapshot_info(tiny_store)
    assert m["snapshot"]["fingerprint"] == snap.fingerprint
    assert m["snapshot"]["batch_id"] == snap.batch_id
    assert {"python", "kamlib", "papermill", "nbconvert", "pandas"} <= set(m["versions"])
    assert m["started"] <= m["finished"]
    assert m["seconds"] == abs(m["seconds"])  # a duration, never negative
    assert m["command"] == (
        f"kam report book_summary --store {tiny_store} -p as_of={AS_OF} -p lang=en "
        "-p snapshot=1 -p top_n=7"
    )
    assert m["path"] == f"book_summary/2026-09/{result.job.slug}"

    import nbformat

    nb = nbformat.read(directory / "book_summary.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "top_n = 7" in injected[0].source
    printed = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert f"as_of={AS_OF} lang=en top_n=7 scale=1.0 show_chart=True" in printed
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))

    index = (out / "index.html").read_text("utf-8")
    assert f'href="book_summary/2026-09/{result.job.slug}/index.html"' in index
    assert not our_work_dirs(out)


def test_import_landing_mid_report_does_not_change_the_pinned_snapshot(tiny_store, tmp_path):
    """Issue #17: the snapshot is pinned when the report is planned and the notebook reads
    exactly that batch, so an import that lands before the notebook runs changes neither the
    figures nor the label: manifest, page and figures all say batch 1."""
    import shutil

    from kamlib.data import import_frames, snapshot_info

    store = tmp_path / "moving.duckdb"
    shutil.copy(tiny_store, store)
    engine = ReportEngine(store=store, out=tmp_path / "reports", notebook_dir=NOTEBOOKS, jobs=1)
    try:
        [job] = engine.plan("book_summary", as_of=AS_OF)
        group = engine.accounts_for("top3", as_of=AS_OF)
        pinned = snapshot_info(store)
        assert job.parameters["snapshot"] == pinned.batch_id == 1
        assert "-p snapshot=1" in job.command  # the command reproduces this very data
        # batch 2 arrives between planning and execution: a new orders export (one line; a
        # shrink the import guard refuses unless told it is intended)
        orders = pd.DataFrame(
            {"order_id": ["O9"], "line_no": [1], "account_id": ["A1"],
             "order_date": pd.to_datetime(["2026-09-15"]), "amount": [5000.0]}
        )  # fmt: skip
        import_frames({"orders": orders}, store=store, now="2026-11-02", allow_shrink=True)
        assert snapshot_info(store).batch_id == 2
        # reports for a group formed before the import read the batch it was formed on
        briefs = engine.plan("account_brief", as_of=AS_OF, accounts=group, group="top3")
        assert [j.parameters["snapshot"] for j in briefs] == [1, 1, 1]
        assert all(j.snapshot["batch_id"] == 1 for j in briefs)
        # a report planned now pins batch 2
        [later] = engine.plan("book_summary", as_of=AS_OF)
        assert later.parameters["snapshot"] == 2
        batch = engine.run([job])
    finally:
        engine.close()
    assert batch.ok, batch.to_frame()
    directory = batch.results[0].path.parent
    m = read_manifest(directory)
    assert m["snapshot"]["batch_id"] == 1
    assert m["snapshot"]["fingerprint"] == pinned.fingerprint
    assert m["parameters"]["snapshot"] == 1
    page = (directory / "index.html").read_text("utf-8")
    assert f"batch 1 · {pinned.fingerprint[:12]}" in page
    # the figures: batch 1's eight order lines (total 2,309), not batch 2's one (5,000) —
    # before the fix the page said "batch 1" above "figures: batch 2 orders 1 total 5000.00"
    assert "figures: batch 1 orders 8 total 2309.00" in page
    assert "batch 2" not in page


def test_a_snapshot_parameter_pins_an_older_batch(tiny_store, tmp_path):
    """``-p snapshot=N`` reproduces a report on batch N; an unknown batch is refused."""
    engine = ReportEngine(store=tiny_store, out=tmp_path / "reports", notebook_dir=NOTEBOOKS)
    [job] = engine.plan("book_summary", as_of=AS_OF, parameters={"snapshot": "1"})
    assert job.parameters["snapshot"] == 1 and job.snapshot["batch_id"] == 1
    with pytest.raises(ReportError, match=r"no import batch 7\. Batches: 1"):
        engine.plan("book_summary", as_of=AS_OF, parameters={"snapshot": 7})


def test_reused_kernel_starts_clean(engine):
    """A report never sees what the previous one left in the (reused) kernel."""
    jobs = engine.plan("book_summary", as_of=AS_OF) + engine.plan(
        "account_brief", as_of=AS_OF, parameters={"account_id": "A1"}
    )
    first = engine.run(jobs[:1])
    second = engine.run(jobs[1:] * 1)
    assert first.ok and second.ok
    import nbformat

    nb = nbformat.read(second.results[0].path.parent / "account_brief.ipynb", as_version=4)
    printed = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "leftover visible: False" in printed  # namespace reset
    assert f"cwd={engine.cwd}" in printed  # book_summary's os.chdir("/") undone
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].execution_count == 1  # counter reset


def test_period_and_language_choose_the_place(engine):
    [job] = engine.plan("book_summary", period="2026-Q3", parameters={"lang": "zh"})
    assert job.as_of.isoformat() == AS_OF  # the period's last day
    assert job.period.label == "2026-Q3"
    assert job.slug == "all-zh"
    assert job.title == "业务概览"
    assert "--period 2026-Q3" in job.command
    [job] = engine.plan("account_brief", as_of="2026-08-15", parameters={"account_id": "A1"})
    assert job.period.label == "2026-Q3"  # the notebook's frequency is quarterly
    with pytest.raises(ReportError, match=r"as_of 2026-10-01 lies outside the period 2026-Q3"):
        engine.plan("book_summary", period="2026-Q3", as_of="2026-10-01")


# -- parameters ---------------------------------------------------------------------------------
def test_unknown_parameter_is_refused_with_the_valid_ones(engine):
    with pytest.raises(ReportError) as err:
        engine.plan("book_summary", as_of=AS_OF, parameters={"colour": "red"})
    text = str(err.value)
    assert "Report 'book_summary' has no parameter 'colour'" in text
    assert "top_n (int, default 5): how many accounts to list" in text
    assert 'as_of (str, default "2026-09-30"): last day of the reporting period' in text
    assert not (engine.out / "book_summary").exists()  # nothing ran


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "top_n",
            "many",
            r"Parameter 'top_n' of report 'book_summary' is 'many': expected int — a whole number",
        ),
        ("top_n", "2.5", r"expected int"),
        ("top_n", True, r"expected int"),
        ("scale", "x", r"'scale' .* is 'x': expected float — a number"),
        ("scale", "nan", r"expected float — a finite number"),
        ("show_chart", "maybe", r"'show_chart' .* expected bool — true or false"),
        ("lang", "fr", r"'lang' of report 'book_summary' is 'fr': expected one of en, zh"),
        ("as_of", "30/09/2026", r"Date '30/09/2026' does not parse"),
    ],
)
def test_mistyped_parameter(engine, name, value, expected):
    with pytest.raises((ReportError, ConfigError), match=expected):
        engine.plan("book_summary", as_of=None if name == "as_of" else AS_OF,
                    parameters={name: value})  # fmt: skip


def test_parameter_conversion():
    spec = load_report("book_summary", NOTEBOOKS)
    p = spec.parameters
    assert convert_parameter("r", p["top_n"], " 12 ") == 12
    assert convert_parameter("r", p["scale"], "2.5") == 2.5
    assert convert_parameter("r", p["scale"], 3) == 3.0
    assert convert_parameter("r", p["show_chart"], "no") is False
    assert convert_parameter("r", p["show_chart"], "YES") is True
    assert convert_parameter("r", p["lang"], "zh") == "zh"
    with pytest.raises(ReportError, match="expected str"):
        convert_parameter("r", p["lang"], 3)


def test_store_and_reports_are_checked(engine, tmp_path):
    with pytest.raises(
        ReportError,
        match=r"There is no report 'nope'. Available reports: account_brief, book_summary, broken, hangs",
    ):
        engine.plan("nope", as_of=AS_OF)
    with pytest.raises(ReportError, match=r"Report name '../etc' is not valid"):
        engine.plan("../etc", as_of=AS_OF)
    with pytest.raises(ReportError, match=r"store is not a -p parameter"):
        engine.plan("book_summary", as_of=AS_OF, parameters={"store": "x"})
    with pytest.raises(
        ReportError, match=r"made per account: give -p account_id=ID or --for GROUP"
    ):
        engine.plan("account_brief", as_of=AS_OF)
    with pytest.raises(ReportError, match=r"covers the whole book"):
        engine.plan(
            "book_summary",
            as_of=AS_OF,
            accounts=pd.DataFrame({"account_id": ["A1"], "name": ["x"]}),
        )
    missing = ReportEngine(store=tmp_path / "missing.duckdb", notebook_dir=NOTEBOOKS)
    with pytest.raises(ReportError, match=r"The store .*missing.duckdb does not exist.*kam demo"):
        missing.plan("book_summary", as_of=AS_OF)


def test_bad_period(engine):
    with pytest.raises(ConfigError, match=r"Period '2026-Q5' does not parse. Valid forms: 2026-09"):
        engine.plan("book_summary", period="2026-Q5")


# -- failures -----------------------------------------------------------------------------------
def test_failed_report_keeps_previous_good_one_and_batch_goes_on(engine, tiny_store):
    good = engine.render("book_summary", as_of=AS_OF)
    assert good.ok
    good_dir = good.results[0].path.parent
    before = {p.name: p.read_bytes() for p in good_dir.iterdir()}

    marker = Path(f"{tiny_store}.fail")
    marker.write_text("fail")
    try:
        jobs = (
            engine.plan("book_summary", as_of=AS_OF)
            + engine.plan("broken", as_of=AS_OF)
            + engine.plan("account_brief", as_of=AS_OF, parameters={"account_id": "A1"})
        )
        batch = engine.run(jobs)
    finally:
        marker.unlink()
    statuses = {r.report: r.status for r in batch.results}
    assert statuses == {"book_summary": "failed", "broken": "failed", "account_brief": "ok"}
    assert not batch.ok and len(batch.failed) == 2

    # the previous good report is untouched
    assert {p.name: p.read_bytes() for p in good_dir.iterdir()} == before

    broken = next(r for r in batch.results if r.report == "broken")
    assert broken.cell_index == 4  # cells: title, parameters, x = 1, markdown, x / 0
    assert broken.ename == "ZeroDivisionError"
    assert broken.error == (
        "cell index 4, In [4] of broken.ipynb raised ZeroDivisionError: division by zero"
    )
    failed_dir = engine.out / "_failed" / "broken" / "2026-09" / "all"
    assert broken.path == failed_dir / "index.html"
    import nbformat

    nb = nbformat.read(failed_dir / "broken.ipynb", as_version=4)
    assert "An Exception was encountered" in nb.cells[0].source  # papermill's banner
    assert (failed_dir / "index.html").stat().st_size > 0
    m = read_manifest(failed_dir)
    assert m["status"] == "failed"
    assert m["error"]["cell_index"] == 4 and m["error"]["ename"] == "ZeroDivisionError"
    assert m["path"] == "_failed/broken/2026-09/all"
    assert not (engine.out / "broken").exists()  # no good report was made

    summary = next(r for r in batch.results if r.report == "book_summary")
    assert "RuntimeError: the store is marked to fail" in summary.error
    index = (engine.out / "index.html").read_text("utf-8")
    assert "Failed runs (2)" in index

    # a later success replaces the report and clears the failure
    again = engine.render("book_summary", as_of=AS_OF)
    assert again.ok
    assert not (engine.out / "_failed" / "book_summary" / "2026-09" / "all").exists()
    assert "Failed runs (1)" in (engine.out / "index.html").read_text("utf-8")


def test_cell_timeout_is_a_failure(engine):
    engine.timeout = 2
    batch = engine.render("hangs", as_of=AS_OF)
    [result] = batch.results
    assert result.status == "timeout"
    assert result.cell_index == 3  # cells: title, parameters, import time, time.sleep(300)
    assert "was still running after 2 s (the timeout)" in result.error
    failed_dir = engine.out / "_failed" / "hangs" / "2026-09" / "all"
    import nbformat

    nb = nbformat.read(failed_dir / "hangs.ipynb", as_version=4)
    assert "An Exception was encountered" in nb.cells[0].source  # a banner although it hung
    assert read_manifest(failed_dir)["status"] == "timeout"
    # the hung kernel was replaced: the engine goes on
    engine.timeout = 60
    assert engine.render("book_summary", as_of=AS_OF).ok


def test_interrupt_leaves_no_half_written_report(engine):
    jobs = [
        j
        for aid in ("A1", "A2", "A3", "A4")
        for j in engine.plan("account_brief", as_of=AS_OF, parameters={"account_id": aid})
    ]

    def interrupt(result):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.run(jobs, on_result=interrupt)
    out = engine.out
    published = list((out / "account_brief").glob("*/*/manifest.json"))
    assert len(published) <= 1  # at most the one finished before the interrupt
    for manifest in published:
        assert read_manifest(manifest.parent)["status"] == "ok"
    assert not our_work_dirs(out)
    # the engine recovers: next run starts new kernels
    assert engine.run(jobs[:1]).ok


def test_output_dir_that_is_a_file(engine, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    engine.out = blocker / "reports"
    with pytest.raises(ReportError, match=r"output directory .* cannot be used|not writable"):
        engine.render("book_summary", as_of=AS_OF)


@contextlib.contextmanager
def read_only_directory(tmp_path: Path):
    """A directory no one, root included, can write into.

    Not root: mode 0555.  Root ignores modes, so a read-only bind mount of a fresh
    directory (writes fail with EROFS); where mounting is not permitted, a directory under
    /sys (sysfs refuses mkdir, EPERM, even to root).  The write is checked to fail.
    """
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0:
        ro.chmod(0o555)
        try:
            yield ro
        finally:
            ro.chmod(0o755)
        return
    mount = subprocess.run(["mount", "--bind", str(ro), str(ro)], capture_output=True)
    if mount.returncode == 0:
        try:
            remount = subprocess.run(
                ["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True
            )
            if remount.returncode == 0:
                yield ro
                return
        finally:
            subprocess.run(["umount", str(ro)], check=True)
    yield Path("/sys/kamlib-test")


def test_read_only_output_dir(engine, tmp_path):
    with read_only_directory(tmp_path) as ro:
        with pytest.raises(OSError):  # the write genuinely fails, also for root
            (ro / "probe").mkdir(parents=True)
        engine.out = ro / "reports"
        with pytest.raises(ReportError, match=r"is not writable .* --out"):
            engine.render("book_summary", as_of=AS_OF)


@pytest.mark.parametrize(
    ("code", "message"),
    [(errno.EROFS, r"is not writable \(Read-only file system\)"), (errno.ENOSPC, r"is full")],
)
def test_read_only_or_full_when_preparing(engine, monkeypatch, code, message):
    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(engine.out))

    monkeypatch.setattr(layout.Path, "mkdir", refuse)
    with pytest.raises(ReportError, match=message):
        engine.render("book_summary", as_of=AS_OF)


def test_disk_full_while_publishing(engine, monkeypatch):
    assert engine.render("book_summary", as_of=AS_OF).ok  # a good report in place
    good = engine.out / "book_summary" / "2026-09" / "all"
    before = (good / "index.html").read_bytes()
    real_rename = os.rename

    def full(src, dst):
        if Path(src).name.startswith("new-"):
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_rename(src, dst)

    monkeypatch.setattr(layout.os, "rename", full)
    with pytest.raises(ReportError, match=r"is full \(No space left on device\).*--out"):
        engine.render("book_summary", as_of=AS_OF)
    monkeypatch.undo()
    assert (good / "index.html").read_bytes() == before  # put back, untouched
    assert not our_work_dirs(engine.out)


# -- accounts, slugs, groups --------------------------------------------------------------------
def test_slugs():
    assert layout.slugify("../../etc") == "etc"
    assert layout.slugify(XSS) == "script-alert-1-script"
    assert layout.slugify("华东精密制造有限公司") == "华东精密制造有限公司"
    assert layout.slugify('A/B\\C:D*E?F"G<H>I|J') == "A-B-C-D-E-F-G-H-I-J"
    assert layout.slugify("  Foo   Co., Ltd.  ") == "Foo-Co-Ltd"
    assert layout.slugify("CON") == "_CON"
    assert layout.slugify("...") == ""
    assert len(layout.slugify("x" * 500)) == layout.SLUG_MAX
    assert layout.account_slug("../../etc", "A3") == "etc-A3"
    assert layout.account_slug(XSS, "A2") == "script-alert-1-script-A2"
    assert layout.account_slug("", "../A7") == f"A7-{layout.id_digest('../A7')}"
    assert layout.account_slug(None, "") == "account"
    assert layout.unique_slugs(["a-x", "a-x", "b"], ["x/1", "x_1", "b"])[2] == "b"
    first, second, _ = layout.unique_slugs(["a-x", "a-x", "b"], ["x/1", "x_1", "b"])
    assert first != second and first.startswith("a-x-")


def test_account_slugs_are_injective():
    """Issue #17: ids that sanitise alike get a short stable hash of the raw id; ids that
    need no sanitising keep the slug they always had (old report URLs survive)."""
    assert layout.account_slug("Same Co", "X-1") == "Same-Co-X-1"  # unchanged
    slash = layout.account_slug("Same Co", "X/1")
    assert (
        slash == f"Same-Co-X-1-{layout.id_digest('X/1')}" and len(slash) == len("Same-Co-X-1") + 7
    )
    assert layout.id_digest("X/1") == __import__("hashlib").sha1(b"X/1").hexdigest()[:6]
    ids = ["X/1", "X-1", "X 1", "X:1", "X.1", "x/1", "ＸＹ1", "XY1", "a" * 45, "a" * 46]
    slugs = [layout.account_slug("Same Co", i) for i in ids]
    assert len(set(slugs)) == len(ids), dict(zip(ids, slugs, strict=True))
    # ids that need no sanitising: exactly the slugs of before the fix
    assert layout.account_slug("华东精密制造有限公司", "A1") == "华东精密制造有限公司-A1"
    assert layout.account_slug("Northwind Traders", "A4") == "Northwind-Traders-A4"
    assert layout.account_slug("客户", "客户") == "客户"
    assert layout.account_slug(None, "ACC_0001") == "ACC_0001"


def test_accounts_whose_ids_sanitise_alike_never_share_a_folder(engine):
    """``X/1`` and ``X-1`` named alike: rendered together or one after the other, each keeps
    its own report; neither overwrites the other."""
    pair = pd.DataFrame({"account_id": ["X/1", "X-1"], "name": ["Same Co", "Same Co"]})
    together = engine.plan("account_brief", as_of=AS_OF, accounts=pair, group="ids")
    alone = [
        engine.plan("account_brief", as_of=AS_OF, accounts=pair.iloc[[i]], group="ids")[0]
        for i in (0, 1)
    ]
    # an account's folder does not depend on what else is in the batch
    assert [j.slug for j in together] == [j.slug for j in alone]
    assert together[1].slug == "Same-Co-X-1"
    batch = engine.run(alone[:1])
    batch += engine.run(alone[1:])
    assert batch.ok, batch.to_frame()
    folders = {r.path.parent for r in batch.results}
    assert len(folders) == 2
    for r in batch.results:
        assert read_manifest(r.path.parent)["account_id"] == r.job.account_id


def test_a_report_never_replaces_another_accounts_report(engine):
    """A folder already holding another account's report (e.g. written before slugs were
    injective) is not overwritten: the new report fails and says why."""
    [job] = engine.plan("account_brief", as_of=AS_OF, parameters={"account_id": "A1"})
    assert engine.run([job]).ok
    folder = engine.out / job.rel_path
    manifest = read_manifest(folder)
    manifest["account_id"] = "A1/legacy"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    [result] = engine.run([job]).results
    assert result.status == "failed"
    assert "holds the report of account 'A1/legacy'" in result.error
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_batch_for_group_with_hostile_names(engine):
    accounts = engine.accounts_for("all", as_of=AS_OF)
    assert list(accounts["account_id"]) == ["A1", "A2", "A3", "A4", "A5", "A6"]
    jobs = engine.plan("account_brief", as_of=AS_OF, accounts=accounts, group="all")
    slugs = [j.slug for j in jobs]
    assert slugs == [
        "华东精密制造有限公司-A1", "script-alert-1-script-A2", "etc-A3",
        "Northwind-Traders-A4", "Northwind-Traders-A5", "Dormant-Ltd-A6",
    ]  # fmt: skip
    batch = engine.run(jobs)
    assert batch.ok, batch.to_frame()
    out = engine.out.resolve()
    for r in batch.results:
        assert r.path.resolve().is_relative_to(out / "account_brief" / "2026-Q3")
        assert r.path.exists()
    assert not (engine.out.parent / "etc").exists()
    [period_index] = batch.period_indexes
    assert period_index == engine.out / "account_brief" / "2026-Q3" / "index.html"
    page = period_index.read_text("utf-8")
    assert "<h1>Account brief · 2026-Q3</h1>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and XSS not in page
    assert page.count("<tr>") == 1 + 6  # header + one row per account
    assert 'href="etc-A3/index.html"' in page
    index = (engine.out / "index.html").read_text("utf-8")
    assert XSS not in index
    # the reports index shows the batch as one row linking its period page
    assert index.count('href="account_brief/2026-Q3/index.html"') == 1
    assert "6 accounts" in index and "(group all)" in index
    m = read_manifest(engine.out / "account_brief" / "2026-Q3" / "script-alert-1-script-A2")
    assert m["account_name"] == XSS and m["group"] == "all" and m["account_id"] == "A2"


def test_target_groups(engine):
    assert list(engine.accounts_for("top3", as_of=AS_OF)["account_id"]) == ["A1", "A2", "A3"]
    # A4 and A5 tie at 10: account_id breaks the tie
    assert list(engine.accounts_for("top5", as_of=AS_OF)["account_id"]) == [
        "A1",
        "A2",
        "A3",
        "A4",
        "A5",
    ]
    # A6 has no revenue in the window, so top10 stops at five
    assert len(engine.accounts_for("top10", as_of=AS_OF)) == 5
    # strategic: A1 150/310 = 48% < 50%, with A2 230/310 = 74%: the head is A1, A2
    assert list(engine.accounts_for("strategic", as_of=AS_OF)["account_id"]) == ["A1", "A2"]
    ids = engine.accounts_for("ids:A3, A2,A3", as_of=AS_OF)
    assert ids.to_dict("records") == [
        {"account_id": "A3", "name": "../../etc"},
        {"account_id": "A2", "name": XSS},
    ]
    # the order of 2026-10-05 (1,000 for A1) counts as of 2026-10-31: window 2025-11-01 …
    later = engine.accounts_for("top1", as_of="2026-10-31")
    assert list(later["account_id"]) == ["A1"]


def test_empty_and_unknown_groups(engine):
    with pytest.raises(ReportError, match=r"Target group 'top3' has no accounts on 2019-01-01"):
        engine.accounts_for("top3", as_of="2019-01-01")
    with pytest.raises(
        ConfigError, match=r"Target group 'biggest' is not known. Valid groups: all, top<N>"
    ):
        engine.accounts_for("biggest", as_of=AS_OF)
    with pytest.raises(ConfigError, match=r"names accounts that do not exist on 2026-09-30: A99"):
        engine.accounts_for("ids:A1,A99", as_of=AS_OF)
    with pytest.raises(ReportError, match=r"Target group 'top3' has no accounts"):
        engine.plan("account_brief", as_of=AS_OF, group="top3",
                    accounts=pd.DataFrame({"account_id": [], "name": []}))  # fmt: skip


# -- layout recovery ----------------------------------------------------------------------------
def test_recover_restores_a_report_parked_by_a_killed_run(tmp_path):
    out = tmp_path / "reports"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    parked = out / ".tmp" / f"old-{pid}-abc"
    parked.mkdir(parents=True)
    (parked / "index.html").write_text("good")
    (out / ".tmp" / f"old-{pid}-abc.target").write_text(json.dumps({"target": "r/2026-09/all"}))
    leftover = out / ".tmp" / f"new-{pid}-def"
    leftover.mkdir()
    (leftover / "index.html").write_text("half")
    layout.recover(out)
    assert (out / "r" / "2026-09" / "all" / "index.html").read_text() == "good"
    assert list((out / ".tmp").iterdir()) == []


# -- schedules ----------------------------------------------------------------------------------
def test_schedule_due_logic(engine):
    schedule = parse_schedule(
        {
            "reports": [
                {"report": "book_summary", "frequency": "monthly"},
                {"report": "account_brief", "frequency": "quarterly", "for": "top3"},
            ]
        }
    )
    due = plan_schedule(schedule, engine, as_of="2026-10-15")
    assert [(d.period.label, d.period.end.isoformat()) for d in due] == [
        ("2026-09", "2026-09-30"), ("2026-Q3", "2026-09-30")
    ]  # fmt: skip
    assert [len(d.jobs) for d in due] == [1, 3] and all(not d.skipped for d in due)
    assert [j.account_id for j in due[1].jobs] == ["A1", "A2", "A3"]
    assert all(j.as_of.isoformat() == "2026-09-30" for d in due for j in d.jobs)

    batch = engine.run([j for d in due for j in d.jobs])
    assert batch.ok
    again = plan_schedule(schedule, engine, as_of="2026-10-20")
    assert [len(d.jobs) for d in again] == [0, 0] and [len(d.skipped) for d in again] == [1, 3]
    forced = plan_schedule(schedule, engine, as_of="2026-10-20", force=True)
    assert [len(d.jobs) for d in forced] == [1, 3]
    # on the last day of a month only the month is due again; the quarter is still Q3
    nov = plan_schedule(schedule, engine, as_of="2026-11-30")
    assert [d.period.label for d in nov] == ["2026-11", "2026-Q3"]
    assert [len(d.jobs) for d in nov] == [1, 0]


def test_schedule_problems(engine):
    # an empty group stops only its own entry
    schedule = parse_schedule(
        {"reports": [{"report": "account_brief", "frequency": "monthly", "for": "top3"},
                     {"report": "book_summary"}]}
    )  # fmt: skip
    due = plan_schedule(schedule, engine, as_of="2019-02-01")
    assert "has no accounts on 2019-01-31" in due[0].problem
    assert due[1].problem is None and len(due[1].jobs) == 1
    with pytest.raises(ReportError, match=r"There is no report 'nope'"):
        plan_schedule(parse_schedule({"reports": [{"report": "nope"}]}), engine, as_of=AS_OF)
    with pytest.raises(ReportError, match=r"has no parameter 'colour'"):
        plan_schedule(
            parse_schedule({"reports": [{"report": "book_summary", "parameters": {"colour": 1}}]}),
            engine,
            as_of=AS_OF,
        )
    with pytest.raises(ReportError, match=r"is made per account; give it 'for: GROUP'"):
        plan_schedule(
            parse_schedule({"reports": [{"report": "account_brief"}]}), engine, as_of=AS_OF
        )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"reports": []}, r"'reports' must be a non-empty list"),
        ({"reports": [{"report": "x"}], "colour": 1}, r"unknown key\(s\) colour. Valid keys"),
        ({"reports": [{"report": "x", "every": "day"}]}, r"reports\[0\]: unknown key\(s\) every"),
        ({"reports": [{"report": "x", "frequency": "daily"}]}, r"Frequency 'daily' is not known"),
        ({"reports": [{"report": "x", "for": "best"}]}, r"Target group 'best' is not known"),
        ({"reports": [{"frequency": "monthly"}]}, r"needs at least 'report'"),
        ([1, 2], r"must be a YAML mapping"),
    ],
)
def test_bad_schedules(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_schedule(raw)


def test_sample_schedule_is_valid():
    schedule = load_schedule(ROOT / "data" / "schedule.yml")
    assert [(e.report, e.frequency, e.group) for e in schedule.entries] == [
        ("data_health", "monthly", None),
        ("portfolio_review", "quarterly", None),
        ("account_summary", "quarterly", "top10"),
        ("pipeline_forecast", "quarterly", None),
        ("sales_process_review", "quarterly", None),
        ("revenue_forecast", "quarterly", None),
        ("ogsm_review", "quarterly", None),
        ("customer_research", "quarterly", "strategic"),
    ]


def test_the_engines_methodology_reaches_notebooks_that_take_one(tiny_store, tmp_path):
    """--methodology / the schedule's methodology: passed to portfolio_review's
    ``methodology`` parameter (absolute path), without changing where the report goes;
    a ``-p methodology=…`` given by hand wins."""
    methodology = ROOT / "data" / "methodology.yml"
    plain = ReportEngine(store=tiny_store, out=tmp_path, notebook_dir=ROOT / "notebooks")
    ruled = ReportEngine(
        store=tiny_store, out=tmp_path, notebook_dir=ROOT / "notebooks", methodology=methodology
    )
    try:
        (base,) = plain.plan("portfolio_review", as_of="2026-09-30")
        (job,) = ruled.plan("portfolio_review", as_of="2026-09-30")
        assert "methodology" not in base.parameters or base.parameters["methodology"] == ""
        assert job.parameters["methodology"] == str(methodology.resolve())
        assert job.slug == base.slug
        (own,) = ruled.plan(
            "portfolio_review", as_of="2026-09-30", parameters={"methodology": "x.yml"}
        )
        assert own.parameters["methodology"] == "x.yml"
        # data_health declares no methodology parameter: nothing is added
        (health,) = ruled.plan("data_health", as_of="2026-09-30")
        assert "methodology" not in health.parameters
    finally:
        plain.close()
        ruled.close()


def test_schedule_names_its_methodology():
    schedule = load_schedule(ROOT / "data" / "schedule.yml")
    assert schedule.methodology == "data/methodology.yml"
    from kamlib.methodology import load_methodology

    assert load_methodology(ROOT / schedule.methodology).scoring is not None
