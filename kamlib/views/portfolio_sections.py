"""The portfolio review's scoring sections: the dates scored, CLV indicators, the target
group, tier migration and the back-test, each with its :class:`SectionStatus`.

Builders used by :func:`kamlib.views.portfolio.portfolio_review`; what they compute is shown by
:class:`kamlib.views.portfolio.PortfolioReview`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kamlib.clv import clv_indicators
from kamlib.data.kamdata import KamData
from kamlib.errors import ConfigError, KamlibError
from kamlib.features import account_features_history
from kamlib.methodology import Methodology, ScoringModel
from kamlib.methodology.labels import label
from kamlib.scoring import (
    MigrationResult,
    ValidationResult,
    score_accounts,
    score_history,
    tier_migration,
    validate_scores,
)
from kamlib.scoring.gains import gains_curves
from kamlib.segmentation import target_group
from kamlib.views.notices import Notices


# -- small pieces -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SectionStatus:
    """Whether a section of the review could be computed, and if not why.

    ``reason`` is a label key of :mod:`kamlib.methodology.labels`, the headline shown in place of the
    section's chart (e.g. ``"validation_no_history"``); ``explanation`` the label key shown in
    place of its table — what caused it, or where to look (``"see_notes"``); ``detail`` is
    the error message for the notes, possibly empty.
    """

    available: bool
    reason: str = ""
    detail: str = ""
    explanation: str = "see_above"

    def message(self, lang: str = "en") -> str:
        """The reason as a sentence in ``lang`` (empty when the section is available)."""
        if self.available:
            return ""
        text = label(self.reason, lang)
        return f"{text} ({self.detail})" if self.detail else text


#: The status of a section that could be computed.
AVAILABLE = SectionStatus(True)


def account_names(accounts: pd.DataFrame) -> dict[str, str]:
    """account_id → display name (the id when the name is empty), from ``account_id, name``."""
    out = {}
    for aid, name in zip(accounts["account_id"], accounts["name"], strict=True):
        text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
        out[str(aid)] = text.strip() or str(aid)
    return out


def chart_names(ids: list[str], names: Mapping[str, str]) -> list[str]:
    """Unique chart labels: the name, or ``name (id)`` where two accounts share a name."""
    plain = [names.get(i, i) for i in ids]
    counts = pd.Series(plain).value_counts()
    return [p if counts[p] == 1 else f"{p} ({i})" for p, i in zip(plain, ids, strict=True)]


# -- building it -------------------------------------------------------------------------------
def with_clv(
    features: pd.DataFrame,
    data: KamData,
    day: date,
    needed: list[str],
    notices: Notices,
    status: dict[str, SectionStatus],
) -> pd.DataFrame:
    """Add the CLV indicators the methodology scores (NaN, with a notice, when the models
    cannot be fitted on the data as of ``day``)."""
    if not needed:
        return features
    try:
        with notices.warnings("clv"):
            clv = clv_indicators(data, as_of=day).set_index("account_id")
    except KamlibError as exc:
        notices.add("clv", f"CLV indicators as of {day} could not be computed: {exc}")
        status.setdefault("clv", SectionStatus(False, "clv_unavailable", str(exc).split(";")[0]))
        clv = pd.DataFrame(index=pd.Index([], name="account_id"), columns=needed, dtype=float)
    out = features.copy()
    for col in needed:
        values = clv[col] if col in clv.columns else pd.Series(dtype=float)
        out[col] = values.reindex(out.index).astype("float64")
    return out


def features_by_date(
    data: KamData,
    source: Any,
    tables: Mapping[str, Any] | None,
    dates: list[date],
    clv_needed: list[str],
    notices: Notices,
    status: dict[str, SectionStatus],
) -> dict[date, pd.DataFrame]:
    """Account features of the whole book as of each of ``dates`` (``account_id`` index),
    with the CLV indicators ``clv_needed`` (those the scoring model reads); computed on ``source`` (``None``: from
    ``data``, else any source of :func:`kamlib.features.account_features_history`)."""
    with notices.warnings("features"):
        history = account_features_history(
            data if source is None else source, as_of_dates=dates, tables=tables
        )
    by_date = {
        d: history.xs(pd.Timestamp(d), level="as_of") if pd.Timestamp(d) in
        history.index.get_level_values("as_of") else history.iloc[:0].droplevel("as_of")
        for d in dates
    }  # fmt: skip
    for d in reversed(dates):  # the review date (last) first: its problems are reported
        by_date[d] = with_clv(by_date[d], data, d, clv_needed, notices, status)
    return by_date


def with_names(features: pd.DataFrame, data: KamData, day: date) -> pd.DataFrame:
    """``features`` (``account_id`` index) with ``account_id`` and the account ``name``
    (as of ``day``) as the first columns."""
    accounts = data.as_of(pd.Timestamp(day)).require("accounts", "The portfolio review")
    names = accounts[["account_id", "name"]].astype({"account_id": "str"})
    names = names.drop_duplicates("account_id").set_index("account_id")["name"]
    out = features.reset_index()
    out.insert(1, "name", names.reindex(out["account_id"]).to_numpy())
    return out


def history_start(data: KamData, day: date) -> date | None:
    """Date of the first order line on or before ``day`` (``None`` without any)."""
    dates = pd.to_datetime(data.require("orders", "The portfolio review")["order_date"])
    first = dates[dates < pd.Timestamp(day) + pd.Timedelta(days=1)].min()
    return None if pd.isna(first) else first.date()


def group_members(data: KamData, group: str, day: date, meth: Methodology) -> pd.DataFrame:
    """The accounts of target group ``group`` as of ``day``."""
    return target_group(data, group, as_of=day, methodology=meth)


def backtest_members(
    data: KamData, group: str, day: date, members_now: pd.DataFrame, meth: Methodology
) -> pd.DataFrame:
    """The group as it was formed at the back-test date (no look-ahead for top<N> and
    strategic); an ``ids:`` group keeps the ids that existed then."""
    if group.strip().lower().startswith("ids:"):
        everyone = group_members(data, "all", day, meth)
        keep = everyone["account_id"].isin(set(members_now["account_id"]))
        return everyone[keep].reset_index(drop=True)
    return group_members(data, group, day, meth)


def migration_section(
    before: pd.DataFrame,
    now: pd.DataFrame,
    meth: Methodology,
    members: pd.DataFrame,
    previous: date,
    day: date,
    notices: Notices,
    status: dict[str, SectionStatus],
) -> MigrationResult | None:
    """Tier migration of the group from ``previous`` to ``day`` (``None``, with the reason in
    ``status["migration"]``, when it cannot be computed)."""
    if before.empty:
        status["migration"] = SectionStatus(False, "migration_no_history")
        return None
    try:
        with notices.warnings("tier_migration", keep=False):
            history = score_history({previous: before, day: now}, meth)
    except KamlibError as exc:
        status["migration"] = SectionStatus(False, "migration_failed", str(exc), "see_notes")
        notices.add("tier_migration", str(exc))
        return None
    ids = set(members["account_id"].astype(str))
    history = history[history["account_id"].isin(ids)]
    return tier_migration(history, previous, day, meth)


def validation_section(
    data: KamData,
    group: str,
    members: pd.DataFrame,
    then: pd.DataFrame,
    now: pd.DataFrame,
    meth: Methodology,
    backtest: date,
    notices: Notices,
    status: dict[str, SectionStatus],
) -> tuple[ValidationResult | None, pd.DataFrame, pd.DataFrame]:
    """The back-test: the scoring as of ``backtest`` against the revenue of the 12 months to
    the review date; the result, its gains curves and the accounts back-tested (``None`` and
    empty frames, with the reason in ``status["validation"]``, when it cannot be computed)."""
    empty_curves = pd.DataFrame(columns=["ranking", "account_share", "value_share"])
    empty_accounts = pd.DataFrame(columns=["account_id", "score", "tier", "baseline", "value"])
    # customers at the back-test date: an order line on or before it
    customers = then.index[then["revenue_24m"].notna()] if len(then) else pd.Index([])
    if len(customers) == 0:
        status["validation"] = SectionStatus(False, "validation_no_history")
        return None, empty_curves, empty_accounts
    try:
        with notices.warnings("score_validation", keep=False):
            scored = score_accounts(then, meth)
        cohort = backtest_members(data, group, backtest, members, meth)
        ids = set(cohort["account_id"].astype(str)) & set(customers.astype(str))
        frame = scored.scores[scored.scores["account_id"].isin(ids)].reset_index(drop=True)
        if frame.empty:
            status["validation"] = SectionStatus(False, "validation_no_history")
            return None, empty_curves, empty_accounts
        # the 12 months after the back-test date are the 12 months to as_of.  Accounts that
        # were not customers then (new since) count as "not scored": the whole book for
        # `all`, the listed accounts for `ids:`; a top<N> / strategic cohort is closed.
        value = now["revenue_12m"].dropna()
        kind = group.strip().lower()
        if kind.startswith("ids:"):
            value = value[value.index.isin(ids | set(members["account_id"].astype(str)))]
        elif kind != "all":
            value = value[value.index.isin(ids)]
        baseline = then["revenue_12m"]
        result = validate_scores(frame, value, baseline=baseline, methodology=meth)
    except KamlibError as exc:
        status["validation"] = SectionStatus(False, "validation_failed", str(exc), "see_notes")
        notices.add("score_validation", str(exc))
        return None, empty_curves, empty_accounts
    checks = [result.lift_top_tier, result.gini_score, result.gini_perfect]
    if not np.all(np.isfinite(checks)):
        status["validation"] = SectionStatus(
            False, "validation_failed", "a validation figure is not finite", "see_notes"
        )
        notices.add("score_validation", "A validation figure is not finite.")
        return None, empty_curves, empty_accounts
    ids_order = frame["account_id"].astype(str)
    v = value.reindex(ids_order).fillna(0.0).to_numpy(dtype=float)
    b = baseline.reindex(ids_order).to_numpy(dtype=float)
    curves = gains_curves(frame["score"].to_numpy(dtype=float), b, v)
    accounts = pd.DataFrame(
        {
            "account_id": ids_order.to_numpy(),
            "score": frame["score"].to_numpy(dtype=float),
            "tier": frame["tier"].astype(str).to_numpy(),
            "baseline": b,
            "value": v,
        }
    )
    return result, curves, accounts


# -- tier migration: why an account moved ------------------------------------------------------
def _tier_by_score(model: ScoringModel, score: float) -> str:
    for tier in model.tiers:
        if round(score, 9) >= tier.min_score:
            return tier.key
    return model.tiers[-1].key


def _pareto_note(row: Mapping[str, Any], model: ScoringModel, lang: str) -> str:
    """Why a move is the Pareto rule's doing: the account entered or left the top share
    of revenue that the rule lifts (its tier by score alone did not make the move)."""
    before = row["from_tier"] != _tier_by_score(model, float(row["from_score"]))
    after = row["to_tier"] != _tier_by_score(model, float(row["to_score"]))
    if after and not before:
        return label("pareto_now_lifted", lang)
    if before and not after:
        return label("pareto_no_longer", lang)
    return ""


def _drivers_text(text: str, model: ScoringModel, lang: str) -> str:
    """``revenue_12m +12.0; growth_12m +5.0`` → ``Revenue, last 12 months +12.0 · …``."""
    parts = []
    for item in str(text).split(";"):
        item = item.strip()
        if not item:
            continue
        name, _, change = item.rpartition(" ")
        try:
            parts.append(f"{model.indicator(name).label(lang)} {change}")
        except ConfigError:
            parts.append(item)
    return " · ".join(parts)


def mover_drivers(row: Mapping[str, Any], model: ScoringModel, lang: str) -> str:
    """What drove one account's move between tiers (a row of
    :attr:`~kamlib.scoring.MigrationResult.risers` / ``fallers``), in ``lang``: the Pareto
    rule when it made the move, then the indicators whose weighted contribution changed
    most, with the change in points."""
    parts = (_pareto_note(row, model, lang), _drivers_text(row["drivers"], model, lang))
    return " · ".join(t for t in parts if t)
