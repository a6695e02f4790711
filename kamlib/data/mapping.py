"""From source files and headers to canonical tables and columns.

A **mapping file** (YAML) describes one source system's export::

    name: my-erp
    description: Orders and customers from our ERP
    encoding: gbk                 # optional: force the files' encoding
    files:
      - table: orders
        file: "订单明细*.csv"       # a glob, relative to the imported folder
        columns:                    # canonical column: source column, or a rule
          order_id: 订单号
          line_no: {row_number_within: 订单号}    # number the lines of each order
          amount: {multiply: [数量, 单价]}         # derived amount
          annual_revenue: {column: 营收(百万), scale: 1000000}
          order_date: {column: 日期, format: "%d.%m.%Y"}
          channel: {constant: direct}
        values:                     # fix known spellings, reported in the import report
          product_line: {GTXPro: GTX Pro}
        derive:                     # build another table from this file's rows
          accounts: {key: account_id, columns: {name: account_id, country: country}}

Without a mapping file, a file named after a canonical table (``orders.csv``,
``accounts.xlsx`` …) is imported with its headers matched to canonical column names or to
the built-in aliases below (English and Chinese, case and spacing ignored).

Rules are data, never code: there is no expression language and nothing is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kamlib.data.schemas import TABLES
from kamlib.errors import ConfigError

#: Built-in header aliases: canonical column → spellings seen in exports (any table).
COMMON_ALIASES: dict[str, tuple[str, ...]] = {
    "account_id": (
        "customer_id",
        "customerid",
        "customer id",
        "customer no",
        "client_id",
        "account id",
        "account number",
        "客户编号",
        "客户编码",
        "客户id",
        "客户代码",
    ),
    "order_id": (
        "order no",
        "order number",
        "invoice",
        "invoice no",
        "invoiceno",
        "订单号",
        "订单编号",
        "单据编号",
        "销售订单号",
    ),
    "line_no": ("line", "line number", "item no", "行号", "明细行号", "序号"),
    "order_date": (
        "date",
        "invoice date",
        "invoicedate",
        "order date",
        "订单日期",
        "下单日期",
        "单据日期",
        "日期",
    ),
    "amount": (
        "net amount",
        "value",
        "revenue",
        "sales",
        "订单金额",
        "金额",
        "销售额",
        "含税金额",
        "商机金额",
        "价税合计",
    ),
    "quantity": ("qty", "数量"),
    "cost": ("cogs", "成本", "成本金额"),
    "product_id": (
        "sku",
        "item",
        "stockcode",
        "product code",
        "material",
        "产品编号",
        "产品编码",
        "物料编码",
        "物料号",
    ),
    "product_line": (
        "product line",
        "product family",
        "category",
        "产品线",
        "产品类别",
        "产品大类",
    ),
    "industry": ("sector", "行业", "所属行业"),
    "sub_industry": ("细分行业", "子行业"),
    "region": ("sales region", "territory", "区域", "大区", "地区", "销售区域"),
    "country": ("国家",),
    "city": ("城市",),
    "employees": ("employee count", "headcount", "员工人数", "人员规模"),
    "annual_revenue": ("company revenue", "营业收入", "年营业额", "年收入"),
    "registered_capital": ("注册资本",),
    "uscc": (
        "unified social credit code",
        "credit code",
        "统一社会信用代码",
        "社会信用代码",
        "信用代码",
    ),
    "duns": ("d-u-n-s", "duns number", "d-u-n-s number", "duns_number", "邓白氏编码"),
    "province": ("state/province", "省份", "所属省份", "省"),
    "ownership": ("企业性质", "所有制"),
    "parent_account_id": (
        "parent",
        "parent account",
        "parent id",
        "subsidiary_of",
        "母公司",
        "上级客户",
        "集团客户",
        "所属集团",
    ),
    "owner": (
        "account manager",
        "sales rep",
        "sales agent",
        "salesperson",
        "负责人",
        "客户经理",
        "销售负责人",
        "销售代表",
        "跟进人",
    ),
    "created_date": ("created", "create date", "created at", "createddate", "创建日期", "创建时间"),
    "category_spend": ("wallet", "category spend", "品类采购额", "采购总额"),
    "strategic_fit": ("战略匹配度",),
    "opportunity_id": (
        "opportunity",
        "opp id",
        "deal id",
        "opportunityid",
        "商机编号",
        "商机id",
        "机会编号",
    ),
    "stage": ("deal stage", "deal_stage", "sales stage", "商机阶段", "销售阶段", "阶段"),
    "status": ("状态", "商机状态"),
    "team": ("sales team", "团队", "销售团队"),
    "expected_close_date": (
        "close date",
        "expected close",
        "预计成交日期",
        "预计签单日期",
        "预计结单日期",
    ),
    "closed_date": ("actual close date", "成交日期", "结单日期", "关闭日期"),
    "lost_reason": ("loss reason", "输单原因", "丢单原因"),
    "competitor": ("competitor name", "competitorname", "竞争对手", "竞争对手名称", "竞品厂商"),
    "entered_at": ("stage date", "changed at", "进入时间", "变更时间"),
    "contact_id": ("联系人编号", "联系人id"),
    "title": ("job title", "职位", "职务"),
    "department": ("dept", "部门"),
    "buying_role": ("role in purchase", "采购角色", "决策角色"),
    "influence": ("影响力",),
    "support": ("支持度", "态度"),
    "reaction_mode": ("反应模式",),
    "business_challenges": ("业务挑战",),
    "email": ("e-mail", "邮箱", "电子邮件"),
    "phone": ("mobile", "tel", "电话", "手机"),
    "last_contact_date": ("last contact", "最近联系日期", "最后联系时间"),
    "activity_id": ("活动编号",),
    "type": ("activity type", "类型", "活动类型"),
    "notes": ("comments", "备注", "内容"),
    "ticket_id": ("case id", "case number", "工单号", "工单编号"),
    "opened_at": ("created time", "报修时间", "创建时间", "受理时间"),
    "first_response_at": ("first response", "首次响应时间", "响应时间"),
    "resolved_at": ("resolved", "closed at", "解决时间", "完成时间"),
    "priority": ("优先级", "紧急程度"),
    "escalated": ("升级",),
    "satisfaction": ("csat", "满意度"),
    "target_id": ("目标编号",),
    "period": ("期间", "周期"),
    "measure": ("指标", "衡量指标"),
    "target_value": ("target", "目标值"),
    "objective": ("目的", "目标描述"),
    "item_id": ("计划项编号",),
    "due_date": ("deadline", "activitydate", "scheduled end", "截止日期", "到期日"),
    "kind": ("计划类型",),
    "list_price": ("price", "sales price", "sales_price", "unit price", "标准价格", "单价"),
    "series": ("系列",),
    # the sales process: tasks, competitors on deals, opportunities' process and lost-to
    "task_id": ("task id", "taskid", "任务编号", "任务id", "任务号"),
    "task": ("task code", "task type", "playbook task", "任务", "任务类型", "任务代码"),
    "done_date": (
        "done",
        "done at",
        "completed",
        "completed date",
        "completed at",
        "completeddatetime",
        "actual end",
        "completion date",
        "完成日期",
        "完成时间",
        "实际完成日期",
    ),
    "sales_process": ("sales process", "buying process", "销售流程", "采购方式", "招采方式"),
    "lost_to": ("lost to", "won by", "winning competitor", "丢单给", "输给", "中标单位", "中标方"),
    "primary": ("is primary", "main competitor flag", "是否主要", "是否主要对手", "主要对手"),
    "our_price": ("our price", "our bid", "our quote", "我方报价", "我方价格", "我方投标价"),
    "competitor_price": (
        "competitor price",
        "their price",
        "competitor bid",
        "对手报价",
        "竞争对手报价",
        "对手价格",
    ),
}

#: Aliases that only make sense for one table (e.g. 客户名称 is the account's name).
TABLE_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {
        "name": (
            "customer name",
            "company",
            "company name",
            "account name",
            "account",
            "客户名称",
            "客户名",
            "公司名称",
            "企业名称",
        )
    },
    "products": {"name": ("product name", "description", "产品名称", "物料名称")},
    "opportunities": {
        "name": ("opportunity name", "deal name", "商机名称", "项目名称"),
        "account_id": ("account", "customer", "客户", "客户名称"),
        "competitor": ("primary competitor", "main competitor", "主要竞争对手"),
    },
    "contacts": {"name": ("contact name", "联系人", "姓名")},
}

_RULE_KEYS = {"column", "multiply", "row_number_within", "constant"}


def normalise_header(value: str) -> str:
    """Lower-case, strip, collapse spaces/underscores/hyphens; strips a UTF-8 BOM."""
    text = str(value).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s_\-]+", " ", text)


@dataclass(frozen=True)
class ColumnRule:
    """How one canonical column is produced from source columns (no code, only data)."""

    target: str
    source: str | None = None  # copy this column
    multiply: tuple[str, ...] = ()  # product of these columns
    row_number_within: str | None = None  # 1, 2, 3 … within each value of this column
    constant: str | None = None
    scale: float | None = None
    date_format: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        if self.source:
            return (self.source,)
        if self.row_number_within:
            return (self.row_number_within,)
        return self.multiply

    def describe(self) -> str:
        if self.source:
            extra = f" × {self.scale:g}" if self.scale else ""
            return f"{self.source}{extra}"
        if self.multiply:
            return " × ".join(self.multiply)
        if self.row_number_within:
            return f"line number within {self.row_number_within}"
        return f"constant {self.constant!r}"


@dataclass(frozen=True)
class DeriveRule:
    """Build ``table`` from distinct values of another file's mapped rows."""

    table: str
    key: str
    columns: dict[str, str]  # derived column → canonical column of the parent table


