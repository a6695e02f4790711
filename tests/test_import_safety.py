"""Import safety (issue #17 "Nothing lost, nothing wrong"): the cases a hostile review found.

Each test reproduces one case from the review; all of them failed before the fix.
"""

from __future__ import annotations

import io
import os
import signal
import tempfile
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import NOW, store_state, write_csv

from kamlib.cli import main
from kamlib.data import import_files, load, readers
from kamlib.data.health import data_health
from kamlib.data.import_batch import ImportBatch
from kamlib.data.readers import ReadLimits
from kamlib.errors import DataValidationError, ImportRefused, KamlibError, StoreError

ACCOUNTS = """account_id,name,industry
A1,Alpha Machinery,machinery
A2,Beta Electronics,electronics
A3,Gamma Foods,food
A4,Delta Tools,machinery
"""
ORDERS = """order_id,line_no,account_id,order_date,amount,quantity,cost
O1,1,A1,2025-01-15,1000.50,1,500
O1,2,A1,2025-01-15,2500,2,1000
O2,1,A2,2025-03-01,300,1,100
O3,1,A3,2025-06-30,50,1,20
O4,1,A4,2025-07-30,70,1,20
"""
OPPS = """opportunity_id,account_id,created_date,stage,amount
P1,A3,2025-01-01,Prospecting,900
P2,A1,2025-01-01,Prospecting,100
"""


@pytest.fixture
def store(tmp_path) -> Path:
    """A store holding 4 accounts, 5 order lines and 2 opportunities."""
    folder = tmp_path / "first"
    folder.mkdir()
    for name, text in {"accounts.csv": ACCOUNTS, "orders.csv": ORDERS, "opportunities.csv": OPPS}.items():
        write_csv(folder / name, text)
    path = tmp_path / "store.duckdb"
    import_files([folder], store=path, now=NOW)
    return path




def _write(tmp_path: Path, name: str, text: str, folder: str = "next") -> Path:
    (tmp_path / folder).mkdir(exist_ok=True)
    return write_csv(tmp_path / folder / name, text)


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


# -- 1. the shrink / orphan guard -------------------------------------------------------------
def test_accounts_whose_names_are_all_empty_are_refused_not_loaded_as_empty(tmp_path, store):
    before = store_state(store)
    bad = _write(tmp_path, "accounts.csv", "account_id,name\nA1,\nA2,\nA3,\nA4,\n")
    with pytest.raises(ImportRefused, match=r"every one of the 4 rows read for accounts.*quarantined") as err:
        import_files([bad], store=store, now=NOW)
    assert "--allow-shrink" in str(err.value) and "4 rows to 0" in str(err.value)
    assert "required value missing" in str(err.value)
    assert store_state(store) == before
    result = _cli("import", str(bad), "--store", str(store))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--allow-shrink" in result.stderr


def test_parquet_orders_with_wrong_types_are_refused(tmp_path, store):
    before = store_state(store)
    (tmp_path / "next").mkdir()
    frame = pd.DataFrame({
        "order_id": [f"N{i}" for i in range(2000)], "line_no": 1, "account_id": "A1",
        "order_date": "yesterday", "amount": "lots",
    })  # fmt: skip
    frame.to_parquet(tmp_path / "next" / "orders.parquet")
    with pytest.raises(ImportRefused, match="every one of the 2,000 rows read for orders"):
        import_files([tmp_path / "next" / "orders.parquet"], store=store, now=NOW)
    assert store_state(store) == before


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


def test_small_xlsx_replacing_most_accounts_is_refused_then_accepted_with_the_flag(tmp_path, store):
    before = store_state(store)
    (tmp_path / "next").mkdir()
    small = _xlsx(tmp_path / "next" / "accounts.xlsx", [["account_id", "name"], ["A1", "Alpha"]])
    result = _cli("import", str(small), "--store", str(store))
    assert result.exit_code == 2, result.output
    assert "accounts would go from 4 rows to 1 (75% fewer" in result.stderr
    assert "orders rows (amount 420.00) would be orphaned" in result.stderr  # O2, O3, O4
    assert "opportunities rows (amount 900.00) would be orphaned" in result.stderr
    assert store_state(store) == before
    result = _cli("import", str(small), "--store", str(store), "--allow-shrink")
    assert result.exit_code == 0, result.output
    assert "accepted with --allow-shrink" in result.output
    data = load(store)
    assert len(data.accounts) == 1
    kinds = set(data.notices["kind"])
    assert {"shrink", "orphaned"} <= kinds
    orphans = data_health(data).orphans.set_index("table")
    assert orphans.loc["orders", "rows"] == 3 and orphans.loc["orders", "value"] == pytest.approx(420.0)
    assert orphans.loc["opportunities", "value"] == pytest.approx(900.0)


