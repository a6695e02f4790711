"""Report vocabulary in English and Chinese: table names, column names, headings, notes.

Cross-cutting like :mod:`kamlib.config`: :mod:`kamlib.charts` (axis titles, tooltips) and
:mod:`kamlib.reports.format` (table headers, headings) both read it, so it cannot live in
either without one importing the other against the layering in ARCHITECTURE.md.

``label("orders", "zh")`` → ``"订单"``; opportunity stages come from the shipped methodology
file (``label("quote", "zh")`` → ``"报价/投标"``).  A key without an entry comes back readable
(``"rows_loaded"`` → ``"Rows loaded"``) rather than raising: a new column should never break
a report, it should only look untranslated.
"""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("en", "zh")

#: key → (English, Chinese)
LABELS: dict[str, tuple[str, str]] = {
    # canonical tables
    "accounts": ("Accounts", "客户"),
    "products": ("Products", "产品"),
    "orders": ("Orders", "订单"),
    "opportunities": ("Opportunities", "商机"),
    "stage_history": ("Stage history", "阶段历史"),
    "contacts": ("Contacts", "联系人"),
    "opportunity_contacts": ("Opportunity contacts", "商机联系人"),
    "activities": ("Activities", "拜访与活动"),
    "service_tickets": ("Service tickets", "服务工单"),
    "targets": ("Targets", "目标"),
    "plan_items": ("Plan items", "计划事项"),
    # columns: data health
    "table": ("Table", "数据表"),
    "required": ("Required", "必需"),
    "present": ("Imported", "已导入"),
    "rows": ("Rows", "行数"),
    "first_date": ("First date", "最早日期"),
    "last_date": ("Last date", "最晚日期"),
    "batch_id": ("Batch", "批次"),
    "source": ("Source", "来源"),
    "started_at": ("Started", "开始时间"),
    "finished_at": ("Imported", "导入时间"),
    "status": ("Status", "状态"),
    "fingerprint": ("Fingerprint", "指纹"),
    "kamlib_version": ("kamlib version", "kamlib 版本"),
    "tables": ("Tables", "数据表数"),
    "files": ("Files", "文件"),
    "file": ("File", "文件"),
    "rows_read": ("Rows read", "读取行数"),
    "rows_loaded": ("Rows loaded", "载入行数"),
    "rows_quarantined": ("Rows quarantined", "隔离行数"),
    "failures": ("Failed checks", "未通过检查数"),
    "reason": ("Reason", "原因"),
    "column": ("Column", "列"),
    "columns": ("Columns", "列"),
    "row": ("Row", "行号"),
    "value": ("Value", "值"),
    "examples": ("Examples", "示例"),
    "kind": ("Kind", "类型"),
    "message": ("Message", "说明"),
    "check": ("Check", "检查项"),
    "of_rows": ("Out of", "总数"),
    "share": ("Share", "占比"),
    "measure": ("Measure", "指标"),
    # columns: accounts and orders
    "account_id": ("Account ID", "客户编号"),
    "name": ("Name", "名称"),
    "industry": ("Industry", "行业"),
    "region": ("Region", "区域"),
    "parent": ("Parent account", "上级集团"),
    "owner": ("Owner", "负责人"),
    "quarter": ("Quarter", "季度"),
    "revenue": ("Revenue", "收入"),
    "product_line": ("Product line", "产品线"),
    "order_id": ("Order", "订单号"),
    "line_no": ("Line", "行"),
    "order_date": ("Order date", "下单日期"),
    "product_id": ("Product", "产品编号"),
    "quantity": ("Quantity", "数量"),
    "amount": ("Amount", "金额"),
    "opportunity_id": ("Opportunity", "商机编号"),
    "stage": ("Stage", "阶段"),
    "expected_close_date": ("Expected close", "预计成交日期"),
    "created_date": ("Created", "创建日期"),
    "contacts_count": ("Contacts", "联系人数"),
    "open_opportunities": ("Open opportunities", "进行中商机"),
    "open_pipeline": ("Open pipeline", "进行中商机金额"),
    "orders_count": ("Orders", "订单数"),
    "unknown": ("(unknown)", "（未知）"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    # data-health coverage checks
    "accounts_without_orders": ("Accounts with no orders", "没有订单的客户"),
    "accounts_without_contacts": ("Accounts with no contacts", "没有联系人的客户"),
    "accounts_without_opportunities": ("Accounts with no opportunities", "没有商机的客户"),
    "accounts_without_owner": ("Accounts with no account manager", "没有客户经理的客户"),
    "accounts_unknown_parent": ("Accounts whose parent is unknown", "上级集团不存在的客户"),
    "orders_unknown_account": ("Orders of an unknown account", "客户不存在的订单"),
    "orders_unknown_product": ("Orders with an unknown product", "产品未知的订单"),
    "contacts_unknown_account": ("Contacts of an unknown account", "客户不存在的联系人"),
    "open_opportunities_without_account": (
        "Open opportunities without an account",
        "未关联客户的进行中商机",
    ),
    "open_opportunities_without_close_date": (
        "Open opportunities without an expected close date",
        "没有预计成交日期的进行中商机",
    ),
    # report sections (data health)
    "data_health": ("Data health", "数据健康检查"),
    "key_figures": ("Key figures", "关键数字"),
    "tables_overview": ("Tables", "数据表概览"),
    "import_history": ("Imports", "导入记录"),
    "rows_per_batch": ("Rows per import batch", "各导入批次行数"),
    "quarantine": ("Quarantined rows", "隔离的数据行"),
    "notices": ("Notices", "导入提示"),
    "coverage": ("Coverage gaps", "覆盖缺口"),
    "nothing_to_show": ("Nothing to report.", "无需报告的内容。"),
    "no_quarantine": ("No row was quarantined.", "没有被隔离的数据行。"),
    "no_notices": ("No notices.", "没有导入提示。"),
    "no_batches": ("No import batches recorded.", "没有导入批次记录。"),
    "no_gaps": ("No coverage gaps found.", "未发现覆盖缺口。"),
    # report sections (account summary)
    "account_summary": ("Account summary", "客户概要"),
    "profile": ("Profile", "客户档案"),
    "revenue_by_quarter": ("Revenue by quarter", "按季度收入"),
    "revenue_by_product_line": ("Revenue by product line", "按产品线收入"),
    "recent_orders": ("Recent orders", "近期订单"),
    "no_orders": ("No orders in this period.", "本期没有订单。"),
    "no_open_opportunities": ("No open opportunities.", "没有进行中的商机。"),
    # key figures
    "tables_present": ("Tables imported", "已导入数据表"),
    "total_rows": ("Rows in all tables", "总行数"),
    "batches": ("Import batches", "导入批次"),
    "quarantined_rows": ("Quarantined rows", "隔离行数"),
    "notice_count": ("Notices", "导入提示"),
    "coverage_gaps": ("Coverage checks with gaps", "存在缺口的检查项"),
    # report frame (header, contents, footer)
    "period": ("Period", "报告期"),
    "as_of": ("As of", "截至"),
    "snapshot": ("Data snapshot", "数据快照"),
    "generated_at": ("Generated", "生成时间"),
    "contents": ("Contents", "目录"),
    "reproduce": ("How to reproduce this report", "如何重现本报告"),
    "reproduce_hint": (
        "Run this command with the same data snapshot and methodology file:",
        "在同一数据快照和方法论文件下运行以下命令：",
    ),
    "methodology_fingerprint": ("Methodology fingerprint", "方法论文件指纹"),
    "showing_rows": ("Showing {shown} of {total} rows.", "共 {total} 行，显示前 {shown} 行。"),
    "chart_failed": ("This chart could not be drawn", "图表无法绘制"),
}

#: Paragraphs introducing each report section.
NOTES: dict[str, tuple[str, str]] = {
    "tables_overview": (
        "Rows per canonical table in the data snapshot, and the dates the rows span.",
        "数据快照中每张标准数据表的行数及其日期范围。",
    ),
    "import_history": (
        "Every import batch that built this snapshot, newest first.",
        "构成本数据快照的全部导入批次，最新的在前。",
    ),
    "rows_per_batch": (
        "Rows loaded per table in each import batch.",
        "每个导入批次中各数据表载入的行数。",
    ),
    "quarantine": (
        "Rows the import set aside because they failed a check. They are not in any "
        "analysis until the source is fixed and imported again.",
        "导入时未通过检查而被隔离的数据行。修正源文件并重新导入之前，这些行不参与任何分析。",
    ),
    "notices": (
        "Things the import noticed but accepted (for example negative amounts or "
        "unmapped columns).",
        "导入时发现但已接受的情况（例如负金额或未映射的列）。",
    ),
    "coverage": (
        "Records that exist but are missing something an analysis relies on.",
        "数据存在但缺少分析所依赖的信息的记录。",
    ),
    "revenue_by_quarter": (
        "Net order amounts per quarter, returns and credit notes included.",
        "每季度的订单净额（已包含退货和红字发票）。",
    ),
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if kamlib can write reports in it, else raise ``ConfigError``."""
    if lang not in LANGUAGES:
        from kamlib.errors import ConfigError

        raise ConfigError(
            f"The report language must be one of {', '.join(LANGUAGES)}. Got {lang!r} instead."
        )
    return lang


def label(key: str, lang: str = "en") -> str:
    """The ``lang`` label of ``key``; an unknown key comes back as readable text."""
    check_lang(lang)
    pair = LABELS.get(key)
    if pair is not None:
        return pair[LANGUAGES.index(lang)]
    stage = _stage_labels(lang).get(key)
    if stage is not None:
        return stage
    return str(key).replace("_", " ").strip().capitalize()


def _stage_labels(lang: str) -> dict[str, str]:
    """Opportunity stage key → label, from the shipped methodology file."""
    from kamlib.config import load_methodology

    return {stage.key: stage.label(lang) for stage in load_methodology().stages}


def note(key: str, lang: str = "en") -> str:
    """The introductory paragraph of section ``key`` (empty when there is none)."""
    check_lang(lang)
    pair = NOTES.get(key)
    return "" if pair is None else pair[LANGUAGES.index(lang)]