@dataclass(frozen=True)
class FileMapping:
    table: str
    pattern: str | None
    columns: dict[str, ColumnRule] | None  # None: match headers by name and alias
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    derive: tuple[DeriveRule, ...] = ()
    sheet: str | int | None = None


@dataclass(frozen=True)
class Mapping:
    name: str
    files: tuple[FileMapping, ...]
    encoding: str | None = None
    source: str = "<built-in>"
    text: str = ""


def header_hints() -> frozenset[str]:
    """Every header kamlib recognises without a mapping file (for finding header rows)."""
    names: set[str] = set()
    for spec in TABLES.values():
        names.update(normalise_header(c) for c in spec.columns)
    for aliases in COMMON_ALIASES.values():
        names.update(normalise_header(a) for a in aliases)
    for table in TABLE_ALIASES.values():
        for aliases in table.values():
            names.update(normalise_header(a) for a in aliases)
    return frozenset(names)


def match_headers(table: str, headers: tuple[str, ...]) -> tuple[dict[str, ColumnRule], list[str]]:
    """Match source headers to canonical columns by name or alias.

    Returns the rules and the list of source headers nothing was mapped from.
    """
    spec = TABLES[table]
    by_norm = {normalise_header(h): h for h in headers}
    rules: dict[str, ColumnRule] = {}
    used: set[str] = set()
    for col in spec.columns:
        candidates = (col, *TABLE_ALIASES.get(table, {}).get(col, ()), *COMMON_ALIASES.get(col, ()))
        for cand in candidates:
            src = by_norm.get(normalise_header(cand))
            if src is not None and src not in used:
                rules[col] = ColumnRule(col, source=src)
                used.add(src)
                break
    return rules, [h for h in headers if h not in used]