def test_reimport_without_some_accounts_orphaning_orders_is_refused(tmp_path, store):
    before = store_state(store)
    fewer = _write(tmp_path, "accounts.csv", ACCOUNTS.replace("A4,Delta Tools,machinery\n", ""))
    with pytest.raises(ImportRefused, match=r"1 orders rows \(amount 70.00\) would be orphaned.*e.g. A4"):
        import_files([fewer], store=store, now=NOW)
    assert store_state(store) == before
    report = import_files([fewer], store=store, now=NOW, allow_shrink=True)
    assert report.status == "loaded"
    assert "orphaned" in set(report.notices["kind"])


def test_shrink_threshold_is_configurable(tmp_path, store):
    half = _write(tmp_path, "accounts.csv", "account_id,name\nA1,a\nA2,b\nA3,c\nA4,d\n")
    import_files([half], store=store, now=NOW)  # same size: fine
    two = _write(tmp_path, "accounts.csv", "account_id,name\nA1,a\nA2,b\n", folder="two")
    with pytest.raises(ImportRefused):
        import_files([two], store=store, now=NOW, max_shrink=0.4)
    with pytest.raises(ImportRefused):  # orphans refuse regardless of the share
        import_files([two], store=store, now=NOW, max_shrink=0.9)
    with pytest.raises(KamlibError, match="max_shrink must be a share"):
        import_files([two], store=store, now=NOW, max_shrink=2)


# -- 2. numbers that are not finite, dates before the floor -----------------------------------
def test_nan_inf_and_overflow_amounts_are_quarantined_with_the_value(tmp_path, store):
    orders = ORDERS + "\n".join([
        "O5,1,A1,2025-02-01,NaN,1,1",
        "O6,1,A1,2025-02-01,inf,1,1",
        "O7,1,A1,2025-02-01,1e309,1,1",
        "O8,1,A1,2025-02-01,10,-Infinity,1",
        "O9,1,A1,2025-02-01,10,1,nan",
    ]) + "\n"  # fmt: skip
    report = import_files([_write(tmp_path, "orders.csv", orders)], store=store, now=NOW)
    p = report.problems.set_index("row")
    assert report.tables["orders"].loaded == 5 and report.tables["orders"].quarantined == 5
    assert p.loc[7, "column"] == "amount" and p.loc[7, "reason"].startswith("not a finite number: NaN")
    assert p.loc[8, "value"] == "inf" and p.loc[9, "value"] == "1e309"
    assert p.loc[10, "column"] == "quantity" and p.loc[11, "column"] == "cost"
    assert load(store).orders["amount"].notna().all()


def test_parquet_with_real_nan_and_inf_doubles(tmp_path, store):
    (tmp_path / "next").mkdir()
    frame = pd.DataFrame({
        "order_id": ["N1", "N2", "N3", "N4", "N5"], "line_no": 1, "account_id": "A1",
        "order_date": pd.Timestamp("2025-01-01"), "amount": [1.0, float("nan"), float("inf"), 2.0, 3.0],
    })  # fmt: skip
    frame.to_parquet(tmp_path / "next" / "orders.parquet")
    report = import_files([tmp_path / "next" / "orders.parquet"], store=store, now=NOW)
    assert report.tables["orders"].quarantined == 2  # inf; NaN (null in Parquet from pandas) is missing
    assert set(report.problems["check"]) <= {"not a finite number", "required value missing"}
    assert report.reconciles


def test_huge_whole_numbers_do_not_crash(tmp_path):
    text = "account_id,name,employees\nA1,a,1e30\nA2,b,inf\nA3,c,12\n"
    report = import_files([write_csv(tmp_path / "accounts.csv", text)], store=tmp_path / "s.duckdb", now=NOW)
    assert report.tables["accounts"].loaded == 1 and report.tables["accounts"].quarantined == 2


