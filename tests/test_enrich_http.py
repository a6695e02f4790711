"""The HTTP registry provider and 天眼查's API, against a fake server on 127.0.0.1 only.

No test here touches the network: ``no_network`` (autouse) refuses every connection and
name lookup that is not 127.0.0.1 and fails the test that tried.  Waits (rate limit,
backoff, Retry-After) go to a fake clock whose ``sleep`` records them; no test sleeps or
reads the wall clock.  The fake server answers the way the public docs describe the API
(envelope ``error_code`` / ``reason`` / ``result``; search in ``result.items``); that
reading is itself unconfirmed against the live service.
"""

from __future__ import annotations

import json
import socket
import urllib.parse
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner
from fake_tianyancha import TOKEN, demo_companies, start_fake

from kamlib.cli import main
from kamlib.data import load
from kamlib.data.response_cache import ResponseCache
from kamlib.enrich import Lookup, RateLimit, TianyanchaProvider, enrich_store
from kamlib.enrich.matching import split_names
from kamlib.errors import ConfigError, ProviderError

CODE = "91350100M000100Y43"
LOCAL = {"127.0.0.1", "localhost"}


# -- the guard ------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any connection or name lookup not for 127.0.0.1 fails the test (and is refused)."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    blocked: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def allowed(address) -> bool:
        return isinstance(address, tuple) and str(address[0]) in LOCAL

    def connect(self, address):
        if not allowed(address):
            blocked.append(f"connect {address!r}")
            raise ConnectionRefusedError(f"test network guard: {address!r} is not 127.0.0.1")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not allowed(address):
            blocked.append(f"connect_ex {address!r}")
            raise ConnectionRefusedError(f"test network guard: {address!r} is not 127.0.0.1")
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if str(host) not in LOCAL:
            blocked.append(f"getaddrinfo {host!r}")
            raise socket.gaierror(f"test network guard: {host!r} is not 127.0.0.1")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield blocked
    assert not blocked, f"a test tried to leave 127.0.0.1: {blocked}"


