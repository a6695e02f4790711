"""Segmentation: tags, ABC / Pareto, RFM, the portfolio matrix, clusters and target groups.

Identify → mine (METHODOLOGY.md §2): classify the accounts with static and dynamic tags,
combine them in filters and segment models, and save the result as named **target groups**
(客户目标组) that reports and later runs refer to.  The rules come from the methodology
file's ``tags`` and ``segments`` sections (:mod:`kamlib.methodology`); everything here is pure —
frames in, frames and small frozen result objects out.

Tags and filters
    :func:`tag_accounts` (one true/false column per tag), :func:`filter_accounts`; the
    rule language is :mod:`kamlib.methodology.rules` (parsed safely, never ``eval``).
ABC / Pareto
    :func:`abc_analysis` (classes A/B/C by cumulative share), :func:`lorenz_curve`
    (:class:`LorenzCurve` with the Gini coefficient).
RFM
    :func:`rfm_scores` → :class:`RfmResult` (R, F, M scores and named segments from a rule
    table in the methodology file).
Portfolio matrix
    :func:`portfolio_matrix` → :class:`PortfolioMatrix` (attractiveness × share of wallet,
    quadrants invest / develop / maintain / manage_for_cash).
Company size against our revenue
    :func:`company_sizes` (size from the registry record), :func:`company_size_matrix` →
    :class:`CompanySizeMatrix` (quadrants core / potential / dependency / small at the
    medians: "a big company is not a big customer").
Clusters
    :func:`cluster_accounts` → :class:`ClusterResult` (k-means on standardised features, k
    by silhouette, plain-language profiles).
Target groups
    :func:`target_group` (built-ins ``all``, ``top<N>``, ``strategic``, ``ids:`` and the
    methodology's named groups, as used by ``kam report --for``), :func:`check_group_name`,
    :func:`define_target_group`, :func:`resolve_target_group` → :class:`TargetGroup`.

Example
-------
>>> from kamlib.features import account_features
>>> from kamlib.segmentation import tag_accounts, abc_analysis, resolve_target_group
>>> features = account_features(data, as_of="2026-09-30")        # doctest: +SKIP
>>> tag_accounts(features).sum(numeric_only=True)                # doctest: +SKIP
>>> resolve_target_group(data, "wallet_gap", as_of="2026-09-30")  # doctest: +SKIP
"""

from kamlib.methodology import GroupDefinition, TagRule
from kamlib.methodology.rules import Rule, parse_rule
from kamlib.segmentation.clusters import CLUSTER_COLUMNS, ClusterResult, cluster_accounts
from kamlib.segmentation.company_size import (
    SIZE_MEASURES,
    SIZE_QUADRANTS,
    CompanySizeMatrix,
    company_size_matrix,
    company_sizes,
)
from kamlib.segmentation.groups import (
    GROUPS_HELP,
    MAX_UNMEASURED_WEIGHT,
    MEMBER_COLUMNS,
    RECORD_COLUMNS,
    STRATEGIC_REVENUE_SHARE,
    TargetGroup,
    check_group_name,
    define_target_group,
    resolve_target_group,
    target_group,
)
from kamlib.segmentation.pareto import ABC_COLUMNS, LorenzCurve, abc_analysis, lorenz_curve
from kamlib.segmentation.portfolio import PORTFOLIO_COLUMNS, PortfolioMatrix, portfolio_matrix
from kamlib.segmentation.rfm import RFM_COLUMNS, RfmResult, rfm_scores
from kamlib.segmentation.tags import filter_accounts, tag_accounts, tag_rules

__all__ = [
    "ABC_COLUMNS",
    "CLUSTER_COLUMNS",
    "GROUPS_HELP",
    "MAX_UNMEASURED_WEIGHT",
    "MEMBER_COLUMNS",
    "PORTFOLIO_COLUMNS",
    "RECORD_COLUMNS",
    "RFM_COLUMNS",
    "SIZE_MEASURES",
    "SIZE_QUADRANTS",
    "STRATEGIC_REVENUE_SHARE",
    "ClusterResult",
    "CompanySizeMatrix",
    "GroupDefinition",
    "LorenzCurve",
    "PortfolioMatrix",
    "RfmResult",
    "Rule",
    "TagRule",
    "TargetGroup",
    "abc_analysis",
    "check_group_name",
    "cluster_accounts",
    "company_size_matrix",
    "company_sizes",
    "define_target_group",
    "filter_accounts",
    "lorenz_curve",
    "parse_rule",
    "portfolio_matrix",
    "resolve_target_group",
    "rfm_scores",
    "tag_accounts",
    "tag_rules",
    "target_group",
]