def test_placeholder_dates_before_the_floor_are_quarantined(tmp_path, store):
    orders = ORDERS + "O5,1,A1,1900-01-01,10,1,1\nO6,1,A1,0001-01-01,10,1,1\nO7,1,A1,1971-01-01,10,1,1\n"
    report = import_files([_write(tmp_path, "orders.csv", orders)], store=store, now=NOW)
    p = report.problems.set_index("row")
    assert sorted(p.index) == [7, 8]
    assert "date before the floor: 1900-01-01 (earlier than 1970-01-01" in p.loc[7, "reason"]
    assert "--date-floor" in p.loc[8, "reason"]
    report = import_files([_write(tmp_path, "orders.csv", orders, folder="b")], store=store, now=NOW,
                          date_floor="1800-01-01")  # fmt: skip
    assert report.tables["orders"].quarantined == 1  # only 0001-01-01
    result = _cli("import", str(tmp_path / "b" / "orders.csv"), "--store", str(store), "--date-floor", "1972-01-01")
    assert result.exit_code == 0, result.output


def test_old_founding_dates_of_accounts_still_load(tmp_path):
    text = "account_id,name,created_date\nA1,Old Works,1898-05-01\n"
    report = import_files([write_csv(tmp_path / "accounts.csv", text)], store=tmp_path / "s.duckdb", now=NOW)
    assert report.tables["accounts"].loaded == 1


# -- 4. byte-order marks and zero-width characters in ids -------------------------------------
def test_bom_glued_to_a_data_row_is_stripped_from_the_id_and_reported(tmp_path, store):
    accounts = ACCOUNTS.replace("A3,Gamma", "\ufeffA3,Gamma").replace("A2,Beta", "A2\u200b,Beta")
    report = import_files([_write(tmp_path, "accounts.csv", accounts)], store=store, now=NOW)
    assert report.status == "loaded"
    assert sorted(load(store).accounts["account_id"]) == ["A1", "A2", "A3", "A4"]
    notice = report.notices[report.notices["kind"] == "invisible_chars"]
    assert notice["rows"].tolist() == [2] and "byte-order marks" in notice["message"].iloc[0]


# -- 6. bounds on hostile spreadsheets ---------------------------------------------------------
def _rewrite_sheet(path: Path, transform) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = transform(data)
            dst.writestr(item.filename, data)
    path.write_bytes(buf.getvalue())
    return path


def test_xlsx_that_expands_enormously_is_refused_before_parsing(tmp_path):
    path = _xlsx(tmp_path / "accounts.xlsx", [["account_id", "name"], ["A1", "a"]])
    filler = b"<!-- " + b"x" * (40 << 20) + b" -->"
    _rewrite_sheet(path, lambda d: d.replace(b"<sheetData>", filler + b"<sheetData>", 1))
    assert path.stat().st_size < 200_000
    with pytest.raises(ImportRefused, match=r"compressed [\d,]+:1, over the limit of 100:1.*--max-xlsx-ratio"):
        import_files([path], store=tmp_path / "s.duckdb", now=NOW)
    with pytest.raises(ImportRefused, match=r"decompresses to 40 MB, over the limit of 10 MB.*--max-xlsx-mb"):
        import_files([path], store=tmp_path / "s.duckdb", now=NOW, limits=ReadLimits(xlsx_max_mb=10))
    assert not (tmp_path / "s.duckdb").exists()


def test_billion_laughs_xlsx_is_refused_with_a_clear_message(tmp_path):
    path = _xlsx(tmp_path / "accounts.xlsx", [["account_id", "name"], ["A1", "lol"]])
    dtd = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
           + b"]>")  # fmt: skip
    _rewrite_sheet(path, lambda d: dtd + d.split(b"?>", 1)[-1].replace(b">lol<", b">&lol9;<"))
    with pytest.raises(ImportRefused, match="declares XML entities.*XML bomb") as err:
        import_files([path], store=tmp_path / "s.duckdb", now=NOW)
    assert "Name an existing sheet" not in str(err.value)


