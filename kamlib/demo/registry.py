"""The demo company's registry export: a 天眼查-style batch export of its customers.

What a user downloads from a registry subscription for the account list, with the noise
real exports have, and the truth of which record is which account (``truth["registry"]``):

- most domestic accounts have a record (foreign accounts are not in a Chinese registry);
  the legal name varies from the CRM's: brackets （）/() swapped, the region in brackets
  moved in front (上海华兴… for 华兴(上海)…), 有限公司 ↔ 股份有限公司 / 有限责任公司,
  full-width letters and digits;
- some companies were renamed: the record carries the new name and the CRM's name as
  曾用名, and a name-change event;
- USCCs: most records have a valid one, some none, a few an invalid one (a mistyped
  character — matching must quarantine these); about a third of the matched accounts carry
  their USCC in the accounts table too;
- twins: the same short name in another city (a company that is not our account, whose
  city tells it apart), and a few pairs where the export left the city out on both — an
  ambiguous pair that must go to review;
- companies that are not our accounts at all;
- events: enforcement, abnormal operation, capital reduction, penalties, name changes.

Drawn from a random stream of its own (``default_rng([seed, REGISTRY_STREAM])``), after
everything else, so every other table is the same with or without it; the accounts table
only gains values in its last columns (``uscc``, ``province``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.demo import vocabulary as voc

__all__ = ["REGISTRY_STREAM", "RegistryExport", "draw_registry", "make_uscc", "CITY_PROVINCE"]

#: Second seed of the registry stream: ``default_rng([seed, REGISTRY_STREAM])``.
REGISTRY_STREAM = 1402
_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CITY_PROVINCE = {
    "上海": "上海", "苏州": "江苏", "无锡": "江苏", "常州": "江苏", "南京": "江苏", "昆山": "江苏",
    "杭州": "浙江", "宁波": "浙江", "温州": "浙江", "嘉兴": "浙江", "合肥": "安徽", "青岛": "山东",
    "济南": "山东", "烟台": "山东", "厦门": "福建", "深圳": "广东", "广州": "广东", "东莞": "广东",
    "佛山": "广东", "中山": "广东", "珠海": "广东", "惠州": "广东", "南宁": "广西", "北京": "北京",
    "天津": "天津", "石家庄": "河北", "唐山": "河北", "保定": "河北", "太原": "山西", "武汉": "湖北",
    "襄阳": "湖北", "长沙": "湖南", "株洲": "湖南", "郑州": "河南", "洛阳": "河南", "南昌": "江西",
    "成都": "四川", "绵阳": "四川", "重庆": "重庆", "昆明": "云南", "贵阳": "贵州", "西安": "陕西",
    "宝鸡": "陕西", "兰州": "甘肃", "银川": "宁夏", "沈阳": "辽宁", "大连": "辽宁", "长春": "吉林",
    "吉林": "吉林", "哈尔滨": "黑龙江",
}  # fmt: skip
_PROVINCE_SUFFIX = {
    "上海": "市",
    "北京": "市",
    "天津": "市",
    "重庆": "市",
    "广西": "壮族自治区",
    "宁夏": "回族自治区",
}
_COMPANY_TYPES = [
    "有限责任公司(自然人投资或控股)", "有限责任公司(外商投资企业法人独资)", "股份有限公司(非上市)",
    "有限责任公司(国有独资)", "股份有限公司(上市)", "有限责任公司(台港澳与境内合资)",
]  # fmt: skip
_STATUS = ["存续", "在业", "存续（在营、开业、在册）"]
_HEADERS = [
    "企业名称", "统一社会信用代码", "登记状态", "法定代表人", "注册资本", "实缴资本", "成立日期",
    "所属省份", "所属城市", "所属区县", "企业类型", "所属行业", "参保人数", "人员规模", "曾用名",
    "英文名称", "企业地址",
]  # fmt: skip
_EVENT_HEADERS = ["企业名称", "统一社会信用代码", "变更日期", "变更事项", "变更前", "变更后"]


@dataclass(frozen=True)
class RegistryExport:
    """``companies`` (the export, 天眼查 headers), ``events`` (change and risk records),
    ``truth`` (``record`` → ``account_id`` or missing, and what noise the record carries)
    and ``accounts`` (the accounts table with ``uscc`` and ``province`` filled in)."""

    companies: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame
    accounts: pd.DataFrame


def make_uscc(body17: str) -> str:
    """A USCC from its first 17 characters and the GB 32100-2015 check character."""
    total = sum(_CHARSET.index(c) * w for c, w in zip(body17, _WEIGHTS, strict=True))
    check = 31 - total % 31
    return body17 + _CHARSET[0 if check == 31 else check]


def _new_uscc(rng: np.random.Generator, seen: set[str]) -> str:
    while True:
        digits = "".join(rng.choice(list("0123456789"), 6))
        org = "".join(rng.choice(list(_CHARSET), 9))
        code = make_uscc("91" + digits + org)
        if code not in seen:
            seen.add(code)
            return code


def _mistype(rng: np.random.Generator, code: str) -> str:
    pos = int(rng.integers(2, 17))
    other = [c for c in _CHARSET if c != code[pos]]
    return code[:pos] + str(rng.choice(other)) + code[pos + 1 :]


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _vary(rng: np.random.Generator, name: str, city: str) -> tuple[str, str]:
    """A legal name the registry might print for the CRM's ``name``, and which variation."""
    r = rng.random()
    if r < 0.45:
        return name, "same"
    if r < 0.60:
        swapped = (
            name.replace("(", "（").replace(")", "）")
            if "(" in name
            else name.replace("（", "(").replace("）", ")")
        )
        return swapped, "brackets"
    if r < 0.72 and (f"({city})" in name or f"（{city}）" in name):
        core = name.replace(f"({city})", "").replace(f"（{city}）", "")
        return city + core, "region_moved"
    if r < 0.85 and name.endswith("有限公司"):
        if name.endswith("股份有限公司"):
            return name[: -len("股份有限公司")] + "有限公司", "suffix"
        return name[: -len("有限公司")] + str(
            rng.choice(["股份有限公司", "有限责任公司"])
        ), "suffix"
    if r < 0.93:
        return _full_width(name), "full_width"
    return name.upper() if name.isascii() else name, "case"