def _parse_rule(target: str, raw: Any, where: str) -> ColumnRule:
    if isinstance(raw, str):
        return ColumnRule(target, source=raw)
    if not isinstance(raw, dict) or not (set(raw) & _RULE_KEYS):
        raise ConfigError(
            f"{where}: column '{target}' must be a source column name or one of "
            f"{{column: …}}, {{multiply: [a, b]}}, {{row_number_within: …}}, {{constant: …}}. "
            f"Got {raw!r} instead."
        )
    unknown = set(raw) - _RULE_KEYS - {"scale", "format"}
    if unknown:
        raise ConfigError(f"{where}: column '{target}' has unknown keys {sorted(unknown)}.")
    multiply = raw.get("multiply") or ()
    if multiply and (not isinstance(multiply, list) or len(multiply) < 2):
        raise ConfigError(f"{where}: 'multiply' of '{target}' must list two or more columns.")
    scale = raw.get("scale")
    return ColumnRule(
        target,
        source=raw.get("column"),
        multiply=tuple(str(m) for m in multiply),
        row_number_within=raw.get("row_number_within"),
        constant=None if raw.get("constant") is None else str(raw["constant"]),
        scale=None if scale is None else float(scale),
        date_format=raw.get("format"),
    )


def parse_mapping(raw: Any, *, source: str, text: str = "") -> Mapping:
    """Validate a parsed mapping file."""
    if not isinstance(raw, dict) or not isinstance(raw.get("files"), list):
        raise ConfigError(
            f"{source}: a mapping file needs a 'files' list (see kamlib.data.mapping)."
        )
    files = []
    for i, entry in enumerate(raw["files"]):
        where = f"{source} files[{i}]"
        table = entry.get("table") if isinstance(entry, dict) else None
        if table not in TABLES:
            raise ConfigError(
                f"{where}: 'table' must be one of {', '.join(TABLES)}. Got {table!r} instead."
            )
        columns = None
        if entry.get("columns") is not None:
            columns = {}
            for target, rule in entry["columns"].items():
                if target not in TABLES[table].columns:
                    raise ConfigError(
                        f"{where}: '{target}' is not a column of {table}. Valid columns: "
                        f"{', '.join(TABLES[table].columns)}."
                    )
                columns[target] = _parse_rule(target, rule, where)
        derive = []
        for dtable, drule in (entry.get("derive") or {}).items():
            if dtable not in TABLES or not isinstance(drule, dict) or "key" not in drule:
                raise ConfigError(
                    f"{where}: derive entry '{dtable}' needs a canonical table and 'key'."
                )
            derive.append(DeriveRule(dtable, drule["key"], dict(drule.get("columns") or {})))
        values = {
            col: {str(k): str(v) for k, v in fixes.items()}
            for col, fixes in (entry.get("values") or {}).items()
        }
        files.append(
            FileMapping(
                table, entry.get("file"), columns, values, tuple(derive), entry.get("sheet")
            )
        )
    return Mapping(str(raw.get("name", source)), tuple(files), raw.get("encoding"), source, text)