def test_xlsx_row_and_column_limits(tmp_path):
    path = _xlsx(tmp_path / "accounts.xlsx", [["account_id", "name"]] + [[f"A{i}", "x"] for i in range(20)])
    with pytest.raises(ImportRefused, match=r"more than 10 rows.*--max-rows"):
        import_files([path], store=tmp_path / "s.duckdb", now=NOW, limits=ReadLimits(max_rows=10))
    wide = _xlsx(tmp_path / "w" / "accounts.xlsx" if (tmp_path / "w").mkdir() is None else None,
                 [["account_id", "name"], ["A1", "x", *range(50)]])  # fmt: skip
    with pytest.raises(ImportRefused, match=r"52 columns, over the limit of 20.*--max-columns"):
        import_files([wide], store=tmp_path / "s.duckdb", now=NOW, limits=ReadLimits(max_columns=20))
    result = _cli("import", str(wide), "--store", str(tmp_path / "s.duckdb"), "--max-columns", "20")
    assert result.exit_code == 2 and "--max-columns" in result.stderr


def test_truncated_and_fake_xlsx_give_clear_errors(tmp_path):
    path = _xlsx(tmp_path / "accounts.xlsx", [["account_id", "name"], ["A1", "a"]])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataValidationError, match="not a readable .xlsx workbook"):
        import_files([path], store=tmp_path / "s.duckdb", now=NOW)


def test_missing_sheet_names_the_sheets(tmp_path):
    from kamlib.data.mapping import FileMapping, Mapping

    path = _xlsx(tmp_path / "accounts.xlsx", [["account_id", "name"], ["A1", "a"]])
    mapping = Mapping("m", (FileMapping("accounts", "accounts.xlsx", None, sheet="Nope"),), None)
    with pytest.raises(DataValidationError, match="has no sheet 'Nope'. Sheets: Sheet"):
        import_files([path], store=tmp_path / "s.duckdb", now=NOW, mapping=mapping)


# -- 8. store failures in one line ------------------------------------------------------------
def test_disk_full_during_import_is_one_line_and_keeps_the_store(tmp_path, store, monkeypatch):
    before = store_state(store)

    def full(self, *args, **kwargs):
        raise duckdb.IOException("IO Error: Could not write file: No space left on device")

    monkeypatch.setattr(ImportBatch, "drop_problem_rows", full)
    more = _write(tmp_path, "orders.csv", ORDERS + "O9,1,A1,2025-01-01,1,1,1\n")
    with pytest.raises(StoreError, match="the disk is full"):
        import_files([more], store=store, now=NOW)
    result = _cli("import", str(more), "--store", str(store))
    assert result.exit_code == 2 and "Traceback" not in result.output and "disk is full" in result.stderr
    monkeypatch.undo()
    assert store_state(store) == before


def test_store_path_under_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    accounts = write_csv(tmp_path / "accounts.csv", ACCOUNTS)
    with pytest.raises(StoreError, match="Cannot write to store"):
        import_files([accounts], store=tmp_path / "afile" / "s.duckdb", now=NOW)
    result = _cli("import", str(accounts), "--store", str(tmp_path / "afile" / "s.duckdb"))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_read_only_and_permission_errors_say_so():
    from kamlib.data.store import describe_io_error

    assert "read-only" in describe_io_error("s.duckdb", OSError(30, "Read-only file system"))
    assert "permission denied" in describe_io_error("s.duckdb", PermissionError(13, "Permission denied"))
    assert "Another process" not in describe_io_error("s.duckdb", OSError(30, "Read-only file system"))


def test_unreadable_export_names_the_file_not_the_store(tmp_path, monkeypatch):
    accounts = write_csv(tmp_path / "accounts.csv", ACCOUNTS)

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(readers, "_hash_and_count", denied)  # every hashing pass
    with pytest.raises(DataValidationError, match=r"accounts.csv: cannot read the file \(Permission denied\)") as err:
        import_files([accounts], store=tmp_path / "s.duckdb", now=NOW)
    assert "store" not in str(err.value)


