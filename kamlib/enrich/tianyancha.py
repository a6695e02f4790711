"""天眼查 (Tianyancha) open API as a registry provider: company info by USCC or name.

For each account :class:`TianyanchaProvider` asks the company-info endpoint
(``/ic/baseinfo/normal?keyword=``) by the account's USCC when it has a valid one; without a
code, or when the code finds nothing, it searches by name (``/search/2.0?word=``) and asks
company info for the hits whose normalised name is the account's or that the search found by
a former name (``matchType``; a company renamed since the CRM learned its name) — else the
first hit, as the search ranks it — at most ``max_candidates`` (5) per account.  Every company found becomes
one record in the ``firmographics`` names (source ``tianyancha-api``), and matching decides
which account it belongs to — a search that finds two 华兴机械 in different cities gives both,
and the city or the review list settles it, as with a file export.  The API returns no
change or risk records here: ``events`` is empty (export those as files).

The key is read from ``KAMLIB_TIANYANCHA_TOKEN`` and sent in the ``Authorization`` header.
Tianyancha bills per call: the cache (default 30 days) means a re-run asks only for what it
lacks.

**What is from public documentation and not confirmed against the live API** (no key was
available while this was written; the tests use a local fake server built from the same
reading):

- the base URL ``https://open.api.tianyancha.com/services/open``, the paths
  ``/ic/baseinfo/normal`` (parameter ``keyword``: name, id, registration number or USCC)
  and ``/search/2.0`` (``word``, ``pageSize`` ≤ 20, ``pageNum``), the ``Authorization``
  header carrying the token;
- the envelope ``{"error_code": 0, "reason": "ok", "result": …}``; search results in
  ``result.items`` (``id``, ``name`` — possibly with ``<em>`` highlighting — ``creditCode``,
  ``matchType`` naming a hit by 历史名称 / 曾用名);
- the company fields read: ``name``, ``creditCode``, ``historyNames`` (";"-separated text,
  or a list), ``regStatus``, ``legalPersonName``, ``companyOrgType``, ``estiblishTime`` (ms
  since the epoch, read as a date in China time), ``regCapital`` ("77800.32万人民币") and
  ``regCapitalCurrency``, ``actualCapital`` and ``actualCapitalCurrency``, ``staffNumRange``
  ("5000-9999人"), ``socialStaffNum``, ``industry``, ``base`` (the province, a pinyin
  abbreviation such as ``js``; a Chinese name is used as given), ``city``, ``district``,
  ``regLocation``, ``property3`` (English name), ``bondNum`` (a stock code: listed), ``id``;
- the error codes: 300000 no result (the lookup is unmatched, and the answer cached);
  300004 too fast (asked again after a wait); 300002 / 300003 / 300009 the token invalid or
  expired, 300005 / 300011 no access to this API or from this IP, 300006 / 300007 no balance
  or calls left (each stops the run with the fix); any other non-zero code stops the run
  quoting the code and the API's ``reason``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from kamlib.enrich.http import HttpProvider, Lookup, lookups_from_accounts
from kamlib.enrich.names import normalise_name
from kamlib.enrich.parsing import nfkc, parse_capital, parse_date, parse_headcount, parse_int
from kamlib.enrich.uscc import clean_uscc
from kamlib.errors import ProviderError

__all__ = [
    "NO_RESULT",
    "PROVINCE_CODES",
    "TianyanchaProvider",
    "tianyancha_record",
]

SOURCE = "tianyancha-api"
#: error_code for "经查无结果" (no result) — public docs.
NO_RESULT = 300000
_TOO_FAST = 300004
#: error_code → what to do (public docs; unconfirmed).
_REFUSED = {
    300002: "the token is invalid (账号失效): check KAMLIB_TIANYANCHA_TOKEN",
    300003: "the token has expired (账号过期): renew the subscription or set a new token",
    300009: "the token is not recognised (账号信息有误): check KAMLIB_TIANYANCHA_TOKEN",
    300005: "the token has no access to this API (无权限访问此api): enable 企业基本信息 for it",
    300011: "this machine's IP may not use the API (此IP无权限): add it to the token's IP whitelist",
    300006: "the account is out of balance (余额不足): top it up, then run again (cached answers are kept)",
    300007: "no calls are left on the plan (剩余次数不足): buy more, then run again (cached answers are kept)",
}
#: ``base`` → province (pinyin abbreviations as Tianyancha prints them; unconfirmed).
PROVINCE_CODES = {
    "bj": "北京", "tj": "天津", "heb": "河北", "sx": "山西", "nmg": "内蒙古", "ln": "辽宁",
    "jl": "吉林", "hlj": "黑龙江", "sh": "上海", "js": "江苏", "zj": "浙江", "ah": "安徽",
    "fj": "福建", "jx": "江西", "sd": "山东", "hen": "河南", "hub": "湖北", "hun": "湖南",
    "gd": "广东", "gx": "广西", "han": "海南", "cq": "重庆", "sc": "四川", "gz": "贵州",
    "yn": "云南", "xz": "西藏", "snx": "陕西", "gs": "甘肃", "qh": "青海", "nx": "宁夏",
    "xj": "新疆", "hk": "香港", "mo": "澳门", "tw": "台湾",
}  # fmt: skip
_CHINA = {"china", "cn", "chn", "prc", "中国", "中华人民共和国", "mainland china"}


def _text(value: object) -> str | None:
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value if nfkc(v))
    text = nfkc(value)
    return None if text is None else re.sub(r"</?em>", "", text)


def _established(value: object):
    if isinstance(value, int | float) and not isinstance(value, bool):
        stamp = pd.to_datetime(value, unit="ms", utc=True).tz_convert("Asia/Shanghai")
        return stamp.date()
    text = nfkc(value)
    if text and re.fullmatch(r"-?\d{9,}", text):
        return _established(int(text))
    return parse_date(value)


def _capital(amount: object, currency: object) -> tuple[float | None, str | None]:
    default = parse_capital(f"1{nfkc(currency)}")[1] if nfkc(currency) else "CNY"
    return parse_capital(amount, default_currency=default or "CNY")


def tianyancha_record(result: dict, *, retrieved_at: pd.Timestamp) -> dict[str, object]:
    """One company-info ``result`` → a record in the ``firmographics`` names (field names
    from public docs, see the module docstring)."""
    get = result.get
    reg, reg_cur = _capital(get("regCapital"), get("regCapitalCurrency"))
    paid, paid_cur = _capital(get("actualCapital"), get("actualCapitalCurrency"))
    base = nfkc(get("base"))
    tyc_id = nfkc(get("id"))
    return {
        "_id": tyc_id,
        "source": SOURCE,
        "retrieved_at": retrieved_at,
        "id_scheme": "uscc",
        "company_id": clean_uscc(get("creditCode")),
        "legal_name": _text(get("name")),
        "former_names": _text(get("historyNames")),
        "english_name": _text(get("property3")),
        "reg_status": _text(get("regStatus")),
        "legal_representative": _text(get("legalPersonName")),
        "company_type": _text(get("companyOrgType")),
        "established": _established(get("estiblishTime")),
        "reg_capital": reg,
        "reg_capital_currency": reg_cur,
        "paid_in_capital": paid,
        "paid_in_capital_currency": paid_cur,
        "headcount_band": parse_headcount(get("staffNumRange")),
        "insured_headcount": parse_int(get("socialStaffNum")),
        "industry_code": None,
        "industry_scheme": None,
        "industry": _text(get("industry")),
        "listed": True if nfkc(get("bondNum")) else None,
        "parent_company_id": None,
        "province": PROVINCE_CODES.get(base.lower(), base) if base else None,
        "city": _text(get("city")),
        "district": _text(get("district")),
        "address": _text(get("regLocation")),
    }


class TianyanchaProvider(HttpProvider):
    """天眼查 company info for the store's accounts (see the module docstring).

    Parameters are :class:`~kamlib.enrich.http.HttpProvider`'s, plus ``max_candidates``:
    how many search hits per account are asked for company info (each is a billed call).

    Examples
    --------
    >>> provider = TianyanchaProvider.for_accounts(data.accounts, retrieved_at="2026-10-01")
    >>> report = enrich_store("data/company.duckdb", provider)
    """

    name = SOURCE
    token_variable = "KAMLIB_TIANYANCHA_TOKEN"
    default_url = "https://open.api.tianyancha.com/services/open"
    token_help = "the token of your Tianyancha open-platform account (open.tianyancha.com)"

    def __init__(self, lookups: Sequence[Lookup], *, max_candidates: int = 5, **options) -> None:
        super().__init__(lookups, **options)
        self.max_candidates = max(1, int(max_candidates))

    @classmethod
    def for_accounts(cls, accounts: pd.DataFrame, **options) -> TianyanchaProvider:
        """A provider looking up the accounts a Chinese registry can know: those whose
        ``country`` is China or not given."""
        if "country" in accounts:
            country = accounts["country"].map(lambda c: (nfkc(c) or "china").lower())
            accounts = accounts[country.isin(_CHINA)]
        return cls(lookups_from_accounts(accounts), **options)

    def should_retry(self, payload: object) -> str | None:
        """error_code 300004 (访问频率过快, too fast) is asked again after a wait."""
        if isinstance(payload, dict) and _code(payload) == _TOO_FAST:
            return f"error_code {_TOO_FAST}: {payload.get('reason') or 'too fast'}"
        return None

    def check_payload(self, payload: object) -> bool:
        """0 → data; 300000 → no result; a refusal → ProviderError with the fix."""
        if not isinstance(payload, dict) or "error_code" not in payload:
            raise ProviderError(
                f"{self.name}: the API at {self.host} answered JSON without error_code "
                f"({str(payload)[:80]}). Check --api-url (it should end in /services/open)."
            )
        code = _code(payload)
        if code == 0:
            return payload.get("result") is not None
        if code == NO_RESULT:
            return False
        reason = payload.get("reason") or ""
        fix = _REFUSED.get(code)
        if fix:
            raise ProviderError(f"{self.name}: error_code {code} — {fix}. ({reason})")
        raise ProviderError(
            f"{self.name}: the API answered error_code {code} ({reason}). See the error-code "
            "table of the Tianyancha open platform; nothing was written."
        )

    def records_for(self, lookup: Lookup) -> list[dict[str, object]]:
        """By USCC first; else (or when the code finds nothing) by name through search."""
        if lookup.code:
            found = self.get_json("/ic/baseinfo/normal", {"keyword": lookup.code})
            if found is not None:
                return [tianyancha_record(found.payload["result"], retrieved_at=found.retrieved_at)]
        if not lookup.name:
            return []
        hits = self.get_json("/search/2.0", {"word": lookup.name, "pageSize": 20, "pageNum": 1})
        if hits is None:
            return []
        items = [i for i in (hits.payload["result"].get("items") or []) if isinstance(i, dict)]
        key = normalise_name(lookup.name)
        wanted = [
            i
            for i in items
            if normalise_name(_text(i.get("name"))) == key or _by_former_name(i.get("matchType"))
        ]
        records = []
        for item in (wanted or items[:1])[: self.max_candidates]:
            keyword = (
                nfkc(item.get("id"))
                or clean_uscc(item.get("creditCode"))
                or _text(item.get("name"))
            )
            if not keyword:
                continue
            found = self.get_json("/ic/baseinfo/normal", {"keyword": keyword})
            if found is not None:
                records.append(
                    tianyancha_record(found.payload["result"], retrieved_at=found.retrieved_at)
                )
        return records


def _by_former_name(match_type: object) -> bool:
    """A search hit found by a former name (``matchType`` 历史名称匹配 / 曾用名; unconfirmed)."""
    text = nfkc(match_type) or ""
    return "曾用名" in text or "历史名称" in text


def _code(payload: dict) -> int | None:
    try:
        return int(payload.get("error_code"))
    except (TypeError, ValueError):
        return None
