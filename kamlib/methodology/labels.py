"""Report vocabulary in English and Chinese: table names, column names, headings, notes.

Cross-cutting like :mod:`kamlib.methodology`: :mod:`kamlib.charts` (axis titles, tooltips) and
:mod:`kamlib.views.format` (table headers, headings) both read it, so it cannot live in
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
    "orphans": ("Orphaned rows", "孤立的数据行"),
    "no_orphans": ("No orphaned rows.", "没有孤立的数据行。"),
    "missing_in": ("Missing in", "缺失于"),
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
    "orphans": (
        "Rows that refer to a record the data no longer has (for example orders whose "
        "account a later import dropped, accepted with --allow-shrink), with their amount.",
        "引用了数据中已不存在的记录的数据行（例如客户已被后续导入删除的订单，经 --allow-shrink 接受），及其金额。",
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
    from kamlib.methodology import load_methodology

    return {stage.key: stage.label(lang) for stage in load_methodology().stages}


def note(key: str, lang: str = "en") -> str:
    """The introductory paragraph of section ``key`` (empty when there is none)."""
    check_lang(lang)
    pair = NOTES.get(key)
    return "" if pair is None else pair[LANGUAGES.index(lang)]


# -- scoring, the portfolio review and the scoring explorer --------------------------------------
#: Labels of the portfolio review report and the scoring explorer (merged into ``LABELS``).
PORTFOLIO_LABELS: dict[str, tuple[str, str]] = {
    # report sections
    "portfolio_review": ("Key-account portfolio review", "大客户组合评估"),
    "data_availability": ("Data and indicators", "数据与指标可用性"),
    "tables_for_scoring": ("Tables the indicators read", "指标所需数据表"),
    "tiers": ("Tiers", "客户分级"),
    "tier_profile": ("What each tier looks like", "各级客户的指标画像"),
    "score_distribution": ("Score distribution", "评分分布"),
    "ranking": ("Accounts by score, with explanations", "客户评分排名及解释"),
    "score_breakdown": ("Where the scores come from", "评分构成"),
    "pareto": ("Pareto curve", "帕累托曲线"),
    "abc_classes": ("ABC classes", "ABC 分类"),
    "portfolio_matrix": ("Portfolio matrix", "客户组合矩阵"),
    "tier_migration": ("Tier migration since the previous quarter", "与上季度末相比的层级变化"),
    "risers": ("Moved up", "升级客户"),
    "fallers": ("Slipped", "降级客户"),
    "score_validation": ("Does the score work? Back-test", "评分是否有效？回测验证"),
    "segment_profiles": ("Segment profiles", "客户细分画像"),
    "methodology": ("Methodology", "评分方法"),
    "review_notices": ("Notes on the data", "数据说明"),
    "features": ("Account features", "客户特征"),
    "scoring": ("Scoring", "评分"),
    "segments": ("Segments", "客户细分"),
    "clv": ("Customer lifetime value", "客户终身价值"),
    # key figures
    "group": ("Accounts included", "包含的客户"),
    "accounts_reviewed": ("Accounts reviewed", "评估客户数"),
    "revenue_12m_total": ("Revenue, last 12 months", "近12个月销售额"),
    "tier_counts": ("Accounts per tier", "各级客户数"),
    "weight_method": ("Weights", "权重方法"),
    "methodology_source": ("Methodology file", "方法论文件"),
    "tables_missing": ("Tables not in the data", "缺少的数据表"),
    "indicators_unavailable": ("Indicators without any value", "无任何数据的指标"),
    "none": ("none", "无"),
    "weights_manual": ("set by hand in the methodology file", "方法论文件中人工设定"),
    "weights_ahp": ("AHP (pairwise comparisons)", "层次分析法（两两比较）"),
    "weights_entropy": ("entropy weight method", "熵权法"),
    "weights_data": ("data-driven (fitted to next-year revenue)", "数据驱动（拟合次年收入）"),
    "weights_given": ("given for this run", "本次运行指定"),
    # indicators
    "indicator": ("Indicator", "指标"),
    "indicators": ("Indicators", "指标"),
    "feature": ("Feature", "特征字段"),
    "weight": ("Weight", "权重"),
    "weight_share": ("Weight", "权重"),
    "known_share": ("Accounts with a value", "有数据的客户占比"),
    "missing_rule": ("When the value is missing", "缺失时的处理"),
    "missing_excluded": (
        "left out, the other weights re-normalised",
        "不计入，其余指标权重重新归一",
    ),
    "missing_points": ("scored {points} points", "按 {points} 分计"),
    "kind_static": ("static", "静态"),
    "kind_dynamic": ("dynamic", "动态"),
    "status_available": ("available", "可用"),
    "status_partial": ("partly missing", "部分缺失"),
    "status_unavailable": ("unavailable", "不可用"),
    "status_constant": ("same for everyone", "所有客户相同"),
    "reason_constant": (
        "every account gets the same points, so it does not tell accounts apart",
        "所有客户得分相同，无法区分客户",
    ),
    "max_score_possible": ("Highest score possible with this data", "现有数据下可能的最高分"),
    "history_days_then": ("Days of order history then", "当时已有的订单历史天数"),
    "pareto_now_lifted": ("now lifted by the Pareto rule", "本期按帕累托规则上调"),
    "pareto_no_longer": ("no longer lifted by the Pareto rule", "不再按帕累托规则上调"),
    "reason_no_table": ("no {table} table in the data", "数据中没有{table}表"),
    "reason_no_cost": ("no cost on the order lines", "订单行没有成本数据"),
    "reason_needs_category_spend": (
        "needs the accounts' category spend, which is not recorded",
        "需要客户品类采购总额，但未记录",
    ),
    "reason_not_recorded": ("not recorded in the accounts table", "客户表中未记录"),
    "reason_some_missing": ("no value for some accounts", "部分客户没有数据"),
    # tiers and ranking
    "tier": ("Tier", "层级"),
    "tier_new": ("(new)", "（新客户）"),
    "tier_gone": ("(gone)", "（已不存在）"),
    "tier_before": ("Tier on {date}", "{date} 的层级"),
    "min_score": ("Minimum score", "最低分"),
    "accounts_count": ("Accounts", "客户数"),
    "account_share": ("Share of accounts", "客户数占比"),
    "score_mean": ("Mean score", "平均分"),
    "revenue_12m": ("12-month revenue", "近12个月销售额"),
    "revenue_share": ("Share of revenue", "销售额占比"),
    "value_share": ("Share of value", "价值占比"),
    "next_year_share": ("Share of next-year revenue", "次年销售额占比"),
    "pareto_gini": ("Gini of revenue (concentration)", "销售额基尼系数（集中度）"),
    "lifted_by_pareto": ("Pareto-lifted", "按帕累托规则上调"),
    "rank": ("Rank", "排名"),
    "score": ("Score", "评分"),
    "scored_weight_share": ("Weight scored", "已评分权重"),
    "strongest": ("Strongest indicators (points)", "贡献最大的指标（分）"),
    "not_scored": ("No value for", "缺少数据的指标"),
    "score_on_weight": ("score on {share} of the weight", "评分基于 {share} 的权重"),
    "account": ("Account", "客户"),
    "contribution": ("Weighted points", "加权得分"),
    "points": ("Points (0–100)", "指标得分（0–100）"),
    "mean_points": ("Mean points (0–100)", "平均指标得分（0–100）"),
    # migration
    "from_tier": ("From", "原层级"),
    "to_tier": ("To", "现层级"),
    "from_score": ("Score before", "原评分"),
    "to_score": ("Score now", "现评分"),
    "score_change": ("Change", "变化"),
    "drivers": ("What drove it (weighted points)", "主要驱动指标（加权分变化）"),
    "from_date": ("From", "起始日期"),
    "to_date": ("To", "截止日期"),
    "accounts_in_both": ("Accounts on both dates", "两个日期均存在的客户"),
    "stayed": ("Stayed in their tier", "层级不变"),
    "moved_up": ("Moved up", "升级"),
    "moved_down": ("Slipped", "降级"),
    "new_accounts": ("New accounts", "新增客户"),
    "gone_accounts": ("Accounts gone", "消失的客户"),
    "no_movers": ("No account changed tier.", "没有客户改变层级。"),
    "migration_no_history": (
        "No account existed at the end of the previous quarter, so there is nothing to compare.",
        "上季度末尚无客户，无法比较。",
    ),
    "migration_failed": ("Tier migration could not be computed.", "无法计算层级变化。"),
    # validation
    "backtest_date": ("Scored as of", "回测评分日期"),
    "order_history_from": ("Order history starts", "订单数据起始日期"),
    "accounts_validated": ("Customers scored then", "当时已有的客户"),
    "next_year_revenue": ("Revenue in the following 12 months", "随后12个月销售额"),
    "top_tier_validated": ("Highest tier with accounts", "有客户的最高层级"),
    "lift_top_tier": ("Lift of that tier", "该层级的提升度"),
    "lift": ("Lift", "提升度"),
    "gini_score": ("Gini, ranking by the score", "按评分排序的基尼系数"),
    "gini_baseline": ("Gini, ranking by last year's revenue", "按上年销售额排序的基尼系数"),
    "gini_perfect": ("Gini, best possible", "基尼系数上限（完美排序）"),
    "new_customers": ("Customers new since then", "此后新增的客户"),
    "new_customers_revenue": ("Their revenue", "新增客户的销售额"),
    "ranking_score": ("Ranked by the score", "按评分排序"),
    "ranking_baseline": ("Ranked by last year's revenue", "按上年销售额排序"),
    "ranking_perfect": ("Best possible", "完美排序"),
    "ranking_random": ("No information", "随机排序"),
    "ranking_by": ("Ranking", "排序方式"),
    "cumulative_account_share": ("Share of accounts (best first)", "客户累计占比（从高到低）"),
    "cumulative_value_share": ("Share of next-year revenue", "次年销售额累计占比"),
    "validation_no_history": (
        "There is no order history one year before the review date, so the score cannot be "
        "back-tested yet.",
        "评估日一年前尚无订单数据，暂时无法回测评分。",
    ),
    "validation_failed": ("The back-test could not be computed.", "无法完成回测。"),
    # segmentation sections
    "not_available_yet": (
        "Not available yet in this version of kamlib.",
        "当前版本的 kamlib 尚未提供此分析。",
    ),
    "section_failed": ("This analysis could not be computed.", "无法完成此分析。"),
    "see_above": ("See above.", "见上文。"),
    "see_notes": (
        "What went wrong is in the notes at the end of the report.",
        "原因见报告末尾的数据说明。",
    ),
    "matrix_no_position": (
        "No account has a value for our position (share of wallet needs the accounts' "
        "category spend), so the matrix cannot place any account.",
        "没有客户具备我方地位的数据（采购份额需要客户品类采购总额），因此无法在矩阵中定位客户。",
    ),
    "matrix_no_attractiveness": (
        "No account has a value for any of the attractiveness features, so the matrix cannot "
        "place any account.",
        "没有客户具备任何吸引力特征的数据，因此无法在矩阵中定位客户。",
    ),
    "segments_small_group": (
        "The group is too small to form segments (at least 30 accounts are needed).",
        "客户组太小，无法进行细分（至少需要30个客户）。",
    ),
    "segments_too_few": (
        "Too few features have values to form segments.",
        "有数据的特征太少，无法进行客户细分。",
    ),
    "pareto_no_revenue": (
        "No account has revenue in the last 12 months.",
        "近12个月没有客户产生销售额。",
    ),
    "clv_unavailable": ("CLV could not be computed", "无法计算客户终身价值"),
    "no_review_notices": ("Nothing to note.", "无需说明的事项。"),
    "section": ("Section", "部分"),
    # scoring explorer
    "scoring_explorer": ("Scoring explorer", "评分模拟器"),
    "explorer_weights": ("Indicator weights", "指标权重"),
    "explorer_thresholds": ("Tier thresholds (minimum score)", "层级门槛（最低分）"),
    "explorer_reset": ("Back to the methodology", "恢复方法论设置"),
    "scenario": ("Setting", "设置"),
    "scenario_methodology": ("Methodology file", "方法论文件"),
    "scenario_explored": ("Your setting", "当前设置"),
    "accounts_changed_tier": ("Accounts whose tier changes", "层级发生变化的客户"),
    "weights_normalised": ("Weights used (normalised to 100%)", "实际使用的权重（归一到100%）"),
    "thresholds_invalid": (
        "Tier thresholds must decrease from the highest tier to the lowest; this setting was "
        "not applied.",
        "层级门槛必须从高到低递减；此设置未生效。",
    ),
    "weights_all_zero": (
        "At least one weight must be above zero; this setting was not applied.",
        "至少一个权重须大于零；此设置未生效。",
    ),
    "band": ("Band", "分档"),
    "raw_value": ("Value", "数值"),
    "step": ("Step", "步骤"),
    "other_values": ("any other value", "其他取值"),
    "missing_value": ("(no value)", "（无数据）"),
    "tier_by_score": ("Tier by score alone", "仅按评分的层级"),
    "scoring_training": ("Scoring methodology training", "评分方法培训"),
    "training_indicators": ("Step 1 · The indicators and their weights", "第一步 · 指标及其权重"),
    "training_bands": (
        "Step 2 · From a value to points: the band tables",
        "第二步 · 从数值到得分：分档表",
    ),
    "training_example": ("Step 3 · One account, worked through", "第三步 · 以一个客户为例"),
    "training_tiers": ("Step 4 · From the score to the tier", "第四步 · 从评分到层级"),
    "training_pareto": ("Step 5 · The Pareto rule", "第五步 · 帕累托规则"),
    "training_explore": ("Step 6 · Try it yourself", "第六步 · 动手试一试"),
    "no_pareto_lift": ("The Pareto rule lifted no account.", "帕累托规则没有上调任何客户。"),
    # segmentation sections
    "cumulative_revenue_share": ("Share of revenue (largest first)", "销售额累计占比"),
    "abc_class": ("Class", "分类"),
    "position": ("Our position (share of wallet)", "我方地位（采购份额）"),
    "attractiveness": ("Account attractiveness", "客户吸引力"),
    "quadrant": ("Quadrant", "象限"),
    "segment": ("Segment", "细分"),
    "z_score": ("Difference from the median (SD)", "与中位数之差（标准差）"),
    "segment_mean": ("Segment median", "细分中位数"),
    "percentile_index": ("index 0–1", "指数 0–1"),
    "attractiveness_threshold": ("Attractiveness counts as high from", "吸引力“高”的分界"),
    "position_threshold": ("Position counts as strong from", "地位“强”的分界"),
    "accounts_placed": ("Accounts placed", "已定位客户"),
    "position_axis": ("Our position", "我方地位"),
    "attractiveness_axis": ("Attractiveness", "客户吸引力"),
    "accounts_with_revenue": ("Accounts with revenue data", "有销售额数据的客户"),
    "top_10_share": ("Revenue share of the top 10% of accounts", "前10%客户的销售额占比"),
    "top_20_share": ("Revenue share of the top 20% of accounts", "前20%客户的销售额占比"),
    "class_a_accounts": ("Class A accounts", "A类客户数"),
    "segments_found": ("Segments found", "细分数量"),
    "silhouette": ("Silhouette (separation, −1 to 1)", "轮廓系数（区分度，−1至1）"),
    "accounts_in_segments": ("Accounts in a segment", "已归入细分的客户"),
    "tag": ("Tag", "标签"),
    "orders_12m": ("Orders, last 12 months", "近12个月订单数"),
    "order_days_12m": ("Order days, last 12 months", "近12个月下单天数"),
    "tenure_days": ("Days since the first order", "首次下单至今天数"),
    "revenue_24m": ("Revenue, last 24 months", "近24个月销售额"),
    "tags": ("Tags", "客户标签"),
    "no_tags": ("The methodology defines no tags.", "方法论未定义标签。"),
    "description": ("Description", "描述"),
    "strategy": ("Suggested approach", "建议策略"),
}
LABELS.update(PORTFOLIO_LABELS)

PORTFOLIO_NOTES: dict[str, tuple[str, str]] = {
    "data_availability": (
        "Which indicators of the methodology could be computed from the data. An indicator "
        "without a value is scored by its missing-value rule, never silently as zero.",
        "方法论中的各项指标能否由现有数据计算。没有数据的指标按其缺失规则处理，绝不会被默默记为零分。",
    ),
    "tiers": (
        "Every account is scored 0–100 with the composite points method (综合积分法) and "
        "placed in the highest tier whose minimum score it reaches; the Pareto rule can lift "
        "the accounts that make the top share of revenue. Tiers are those of the whole book.",
        "每个客户按综合积分法获得 0–100 分，并归入其分数达到门槛的最高层级；帕累托规则可把贡献主要销售额的"
        "客户上调。层级基于全部客户计算。",
    ),
    "tier_profile": (
        "Mean points (0–100, before weighting) of each indicator in each tier.",
        "各层级客户在每项指标上的平均得分（0–100，加权前）。",
    ),
    "ranking": (
        "Each score is the sum of its indicators' weighted points: the strongest are listed, "
        "and the indicators without a value, which the missing-value rule scored.",
        "每个评分等于各项指标加权得分之和：下表列出贡献最大的指标，以及缺少数据、按缺失规则处理的指标。",
    ),
    "score_breakdown": (
        "Weighted points per indicator of the best-scored accounts; each bar adds up to the score.",
        "评分最高客户的各项指标加权得分；每根条形的总长即为评分。",
    ),
    "pareto": (
        "Cumulative share of the last 12 months' revenue against the share of accounts, "
        "largest first.",
        "按销售额从高到低排列，客户累计占比与近12个月销售额累计占比的关系。",
    ),
    "portfolio_matrix": (
        "The key-account selection matrix: the account's attractiveness against our position "
        "with it (share of wallet), split into four quadrants (at the medians unless the "
        "methodology file sets the thresholds), each with its approach. Dot size: 12-month "
        "revenue.",
        "大客户选择矩阵：客户吸引力与我方地位（采购份额），划分为四个象限（除非方法论文件另设分界，以中位数划分），"
        "各有相应策略。点的大小：近12个月销售额。",
    ),
    "tier_migration": (
        "Tiers at the end of the previous quarter (rows) against tiers now (columns), scored "
        "with the same methodology.",
        "上季度末层级（行）与当前层级（列）的对照，均按同一方法论评分。",
    ),
    "risers": (
        "The drivers are the indicators whose weighted points changed most in the direction "
        "of the move.",
        "驱动指标为加权得分变化最大、且与层级变化方向一致的指标。",
    ),
    "score_validation": (
        "The accounts that were customers one year before the review date are scored with "
        "the data known then, and compared with the revenue they brought in the 12 months "
        "that followed. A good score puts that revenue in the top tiers (lift above 1) and "
        "ranks at least as well as last year's revenue alone (higher Gini).",
        "用一年前已知的数据对当时的客户评分，再与其随后12个月的实际销售额对比。好的评分应把销售额集中在高层级"
        "（提升度大于1），且排序效果不低于仅按上年销售额排序（基尼系数更高）。",
    ),
    "segment_profiles": (
        "Accounts grouped by similar features (k-means clustering on standardised features, "
        "the number of segments chosen by silhouette); each segment is named by what sets it "
        "apart. The colours show how far a segment's median lies from the overall median.",
        "按特征相似度对客户聚类（标准化特征上的 k-means，细分数按轮廓系数选定）；每个细分以其显著特征命名。"
        "颜色表示细分中位数偏离总体中位数的程度。",
    ),
    "tags": (
        "Accounts of the group carrying each tag of the methodology file.",
        "带有方法论文件中各标签的客户数。",
    ),
    "methodology": (
        "The indicators and weights of the methodology file used for this review.",
        "本次评估所用方法论文件中的指标与权重。",
    ),
    "review_notices": (
        "Warnings kamlib raised while computing this review.",
        "计算本评估时 kamlib 给出的提示。",
    ),
}
PORTFOLIO_NOTES.update(
    {
        "training_indicators": (
            "The composite points method (综合积分法) scores every account on the indicators of "
            "the methodology file. Static indicators describe who the account is, dynamic ones "
            "what it does with us. Each has a weight; the weights add up to 100%.",
            "综合积分法根据方法论文件中的指标为每个客户评分。静态指标描述客户是谁，动态指标描述客户与我们的往来。"
            "每个指标都有权重，权重合计为100%。",
        ),
        "training_bands": (
            "Each indicator turns its value into 0–100 points with a band table (a value from "
            "min up to, not including, max scores the band's points) or a category table.",
            "每个指标通过分档表（数值大于等于下限且小于上限即得该档分数）或类别表，把数值换算为0–100分。",
        ),
        "training_example": (
            "Points × weight = weighted points; the weighted points add up to the score (0–100). "
            "An indicator without a value is scored by its missing-value rule.",
            "指标得分 × 权重 = 加权得分；各指标加权得分之和即为评分（0–100）。没有数据的指标按其缺失规则处理。",
        ),
        "training_tiers": (
            "An account is in the highest tier whose minimum score its score reaches.",
            "客户归入其评分达到门槛的最高层级。",
        ),
        "training_pareto": (
            "The fewest top accounts that make the configured share of revenue are lifted to "
            "at least the configured tier, whatever their score (二八定律).",
            "贡献规定销售额占比的最少数头部客户，无论评分高低，至少上调到规定层级（二八定律）。",
        ),
        "training_explore": (
            "Move a weight or a threshold: the accounts are scored again at once and the tiers "
            "compared with the methodology's. The sliders work in JupyterLab; a rendered page "
            "shows the methodology's setting only.",
            "拖动权重或门槛滑块，客户会立即重新评分，并与方法论设置下的层级对比。滑块仅在 JupyterLab 中可用；"
            "渲染后的页面只显示方法论的设置。",
        ),
    }
)
NOTES.update(PORTFOLIO_NOTES)


# -- account research: the customer research dossier and the OGSM review -----------------------
#: Labels of kamlib.research reports (merged into ``LABELS``).
RESEARCH_LABELS: dict[str, tuple[str, str]] = {
    # report sections
    "customer_research": ("Customer research dossier", "客户研究报告"),
    "summary_findings": ("Five things to know", "需要关注的五件事"),
    "account_360": ("Account 360°", "客户360度视图"),
    "firmographics": ("Company profile", "企业基本信息"),
    "group_structure": ("Group structure", "集团结构"),
    "subsidiaries": ("Subsidiaries", "下属公司"),
    "revenue_history": ("Revenue history", "销售历史"),
    "share_of_wallet_trend": ("Share of wallet", "钱包份额"),
    "whitespace": ("Whitespace", "空白机会"),
    "pipeline": ("Pipeline", "商机管道"),
    "recent_deals": ("Recent wins and losses", "近期赢单与丢单"),
    "activity_history": ("Activities", "拜访与活动"),
    "recent_activities": ("Latest activities", "最近的活动"),
    "engagement": ("Engagement in the last 12 months", "近12个月互动"),
    "service_history": ("Service", "服务"),
    "service_by_priority": ("Tickets by priority (12 months)", "按优先级的工单（近12个月）"),
    "open_tickets": ("Open tickets", "未结工单"),
    "score_tier": ("Score and tier", "评分与层级"),
    "score_drivers": ("What the score is made of", "评分构成"),
    "power_map": ("Power map", "权力地图"),
    "power_map_roles": ("Buying roles", "采购角色"),
    "deal_coverage": ("Coverage of open deals", "进行中商机的决策人覆盖"),
    "plan_progress": ("Plan progress", "计划进展"),
    "account_targets": ("Account targets", "客户目标"),
    "next_actions": ("Recommended next actions", "建议的下一步行动"),
    "data_missing": ("Missing data", "缺失的数据"),
    "rules_used": ("Rules used", "所用规则"),
    "all_findings": ("All findings", "全部发现"),
    "ogsm_review": ("OGSM review", "OGSM 目标评审"),
    "ogsm_by_owner": ("Status by owner", "按负责人的目标状态"),
    "cascade_issues": ("Broken cascade links", "目标分解链接问题"),
    "team_progress": ("Teams", "团队"),
    "manager_progress": ("Account managers", "客户经理"),
    "account_progress": ("Key accounts", "重点客户"),
    "company_progress": ("Company", "公司"),
    "service_stalls": ("Where requests stall", "请求卡在哪里"),
    "service_deteriorating_accounts": ("Accounts with deteriorating service", "服务恶化的客户"),
    "overdue_plan_items": ("Overdue plan items", "逾期计划事项"),
    # columns
    "contact_name": ("Contact", "联系人"),
    "title": ("Title", "职务"),
    "department": ("Department", "部门"),
    "buying_role": ("Buying role", "采购角色"),
    "influence": ("Influence", "影响力"),
    "support": ("Support", "支持度"),
    "stance": ("Stance", "立场"),
    "reaction_mode": ("Reaction mode", "反应模式"),
    "key_person": ("Key person", "关键人物"),
    "grid_cell": ("Grid cell", "象限"),
    "last_contact_date": ("Last contact", "最近联系"),
    "days_since_contact": ("Days since contact", "距上次联系天数"),
    "activities_in_window": ("Activities (12 months)", "活动数（近12个月）"),
    "strength": ("Relationship strength", "关系强度"),
    "business_challenges": ("Business challenges", "业务挑战"),
    "email": ("E-mail", "邮箱"),
    "phone": ("Phone", "电话"),
    "gap": ("Gap", "缺口"),
    "level": ("Level", "层级"),
    "subject": ("Subject", "对象"),
    "persons": ("Persons", "人员"),
    "threshold": ("Threshold", "阈值"),
    "type": ("Type", "类型"),
    "share_of_wallet": ("Share of wallet", "钱包份额"),
    "category_spend": ("Category spend (wallet)", "品类采购总额（钱包）"),
    "peers": ("Peers", "同行客户数"),
    "buyers": ("Peers buying", "购买的同行数"),
    "median_spend_12m": ("Peers' median spend (12 months)", "同行年采购中位数"),
    "is_past_due": ("Past due", "已过期"),
    "closed_date": ("Closed", "关闭日期"),
    "lost_reason": ("Lost reason", "丢单原因"),
    "competitor": ("Competitor", "竞争对手"),
    "date": ("Date", "日期"),
    "notes": ("Notes", "备注"),
    "tickets": ("Tickets", "工单数"),
    "median_response_hours": ("Median response (h)", "响应时长中位数（小时）"),
    "median_resolution_hours": ("Median resolution (h)", "解决时长中位数（小时）"),
    "response_breach_rate": ("Response SLA missed", "响应超时率"),
    "resolution_breach_rate": ("Resolution SLA missed", "解决超时率"),
    "escalation_rate": ("Escalated", "升级率"),
    "aged_open_tickets": ("Aged open tickets", "超期未结工单"),
    "mean_satisfaction": ("Satisfaction (1–5)", "满意度（1–5）"),
    "priority": ("Priority", "优先级"),
    "ticket_id": ("Ticket", "工单"),
    "opened_at": ("Opened", "创建时间"),
    "age_days": ("Age (days)", "已开天数"),
    "escalated": ("Escalated", "已升级"),
    "target_id": ("Target", "目标编号"),
    "parent_id": ("Parent target", "上级目标"),
    "depth": ("Depth", "层次"),
    "objective": ("Objective", "目的"),
    "target_value": ("Target", "目标值"),
    "actual": ("Actual", "实际"),
    "elapsed": ("Period elapsed", "期间已过"),
    "on_pace": ("On pace at", "按进度应达"),
    "expected": ("Expected to date", "应完成"),
    "attainment": ("Attainment", "完成率"),
    "pace": ("Pace", "进度比"),
    "item_id": ("Item", "事项"),
    "due_date": ("Due", "截止日期"),
    "overdue": ("Overdue", "逾期"),
    "days_overdue": ("Days overdue", "逾期天数"),
    "rule": ("Rule", "规则"),
    "severity": ("Severity", "严重度"),
    "impact": ("At stake", "涉及金额"),
    "finding": ("Finding", "发现"),
    "rule_text": ("Rule", "规则"),
    "action": ("Action", "行动"),
    "because": ("Because", "原因"),
    "what": ("Data", "数据"),
    "why": ("Why", "原因"),
    "problem": ("Problem", "问题"),
    "detail": ("Detail", "详情"),
    "target": ("Target", "目标"),
    "department_region": ("Department × region", "部门 × 区域"),
    "ratio": ("× overall median", "相对总体中位数倍数"),
    "stall": ("Stall", "卡点"),
    "tickets_recent": ("Tickets (recent)", "近期工单"),
    "tickets_baseline": ("Tickets (before)", "此前工单"),
    "median_response_recent": ("Median response recent (h)", "近期响应中位数（小时）"),
    "median_response_baseline": ("Median response before (h)", "此前响应中位数（小时）"),
    "breach_rate_recent": ("Breach rate recent", "近期超时率"),
    "breach_rate_baseline": ("Breach rate before", "此前超时率"),
    "evidence": ("Evidence (std. errors)", "证据（标准误）"),
    "deteriorating": ("Deteriorating", "恶化"),
    # facts
    "sub_industry": ("Sub-industry", "细分行业"),
    "city": ("City", "城市"),
    "country": ("Country", "国家"),
    "ownership": ("Ownership", "企业性质"),
    "employees": ("Employees", "员工人数"),
    "annual_revenue": ("Annual revenue (the customer's)", "客户年营业收入"),
    "registered_capital": ("Registered capital", "注册资本"),
    "strategic_fit": ("Strategic fit (1–5)", "战略匹配度（1–5）"),
    "growth_12m": ("Revenue growth (12 months)", "销售增长（近12个月）"),
    "parent_name": ("Parent company", "母公司"),
    "group_id": ("Group", "集团编号"),
    "group_name": ("Group", "所属集团"),
    "group_accounts": ("Accounts in the group", "集团内客户数"),
    "group_revenue_12m": ("Group revenue (12 months)", "集团销售额（近12个月）"),
    "visits_12m": ("Visits", "拜访次数"),
    "meetings_12m": ("Meetings", "会议次数"),
    "joint_business_meetings_12m": ("Joint business meetings", "联合经营会议次数"),
    "qbrs_12m": ("Quarterly business reviews", "季度业务回顾次数"),
    "last_visit": ("Last visit", "最近拜访"),
    "last_joint_business_meeting": ("Last joint business meeting", "最近联合经营会议"),
    "tickets_12m": ("Tickets (12 months)", "工单数（近12个月）"),
    "service_deteriorating": ("Service deteriorating", "服务恶化"),
    "slowdown_ratio": ("Slowdown (recent ÷ before)", "变慢倍数（近期÷此前）"),
    "revenue_growth_12m": ("Revenue growth (12 months)", "销售增长（近12个月）"),
    "p_alive": ("P(still buying)", "仍在购买的概率"),
    "previous_score": ("Score at the comparison date", "对比日评分"),
    "previous_tier": ("Tier at the comparison date", "对比日层级"),
    "compare_date": ("Comparison date", "对比日"),
    "movement": ("Tier movement", "层级变化"),
    "relationship_strength": ("Relationship strength (0–100)", "关系强度（0–100）"),
    # values
    "bookings": ("Bookings", "赢单额"),
    "new_opportunities": ("New opportunities", "新增商机数"),
    "company": ("Company", "公司"),
    "team": ("Team", "团队"),
    "manager": ("Account manager", "客户经理"),
    "achieved": ("Achieved", "已达成"),
    "on_track": ("On track", "进度正常"),
    "at_risk": ("At risk", "有风险"),
    "off_track": ("Off track", "严重落后"),
    "missed": ("Missed", "未达成"),
    "not_started": ("Not started", "未开始"),
    "no_actual": ("No actual", "无实际值"),
    "champion": ("Champion", "拥护者"),
    "supporter": ("Supporter", "支持者"),
    "neutral": ("Neutral", "中立"),
    "skeptic": ("Skeptic", "怀疑者"),
    "opponent": ("Opponent", "反对者"),
    "growth": ("Growth", "成长型"),
    "trouble": ("Trouble", "麻烦型"),
    "even_keel": ("Even keel", "平稳型"),
    "overconfident": ("Overconfident", "过度自信型"),
    "up": ("Up", "上升"),
    "down": ("Down", "下降"),
    "same": ("Unchanged", "不变"),
    "new": ("New", "新增"),
    "won": ("Won", "赢单"),
    "lost": ("Lost", "丢单"),
    "visit": ("Visit", "拜访"),
    "call": ("Call", "电话"),
    "meeting": ("Meeting", "会议"),
    "qbr": ("Quarterly business review", "季度业务回顾"),
    "joint_business_meeting": ("Joint business meeting", "联合经营会议"),
    "economic": ("Economic buyer", "经济决策人"),
    "technical": ("Technical buyer", "技术决策人"),
    "coach": ("Coach", "内线"),
    "gatekeeper": ("Gatekeeper", "把关者"),
    "relationship_gaps": ("Coverage gaps", "覆盖缺口"),
    "role_economic": ("Economic buyer", "经济决策人"),
    "role_technical": ("Technical buyer", "技术决策人"),
    "role_user": ("User", "使用者"),
    "role_coach": ("Coach", "内线"),
    "role_gatekeeper": ("Gatekeeper", "把关者"),
    "role_other": ("Other", "其他"),
    "activity_visit": ("Visit", "拜访"),
    "activity_call": ("Call", "电话"),
    "activity_meeting": ("Meeting", "会议"),
    "activity_joint_business_meeting": ("Joint business meeting", "联合经营会议"),
    "activity_qbr": ("Quarterly business review", "季度业务回顾"),
    "activity_email": ("E-mail", "邮件"),
    "activity_other": ("Other", "其他"),
    "no_economic_buyer": ("No economic buyer", "无经济决策人"),
    "high_influence_opponent": ("High-influence opponent", "高影响力反对者"),
    "single_threaded": ("Single-threaded", "单线联系"),
    "key_person_not_contacted": ("Key person not contacted", "关键人物长期未联系"),
    "deal_no_economic_buyer": ("Deal without economic buyer", "商机无经济决策人"),
    "deal_opponent": ("Deal with an opponent", "商机有反对者"),
    "deal_single_threaded": ("Deal single-threaded", "商机单线联系"),
    "unknown_parent": ("Unknown parent", "上级目标不存在"),
    "cycle": ("Cycle", "循环引用"),
    "bad_period": ("Period does not parse", "期间无法解析"),
    # messages
    "no_contacts": ("No contacts are recorded for this account.", "该客户没有联系人记录。"),
    "power_map_unplaced": (
        "{n} contact(s) without a known influence or support are not placed: see the table.",
        "{n} 位联系人的影响力或支持度未知，未在图中标出，见下表。",
    ),
    "no_wallet": ("No category spend is known, so there is no share of wallet.",
                  "没有品类采购总额数据，无法计算钱包份额。"),
    "no_activities": ("No activities are recorded.", "没有活动记录。"),
    "no_targets": ("No targets for this period.", "本期没有目标。"),
    "no_open_pipeline": ("No open opportunities.", "没有进行中的商机。"),
    "no_recent_deals": ("No deals won or lost recently.", "近期没有赢单或丢单。"),
    "no_whitespace": ("No whitespace: the account buys what most of its peers buy.",
                      "没有空白机会：该客户已购买多数同行在购买的产品线。"),
    "no_tickets": ("No service tickets.", "没有服务工单。"),
    "no_open_tickets": ("No open tickets.", "没有未结工单。"),
    "no_plan_items": ("No plan items.", "没有计划事项。"),
    "no_findings": ("Nothing stands out.", "没有需要特别关注的事项。"),
    "no_gaps": ("No coverage gaps.", "没有覆盖缺口。"),
    "nothing_missing": ("All data sections are present.", "所有数据部分齐全。"),
    "no_cascade_issues": ("Every target links to an existing parent; no cycles.",
                          "所有目标均链接到存在的上级目标，没有循环。"),
    "no_subsidiaries": ("No subsidiaries.", "没有下属公司。"),
    "no_score": ("No score: the methodology has no scoring section or scoring failed.",
                 "没有评分：方法论文件没有评分部分或评分失败。"),
    "pii_masked": ("Person names, phone numbers and e-mail addresses are replaced by pseudonyms.",
                   "人员姓名、电话和邮箱已替换为化名。"),
}  # fmt: skip
LABELS.update({k: v for k, v in RESEARCH_LABELS.items() if k not in LABELS})

RESEARCH_NOTES: dict[str, tuple[str, str]] = {
    "summary_findings": (
        "Ranked by severity, then by the money at stake. Each finding names the rule that "
        "produced it; the thresholds are in the research section of the methodology file.",
        "按严重度排序，其次按涉及金额。每条发现都注明产生它的规则；阈值见方法论文件的 research 部分。",
    ),
    "power_map": (
        "Each contact by support (−2 opponent … +2 champion) and influence (1–5); colour is the "
        "buying role, size the relationship strength. Above the dashed line: key persons.",
        "按支持度（−2 反对 … +2 拥护）和影响力（1–5）展示每位联系人；颜色为采购角色，大小为关系强度。虚线以上为关键人物。",
    ),
    "whitespace": (
        "Product lines that most same-industry peers bought in the last 12 months and this "
        "account did not.",
        "近12个月多数同行业客户购买、而该客户未购买的产品线。",
    ),
    "share_of_wallet_trend": (
        "Revenue of the trailing 12 months ÷ the customer's yearly spend on our category, at "
        "each quarter end.",
        "每季度末：近12个月销售额 ÷ 客户在本品类的年采购总额。",
    ),
    "next_actions": (
        "One action per top finding; the rule column says which finding and rule led to it.",
        "每条重要发现对应一项行动；规则列说明由哪条发现和规则得出。",
    ),
    "plan_progress": (
        "Pace = actual ÷ (target × share of the period elapsed); the tick marks where a target "
        "on pace would be.",
        "进度比 = 实际 ÷（目标 × 期间已过比例）；刻度线表示按进度应达到的位置。",
    ),
    "ogsm_review": (
        "Objectives → goals → strategies → measures: each target of the period with its actual "
        "to date, pace and status; strategies are the plan items linked to a target.",
        "目的 → 目标 → 策略 → 衡量：本期每个目标的实际完成、进度比与状态；策略为关联到目标的计划事项。",
    ),
    "service_stalls": (
        "Department × region cells whose median resolution time is well above the overall "
        "median (at least the configured number of resolved tickets).",
        "解决时长中位数明显高于总体中位数的部门 × 区域组合（已解决工单数达到设定下限）。",
    ),
}
NOTES.update({k: v for k, v in RESEARCH_NOTES.items() if k not in NOTES})


# -- the pipeline forecast report (kamlib.forecast) -----------------------------------------------
#: Labels of the pipeline forecast report (merged into ``LABELS`` without overriding).
FORECAST_LABELS: dict[str, tuple[str, str]] = {
    "pipeline_forecast": ("Pipeline forecast", "销售漏斗预测"),
    "funnel_section": ("Funnel: conversion and drop-off", "销售漏斗：转化与流失"),
    "velocity_section": ("Velocity: days in stage", "推进速度：各阶段停留天数"),
    "stale_section": ("Stale and slipped deals", "停滞与延期商机"),
    "forecast_fan_section": ("Forecast and track record", "预测区间与历史准确度"),
    "gap_section": ("Gap to target", "业绩差距"),
    "push_section": ("Deals that would close the gap", "可弥补差距的重点商机"),
    "categories_section": ("Forecast categories", "预测分类"),
    "run_rate_section": ("Run-rate order revenue", "持续性订单收入预测"),
    "win_model_section": ("How good is the win probability?", "赢单概率模型的准确度"),
    "accuracy_section": ("Accuracy track record", "历史预测准确度"),
    "forecast_notes_section": ("Assumptions and fall-backs", "假设与降级处理说明"),
    "entered": ("Entered", "进入数"),
    "converted": ("Moved on", "推进数"),
    "dropped": ("Dropped", "流失数"),
    "still_open": ("Still open", "仍在跟进"),
    "conversion_rate": ("Conversion", "转化率"),
    "drop_rate": ("Drop-off", "流失率"),
    "win_rate": ("Win rate", "赢单率"),
    "entered_amount": ("Amount entered", "进入金额"),
    "completed": ("Completed stints", "已完成停留次数"),
    "median_days": ("Median days", "中位天数"),
    "p25_days": ("P25 days", "P25 天数"),
    "p75_days": ("P75 days", "P75 天数"),
    "p90_days": ("P90 days", "P90 天数"),
    "open_now": ("Open now", "当前在途"),
    "open_median_days": ("Median days so far (open)", "在途商机已停留中位天数"),
    "opportunity_name": ("Deal name", "商机名称"),
    "deal_amount": ("Amount", "金额"),
    "days_in_stage": ("Days in stage", "本阶段天数"),
    "days_past_due": ("Days past expected close", "超过预计成交日天数"),
    "target_amount": ("Target", "目标"),
    "closed_to_date_amount": ("Won to date", "期内已赢单"),
    "bookings_p10_amount": ("P10", "P10"),
    "bookings_p50_amount": ("P50", "P50"),
    "bookings_p90_amount": ("P90", "P90"),
    "revenue_p10_amount": ("P10", "P10"),
    "revenue_p50_amount": ("P50", "P50"),
    "revenue_p90_amount": ("P90", "P90"),
    "gap_amount": ("Gap to P50", "与P50的差距"),
    "coverage_ratio": ("Pipeline coverage", "商机覆盖率"),
    "reach_probability": ("P(reach target)", "达成目标概率"),
    "target_status": ("Status", "状态"),
    "win_probability": ("P(win)", "赢单概率"),
    "in_period_probability": ("P(closes in period)", "期内成交概率"),
    "expected_value": ("Expected value", "期望金额"),
    "closes_gap": ("Needed for target", "弥补差距所需"),
    "drivers_up": ("Helps", "有利因素"),
    "drivers_down": ("Hurts", "不利因素"),
    "forecast_category": ("Category", "预测分类"),
    "deals_count": ("Deals", "商机数"),
    "scope": ("Scope", "范围"),
    "method": ("Method", "方法"),
    "auc": ("AUC", "AUC"),
    "brier": ("Brier score", "Brier 分数"),
    "probability_band": ("Predicted band", "预测概率区间"),
    "predicted_probability": ("Predicted", "预测赢单率"),
    "observed_rate": ("Observed", "实际赢单率"),
    "periods_count": ("Periods", "期数"),
    "mape_rate": ("MAPE of P50", "P50 平均绝对百分比误差"),
    "bias_rate": ("Bias of P50", "P50 偏差"),
    "interval_coverage_rate": ("Actual inside P10–P90", "实际值落入P10–P90比例"),
    "baseline_mape_rate": ("MAPE, weighted pipeline", "加权管道法 MAPE"),
    "baseline_bias_rate": ("Bias, weighted pipeline", "加权管道法偏差"),
    "forecast_period": ("Forecast period", "预测期"),
    "as_of_date": ("As of", "截至日期"),
    "weighted_pipeline_amount": (
        "Weighted pipeline (amount × stage probability)",
        "加权管道（金额×阶段概率）",
    ),
    "open_deals_count": ("Open deals", "在途商机数"),
    "win_model": ("Win probability from", "赢单概率来源"),
    "win_method_logit": ("logistic model", "逻辑回归模型"),
    "win_method_stage_rates": (
        "stage win rates (too little history)",
        "阶段赢单率（历史数据不足）",
    ),
    "win_method_methodology": ("methodology stage probabilities", "方法论阶段概率"),
    "p10": ("P10", "P10"),
    "p50": ("P50", "P50"),
    "p90": ("P90", "P90"),
    "weighted_pipeline": ("Weighted pipeline", "加权管道"),
    "p_reach": ("P(reach target)", "达成目标概率"),
    "commit": ("Commit", "承诺"),
    "best_case": ("Best case", "最佳情况"),
    "reached": ("Reached", "已达成"),
    "no_target": ("No target", "无目标"),
    "model": ("Model", "模型"),
    "stage_rates": ("Stage win rates", "阶段赢单率"),
    "ets": ("ETS", "指数平滑"),
    "mean": ("Mean month", "月均值"),
    "driver_stage": ("stage", "阶段"),
    "driver_age": ("age", "商机年龄"),
    "driver_days_in_stage": ("days in stage", "本阶段天数"),
    "driver_past_due": ("past due", "已过预计成交日"),
    "driver_amount": ("amount", "金额"),
    "driver_product_line": ("product line", "产品线"),
    "driver_contacts": ("contacts", "联系人数"),
    "driver_support": ("support", "支持度"),
    "driver_economic_buyer": ("economic buyer", "经济决策人"),
    "driver_owner_history": ("owner's record", "负责人历史赢单率"),
    "stale_stuck": (
        "in {stage} for {days} days (usual at most {limit})",
        "在{stage}阶段已停留{days}天（通常不超过{limit}天）",
    ),
    "stale_slipped": ("{days} days past the expected close date", "已超过预计成交日{days}天"),
    # the forecast tournament (kamlib.forecast.tournament)
    "forecast_methods_section": (
        "Forecast methods: who has the better track record?",
        "预测方法对比：谁的历史记录更好？",
    ),
    "zombie_section": ("Zombie pipeline", "僵尸商机"),
    "fc_method_deal_model": ("Deal-level Monte Carlo", "逐单蒙特卡洛模型"),
    "fc_method_weighted_pipeline": ("Weighted pipeline", "加权管道法"),
    "fc_method_naive": ("Last period", "上期实际"),
    "fc_method_seasonal_naive": ("Same period last year", "去年同期"),
    "fc_method_mean": ("Mean of earlier periods", "历史各期均值"),
    "fc_method_ets": ("Time-series model (Theta)", "时间序列模型（Theta）"),
    "fc_method_combined": ("Accuracy-weighted combination", "按准确度加权组合"),
    "method_reason_best": (
        "lowest MAPE over {n} back-test forecasts ({mape})",
        "在{n}次回测预测中MAPE最低（{mape}）",
    ),
    "method_reason_too_little": (
        "too little track record ({n} scored back-test forecasts, {k} needed): the deal-level "
        "model is kept",
        "历史记录不足（已评分回测预测{n}次，至少需要{k}次）：沿用逐单模型",
    ),
    "forecast_method": ("Headline method", "采用的预测方法"),
    "method_reason": ("Why", "选择理由"),
    "interval_method": ("P10–P90 from", "P10–P90区间来源"),
    "interval_conformal": ("the back-test's own errors (conformal)", "回测误差（保形校准）"),
    "interval_monte_carlo": (
        "the Monte Carlo band (too few back-test errors)",
        "蒙特卡洛区间（回测误差不足）",
    ),
    "model_p50_amount": ("P50 of the deal-level model", "逐单模型P50"),
    "forecast_p50_amount": ("P50 now", "本期P50"),
    "scored_count": ("Scored forecasts", "已评分预测次数"),
    "coverage_text": ("Actual inside P10–P90 (Wilson 95%)", "实际值落入P10–P90（Wilson 95%区间）"),
    "chosen": ("Chosen", "已采用"),
    "zombie_deals_count": ("Zombie deals", "僵尸商机数"),
    "zombie_amount": ("Their amount", "涉及金额"),
    "zombie_median_age_days": ("Median age (days)", "年龄中位数（天）"),
    "zombie_oldest_age_days": ("Oldest (days)", "最长年龄（天）"),
    "zombie_amount_imputed": ("Of them with an imputed amount", "其中金额为估算"),
    "age_days": ("Age (days)", "商机年龄（天）"),
    "no_zombies": ("No open deal is judged a zombie.", "没有被判定为僵尸的在途商机。"),
}
LABELS.update({k: v for k, v in FORECAST_LABELS.items() if k not in LABELS})

FORECAST_NOTES: dict[str, tuple[str, str]] = {
    "funnel_section": (
        "Deals that first entered each stage in the last twelve months: the share that moved on "
        "to a later stage (conversion), the share lost there (drop-off), and their win rate.",
        "近十二个月首次进入各阶段的商机：推进到后续阶段的比例（转化率）、在该阶段输单的比例（流失率）及其赢单率。",
    ),
    "forecast_fan_section": (
        "Bookings are won opportunity amounts by close date. The line is the headline P50: the "
        "method with the best track record at the time (see Forecast methods; the deal-level "
        "Monte Carlo while the record is too short). The band is its P10–P90, calibrated on the "
        "back-test's own errors once there are enough of them, else the Monte Carlo band. Past "
        "periods were forecast the day before they began, with only what was known then: red "
        "diamonds are what was actually won, grey squares the weighted pipeline.",
        "赢单额指按成交日期统计的赢单商机金额。折线为采用的P50：当时历史记录最好的方法（见“预测方法对比”；记录不足时为逐单蒙特卡洛模型）。"
        "色带为其P10–P90区间：回测误差足够时按回测误差校准，否则为蒙特卡洛区间。历史各期均以该期开始前一日"
        "已知的数据预测：红色菱形为实际赢单额，灰色方块为加权管道法。",
    ),
    "gap_section": (
        "Figures of the deal-level Monte Carlo, by team and owner. "
        "Target minus P50 (positive: short of target); coverage is the open pipeline expected to "
        "close by the period end divided by what remains of the target; P(reach) is the share of "
        "simulated outcomes at or above the target.",
        "按团队和负责人的逐单蒙特卡洛模型数字。差距 = 目标 − P50（正数表示未达目标）；覆盖率 = 预计在期末前成交的在途商机金额 ÷ 剩余目标；"
        "达成概率为模拟结果中达到或超过目标的比例。",
    ),
    "push_section": (
        "Open deals ranked by expected value (amount × P(win) × P(closes in period)). "
        "'Needed for target' marks the deals that, if all were won, would cover what remains "
        "after the bookings to date and the expected new deals.",
        "在途商机按期望金额（金额×赢单概率×期内成交概率）排序。“弥补差距所需”标出若全部赢单即可覆盖"
        "剩余差距（扣除期内已赢单与预计新增商机后）的商机。",
    ),
    "run_rate_section": (
        "Net order revenue forecast from the monthly order history (ETS). Orders include the "
        "deliveries of won projects, so this is shown next to the bookings forecast, never "
        "added to it.",
        "根据月度订单历史（指数平滑）预测的订单净收入。订单中已包含赢单项目的交付，因此与赢单额预测并列展示，不相加。",
    ),
    "win_model_section": (
        "Fitted on deals closed before the hold-out cut-off and judged on the pipeline after "
        "it: AUC (ranking, 0.5 = chance) and Brier score (lower is better), next to plain "
        "stage win rates.",
        "在留出期之前已关闭的商机上拟合，在之后的商机管道上检验：AUC（排序能力，0.5为随机）与Brier分数"
        "（越低越好），并与简单阶段赢单率对比。",
    ),
    "accuracy_section": (
        "The headline forecast (the method the track record chose then, with its calibrated "
        "P10–P90) made the day before each past period began, against what was won. About 80% "
        "of actuals should fall inside P10–P90; the weighted pipeline (amount × stage "
        "probability) is the baseline to beat. Every method's own record is in the next section.",
        "每个历史期间开始前一天所做的主预测（当时按历史准确度选出的方法及其校准后的P10–P90）与实际赢单的对比。"
        "约80%的实际值应落在P10–P90区间内；加权管道法（金额×阶段概率）是需要超越的基准。"
        "各方法自己的记录见下一节。",
    ),
    "forecast_methods_section": (
        "Every past period was forecast the day before it began (and a third and two thirds of "
        "the way in) by each method, with only what was known then. The headline P50 is the "
        "method with the lowest MAPE over the periods that had ended by the as-of date (with "
        "fewer than 4 scored forecasts the deal-level model is kept); its P10–P90 is widened "
        "or narrowed to the errors it actually made. Coverage is given with its Wilson 95% "
        "interval: a few periods cannot prove much.",
        "每个历史期均由各方法在期初前一日（以及期内三分之一、三分之二处）仅用当时已知数据进行预测。"
        "本期P50采用截至日期前已结束各期中MAPE最低的方法（已评分预测少于4次时沿用逐单模型）；"
        "其P10–P90区间按该方法实际犯下的误差校准。覆盖率附Wilson 95%区间：期数少时结论有限。",
    ),
    "zombie_section": (
        "Open deals the close-timing model judges will never close: they are left out of the "
        "forecast. Clean them up in the CRM.",
        "逐单成交时间模型判定永远不会成交的在途商机，不计入预测。请在CRM中清理。",
    ),
}
NOTES.update({k: v for k, v in FORECAST_NOTES.items() if k not in NOTES})


# -- pipeline analytics (kamlib.pipeline): velocity and the changes bridge ------------------------
#: Labels of the pipeline charts and tables (merged into ``LABELS`` without overriding).
PIPELINE_LABELS: dict[str, tuple[str, str]] = {
    "pipeline_changes_section": ("Pipeline changes", "商机管道变化"),
    "open_start": ("Open at start", "期初在途"),
    "reopened": ("Re-opened", "重新激活"),
    "amount_up": ("Amount raised", "金额上调"),
    "amount_down": ("Amount lowered", "金额下调"),
    "open_end": ("Open at end", "期末在途"),
    "bridge_amount": ("Amount", "金额"),
    "stints": ("Stints", "停留次数"),
    "stint_days": ("Days in stage", "阶段停留天数"),
    "created_won": ("Created and won", "新建并赢单"),
    "created_lost": ("Created and lost", "新建并丢单"),
    "pushed_out": ("Pushed out", "推迟"),
    "pulled_in": ("Pulled in", "提前"),
    "advanced": ("Advanced", "推进"),
    "regressed": ("Moved back", "倒退"),
    "unchanged": ("Unchanged", "未变"),
    "is_stuck": ("Stuck", "停滞"),
    "is_slipped": ("Slipped", "延期"),
    "stuck_threshold_days": ("Stage norm (days)", "阶段常规天数"),
}
LABELS.update({k: v for k, v in PIPELINE_LABELS.items() if k not in LABELS})