def load_mapping(path: str | Path) -> Mapping:
    from kamlib.methodology import read_yaml_file

    raw, text = read_yaml_file(path, "mapping file")
    return parse_mapping(raw, source=str(path), text=text)


def preset_names() -> list[str]:
    folder = resources.files("kamlib.data").joinpath("presets")
    return sorted(p.name.removesuffix(".yml") for p in folder.iterdir() if p.name.endswith(".yml"))


def load_preset(name: str) -> Mapping:
    """A mapping preset shipped with kamlib (``maven-crm``, ``online-retail``)."""
    names = preset_names()
    if name not in names:
        raise ConfigError(f"Unknown preset {name!r}. Valid presets: {', '.join(names)}.")
    text = resources.files("kamlib.data").joinpath("presets", f"{name}.yml").read_text("utf-8")
    return parse_mapping(yaml.safe_load(text), source=f"preset {name}", text=text)


def table_for_file(path: Path) -> str | None:
    """The canonical table a file is named after (``orders.csv`` → ``orders``)."""
    stem = path.name.lower()
    for suffix in sorted((".gz", ".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")):
        stem = stem.removesuffix(suffix)
    stem = stem.removesuffix(".csv").removesuffix(".tsv").removesuffix(".txt")
    return stem if stem in TABLES else None