@pytest.fixture()
def serve():
    """``serve(companies)`` → (fake, base URL) on 127.0.0.1; stopped after the test."""
    servers = []

    def start(companies: list[dict]):
        fake, url, server = start_fake(companies)
        servers.append(server)
        return fake, url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class FakeClock:
    """A monotonic clock that only moves when something sleeps; the sleeps are recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def _company(i: int = 1, **fields) -> dict:
    base = {
        "id": 1000 + i, "name": "华兴机械(苏州)有限公司", "creditCode": CODE, "regStatus": "存续",
        "regCapital": "77800.32万人民币", "actualCapital": "5000万人民币", "staffNumRange": "5000-9999人",
        "socialStaffNum": 1234, "historyNames": "苏州华兴精工有限公司;华兴精工(苏州)有限公司",
        "base": "js", "city": "苏州市", "district": "工业园区", "estiblishTime": 989_424_000_000,
        "companyOrgType": "有限责任公司", "industry": "通用设备制造业", "legalPersonName": "张三",
        "regLocation": "苏州市工业园区星湖街1号", "property3": "Huaxing Machinery (Suzhou) Co., Ltd.",
        "bondNum": None,
    }  # fmt: skip
    return {**base, **fields}


def _provider(url: str, lookups, tmp_path: Path, clock: FakeClock | None = None, **options):
    clock = clock or FakeClock()
    options.setdefault("cache", ResponseCache(tmp_path / "cache"))
    return TianyanchaProvider(
        lookups, retrieved_at="2026-10-01 09:00", api_url=url, rate=options.pop("rate", 1000.0),
        environ={"KAMLIB_TIANYANCHA_TOKEN": TOKEN}, clock=clock, sleep=clock.sleep, **options,
    )  # fmt: skip


# -- the provider -----------------------------------------------------------------------
def test_success_by_code_maps_the_documented_fields(serve, tmp_path):
    fake, url = serve([_company()])
    data = _provider(url, [Lookup("华兴机械", CODE)], tmp_path).fetch()
    assert len(data.records) == 1 and data.events.empty
    rec = data.records.iloc[0]
    assert rec["source"] == "tianyancha-api" and rec["id_scheme"] == "uscc"
    assert rec["retrieved_at"] == pd.Timestamp("2026-10-01 09:00")
    assert rec["company_id"] == CODE and rec["legal_name"] == "华兴机械(苏州)有限公司"
    assert rec["reg_capital"] == 778003200.0 and rec["reg_capital_currency"] == "CNY"
    assert rec["paid_in_capital"] == 5e7 and rec["headcount_band"] == "5000-9999人"
    assert rec["insured_headcount"] == 1234
    # 989424000000 ms = 2001-05-09 16:00 UTC = 2001-05-10 in China
    assert rec["established"] == pd.Timestamp("2001-05-10")
    assert rec["province"] == "江苏" and rec["city"] == "苏州市" and rec["district"] == "工业园区"
    assert split_names(rec["former_names"]) == ["苏州华兴精工有限公司", "华兴精工(苏州)有限公司"]
    assert rec["english_name"].startswith("Huaxing") and pd.isna(rec["listed"])
    assert rec["_id"] == "1001"
    # asked once, by code, with the key in the Authorization header
    assert [(p.rsplit("/", 2)[-2:], q, a) for p, q, a in fake.requests] == [
        (["baseinfo", "normal"], {"keyword": CODE}, TOKEN)
    ]


def test_by_name_search_then_company_info_and_namesakes_both_returned(serve, tmp_path):
    twin = _company(2, name="华兴机械(武汉)有限公司", creditCode="91420100MA4KXXXX1X",
                    base="hub", city="武汉市", historyNames=None)  # fmt: skip
    fake, url = serve([_company(), twin, _company(3, name="明达电子有限公司", creditCode=None)])
    data = _provider(url, [Lookup("华兴机械（苏州）有限公司")], tmp_path).fetch()
    assert sorted(data.records["legal_name"]) == [
        "华兴机械(武汉)有限公司",
        "华兴机械(苏州)有限公司",
    ]
    assert [p.rsplit("/", 1)[-1] for p, _, _ in fake.requests] == ["2.0", "normal", "normal"]
    assert data.records.set_index("_id").loc["1002", "province"] == "湖北"


def test_a_renamed_company_is_found_by_its_former_name(serve, tmp_path):
    renamed = _company(
        4, name="长隆智造(洛阳)有限公司", creditCode=None, historyNames="安丰(洛阳)汽车部件有限公司"
    )
    namesake = _company(5, name="大连安丰汽车部件股份有限公司", creditCode=None, historyNames=None)
    fake, url = serve([renamed, namesake])
    data = _provider(url, [Lookup("安丰（洛阳）汽车部件有限公司")], tmp_path).fetch()
    # both: the namesake by name, the renamed company because the search matched a former name
    assert sorted(data.records["_id"]) == ["1004", "1005"]
    assert fake.requests[0][1]["word"] == "安丰（洛阳）汽车部件有限公司"


def test_no_result_is_no_record_and_a_code_without_result_falls_back_to_the_name(serve, tmp_path):
    fake, url = serve([_company(creditCode=None)])
    provider = _provider(
        url, [Lookup("无此公司"), Lookup("华兴机械(苏州)有限公司", CODE)], tmp_path
    )
    data = provider.fetch()
    assert data.records["legal_name"].tolist() == ["华兴机械(苏州)有限公司"]
    assert [q for _, q, _ in fake.requests][:2] == [
        {"word": "无此公司", "pageSize": "20", "pageNum": "1"},
        {"keyword": CODE},
    ]


def test_429_with_retry_after_is_waited_for_then_succeeds(serve, tmp_path):
    fake, url = serve([_company()])
    fake.script = [(429, {"Retry-After": "7"}, {"error": "slow down"})]
    clock = FakeClock()
    data = _provider(url, [Lookup(None, CODE)], tmp_path, clock).fetch()
    assert len(data.records) == 1 and len(fake.requests) == 2
    assert clock.sleeps == [7.0]  # the server's Retry-After, not the backoff


def test_too_fast_error_code_is_retried_with_backoff(serve, tmp_path):
    fake, url = serve([_company()])
    fake.script = [(200, {}, {"error_code": 300004, "reason": "访问频率过快", "result": None})]
    clock = FakeClock()
    data = _provider(url, [Lookup(None, CODE)], tmp_path, clock, backoff=1.5).fetch()
    assert len(data.records) == 1 and clock.sleeps == [1.5]


def test_500s_exhaust_the_retries_with_exponential_backoff(serve, tmp_path):
    fake, url = serve([_company()])
    fake.script = [(500, {}, {"error": "boom"})] * 4
    clock = FakeClock()
    provider = _provider(url, [Lookup(None, CODE)], tmp_path, clock, retries=3, backoff=1.0)
    with pytest.raises(ProviderError, match=r"did not answer after 4 attempts \(HTTP 500\)"):
        provider.fetch()
    assert clock.sleeps == [1.0, 2.0, 4.0] and len(fake.requests) == 4
    assert not list((tmp_path / "cache").rglob("*.json"))  # an error is never cached


def test_a_long_retry_after_stops_the_run_instead_of_waiting(serve, tmp_path):
    fake, url = serve([_company()])
    fake.script = [(503, {"Retry-After": "3600"}, {})]
    clock = FakeClock()
    with pytest.raises(ProviderError, match="asks to wait 3600 s"):
        _provider(url, [Lookup(None, CODE)], tmp_path, clock).fetch()
    assert clock.sleeps == []


def test_bad_token_and_no_quota_stop_with_the_fix(serve, tmp_path):
    fake, url = serve([_company()])
    fake.token = "another-token"
    with pytest.raises(ProviderError, match="300002.*KAMLIB_TIANYANCHA_TOKEN"):
        _provider(url, [Lookup(None, CODE)], tmp_path).fetch()
    fake.script = [(200, {}, {"error_code": 300007, "reason": "剩余次数不足", "result": None})]
    with pytest.raises(ProviderError, match="no calls are left"):
        _provider(url, [Lookup(None, CODE)], tmp_path).fetch()
    fake.script = [(401, {}, {})]
    with pytest.raises(ProviderError, match="refused the key"):
        _provider(url, [Lookup(None, CODE)], tmp_path).fetch()
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_a_missing_key_names_the_variable_before_any_request(serve, tmp_path):
    fake, url = serve([_company()])
    provider = TianyanchaProvider([Lookup(None, CODE)], retrieved_at="2026-10-01", api_url=url,
                                  cache=False, environ={})  # fmt: skip
    with pytest.raises(ProviderError, match="KAMLIB_TIANYANCHA_TOKEN is not set.*export"):
        provider.fetch()
    assert fake.requests == []


def test_a_cache_hit_asks_nothing_and_keeps_the_first_retrieval_time(serve, tmp_path):
    fake, url = serve([_company()])
    lookups = [Lookup("华兴机械(苏州)有限公司"), Lookup("无此公司")]
    first = _provider(url, lookups, tmp_path).fetch()
    asked = len(fake.requests)
    assert asked == 3  # search, company info, search without result
    later = TianyanchaProvider(
        lookups, retrieved_at="2026-11-01", api_url=url, cache=ResponseCache(tmp_path / "cache"),
        environ={"KAMLIB_TIANYANCHA_TOKEN": TOKEN},
    )  # fmt: skip
    second = later.fetch()
    assert len(fake.requests) == asked and later.cache_hits == 3  # "no result" is cached too
    cols = ["legal_name", "company_id", "reg_capital", "retrieved_at"]
    pd.testing.assert_frame_equal(first.records[cols], second.records[cols])
    cached = list((tmp_path / "cache").rglob("*.json"))
    assert cached and all(TOKEN not in p.read_text("utf-8") for p in cached)


def test_an_entry_older_than_the_ttl_is_asked_again(serve, tmp_path):
    fake, url = serve([_company()])
    wall = {"now": 1_750_000_000.0}
    cache = ResponseCache(tmp_path / "cache", ttl_days=2, now=lambda: wall["now"])
    _provider(url, [Lookup(None, CODE)], tmp_path, cache=cache).fetch()
    wall["now"] += 86_400 * 1.5
    _provider(url, [Lookup(None, CODE)], tmp_path, cache=cache).fetch()
    assert len(fake.requests) == 1  # still fresh
    wall["now"] += 86_400 * 1.0
    fresh = _provider(url, [Lookup(None, CODE)], tmp_path, cache=cache).fetch()
    assert len(fake.requests) == 2  # expired: asked again, and the entry replaced
    assert fresh.records["retrieved_at"].iloc[0] == pd.Timestamp("2026-10-01 09:00")
    assert cache.get("tianyancha-api", f"/ic/baseinfo/normal?keyword={CODE}") is not None
    with pytest.raises(ConfigError, match="ttl_days"):
        ResponseCache(tmp_path, ttl_days=-1)


def test_the_rate_limit_spaces_requests_on_the_fake_clock(serve, tmp_path):
    codes = ["91350100M000100Y43", "91110108551385082Q", "913100007109368140"]
    fake, url = serve([_company(i, creditCode=c, name=f"公司{i}") for i, c in enumerate(codes)])
    clock = FakeClock()
    provider = _provider(url, [Lookup(None, c) for c in codes], tmp_path, clock, rate=2.0)
    assert len(provider.fetch().records) == 3
    assert clock.sleeps == [0.5, 0.5]  # 2 per second: the first at once, then every 0.5 s
    bucket = RateLimit(4.0, burst=2, clock=clock, sleep=clock.sleep)
    clock.sleeps.clear()
    for _ in range(4):
        bucket.acquire()
    assert clock.sleeps == [0.25, 0.25]
    clock.now += 10  # idle: the bucket refills to its burst, not beyond
    bucket.acquire(), bucket.acquire(), bucket.acquire()
    assert clock.sleeps == [0.25, 0.25, 0.25]
    with pytest.raises(ConfigError, match="'rate'"):
        RateLimit(0)


def test_the_guard_refuses_the_real_api(tmp_path, no_network):
    provider = TianyanchaProvider(
        [Lookup(None, CODE)], retrieved_at="2026-10-01", cache=False, retries=0,
        environ={"KAMLIB_TIANYANCHA_TOKEN": TOKEN},
    )  # fmt: skip
    with pytest.raises(ProviderError, match="open.api.tianyancha.com did not answer"):
        provider.fetch()
    assert no_network and "open.api.tianyancha.com" in no_network[0]
    no_network.clear()  # refused as it should be: not a failure of this test


# -- the demo company through the fake API ----------------------------------------------
@pytest.fixture()
def store(store_copy) -> Path:
    """The small demo store without registry data, a copy this test may change."""
    return store_copy


def _batches(store: Path) -> tuple[int, list]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM import_batches").fetchone()[0], [
            t[0] for t in con.execute("SHOW TABLES").fetchall()
        ]
    finally:
        con.close()


def measure(report, truth: pd.DataFrame) -> dict[str, float]:
    """Precision and recall of the matched API records against the demo's truth."""
    truth = truth.set_index("record")
    matched = report.match.matched
    got = pd.Series(matched["account_id"].to_numpy(), index=matched["_id"].astype(int) - 1000)
    precision = float((got == truth.loc[got.index, "account_id"]).mean())
    matchable = truth[
        truth["account_id"].notna() & ~truth["invalid_uscc"] & ~truth["ambiguous_pair"]
    ]
    recall = float((got.reindex(matchable.index) == matchable["account_id"]).mean())
    return {"precision": precision, "recall": recall, "matched": len(got),
            "matchable": len(matchable)}  # fmt: skip


