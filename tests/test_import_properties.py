"""Property-based and fault-injection tests of the readers and the importer.

Whatever file arrives — random bytes, random CSV text in random encodings, a broken
workbook — an import either loads with counts that reconcile and no table emptied or cut
beyond the shrink guard, or refuses with a :class:`~kamlib.errors.KamlibError` and leaves the
store exactly as it was.  A process killed (SIGKILL) at random points of an import leaves a
store that opens, with the earlier snapshot's tables unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import NOW, ROOT, store_state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamlib.data import import_files, load
from kamlib.errors import KamlibError, StoreError

SETTINGS = settings(
    max_examples=30, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip

ACCOUNT_IDS = [f"A{i}" for i in range(1, 41)]


def _base_files(folder: Path, orders: int = 120) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    accounts = pd.DataFrame({"account_id": ACCOUNT_IDS, "name": [f"Account {i}" for i in range(40)]})
    accounts.to_csv(folder / "accounts.csv", index=False)
    rng = random.Random(5)
    rows = [
        (f"O{i}", 1, rng.choice(ACCOUNT_IDS), f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
         round(rng.uniform(-50, 5000), 2))
        for i in range(orders)
    ]  # fmt: skip
    pd.DataFrame(rows, columns=["order_id", "line_no", "account_id", "order_date", "amount"]).to_csv(
        folder / "orders.csv", index=False
    )


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    _base_files(folder / "export")
    store = folder / "base.duckdb"
    report = import_files([folder / "export"], store=store, now=NOW)
    assert report.reconciles
    _BASE[store] = (store_state(store), {t: len(getattr(load(store), t)) for t in ("accounts", "orders")})
    return store


_BASE: dict[Path, tuple[dict[str, list], dict[str, int]]] = {}


def _table_hash(store: Path, snapshot: int | None = None) -> dict[str, str]:
    data = load(store, snapshot=snapshot)
    out = {}
    for name in data.tables:
        frame = getattr(data, name)
        text = frame.sort_values(list(frame.columns)).to_csv(index=False)
        out[name] = hashlib.sha256(text.encode()).hexdigest()
    return out




def _check_import(base_store: Path, name: str, content: bytes) -> None:
    """Import one generated file into a copy of the base store and check the contract."""
    with tempfile.TemporaryDirectory(prefix="kamlib-prop-") as tmp:
        store = Path(tmp) / "s.duckdb"
        shutil.copy(base_store, store)
        before, rows_before = _BASE[base_store]
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            report = import_files([path], store=store, now=NOW)
        except KamlibError as exc:
            assert str(exc).strip(), "an error must say something"
            assert not isinstance(exc, StoreError), f"the store is fine, the file is not: {exc}"
            assert path.name in str(exc), f"the error must name the file: {exc}"
            assert store_state(store) == before, "a refused import must leave the store untouched"
            assert not (Path(tmp) / "s.duckdb.kamtmp").exists()
            return
        assert report.reconciles
        for counts in report.tables.values():
            assert counts.read == counts.loaded + counts.quarantined
        data = load(store)
        for table, n in rows_before.items():
            assert len(getattr(data, table)) >= n * 0.5, f"{table} shrank silently"
        assert not (Path(tmp) / "s.duckdb.kamtmp").exists()


# -- random files ------------------------------------------------------------------------------
NAMES = st.sampled_from(["accounts.csv", "orders.csv", "orders.csv.gz", "accounts.xlsx", "orders.parquet", "orders.tsv"])


@SETTINGS
@given(name=NAMES, content=st.binary(min_size=1, max_size=2000))
def test_random_bytes_load_or_refuse_cleanly(base_store, name, content):
    _check_import(base_store, name, content)


HEADERS = ["order_id", "line_no", "account_id", "order_date", "amount", "quantity", "cost",
           "account_id", "name", "客户编号", "金额", "订单日期", "", "\ufeffaccount_id", "x"]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(ACCOUNT_IDS + ["", "NaN", "inf", "-inf", "1e309", "0001-01-01", "1900-01-01",
                                   "2025-03-01", "2099-01-01", '"', '""', "\ufeffA1", "A1\u200b",
                                   "1,000", "¥12", "-0", "9223372036854775808", "=1+2", "\x00"]),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
)  # fmt: skip
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1"])


@st.composite
def csv_files(draw) -> tuple[str, bytes]:
    table = draw(st.sampled_from(["accounts", "orders"]))
    headers = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=7))
    rows = draw(st.lists(st.lists(VALUES, min_size=0, max_size=len(headers) + 1), max_size=12))
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(delimiter.join(r) for r in [headers, *rows]) + draw(st.sampled_from(["", newline]))
    encoding = draw(ENCODINGS)
    return f"{table}.csv", text.encode(encoding, errors="replace")


@SETTINGS
@given(generated=csv_files())
def test_random_csv_text_loads_or_refuses_cleanly(base_store, generated):
    _check_import(base_store, *generated)


@st.composite
def plausible_orders(draw) -> tuple[str, bytes]:
    """Well-formed orders files with hostile values: most rows load, counts must reconcile."""
    n = draw(st.integers(min_value=1, max_value=30))
    lines = ["order_id,line_no,account_id,order_date,amount"]
    for i in range(n):
        account = draw(st.sampled_from(ACCOUNT_IDS + ["ZZ", "\ufeffA2", ""]))
        date = draw(st.sampled_from(["2025-01-02", "1900-01-01", "0001-01-01", "2099-01-01", "bad"]))
        amount = draw(st.sampled_from(["10", "-5", "NaN", "inf", "1e309", "abc", ""]))
        lines.append(f"N{i},1,{account},{date},{amount}")
    return "orders.csv", ("\n".join(lines) + "\n").encode()


@settings(SETTINGS, max_examples=25)
@given(generated=plausible_orders())
def test_hostile_values_are_quarantined_never_loaded_silently(base_store, generated):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        path.write_bytes(generated[1])
        store = Path(tmp) / "s.duckdb"
        shutil.copy(base_store, store)
        try:
            report = import_files([path], store=store, now=NOW, allow_shrink=True)
        except KamlibError:
            return
        assert report.reconciles
        orders = load(store).orders
        assert orders["amount"].map(lambda v: v == v and abs(v) != float("inf")).all()
        assert (orders["order_date"] >= pd.Timestamp("1970-01-01")).all()
        assert not orders["account_id"].str.contains("\ufeff").any()


@settings(SETTINGS, max_examples=20)
@given(generated=csv_files(), cut=st.floats(min_value=0.05, max_value=1.0), gz_name=st.booleans())
def test_gzip_cut_short_or_mislabelled_loads_or_refuses_cleanly(base_store, generated, cut, gz_name):
    name, content = generated
    packed = gzip.compress(content)
    packed = packed[: max(1, int(len(packed) * cut))]
    _check_import(base_store, name + ".gz" if gz_name else name, packed)
    _check_import(base_store, name + ".gz", content)  # plain text named .gz


def _xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["account_id", "name"])
    for i in range(30):
        wb.active.append([f"A{i}", f"Name {i}"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


XLSX = _xlsx_bytes()


@settings(SETTINGS, max_examples=15)
@given(cut=st.integers(min_value=1, max_value=len(XLSX) - 1), flips=st.lists(st.integers(0, len(XLSX) - 1), max_size=5))
def test_truncated_or_damaged_xlsx_loads_or_refuses_cleanly(base_store, cut, flips):
    damaged = bytearray(XLSX)
    for i in flips:
        damaged[i] ^= 0xFF
    _check_import(base_store, "accounts.xlsx", bytes(damaged[:cut]))
    _check_import(base_store, "accounts.xlsx", bytes(damaged))


# -- kill -9 at random points ------------------------------------------------------------------
def _spawn_import(folder: Path, store: Path, timeout: float = 120) -> subprocess.Popen:
    """Start an import in a child process; return once it holds the store (its own work
    folder appeared beside the store) or has ended."""
    work = Path(str(store) + ".kamtmp")
    left = set(work.iterdir()) if work.exists() else set()
    code = (
        "from kamlib.data import import_files; "
        f"import_files([{str(folder)!r}], store={str(store)!r}, now={NOW!r}, allow_shrink=True)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    waited = time.monotonic()
    while proc.poll() is None and time.monotonic() - waited < timeout:
        if work.exists() and set(work.iterdir()) - left:
            break
        time.sleep(0.005)
    return proc


def test_kill_9_at_random_points_leaves_the_earlier_snapshot_intact(tmp_path, base_store):
    big = tmp_path / "big"
    _base_files(big, orders=80_000)
    store = tmp_path / "s.duckdb"
    shutil.copy(base_store, store)
    batch_before = load(store).snapshot.batch_id
    before = _table_hash(store)
    # one undisturbed run on a copy gives the import's duration and the state after it
    done = tmp_path / "done.duckdb"
    shutil.copy(base_store, done)
    proc = _spawn_import(big, done)
    started = time.monotonic()
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
    duration = time.monotonic() - started
    after = _table_hash(done)
    assert after != before
    rng = random.Random(17)
    killed = 0
    for _ in range(5):
        proc = _spawn_import(big, store)
        time.sleep(rng.uniform(0, duration * 0.9))
        proc.send_signal(signal.SIGKILL)
        killed += proc.wait(timeout=60) == -signal.SIGKILL
        state = _table_hash(store)  # the store opens
        assert state in (before, after)
        assert _table_hash(store, snapshot=batch_before) == before
        if state == after:  # the kill came after the commit: start again from the old store
            shutil.copy(base_store, store)
            Path(str(store) + ".wal").unlink(missing_ok=True)
    assert killed >= 3, "most kills should land inside the import"
    # the next import cleans what the killed ones left and loads
    report = import_files([big], store=store, now=NOW, allow_shrink=True)
    assert report.reconciles and not Path(str(store) + ".kamtmp").exists()
    assert _table_hash(store) == after
