"""A fake 天眼查 open API on 127.0.0.1, for the tests and the benchmark of the API provider.

It answers ``/ic/baseinfo/normal?keyword=`` (by id, USCC or exact name) and
``/search/2.0?word=`` (by the normalised name or a former name, as a search engine forgives
brackets, legal forms and a region) the way the public docs describe the API: the envelope
``{"error_code", "reason", "result"}``, 300000 for no result, 300002 for a wrong token.
That reading of the docs is unconfirmed against the live service.  The search leans on
kamlib's own :func:`~kamlib.enrich.names.normalise_name`, so a recall measured through it
says how well lookup + matching work when the search finds the company, not how well the
real search does.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd

from kamlib.enrich.matching import split_names
from kamlib.enrich.names import normalise_name, normalise_region
from kamlib.enrich.parsing import nfkc, parse_date
from kamlib.enrich.tianyancha import PROVINCE_CODES

TOKEN = "test-token-not-a-secret"


class FakeTianyancha:
    """Company-info and search endpoints over ``companies`` (API-shaped dicts with ``id``).

    ``script``: responses (status, headers, body) served first, whatever is asked;
    ``refuse_with``: an error_code for a wrong token (300002, as the docs describe).
    """

    def __init__(self, companies: list[dict]) -> None:
        self.companies = companies
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        self.script: list[tuple[int, dict[str, str], object]] = []
        self.token = TOKEN
        self.by_key: dict[str, list[dict]] = {}
        for c in companies:
            names = [c.get("name"), *split_names(c.get("historyNames"))]
            for key in {normalise_name(n) for n in names if n}:
                self.by_key.setdefault(key, []).append(c)

    def answer(self, path: str, params: dict[str, str], auth: str | None):
        self.requests.append((path, params, auth))
        if self.script:
            return self.script.pop(0)
        if auth != self.token:
            return 200, {}, {"error_code": 300002, "reason": "账号失效", "result": None}
        if path.endswith("/ic/baseinfo/normal"):
            word = params.get("keyword", "")
            hits = [
                c for c in self.companies if word in (str(c["id"]), c.get("creditCode"), c["name"])
            ]
            if hits:
                return 200, {}, {"error_code": 0, "reason": "ok", "result": hits[0]}
        elif path.endswith("/search/2.0"):
            key = normalise_name(params.get("word"))
            hits = self.by_key.get(key, [])
            if hits:
                items = [{"id": c["id"], "name": c["name"], "creditCode": c.get("creditCode"),
                          "base": c.get("base"), "regStatus": c.get("regStatus"),
                          "matchType": "公司名称匹配" if normalise_name(c["name"]) == key else "历史名称匹配"}
                         for c in hits]  # fmt: skip
                result = {"total": len(items), "items": items[:20]}
                return 200, {}, {"error_code": 0, "reason": "ok", "result": result}
        else:
            return 404, {}, {"error": "no such path"}
        return 200, {}, {"error_code": 300000, "reason": "经查无结果", "result": None}


def start_fake(companies: list[dict]) -> tuple[FakeTianyancha, str, ThreadingHTTPServer]:
    """Serve ``companies`` on 127.0.0.1 (a free port) in a daemon thread: (fake, base URL,
    server — call ``shutdown()`` and ``server_close()`` when done)."""
    fake = FakeTianyancha(companies)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(url.query))
            status, headers, body = fake.answer(url.path, params, self.headers.get("Authorization"))
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, f"http://127.0.0.1:{server.server_port}/services/open", server


_CODE_OF = {v: k for k, v in PROVINCE_CODES.items()}


def _ms(value) -> int | None:
    day = parse_date(value)
    if day is None:
        return None
    return int(pd.Timestamp(day).tz_localize("Asia/Shanghai").timestamp() * 1000)


def demo_companies(export: pd.DataFrame) -> list[dict]:
    """The demo's 天眼查-style export as API answers (``id`` = 1000 + the export row)."""
    out = []
    for i, row in enumerate(export.to_dict(orient="records")):
        province = normalise_region(row["所属省份"])
        out.append({
            "id": 1000 + i, "name": nfkc(row["企业名称"]), "creditCode": nfkc(row["统一社会信用代码"]),
            "regStatus": row["登记状态"], "legalPersonName": row["法定代表人"],
            "regCapital": row["注册资本"], "actualCapital": row["实缴资本"],
            "estiblishTime": _ms(row["成立日期"]), "base": _CODE_OF.get(province, province),
            "city": nfkc(row["所属城市"]), "district": nfkc(row["所属区县"]),
            "companyOrgType": row["企业类型"], "industry": nfkc(row["所属行业"]),
            "socialStaffNum": nfkc(row["参保人数"]), "staffNumRange": nfkc(row["人员规模"]),
            "historyNames": nfkc(row["曾用名"]), "property3": nfkc(row["英文名称"]),
            "regLocation": nfkc(row["企业地址"]),
        })  # fmt: skip
    return out
