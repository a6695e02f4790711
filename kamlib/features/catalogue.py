"""What each feature is: name, kind, unit, direction, descriptions, its source table, and why a
value is missing.

Each feature's source table (the canonical table it is computed from) is kept once, here, in
the catalogue: ``feature_catalogue()["source_table"]``, :func:`feature_source_tables` and
:data:`FEATURE_SOURCE_TABLES`; the missing-value rules (``missing_when`` and
:func:`missing_reasons`) start from it.

Missing values
--------------
A feature is ``NaN`` (``NaT`` for dates) when it cannot be known, never silently 0:
an account with no order line on or before the date has every order feature missing;
no ``service_tickets`` table at all leaves every service feature missing; a rate with an
empty denominator is missing.  Counts are 0 when their table exists and nothing happened.
``feature_catalogue()["missing_when"]`` states the rule per feature and
:func:`missing_reasons` lists the reason per account.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamlib.errors import DataValidationError
from kamlib.features.windows import DEFAULT_WINDOWS, FeatureWindows

#: Canonical tables the features read (``accounts`` and ``orders`` are required).
SOURCE_TABLES = (
    "accounts", "products", "orders", "opportunities", "stage_history", "contacts",
    "activities", "service_tickets", "firmographics",
)  # fmt: skip

STATIC_TEXT = ("industry", "region", "ownership")
STATIC_NUMBERS = ("employees", "annual_revenue", "registered_capital", "strategic_fit")
DATE_FEATURES = ("first_order_date", "last_order_date")

#: The key ``missing_reasons`` reads from ``DataFrame.attrs``.
ATTRS_KEY = "kamlib.features"


# -- the catalogue -------------------------------------------------------------------------------
#: Why a feature is missing when its source table tells nothing (the whole rule of most features).
_TABLE_MISSING = {
    "accounts": "not recorded in accounts",
    "orders": "no order line on or before the as-of date",
    **{
        t: f"no {t} table"
        for t in ("opportunities", "service_tickets", "contacts", "activities", "firmographics")
    },
}
#: The same, as the first clause of a longer rule ("no order line, or …").
_TABLE_MISSING_SHORT = {**_TABLE_MISSING, "orders": "no order line"}
#: The first clause of every registry feature's rule (with a firmographics table).
_NO_REGISTRY = "no registry record matched to the account"
#: The rule of the features that count purchases only (positive order lines).
_NO_PURCHASE = "no purchase (positive order line) on or before the as-of date"

# name, kind, unit, higher_is_better, English, Chinese, source table, missing when: None for
# the source table's rule alone (_TABLE_MISSING), else what else makes it missing (appended
# as ", or …"), or _NO_PURCHASE
_CATALOGUE: tuple[tuple[str, str, str | None, bool | None, str, str, str, str | None], ...] = (
    ("industry", "static", None, None,
     "Industry of the account.",
     "所属行业", "accounts", None),
    ("region", "static", None, None,
     "Sales region of the account.",
     "所属区域", "accounts", None),
    ("employees", "static", "people", True,
     "Number of employees.",
     "员工人数", "accounts", None),
    ("annual_revenue", "static", "currency", True,
     "The customer's own annual revenue (company size, not our sales).",
     "客户年营业额（企业规模）", "accounts", None),
    ("registered_capital", "static", "currency", True,
     "Registered capital.",
     "注册资本", "accounts", None),
    ("strategic_fit", "static", "1-5", True,
     "Strategic fit with our offer, 1 (low) to 5 (high).",
     "战略匹配度（1–5）", "accounts", None),
    ("ownership", "static", None, None,
     "Ownership (state / private / foreign / jv / listed …).",
     "企业性质", "accounts", None),
    ("category_spend", "static", "currency", True,
     "Estimated yearly spend of the customer on our product category (the wallet).",
     "客户品类年采购总额（钱包）", "accounts", None),
    ("registry_capital", "static", "currency", True,
     "Registered capital in CNY from the company registry (a capital in another currency is missing: no exchange rates are assumed).",
     "工商登记注册资本（人民币；外币注册资本视为缺失）", "firmographics", _NO_REGISTRY + ", or its capital is not in CNY"),
    ("insured_headcount", "static", "people", True,
     "Insured headcount from the company registry; without one, the lower bound of its headcount band.",
     "参保人数（缺失时取人员规模区间下限）", "firmographics", _NO_REGISTRY + ", or it gives neither insured headcount nor a readable headcount band"),
    ("years_established", "static", "years", True,
     "Years from the company's established date to the as-of date.",
     "成立年限（成立日期至截止日的年数）", "firmographics", _NO_REGISTRY + ", or it has no established date on or before the as-of date"),
    ("listed", "static", "0/1", True,
     "1 when the company is listed, 0 when not: the registry's listing flag, else a company type of 股份有限公司(上市…) / (非上市…).",
     "是否上市（1/0）", "firmographics", _NO_REGISTRY + ", or neither a listing flag nor a company type that names the listing"),
    ("revenue_{s}", "dynamic", "currency", True,
     "Net revenue (returns deducted) in the last {sm} months.",
     "近{sm}个月净销售额", "orders", None),
    ("revenue_{l}", "dynamic", "currency", True,
     "Net revenue in the last {lm} months.",
     "近{lm}个月净销售额", "orders", None),
    ("revenue_prev_{s}", "dynamic", "currency", True,
     "Net revenue in the {sm} months before the last {sm} (months {sm1}–{sm2}).",
     "上一个{sm}个月周期（第{sm1}–{sm2}个月）的净销售额", "orders", None),
    ("growth_{s}", "dynamic", "share", True,
     "Revenue growth: revenue_{s} / revenue_prev_{s} − 1.",
     "销售额同比增长率", "orders", "or revenue_prev_{s} ≤ 0 (at cent precision)"),
    ("gross_margin_{s}", "dynamic", "share", True,
     "Gross margin 1 − cost / revenue over the last {sm} months' lines with a known cost.",
     "近{sm}个月毛利率（有成本的订单行）", "orders", "or no line with a known cost, or their revenue ≤ 0"),
    ("orders_{s}", "dynamic", "count", True,
     "Distinct orders with a purchase (positive line) in the last {sm} months.",
     "近{sm}个月订单数", "orders", None),
    ("order_days_{s}", "dynamic", "days", True,
     "Distinct days with a purchase in the last {sm} months (order frequency).",
     "近{sm}个月下单天数（购买频次）", "orders", None),
    ("recency_days", "dynamic", "days", False,
     "Days from the last purchase to the as-of date.",
     "距最近一次购买的天数", "orders", _NO_PURCHASE),
    ("tenure_days", "dynamic", "days", True,
     "Days from the first purchase to the as-of date (purchase duration).",
     "首次购买至今天数（购买持续期）", "orders", _NO_PURCHASE),
    ("active_quarter_share", "dynamic", "share", True,
     "Share of the last {q} quarters (3-month periods ending on the as-of date) with a purchase: steadiness of buying.",
     "近{q}个季度中有购买的季度占比（购买稳定性）", "orders", None),
    ("product_lines_{s}", "dynamic", "count", True,
     "Distinct product lines purchased in the last {sm} months (breadth).",
     "近{sm}个月购买的产品线数（广度）", "orders", None),
    ("share_of_wallet", "dynamic", "share", True,
     "revenue_{s} / category_spend: our share of the customer's category purchases.",
     "钱包份额（我方销售额 ÷ 客户品类采购总额）", "orders", "or category_spend unknown or 0"),
    ("open_pipeline", "dynamic", "currency", True,
     "Sum of the amounts of opportunities open at the as-of date.",
     "在途商机金额", "opportunities", None),
    ("open_opportunities", "dynamic", "count", True,
     "Opportunities open at the as-of date.",
     "在途商机数", "opportunities", None),
    ("win_rate_{l}", "dynamic", "share", True,
     "Won / (won + lost) of opportunities closed in the last {lm} months.",
     "近{lm}个月赢单率", "opportunities", "or none won or lost in the window"),
    ("sla_breach_rate_{s}", "dynamic", "share", False,
     "Share of tickets opened in the last {sm} months (with SLA hours) whose first response or resolution took longer than the SLA; still-open tickets past it count as breached.",
     "近{sm}个月服务工单超时率", "service_tickets", "or no ticket with SLA hours in the window"),
    ("escalations_{s}", "dynamic", "count", False,
     "Escalated tickets opened in the last {sm} months.",
     "近{sm}个月升级工单数", "service_tickets", "or no ticket in the window"),
    ("tickets_{s}", "dynamic", "count", None,
     "Service tickets opened in the last {sm} months.",
     "近{sm}个月服务工单数", "service_tickets", None),
    ("contacts_known", "dynamic", "count", True,
     "Contacts on record for the account.",
     "已建档联系人数", "contacts", None),
    ("decision_maker_support", "dynamic", "-2..2", True,
     "Influence-weighted mean support of the contacts (−2 opponent … +2 champion).",
     "按影响力加权的决策人平均支持度", "contacts", "or no contact with influence and support recorded"),
    ("economic_buyer_known", "dynamic", "0/1", True,
     "1 when a contact with the economic buying role is on record, else 0.",
     "是否已掌握经济决策人（1/0）", "contacts", None),
    ("days_since_last_activity", "dynamic", "days", False,
     "Days from the last activity (visit, call, meeting …) to the as-of date.",
     "距最近一次客户活动的天数", "activities", "or no activity on or before the date"),
    ("first_order_date", "dynamic", "date", None,
     "Date of the first purchase.",
     "首次购买日期", "orders", _NO_PURCHASE),
    ("last_order_date", "dynamic", "date", None,
     "Date of the last purchase.",
     "最近一次购买日期", "orders", _NO_PURCHASE),
)  # fmt: skip


def _missing_when(table: str, rule: str | None) -> str:
    if rule is None:
        return _TABLE_MISSING[table]
    if rule == _NO_PURCHASE:
        return rule
    return f"{_TABLE_MISSING_SHORT[table]}, {rule}"


def _fill(windows: FeatureWindows) -> dict[str, object]:
    s, lo = windows.trailing_months, windows.long_months
    return {
        "s": f"{s}m", "l": f"{lo}m", "sm": s, "lm": lo, "sm1": s + 1, "sm2": 2 * s,
        "q": windows.quarters,
    }  # fmt: skip


def feature_source_tables(windows: FeatureWindows = DEFAULT_WINDOWS) -> dict[str, str]:
    """Feature name → the canonical table it is computed from (the features of ``windows``).

    Static features come from ``accounts``, order features from ``orders``, the others from
    the optional table without which they are missing (``opportunities``, ``service_tickets``,
    ``contacts``, ``activities``).  The same as ``feature_catalogue(windows)["source_table"]``.
    """
    fill = _fill(windows)
    return {name.format(**fill): table for name, *_, table, _rule in _CATALOGUE}


#: :func:`feature_source_tables` of the default windows (``revenue_12m`` → ``orders``,
#: ``win_rate_24m`` → ``opportunities`` …).
FEATURE_SOURCE_TABLES: dict[str, str] = feature_source_tables()


def feature_catalogue(windows: FeatureWindows = DEFAULT_WINDOWS) -> pd.DataFrame:
    """What each feature means, for reports and the scoring module.

    Returns
    -------
    pandas.DataFrame
        One row per feature column of :func:`account_features`, in its column order:
        ``name``, ``kind`` (``static`` firmographics / ``dynamic`` behaviour), ``unit``
        (``currency``, ``count``, ``days``, ``share`` 0–1, …; None for text),
        ``description_en``, ``description_zh``, ``higher_is_better`` (True / False, None when
        the direction is not a matter of better or worse), ``missing_when`` and
        ``source_table`` (the canonical table it is computed from: :data:`SOURCE_TABLES`).
    """
    fill = _fill(windows)
    rows = [
        {
            "name": name.format(**fill),
            "kind": kind,
            "unit": unit,
            "description_en": en.format(**fill),
            "description_zh": zh.format(**fill),
            "higher_is_better": better,
            "missing_when": _missing_when(table, rule).format(**fill),
            "source_table": table,
        }
        for name, kind, unit, better, en, zh, table, rule in _CATALOGUE
    ]
    return pd.DataFrame(rows).astype({"higher_is_better": object})


# -- reasons -------------------------------------------------------------------------------------
def missing_reasons(features: pd.DataFrame) -> pd.DataFrame:
    """Why each missing value of a features frame is missing.

    Parameters
    ----------
    features
        A frame returned by :func:`account_features` or :func:`account_features_history`
        (its ``attrs`` tell which tables the source had and the windows; a frame that lost
        its ``attrs`` is read as from a source with every table and 8 quarters).

    Returns
    -------
    pandas.DataFrame
        One row per missing value: the index columns of ``features`` (``account_id``, and
        ``as_of`` for a history), ``feature`` and ``reason``.
    """
    meta = features.attrs.get(ATTRS_KEY, {})
    s_m, l_m, q = meta["windows"] if "windows" in meta else _windows_from_columns(features)
    windows = FeatureWindows(s_m, l_m, q)
    tables = set(meta.get("tables", SOURCE_TABLES))
    s, lo = windows.short, windows.long
    frame = features.reset_index()
    keys = [c for c in ("as_of", "account_id") if c in frame.columns]
    no_lines = frame[f"revenue_{lo}"].isna()
    source = feature_source_tables(windows)
    no_orders = _TABLE_MISSING["orders"]
    # what else, besides its source table, leaves a feature missing (an order feature is
    # first missing without any order line; other features: the table's rule alone)
    rules: dict[str, str] = {
        f"growth_{s}": f"no positive revenue in months {s_m + 1}–{2 * s_m}",
        f"gross_margin_{s}": f"no positive revenue with a known cost in the last {s_m} months",
        "share_of_wallet": "category_spend unknown or 0",
        f"win_rate_{lo}": f"no opportunity won or lost in the last {l_m} months",
        f"sla_breach_rate_{s}": f"no ticket with SLA hours opened in the last {s_m} months",
        f"escalations_{s}": f"no ticket opened in the last {s_m} months",
        "decision_maker_support": "no contact with influence and support recorded",
        "days_since_last_activity": "no activity on or before the as-of date",
        f"product_lines_{s}": (
            f"no purchase of the last {s_m} months has a known product line"
            if meta.get("product_lines_known", True)
            else "no product line known: the order lines carry none and there is no products table"
        ),
        **dict.fromkeys(("recency_days", "tenure_days", *DATE_FEATURES), _NO_PURCHASE),
        # a registry feature: its catalogue rule less the table's clause
        **{
            name: rule
            for name, *_, table, rule in _CATALOGUE
            if table == "firmographics" and rule is not None
        },
    }

    def reason_for(name: str) -> np.ndarray | str:
        table = source[name]
        if table not in ("accounts", "orders") and table not in tables:
            return _TABLE_MISSING[table]
        rule = rules.get(name)
        if rule is None:
            return _TABLE_MISSING[table]
        return np.where(no_lines, no_orders, rule) if table == "orders" else rule

    pieces = []
    for name in windows.columns():
        if name not in frame.columns:
            continue
        missing = frame[name].isna().to_numpy()
        if not missing.any():
            continue
        reason = reason_for(name)
        reasons = np.broadcast_to(np.asarray(reason, dtype=object), missing.shape)[missing]
        piece = frame.loc[missing, keys].copy()
        piece["feature"] = name
        piece["reason"] = reasons
        pieces.append(piece)
    if not pieces:
        return pd.DataFrame(columns=[*keys, "feature", "reason"])
    out = pd.concat(pieces, ignore_index=True)
    return out.astype({"feature": "str", "reason": "str"})


def _windows_from_columns(features: pd.DataFrame) -> tuple[int, int, int]:
    rev = sorted(
        int(c.removeprefix("revenue_").removesuffix("m"))
        for c in features.columns
        if c.startswith("revenue_") and not c.startswith("revenue_prev_")
    )
    if len(rev) != 2:
        raise DataValidationError(
            "missing_reasons needs a frame from account_features: its revenue_<n>m columns "
            f"were not found (columns: {', '.join(map(str, features.columns[:8]))} …)."
        )
    return rev[0], rev[1], 8
