"""The portfolio review's scoring sections: the dates scored, CLV indicators, the target
group, tier migration and the back-test, each with its :class:`SectionStatus`.

Builders used by :func:`kamlib.views.portfolio.portfolio_review`; what they compute is shown by
:class:`kamlib.views.portfolio.PortfolioReview`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data.kamdata import KamData
from kamlib.errors import KamlibError, KamlibWarning
from kamlib.methodology import Methodology
from kamlib.methodology.labels import label
from kamlib.scoring import (
    MigrationResult,
    ValidationResult,
    score_accounts,
    score_history,
    tier_migration,
    validate_scores,
)

#: Points of each curve in :meth:`PortfolioReview.gains` (enough for a smooth line).
CURVE_POINTS = 201


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


_OK = SectionStatus(True)


def _names(accounts: pd.DataFrame) -> dict[str, str]:
    """account_id → display name (the id when the name is empty)."""
    out = {}
    for aid, name in zip(accounts["account_id"], accounts["name"], strict=True):
        text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
        out[str(aid)] = text.strip() or str(aid)
    return out


def _chart_names(ids: list[str], names: Mapping[str, str]) -> list[str]:
    """Unique chart labels: the name, or ``name (id)`` where two accounts share a name."""
    plain = [names.get(i, i) for i in ids]
    counts = pd.Series(plain).value_counts()
    return [p if counts[p] == 1 else f"{p} ({i})" for p, i in zip(plain, ids, strict=True)]


# -- building it -------------------------------------------------------------------------------
class _Notices:
    def __init__(self) -> None:
        self.rows: list[dict[str, str]] = []

    def add(self, section: str, message: str) -> None:
        row = {"section": section, "message": message}
        if row not in self.rows:
            self.rows.append(row)

    def capture(self, section: str, *, keep: bool = True) -> _Capture:
        """Collect kamlib's warnings in the block as notices (``keep=False``: drop them, for
        scorings of other dates whose data-quality warnings repeat the review date's)."""
        return _Capture(self, section, keep=keep)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["section", "message"]).astype(str)


class _Capture:
    """Collect kamlib's warnings raised inside the block as notices of one section."""

    def __init__(self, notices: _Notices, section: str, *, keep: bool) -> None:
        self.notices, self.section, self.keep = notices, section, keep
        self._ctx = warnings.catch_warnings(record=True)

    def __enter__(self) -> None:
        self._caught = self._ctx.__enter__()
        warnings.simplefilter("always", KamlibWarning)

    def __exit__(self, *exc: Any) -> None:
        caught = list(self._caught)
        self._ctx.__exit__(*exc)
        for w in caught:
            if issubclass(w.category, KamlibWarning):
                if self.keep:
                    self.notices.add(self.section, str(w.message))
            else:  # not ours: let it through as it was
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _with_clv(
    features: pd.DataFrame,
    data: KamData,
    day: date,
    needed: list[str],
    notices: _Notices,
    status: dict[str, SectionStatus],
) -> pd.DataFrame:
    """Add the CLV indicators the methodology scores (NaN, with a notice, when the models
    cannot be fitted on the data as of ``day``)."""
    if not needed:
        return features
    from kamlib.clv import clv_indicators

    try:
        with notices.capture("clv"):
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


def _gains_curves(score: np.ndarray, baseline: np.ndarray, value: np.ndarray) -> pd.DataFrame:
    """Cumulative value share against cumulative account share, ranking by each key (tied
    accounts form one straight step, as in :func:`kamlib.scoring.ranking_gini`)."""
    grid = np.linspace(0.0, 1.0, CURVE_POINTS)
    total = math.fsum(value)
    pieces = []
    for name, key in (("score", score), ("baseline", baseline), ("perfect", value)):
        k = np.where(np.isnan(key), -np.inf, key)
        groups = (
            pd.DataFrame({"k": k, "v": value}).groupby("k", sort=True)["v"].agg(["size", "sum"])
        ).iloc[::-1]
        x = np.concatenate([[0.0], np.cumsum(groups["size"].to_numpy()) / len(value)])
        y = np.concatenate([[0.0], np.cumsum(groups["sum"].to_numpy()) / total])
        pieces.append(
            pd.DataFrame(
                {"ranking": name, "account_share": grid, "value_share": np.interp(grid, x, y)}
            )
        )
    return pd.concat(pieces, ignore_index=True)


def _history_start(data: KamData, day: date) -> date | None:
    dates = pd.to_datetime(data.require("orders", "The portfolio review")["order_date"])
    first = dates[dates < pd.Timestamp(day) + pd.Timedelta(days=1)].min()
    return None if pd.isna(first) else first.date()


def _members(data: KamData, group: str, day: date, meth: Methodology) -> pd.DataFrame:
    from kamlib.segmentation import target_group

    return target_group(data, group, as_of=day, methodology=meth)


def _backtest_members(
    data: KamData, group: str, day: date, members_now: pd.DataFrame, meth: Methodology
) -> pd.DataFrame:
    """The group as it was formed at the back-test date (no look-ahead for top<N> and
    strategic); an ``ids:`` group keeps the ids that existed then."""
    if group.strip().lower().startswith("ids:"):
        everyone = _members(data, "all", day, meth)
        keep = everyone["account_id"].isin(set(members_now["account_id"]))
        return everyone[keep].reset_index(drop=True)
    return _members(data, group, day, meth)


def _migration(
    before: pd.DataFrame,
    now: pd.DataFrame,
    meth: Methodology,
    members: pd.DataFrame,
    previous: date,
    day: date,
    notices: _Notices,
    status: dict[str, SectionStatus],
) -> MigrationResult | None:
    if before.empty:
        status["migration"] = SectionStatus(False, "migration_no_history")
        return None
    try:
        with notices.capture("tier_migration", keep=False):
            history = score_history({previous: before, day: now}, meth)
    except KamlibError as exc:
        status["migration"] = SectionStatus(False, "migration_failed", str(exc), "see_notes")
        notices.add("tier_migration", str(exc))
        return None
    ids = set(members["account_id"].astype(str))
    history = history[history["account_id"].isin(ids)]
    return tier_migration(history, previous, day, meth)


def _validation(
    data: KamData,
    group: str,
    members: pd.DataFrame,
    then: pd.DataFrame,
    now: pd.DataFrame,
    meth: Methodology,
    backtest: date,
    notices: _Notices,
    status: dict[str, SectionStatus],
) -> tuple[ValidationResult | None, pd.DataFrame, pd.DataFrame]:
    empty_curves = pd.DataFrame(columns=["ranking", "account_share", "value_share"])
    empty_accounts = pd.DataFrame(columns=["account_id", "score", "tier", "baseline", "value"])
    # customers at the back-test date: an order line on or before it
    customers = then.index[then["revenue_24m"].notna()] if len(then) else pd.Index([])
    if len(customers) == 0:
        status["validation"] = SectionStatus(False, "validation_no_history")
        return None, empty_curves, empty_accounts
    try:
        with notices.capture("score_validation", keep=False):
            scored = score_accounts(then, meth)
        cohort = _backtest_members(data, group, backtest, members, meth)
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
    curves = _gains_curves(frame["score"].to_numpy(dtype=float), b, v)
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