def test_demo_registry_through_the_fake_api_precision_and_recall(serve, store, small_company,
                                                                  tmp_path):  # fmt: skip
    fake, url = serve(demo_companies(small_company.registry["companies"]))
    accounts = load(store).accounts
    clock = FakeClock()
    provider = TianyanchaProvider.for_accounts(
        accounts, retrieved_at="2026-10-01", api_url=url, cache=ResponseCache(tmp_path / "c"),
        rate=5.0, environ={"KAMLIB_TIANYANCHA_TOKEN": TOKEN}, clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    records = provider.fetch().records  # asks the fake API; enrich_store reads the cache
    report = enrich_store(store, provider, now=small_company.end_date + pd.Timedelta(days=1))
    assert len(fake.requests) == provider.requests_made and provider.cache_hits > 0
    c = report.summary()
    assert c["read"] == len(records)
    assert c["read"] == c["matched"] + c["ambiguous"] + c["unmatched"] + c["quarantined"]
    scores = measure(report, small_company.truth["registry"])
    print(f"\ndemo through the fake API: {scores} counts={c} requests={provider.requests_made}")
    assert scores["precision"] >= 0.99, scores
    assert scores["recall"] >= 0.95, scores
    truth = small_company.truth["registry"].set_index("record")
    demo_row = records["_id"].astype(int) - 1000  # record position → export row
    retrieved = set(demo_row)
    quarantined = set(demo_row[report.match.quarantine["record"]])
    assert quarantined == set(truth.index[truth["invalid_uscc"]]) & retrieved
    pairs = set(truth.index[truth["ambiguous_pair"]])
    assert pairs and pairs <= retrieved
    assert pairs <= set(demo_row[report.match.review["record"]])  # both namesakes reviewed
    assert clock.sleeps and all(s == pytest.approx(0.2) for s in clock.sleeps)
    firms = load(store).firmographics
    assert len(firms) == c["matched"] and set(firms["source"]) == {"tianyancha-api"}


# -- the command ----------------------------------------------------------------------
def _kam(*args, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def test_cli_end_to_end_against_the_fake_api(serve, store, small_company, tmp_path, monkeypatch):
    fake, url = serve(demo_companies(small_company.registry["companies"]))
    monkeypatch.setenv("KAMLIB_TIANYANCHA_TOKEN", TOKEN)
    args = ["enrich", "--provider", "tianyancha-api", "--api-url", url, "--cache",
            tmp_path / "cache", "--rate", "1000", "--store", store]  # fmt: skip
    result = _kam(*args, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    c = out["counts"]
    assert c["read"] == c["matched"] + c["ambiguous"] + c["unmatched"] + c["quarantined"]
    assert c["matched"] > 100 and c["ambiguous"] > 0 and out["status"] == "loaded"
    assert out["files"] == [urllib.parse.urlsplit(url).netloc]
    assert all(auth == TOKEN for _, _, auth in fake.requests)
    firms = load(store).firmographics
    assert len(firms) == c["matched"] and set(firms["source"]) == {"tianyancha-api"}
    assert firms["reg_capital"].notna().mean() > 0.9
    # a second run is answered from the cache: no request at all
    asked = len(fake.requests)
    again = _kam(*args)
    assert again.exit_code == 0, again.output
    assert len(fake.requests) == asked and "answers from the cache" in again.output
    assert "read =" in again.output


def test_cli_without_a_key_exits_2_in_one_line_and_writes_nothing(serve, store, monkeypatch):
    fake, url = serve([_company()])
    monkeypatch.delenv("KAMLIB_TIANYANCHA_TOKEN", raising=False)
    before = _batches(store)
    result = _kam("enrich", "--provider", "tianyancha-api", "--api-url", url, "--store", store)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert (
        len(lines) == 1
        and "KAMLIB_TIANYANCHA_TOKEN" in lines[0]
        and "nothing was written" in lines[0]
    )
    assert _batches(store) == before and "enrich_review" not in before[1]
    assert fake.requests == []


def test_cli_unreachable_api_and_misuse_exit_2(store, tmp_path, monkeypatch):
    monkeypatch.setenv("KAMLIB_TIANYANCHA_TOKEN", TOKEN)
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    before = _batches(store)
    down = _kam("enrich", "--provider", "tianyancha-api", "--api-url", f"http://127.0.0.1:{port}",
                "--cache", tmp_path / "c", "--retries", "0", "--store", store)  # fmt: skip
    assert down.exit_code == 2 and "did not answer" in down.output
    assert len(down.output.strip().splitlines()) == 1
    assert _batches(store) == before
    files = _kam("enrich", "x.csv", "--provider", "tianyancha-api", "--store", store)
    assert files.exit_code == 2 and "reads no files" in files.output
    bare = _kam("enrich", "--store", store)
    assert bare.exit_code == 2 and "--provider tianyancha-api" in bare.output