def test_foreign_duckdb_file_is_refused_before_anything_is_written(tmp_path):
    foreign = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE customers (id INTEGER, name VARCHAR)")
    con.execute("INSERT INTO customers VALUES (1, 'x')")
    con.close()
    before = store_state(foreign)
    accounts = write_csv(tmp_path / "accounts.csv", ACCOUNTS)
    with pytest.raises(StoreError, match="DuckDB database of another program.*customers"):
        import_files([accounts], store=foreign, now=NOW)
    assert store_state(foreign) == before
    result = _cli("import", str(accounts), "--store", str(foreign))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_store_without_marker_but_with_bookkeeping_is_accepted_and_marked(tmp_path, store):
    con = duckdb.connect(str(store))
    con.execute("DROP TABLE kamlib_store")
    con.close()
    more = _write(tmp_path, "orders.csv", ORDERS + "O9,1,A1,2025-01-01,1,1,1\n")
    assert import_files([more], store=store, now=NOW).status == "loaded"
    assert "kamlib_store" in store_state(store)


def test_random_bytes_store_is_not_called_busy(tmp_path):
    bad = tmp_path / "s.duckdb"
    bad.write_bytes(os.urandom(8192))
    with pytest.raises(StoreError) as err:
        import_files([write_csv(tmp_path / "accounts.csv", ACCOUNTS)], store=bad, now=NOW)
    assert "not a DuckDB database" in str(err.value) and "Another process" not in str(err.value)


# -- 10. temporary files and misleading words -------------------------------------------------
def test_transcoded_copy_lives_beside_the_store_and_goes_on_sigterm(tmp_path, monkeypatch):
    text = ACCOUNTS.encode("utf-16")
    (tmp_path / "accounts.csv").write_bytes(text)
    store = tmp_path / "s.duckdb"
    seen = []
    real = readers._transcode

    def transcode_then_sigterm(path, encoding, workdir):
        out = real(path, encoding, workdir)
        seen.append(out)
        os.kill(os.getpid(), signal.SIGTERM)
        return out

    before_tmp = set(Path(tempfile.gettempdir()).iterdir())
    monkeypatch.setattr(readers, "_transcode", transcode_then_sigterm)
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KamlibError, match="stopped by signal SIGTERM"):
        import_files([tmp_path / "accounts.csv"], store=store, now=NOW)
    assert signal.getsignal(signal.SIGTERM) == handler
    assert seen and seen[0].parent.parent == tmp_path / "s.duckdb.kamtmp"
    assert not seen[0].exists() and not (tmp_path / "s.duckdb.kamtmp").exists()
    assert not store.exists()
    assert not {p for p in set(Path(tempfile.gettempdir()).iterdir()) - before_tmp if "kamlib" in p.name}


def test_leftovers_of_a_killed_import_are_cleaned_at_the_next_start(tmp_path, store):
    leftover = tmp_path / "store.duckdb.kamtmp" / "import-dead"
    leftover.mkdir(parents=True)
    (leftover / "copy.csv").write_bytes(b"x" * 1000)
    import_files([_write(tmp_path, "orders.csv", ORDERS + "O9,1,A1,2025-01-01,1,1,1\n")], store=store, now=NOW)
    assert not (tmp_path / "store.duckdb.kamtmp").exists()


def test_unbalanced_quote_is_reported_as_such_with_the_row(tmp_path, store):
    text = ORDERS.replace("O2,1,A2,2025-03-01,300", 'O2,1,A2,2025-03-01,"300')
    with pytest.raises(DataValidationError) as err:
        import_files([_write(tmp_path, "orders.csv", text)], store=store, now=NOW)
    message = str(err.value)
    assert "row 4, column 'amount'" in message and "never closed" in message
    assert "required column" not in message