def _band(employees: float) -> str | None:
    if not np.isfinite(employees):
        return None
    for low, high in ((0, 49), (50, 99), (100, 499), (500, 999), (1000, 4999), (5000, 9999)):
        if employees <= high:
            return f"{low}-{high}人" if low else "小于50人"
    return "10000人以上"


def _capital_text(amount: float, foreign: bool) -> str:
    if not np.isfinite(amount):
        return "-"
    if foreign:
        return f"{amount / 7.1 / 1e4:.2f}万美元"
    if amount >= 1e8 and amount % 1e7 == 0:
        return f"{amount / 1e8:g}亿元人民币"
    return f"{amount / 1e4:.2f}万人民币"


def _date_text(rng: np.random.Generator, day: pd.Timestamp) -> str:
    form = int(rng.integers(0, 3))
    if form == 0:
        return day.strftime("%Y-%m-%d")
    if form == 1:
        return f"{day.year}/{day.month}/{day.day}"
    return f"{day.year}年{day.month}月{day.day}日"


def draw_registry(seed: int, accounts: pd.DataFrame, end_date: pd.Timestamp) -> RegistryExport:
    """The registry export of the demo company's accounts (see the module docstring)."""
    rng = np.random.default_rng([seed, REGISTRY_STREAM])
    n = len(accounts)
    domestic = (accounts["country"] == "China").to_numpy() & accounts["city"].isin(
        list(CITY_PROVINCE)
    ).to_numpy()
    covered = domestic & (rng.random(n) < 0.9)
    seen: set[str] = set()
    codes = np.array([_new_uscc(rng, seen) for _ in range(n)], dtype=object)
    u = rng.random((6, n))
    rows, truth, events = [], [], []
    acc_uscc = np.full(n, None, dtype=object)
    twins_blank = set(
        rng.choice(
            np.flatnonzero(covered), size=max(2, int(covered.sum() * 0.01)), replace=False
        ).tolist()
    )
    cities = list(CITY_PROVINCE)

    def record(name, city, code, account, variation, *, former=None, english=None, emp=np.nan,
               capital=np.nan, foreign=False, industry=None, blank_city=False, invalid=False):  # fmt: skip
        prov = CITY_PROVINCE.get(city)
        est = end_date - pd.Timedelta(days=int(rng.integers(5 * 365, 30 * 365)))
        rows.append({
            "企业名称": name,
            "统一社会信用代码": code if code else "-",
            "登记状态": str(rng.choice(_STATUS)),
            "法定代表人": voc.SURNAMES[int(rng.integers(len(voc.SURNAMES)))][0] + voc.GIVEN_CHARS[int(rng.integers(len(voc.GIVEN_CHARS)))][0],
            "注册资本": _capital_text(capital, foreign),
            "实缴资本": "-" if rng.random() < 0.4 else _capital_text(capital * float(rng.uniform(0.3, 1.0)), foreign),
            "成立日期": _date_text(rng, est),
            "所属省份": None if blank_city or prov is None else prov + _PROVINCE_SUFFIX.get(prov, "省"),
            "所属城市": None if blank_city else city + "市",
            "所属区县": None,
            "企业类型": str(rng.choice(_COMPANY_TYPES)),
            "所属行业": industry,
            "参保人数": "-" if not np.isfinite(emp) else str(int(emp * rng.uniform(0.6, 1.0))),
            "人员规模": _band(emp),
            "曾用名": former,
            "英文名称": english,
            "企业地址": None if blank_city else f"{city}市{voc.BRAND_FIRST[int(rng.integers(len(voc.BRAND_FIRST)))][0]}{voc.BRAND_SECOND[int(rng.integers(len(voc.BRAND_SECOND)))][0]}路{int(rng.integers(1, 999))}号",
        })  # fmt: skip
        truth.append(
            {
                "record": len(rows) - 1,
                "account_id": account,
                "variation": variation,
                "invalid_uscc": invalid,
                "ambiguous_pair": blank_city,
            }
        )

    for i in np.flatnonzero(covered):
        a = accounts.iloc[i]
        name, city = str(a["name"]), str(a["city"])
        legal, variation = _vary(rng, name, city)
        former = None
        if u[0, i] < 0.04 and not name.isascii():  # renamed since the CRM learned the name
            brand = (
                voc.BRAND_FIRST[int(rng.integers(len(voc.BRAND_FIRST)))][0]
                + voc.BRAND_SECOND[int(rng.integers(len(voc.BRAND_SECOND)))][0]
            )
            legal, former, variation = f"{brand}智造({city})有限公司", name, "renamed"
        code, invalid = codes[i], False
        if u[1, i] < 0.08:
            code = None
        elif u[1, i] < 0.11:
            code, invalid = _mistype(rng, codes[i]), True
        if u[2, i] < 0.33 and not invalid:
            acc_uscc[i] = codes[i]
        blank = i in twins_blank and not name.isascii()
        if blank:  # the export names neither city: the pair must go to review
            acc_uscc[i] = None  # (the account's code would settle it)
            if invalid:
                code, invalid = codes[i], False
            legal = name.replace(f"({city})", "").replace(f"（{city}）", "")
            legal, former, variation = legal.removeprefix(city), None, "ambiguous_twin"
        emp = float(a["employees"]) if pd.notna(a["employees"]) else np.nan
        cap = float(a["registered_capital"]) if pd.notna(a["registered_capital"]) else np.nan
        foreign = a["ownership"] == "foreign"
        record(legal, city, code, a["account_id"], variation, former=former, english=name if name.isascii() else None,
               emp=emp, capital=cap, foreign=foreign, industry=voc.REGISTRY_INDUSTRY.get(a["industry"]), blank_city=blank, invalid=invalid)  # fmt: skip
        if former:
            events.append(
                (
                    legal,
                    code,
                    end_date - pd.Timedelta(days=int(rng.integers(30, 700))),
                    "名称变更",
                    former,
                    legal,
                )
            )
        for kind, p in (
            ("经营异常名录", 0.03),
            ("被执行人", 0.03),
            ("减资", 0.03),
            ("行政处罚", 0.04),
            ("失信被执行人", 0.01),
        ):
            if rng.random() < p:
                day = end_date - pd.Timedelta(days=int(rng.integers(10, 1000)))
                before = after = None
                if kind == "减资" and np.isfinite(cap):
                    before, after = _capital_text(cap * 1.5, foreign), _capital_text(cap, foreign)
                elif kind == "经营异常名录":
                    after = "列入经营异常名录：通过登记的住所或者经营场所无法联系"
                elif kind in ("被执行人", "失信被执行人"):
                    after = f"执行标的 {int(rng.integers(5, 900))} 万元"
                else:
                    after = f"罚款 {int(rng.integers(1, 50))} 万元"
                events.append((legal, code, day, kind, before, after))
        if (blank or u[3, i] < 0.03) and not name.isascii():  # a twin: same short name elsewhere
            other = str(rng.choice([c for c in cities if c != city]))
            twin = name.replace(f"({city})", f"({other})").replace(f"（{city}）", f"（{other}）")
            if twin == name:
                twin = other + name
            if blank:
                twin = legal  # the same name, registered in another city
            record(twin, other, _new_uscc(rng, seen), None, "twin", emp=emp / 3, capital=cap / 5,
                   industry=voc.REGISTRY_INDUSTRY.get(a["industry"]), blank_city=blank)  # fmt: skip
    # companies that are not our accounts (names kept clear of the accounts')
    taken = set(accounts["name"])
    for _ in range(max(5, int(covered.sum() * 0.06))):
        brand = (
            voc.BRAND_FIRST[int(rng.integers(len(voc.BRAND_FIRST)))][0]
            + voc.BRAND_SECOND[int(rng.integers(len(voc.BRAND_SECOND)))][0]
        )
        city = str(rng.choice(cities))
        name = f"{brand}{str(rng.choice(['精工', '电气', '重工', '物流', '包装', '化学']))}({city})有限公司"
        if name in taken:
            continue
        taken.add(name)
        record(name, city, _new_uscc(rng, seen), None, "other", emp=float(rng.integers(20, 3000)),
               capital=float(rng.integers(50, 50000)) * 1e4, industry=None)  # fmt: skip
    order = rng.permutation(len(rows))  # an export is sorted by nothing we know
    companies = pd.DataFrame([rows[k] for k in order], columns=_HEADERS)
    truth_frame = pd.DataFrame([truth[k] for k in order]).assign(record=np.arange(len(rows)))
    truth_frame["account_id"] = (
        truth_frame["account_id"].astype("str").where(truth_frame["account_id"].notna(), None)
    )
    ev = pd.DataFrame(
        [(n, c or "-", d.strftime("%Y-%m-%d"), k, b, a) for n, c, d, k, b, a in events],
        columns=_EVENT_HEADERS,
    )
    province = [
        CITY_PROVINCE.get(c) if d else None for c, d in zip(accounts["city"], domestic, strict=True)
    ]
    new_accounts = accounts.assign(
        uscc=pd.array(acc_uscc, dtype="str"),
        province=pd.array(province, dtype="str"),
    )
    return RegistryExport(companies, ev, truth_frame, new_accounts)