def test_unclosed_quote_deep_in_a_file_does_not_drop_the_rest_silently(tmp_path):
    lines = ["account_id,name", *(f"A{i},n{i}" for i in range(1, 5001))]
    lines[4000] = 'A4000,"broken'
    path = write_csv(tmp_path / "accounts.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=r"row 4001, column 'name'.*never closed.*5,000 lines"):
        import_files([path], store=tmp_path / "s.duckdb", now=NOW)
    quoted = 'account_id,name\nA1,"two\nlines"\nA2,b\n'  # a value over two lines is fine
    report = import_files([write_csv(tmp_path / "accounts.csv", quoted)], store=tmp_path / "s.duckdb", now=NOW)
    assert report.tables["accounts"].loaded == 2


@pytest.fixture
def tiny_disk(tmp_path):
    """A 4 MB tmpfs (root only; skipped where mounting is not allowed)."""
    import subprocess

    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_real_disk_full_and_read_only_store(tmp_path, tiny_disk):
    import subprocess

    store = tiny_disk / "s.duckdb"
    first = tmp_path / "first"
    first.mkdir()
    write_csv(first / "accounts.csv", ACCOUNTS)
    write_csv(first / "orders.csv", ORDERS)
    import_files([first], store=store, now=NOW)
    before = store_state(store)
    big = tmp_path / "big"
    big.mkdir()
    rows = "".join(f"B{i},1,A{i % 4 + 1},2025-01-{i % 28 + 1:02d},{i}.5,1,{i}\n" for i in range(200_000))
    write_csv(big / "orders.csv", ORDERS + rows)
    with pytest.raises(StoreError, match="the disk is full"):
        import_files([big], store=store, now=NOW)
    result = _cli("import", str(big), "--store", str(store))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert store_state(store) == before
    assert len(load(store).orders) == 5
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    small = _write(tmp_path, "orders.csv", ORDERS + "O9,1,A1,2025-01-01,1,1,1\n")
    with pytest.raises(StoreError, match="read-only") as err:
        import_files([small], store=store, now=NOW)
    assert "Another process" not in str(err.value)
    assert len(load(store).orders) == 5


def test_broken_gzip_is_a_file_problem_not_a_store_problem(tmp_path):
    import gzip

    packed = gzip.compress(("account_id,name\n" + "".join(f"A{i},x\n" for i in range(50_000))).encode())
    (tmp_path / "accounts.csv.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataValidationError, match="accounts.csv.gz: not a readable gzip file") as err:
        import_files([tmp_path / "accounts.csv.gz"], store=tmp_path / "s.duckdb", now=NOW)
    assert "store" not in str(err.value)
    (tmp_path / "orders.csv.gz").write_bytes(b"not gzip at all\n")
    result = _cli("import", str(tmp_path / "orders.csv.gz"), "--store", str(tmp_path / "s.duckdb"))
    assert result.exit_code == 2 and "not a readable gzip file" in result.stderr


def test_sigterm_while_duckdb_runs_a_query_is_one_line(tmp_path, store, monkeypatch):
    before = store_state(store)

    def interrupted(self, *args, **kwargs):  # DuckDB turns the handler's exception into its own
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0.05) if hasattr(signal, "sigtimedwait") else None
        except KamlibError as exc:
            raise RuntimeError("Query interrupted") from exc
        raise AssertionError("the signal handler did not run")

    monkeypatch.setattr(ImportBatch, "drop_problem_rows", interrupted)
    more = _write(tmp_path, "orders.csv", ORDERS + "O9,1,A1,2025-01-01,1,1,1\n")
    result = _cli("import", str(more), "--store", str(store))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "stopped by signal SIGTERM" in result.stderr
    monkeypatch.undo()
    assert store_state(store) == before and not (tmp_path / "store.duckdb.kamtmp").exists()


def test_xlsx_is_staged_in_chunks_with_spreadsheet_row_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "_EXCEL_CHUNK_ROWS", 3)
    rows = [["Customer list"], [], ["account_id", "name", None, "employees"]]
    rows += [[f"A{i}", f"n{i}", None, i] for i in range(1, 8)]
    rows += [[], ["A8", "n8", None, "many", None, "late note"], ["A9", "n9"]]
    path = _xlsx(tmp_path / "accounts.xlsx", rows)
    report = import_files([path], store=tmp_path / "s.duckdb", now=NOW)
    counts = report.tables["accounts"]
    assert (counts.read, counts.loaded, counts.quarantined) == (9, 8, 1)
    assert report.problems["row"].tolist() == [12]  # "many" employees, in spreadsheet row 12
    assert any("column6" in m for m in report.notices["message"])  # the late note's column
    assert not any("column3" in m for m in report.notices["message"])  # empty column dropped
    assert sorted(load(tmp_path / "s.duckdb").accounts["account_id"]) == [f"A{i}" for i in range(1, 10) if i != 8]
