"""The key-account portfolio review: everything the quarterly review shows, computed once.

Glue, no new analysis: :func:`portfolio_review` scores the whole book with the methodology's
composite points method (:mod:`kamlib.scoring`) as of a date, the end of the previous quarter
and one year before, and assembles what the ``portfolio_review`` report notebook displays
into one frozen :class:`PortfolioReview`:

- the tier table (accounts, score range and revenue per tier) and the ranking with each
  account's explanation (strongest indicators, indicators it could not be scored on);
- which indicators and tables were unavailable, and what the methodology did about it;
- tier migration since the previous quarter end, risers and fallers and what drove them;
- the back-test: the scoring as of one year before ``as_of`` against the revenue of the 12
  months that followed (value captured per tier, lift, Gini vs ranking by last year's
  revenue);
- the Pareto curve, the portfolio matrix and segment profiles (:mod:`kamlib.segmentation`).

The whole book is scored (tiers and Pareto rules are relative to it); the ``group`` only
chooses the accounts the review shows.  Display methods take ``lang`` and return frames with
translated text, ready for :func:`kamlib.views.format.table` and :mod:`kamlib.charts`.

Example
-------
>>> review = portfolio_review(data, as_of="2026-09-30", group="top50")  # doctest: +SKIP
>>> review.tier_table("zh")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data.kamdata import KamData
from kamlib.errors import ConfigError, DataValidationError, KamlibError, KamlibWarning
from kamlib.features import FEATURE_SOURCE_TABLES
from kamlib.methodology import Methodology, ScoringModel, load_methodology
from kamlib.methodology.labels import check_lang, label
from kamlib.periods import parse_date, period_of
from kamlib.scoring import (
    MigrationResult,
    ScoreResult,
    ValidationResult,
    score_accounts,
    score_history,
    tier_migration,
    validate_scores,
)
from kamlib.scoring.history import GONE, NEW

__all__ = ["PortfolioReview", "SectionStatus", "portfolio_review"]

#: Tables the features read besides accounts and orders, and the indicators they feed.
OPTIONAL_TABLES: tuple[str, ...] = (
    "products", "opportunities", "stage_history", "contacts", "activities", "service_tickets",
)  # fmt: skip

#: Columns :func:`kamlib.clv.clv_indicators` adds (a methodology may score them as
#: ``extra_features``).
CLV_FEATURES: tuple[str, ...] = (
    "expected_purchases_12m", "p_alive", "expected_avg_value", "clv_12m",
)  # fmt: skip

#: Columns of the segmentation frames (an unavailable section gives them empty).
SECTION_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("pareto", "curve"): ("account_share", "value_share", "abc_class"),
    ("pareto", "classes"): (
        "abc_class", "accounts_count", "account_share", "revenue_12m", "revenue_share",
    ),
    ("portfolio_matrix", "points"): (
        "account", "tier", "position", "attractiveness", "quadrant", "revenue_12m",
    ),
    ("portfolio_matrix", "quadrants"): (
        "quadrant", "accounts_count", "revenue_12m", "revenue_share", "strategy",
    ),
    ("segments", "profiles"): ("segment", "feature", "z", "value"),
    ("segments", "segments"): (
        "segment", "accounts_count", "account_share", "revenue_12m", "revenue_share",
        "tier_counts",
    ),
    ("segments", "tags"): ("tag", "kind", "accounts_count", "account_share"),
}  # fmt: skip

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


def _previous_quarter_end(day: date, fiscal_year_start_month: int) -> date:
    return period_of(day, "quarterly", fiscal_year_start_month=fiscal_year_start_month).start - (
        timedelta(days=1)
    )


def _resolve_methodology(methodology: Methodology | str | Path | None) -> Methodology:
    if methodology is None or (isinstance(methodology, str) and not methodology.strip()):
        return load_methodology()
    if isinstance(methodology, Methodology):
        return methodology
    if isinstance(methodology, str | Path):
        return load_methodology(methodology)
    raise ConfigError(
        "The 'methodology' parameter of portfolio_review must be a Methodology, the path of a "
        f"methodology file, or empty for kamlib's default. Got {type(methodology).__name__} "
        "instead."
    )


def _resolve_data(data: KamData | str | Path) -> KamData:
    if isinstance(data, KamData):
        return data
    if isinstance(data, str | Path):
        from kamlib.data import load

        return load(data)
    raise ConfigError(
        "The 'data' parameter of portfolio_review must be a KamData (kamlib.data.load(store)) "
        f"or the path of a store. Got {type(data).__name__} instead."
    )


# -- the result ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PortfolioReview:
    """Everything the portfolio review report shows (see :func:`portfolio_review`).

    Attributes
    ----------
    as_of, previous_date, backtest_date
        The review date, the end of the previous quarter (tier migration) and the date one
        year before ``as_of`` (the back-test scoring).
    group
        The target group shown (``all``, ``top<N>``, ``strategic``, ``ids:…``).
    currency
        Reporting currency of the methodology.
    methodology
        The methodology used (its ``scoring`` section scored every date).
    members
        The group's accounts at ``as_of``: ``account_id, name``, in group order.
    features
        Account features at ``as_of`` of the whole book, ``account_id`` as a column.
    scores
        The scoring at ``as_of`` of the whole book (:class:`~kamlib.scoring.ScoreResult`).
    tables_present
        Canonical tables the data has.
    history_start
        Date of the first order line (``None`` without any).
    migration
        Tier migration from ``previous_date`` to ``as_of``, restricted to the group
        (``None`` when it could not be computed: see ``status``).
    validation
        The back-test (``None`` when it could not be computed).
    validation_curves
        Gains curves of the back-test: ``ranking`` (``score``, ``baseline``, ``perfect``),
        ``account_share``, ``value_share``.
    validation_accounts
        The accounts back-tested: ``account_id, score, tier`` (as of ``backtest_date``),
        ``baseline`` (their revenue of the 12 months before) and ``value`` (of the 12 months
        after).
    segmentation
        Results of :mod:`kamlib.segmentation` by section key (``pareto``,
        ``portfolio_matrix``, ``segments``): the result objects, and functions ``lang →``
        frame or figures that :meth:`frame`, :meth:`figures` and :meth:`chart_options`
        call.
    status
        Section key → :class:`SectionStatus` (``migration``, ``validation``, ``pareto``,
        ``portfolio_matrix``, ``segments``).
    notices
        Things the reader should know (warnings raised while scoring, indicators computed
        from partial data): ``section, message`` (English text from kamlib).
    """

    as_of: date
    previous_date: date
    backtest_date: date
    group: str
    currency: str
    methodology: Methodology
    members: pd.DataFrame
    features: pd.DataFrame
    scores: ScoreResult
    tables_present: tuple[str, ...]
    history_start: date | None
    migration: MigrationResult | None
    validation: ValidationResult | None
    validation_curves: pd.DataFrame
    validation_accounts: pd.DataFrame
    segmentation: Mapping[str, Mapping[str, Any]]
    status: Mapping[str, SectionStatus]
    notices: pd.DataFrame = field(repr=False)

    # -- basics ----------------------------------------------------------------------------
    @property
    def model(self) -> ScoringModel:
        return self.scores.model

    @property
    def names(self) -> dict[str, str]:
        """account_id → name, for every account of the book at ``as_of``."""
        return _names(self.features[["account_id", "name"]])

    @property
    def member_ids(self) -> list[str]:
        return self.members["account_id"].astype(str).tolist()

    def _group_scores(self) -> pd.DataFrame:
        ids = set(self.member_ids)
        s = self.scores.scores
        return s[s["account_id"].isin(ids)].reset_index(drop=True)

    def _tier_label(self, key: str, lang: str) -> str:
        if key == NEW:
            return label("tier_new", lang)
        if key == GONE:
            return label("tier_gone", lang)
        return self.model.tier(key).label(lang)

    def _indicator_label(self, name: str, lang: str) -> str:
        return self.model.indicator(name).label(lang)

    def missing_tables(self) -> list[str]:
        """Optional tables the data does not have (each leaves some indicators empty)."""
        return [t for t in OPTIONAL_TABLES if t not in self.tables_present]

    def unavailable_indicators(self) -> list[str]:
        """Indicators with no value for any account of the group."""
        status = self._indicator_status()
        return status.loc[status["known_share"] <= 0, "indicator"].tolist()

    # -- key figures -----------------------------------------------------------------------
    def key_figures(self, lang: str = "en") -> dict[str, Any]:
        """Label key → value for :func:`kamlib.views.format.facts`."""
        check_lang(lang)
        scores = self._group_scores()
        counts = scores["tier"].value_counts()
        tiers = " · ".join(
            f"{t.label(lang)} {int(counts.get(t.key, 0)):,}" for t in self.model.tiers
        )
        revenue = self.features.set_index("account_id").reindex(self.member_ids)["revenue_12m"]
        unavailable = [self._indicator_label(n, lang) for n in self.unavailable_indicators()]
        missing = [label(t, lang) for t in self.missing_tables()]
        sep = "、" if lang == "zh" else ", "
        return {
            "as_of": pd.Timestamp(self.as_of),
            "group": self.group,
            "accounts_reviewed": len(scores),
            "revenue_12m_total": float(revenue.sum(min_count=1)) if len(revenue) else None,
            "tier_counts": tiers,
            "weight_method": label(f"weights_{self.scores.weight_method}", lang),
            "methodology_source": self.methodology.source,
            "tables_missing": sep.join(missing) if missing else label("none", lang),
            "indicators_unavailable": sep.join(unavailable) if unavailable else label("none", lang),
            "max_score_possible": round(self.max_score(), 1),
        }

    # -- indicators ------------------------------------------------------------------------
    def _indicator_status(self) -> pd.DataFrame:
        """Per indicator over the group: ``indicator, known_share`` (accounts with a value)
        and ``constant`` (every account with a value got the same points)."""
        ids = set(self.member_ids)
        ex = self.scores.explanations
        ex = ex[ex["account_id"].isin(ids)]
        known = ex["missing_reason"].isna() | (ex["missing_reason"].astype(str) == "")
        share = known.groupby(ex["indicator"], sort=False).mean()
        distinct = ex[known].groupby("indicator", sort=False)["points"].nunique()
        return pd.DataFrame(
            {
                "indicator": list(self.model.names),
                "known_share": [
                    float(share.get(n, 0.0)) if len(ex) else 0.0 for n in self.model.names
                ],
                "constant": [
                    len(ids) > 1 and int(distinct.get(n, 0)) == 1 for n in self.model.names
                ],
            }
        )

    def max_score(self) -> float:
        """The highest score any account could reach with this data: indicators without a
        value for any account of the group are scored by their missing-value rule (fixed
        points, or left out with the other weights re-normalised)."""
        status = self._indicator_status().set_index("indicator")["known_share"]
        weights = self.scores.weights
        earned = total = 0.0
        for ind in self.model.indicators:
            w = float(weights.get(ind.name, 0.0))
            if status.get(ind.name, 0.0) > 0:
                earned, total = earned + w * 100.0, total + w
            elif not ind.missing.exclude:
                earned, total = earned + w * float(ind.missing.points or 0.0), total + w
        return earned / total if total > 0 else 0.0

    def indicator_table(self, lang: str = "en") -> pd.DataFrame:
        """One row per indicator: ``indicator, kind, weight_share, known_share, status,
        missing_rule, reason`` (translated text)."""
        check_lang(lang)
        frame = self._indicator_status().set_index("indicator")
        status, constant = frame["known_share"], frame["constant"]
        weights = self.scores.weights
        present = set(self.tables_present)
        feats = self.features
        rows = []
        for ind in self.model.indicators:
            share = float(status.get(ind.name, 0.0))
            state = "available" if share >= 1 else ("unavailable" if share <= 0 else "partial")
            reason = ""
            if share > 0 and bool(constant.get(ind.name, False)):
                state, reason = "constant", label("reason_constant", lang)
            elif share < 1:
                table = FEATURE_SOURCE_TABLES.get(ind.feature)
                if table and table not in ("accounts", "orders") and table not in present:
                    name = label(table, lang)
                    reason = label("reason_no_table", lang).format(
                        table=name.lower() if lang == "en" else name
                    )
                elif ind.feature == "gross_margin_12m" and (
                    feats["gross_margin_12m"].isna().all() if "gross_margin_12m" in feats else True
                ):
                    reason = label("reason_no_cost", lang)
                elif ind.feature == "share_of_wallet" and feats["category_spend"].isna().all():
                    reason = label("reason_needs_category_spend", lang)
                elif table == "accounts" and feats[ind.feature].isna().all():
                    reason = label("reason_not_recorded", lang)
                elif ind.feature in CLV_FEATURES and self.status.get("clv", _OK).reason:
                    reason = self.status["clv"].message(lang)
                else:
                    reason = label("reason_some_missing", lang)
            rule = (
                label("missing_excluded", lang)
                if ind.missing.exclude
                else label("missing_points", lang).format(points=f"{ind.missing.points:g}")
            )
            rows.append(
                {
                    "indicator": ind.label(lang),
                    "kind": label(f"kind_{ind.kind}", lang),
                    "weight_share": float(weights.get(ind.name, np.nan)),
                    "known_share": share,
                    "status": label(f"status_{state}", lang),
                    "missing_rule": rule,
                    "reason": reason,
                }
            )
        return pd.DataFrame(rows)

    def tables_table(self, lang: str = "en") -> pd.DataFrame:
        """Optional tables: ``table`` (key, translated by the table formatter), ``present``
        and ``indicators`` (the indicators of this methodology that read it)."""
        check_lang(lang)
        rows = []
        sep = "、" if lang == "zh" else ", "
        for t in OPTIONAL_TABLES:
            if t in ("products", "stage_history"):
                continue
            used = [
                ind.label(lang)
                for ind in self.model.indicators
                if FEATURE_SOURCE_TABLES.get(ind.feature) == t
            ]
            rows.append(
                {"table": t, "present": t in self.tables_present, "indicators": sep.join(used)}
            )
        return pd.DataFrame(rows)

    # -- tiers -----------------------------------------------------------------------------
    def tier_table(self, lang: str = "en") -> pd.DataFrame:
        """One row per tier (highest first): ``tier, min_score, accounts_count, account_share,
        score_mean, revenue_12m, revenue_share, lifted_by_pareto``."""
        check_lang(lang)
        scores = self._group_scores()
        revenue = self.features.set_index("account_id")["revenue_12m"]
        scores = scores.assign(revenue=revenue.reindex(scores["account_id"]).to_numpy())
        n = len(scores)
        positive = scores["revenue"].clip(lower=0)
        total = float(positive.sum())
        rows = []
        for tier in self.model.tiers:
            sel = scores[scores["tier"] == tier.key]
            rows.append(
                {
                    "tier": tier.label(lang),
                    "min_score": float(tier.min_score),
                    "accounts_count": len(sel),
                    "account_share": len(sel) / n if n else np.nan,
                    "score_mean": float(sel["score"].mean()) if len(sel) else np.nan,
                    "revenue_12m": float(sel["revenue"].sum(min_count=1)) if len(sel) else np.nan,
                    "revenue_share": (
                        float(sel["revenue"].clip(lower=0).sum()) / total if total > 0 else np.nan
                    ),
                    "lifted_by_pareto": int(
                        (sel["pareto"] & (sel["tier_by_score"] != tier.key)).sum()
                    ),
                }
            )
        out = pd.DataFrame(rows)
        if (out["min_score"] % 1 == 0).all():
            out["min_score"] = out["min_score"].astype("int64")
        return out

    def ranking(self, lang: str = "en", *, strongest: int = 3) -> pd.DataFrame:
        """The group's accounts, best first, with their explanation: ``rank`` (in the whole
        book), ``account_id`` (left out when every name is the id itself), ``name, tier,
        score, revenue_12m, strongest, not_scored``.

        ``strongest`` lists the indicators that contributed most (weighted points);
        ``not_scored`` the indicators without a value for the account (scored by their
        missing-value rule; indicators no account of the group has are left out here, see
        :meth:`indicator_table`) and, when some were left out of the score, the share of the
        weight it rests on."""
        check_lang(lang)
        scores = self._group_scores()
        ids = set(scores["account_id"])
        ex = self.scores.explanations
        ex = ex[ex["account_id"].isin(ids)]
        labels = {n: self._indicator_label(n, lang) for n in self.model.names}
        sep = "、" if lang == "zh" else ", "
        top = (
            ex[ex["contribution"] > 0]
            .sort_values(["account_id", "contribution"], ascending=[True, False], kind="stable")
            .groupby("account_id", sort=False)
            .head(strongest)
        )
        strongest_text = {
            a: " · ".join(
                f"{labels[i]} {c:.1f}"
                for i, c in zip(g["indicator"], g["contribution"], strict=True)
            )
            for a, g in top.groupby("account_id", sort=False)
        }
        missing = ex[ex["missing_reason"].notna() & (ex["missing_reason"].astype(str) != "")]
        # indicators no account of the group has are stated once, in indicator_table
        missing = missing[~missing["indicator"].isin(set(self.unavailable_indicators()))]
        missing_names = {
            a: sep.join(labels[i] for i in g)
            for a, g in missing.groupby("account_id", sort=False)["indicator"]
        }
        weight_note = label("score_on_weight", lang)
        not_scored = []
        for a, coverage in zip(scores["account_id"], scores["coverage"], strict=True):
            text = missing_names.get(a, "")
            if coverage < 1 - 1e-9:
                note = weight_note.format(share=f"{coverage:.0%}")
                if text:
                    text = f"{text}（{note}）" if lang == "zh" else f"{text} ({note})"
                else:
                    text = note
            not_scored.append(text)
        revenue = self.features.set_index("account_id")["revenue_12m"]
        names = self.names
        out = pd.DataFrame(
            {
                "rank": scores["rank"].astype("int64").to_numpy(),
                "account_id": scores["account_id"].astype(str).to_numpy(),
                "name": [names.get(a, a) for a in scores["account_id"]],
                "tier": [self._tier_label(t, lang) for t in scores["tier"]],
                "score": scores["score"].to_numpy(dtype=float),
                "revenue_12m": revenue.reindex(scores["account_id"]).to_numpy(dtype=float),
                "strongest": [strongest_text.get(a, "") for a in scores["account_id"]],
                "not_scored": not_scored,
            }
        )
        if (out["name"] == out["account_id"]).all():
            out = out.drop(columns="account_id")
        return out

    def breakdown(self, lang: str = "en", *, top: int = 25) -> pd.DataFrame:
        """Weighted contributions of the ``top`` best accounts of the group, long form for
        :func:`kamlib.charts.score_breakdown`: ``account, tier, score, indicator,
        contribution, points`` (accounts best first, indicators in methodology order)."""
        check_lang(lang)
        if top < 1:
            raise ConfigError(f"The 'top' parameter of breakdown must be at least 1. Got {top}.")
        scores = self._group_scores().head(top)
        ids = scores["account_id"].astype(str).tolist()
        ex = self.scores.explanations
        ex = ex[ex["account_id"].isin(set(ids))]
        chart_names = dict(zip(ids, _chart_names(ids, self.names), strict=True))
        order = {a: i for i, a in enumerate(ids)}
        ind_order = {n: i for i, n in enumerate(self.model.names)}
        ex = ex.assign(
            _a=ex["account_id"].map(order), _i=ex["indicator"].map(ind_order)
        ).sort_values(["_a", "_i"], kind="stable")
        score = scores.set_index("account_id")
        return pd.DataFrame(
            {
                "account": ex["account_id"].map(chart_names).to_numpy(),
                "tier": [self._tier_label(score.at[a, "tier"], lang) for a in ex["account_id"]],
                "score": [float(score.at[a, "score"]) for a in ex["account_id"]],
                "indicator": [self._indicator_label(i, lang) for i in ex["indicator"]],
                "contribution": ex["contribution"].to_numpy(dtype=float),
                "points": ex["points"].to_numpy(dtype=float),
            }
        )

    def tier_points(self, lang: str = "en") -> pd.DataFrame:
        """Mean band points (0–100) per tier and indicator over the group's accounts:
        ``tier, indicator, points, accounts_count`` (for :func:`kamlib.charts.tier_profile`)."""
        check_lang(lang)
        scores = self._group_scores()
        tier_of = dict(zip(scores["account_id"], scores["tier"], strict=True))
        ex = self.scores.explanations
        ex = ex[ex["account_id"].isin(set(tier_of))]
        ex = ex.assign(tier=ex["account_id"].map(tier_of))
        rows = []
        for tier in self.model.tiers:
            part = ex[ex["tier"] == tier.key]
            n = part["account_id"].nunique()
            for name in self.model.names:
                pts = part.loc[part["indicator"] == name, "points"]
                rows.append(
                    {
                        "tier": tier.label(lang),
                        "indicator": self._indicator_label(name, lang),
                        "points": float(pts.mean()) if pts.notna().any() else np.nan,
                        "accounts_count": int(n),
                    }
                )
        out = pd.DataFrame(rows)
        return out[out["accounts_count"] > 0].reset_index(drop=True)

    def score_distribution(self, lang: str = "en") -> pd.DataFrame:
        """The group's scores and tiers: ``account_id, score, tier`` (tier labels)."""
        check_lang(lang)
        scores = self._group_scores()
        return pd.DataFrame(
            {
                "account_id": scores["account_id"].astype(str).to_numpy(),
                "score": scores["score"].to_numpy(dtype=float),
                "tier": [self._tier_label(t, lang) for t in scores["tier"]],
            }
        )

    def thresholds(self, lang: str = "en") -> pd.DataFrame:
        """Tier thresholds: ``tier, min_score`` (highest first)."""
        return pd.DataFrame(
            {
                "tier": [t.label(lang) for t in self.model.tiers],
                "min_score": [float(t.min_score) for t in self.model.tiers],
            }
        )

    def migration_summary(self, lang: str = "en") -> dict[str, Any]:
        """Label key → value: the two dates, accounts in both, stayed, up, down, new, gone."""
        check_lang(lang)
        if self.migration is None:
            return {}
        s = self.migration.summary()
        return {
            "from_date": pd.Timestamp(self.migration.from_date),
            "to_date": pd.Timestamp(self.migration.to_date),
            "accounts_in_both": int(s["accounts"]),
            "stayed": int(s["stayed"]),
            "moved_up": int(s["risers"]),
            "moved_down": int(s["fallers"]),
            "new_accounts": int(s["new"]),
            "gone_accounts": int(s["gone"]),
        }

    def migration_matrix(self, lang: str = "en") -> pd.DataFrame:
        """Counts, long form: ``from_tier, to_tier, accounts_count`` (tier labels, highest first;
        ``(new)`` / ``(gone)`` rows and columns only when they hold accounts)."""
        check_lang(lang)
        if self.migration is None:
            return pd.DataFrame(columns=["from_tier", "to_tier", "accounts_count"])
        m = self.migration.matrix
        rows = [r for r in m.index if r != NEW or m.loc[NEW].sum() > 0]
        cols = [c for c in m.columns if c != GONE or m[GONE].sum() > 0]
        out = [
            {
                "from_tier": self._tier_label(r, lang),
                "to_tier": self._tier_label(c, lang),
                "accounts_count": int(m.loc[r, c]),
            }
            for r in rows
            for c in cols
        ]
        return pd.DataFrame(out)

    def movers(self, direction: str, lang: str = "en") -> pd.DataFrame:
        """Accounts that moved ``up`` or ``down`` a tier since the previous quarter end:
        ``account_id, name, from_tier, to_tier, from_score, to_score, score_change,
        drivers`` (the indicators whose weighted contribution changed most in the
        direction of the move, with the change in points)."""
        check_lang(lang)
        if direction not in ("up", "down"):
            raise ConfigError(
                f"The 'direction' parameter of movers must be 'up' or 'down'. Got {direction!r}."
            )
        columns = ["account_id", "name", "from_tier", "to_tier", "from_score", "to_score",
                   "score_change", "drivers"]  # fmt: skip
        if self.migration is None:
            return pd.DataFrame(columns=columns)
        frame = self.migration.risers if direction == "up" else self.migration.fallers
        names = self.names
        return pd.DataFrame(
            {
                "account_id": frame["account_id"].astype(str).to_numpy(),
                "name": [names.get(a, a) for a in frame["account_id"]],
                "from_tier": [self._tier_label(t, lang) for t in frame["from_tier"]],
                "to_tier": [self._tier_label(t, lang) for t in frame["to_tier"]],
                "from_score": frame["from_score"].to_numpy(dtype=float),
                "to_score": frame["to_score"].to_numpy(dtype=float),
                "score_change": frame["score_change"].to_numpy(dtype=float),
                "drivers": [
                    " · ".join(
                        t
                        for t in (
                            self._pareto_note(row, lang),
                            self._drivers_text(row["drivers"], lang),
                        )
                        if t
                    )
                    for row in frame.to_dict("records")
                ],
            },
            columns=columns,
        )

    def _tier_by_score(self, score: float) -> str:
        for tier in self.model.tiers:
            if round(score, 9) >= tier.min_score:
                return tier.key
        return self.model.tiers[-1].key

    def _pareto_note(self, row: Mapping[str, Any], lang: str) -> str:
        """Why a move is the Pareto rule's doing: the account entered or left the top share
        of revenue that the rule lifts (its tier by score alone did not make the move)."""
        before = row["from_tier"] != self._tier_by_score(float(row["from_score"]))
        after = row["to_tier"] != self._tier_by_score(float(row["to_score"]))
        if after and not before:
            return label("pareto_now_lifted", lang)
        if before and not after:
            return label("pareto_no_longer", lang)
        return ""

    def _drivers_text(self, text: str, lang: str) -> str:
        """``revenue_12m +12.0; growth_12m +5.0`` → ``Revenue, last 12 months +12.0 · …``."""
        parts = []
        for item in str(text).split(";"):
            item = item.strip()
            if not item:
                continue
            name, _, change = item.rpartition(" ")
            try:
                parts.append(f"{self._indicator_label(name, lang)} {change}")
            except ConfigError:
                parts.append(item)
        return " · ".join(parts)

    # -- validation ------------------------------------------------------------------------
    def validation_figures(self, lang: str = "en") -> dict[str, Any]:
        """Label key → value: back-test date, accounts, next-year value, lift of the top
        tier, Gini of the score, of last year's revenue and the best possible, and the
        accounts that were not customers yet."""
        check_lang(lang)
        v = self.validation
        if v is None:
            return {}
        return {
            "backtest_date": pd.Timestamp(self.backtest_date),
            "order_history_from": (
                None if self.history_start is None else pd.Timestamp(self.history_start)
            ),
            "history_days_then": (
                None
                if self.history_start is None
                else max((self.backtest_date - self.history_start).days + 1, 0)
            ),
            "accounts_validated": int(v.n_accounts),
            "next_year_revenue": float(v.total_value),
            "top_tier_validated": self._tier_label(v.top_tier, lang),
            "lift_top_tier": float(v.lift_top_tier),
            "gini_score": float(v.gini_score),
            "gini_baseline": float(v.gini_baseline),
            "gini_perfect": float(v.gini_perfect),
            "new_customers": int(v.unscored_accounts),
            "new_customers_revenue": float(v.unscored_value),
        }

    def validation_table(self, lang: str = "en") -> pd.DataFrame:
        """Per tier (highest first): ``tier, accounts_count, account_share, next_year_revenue,
        value_share, lift``."""
        check_lang(lang)
        if self.validation is None:
            return pd.DataFrame(
                columns=[
                    "tier",
                    "accounts_count",
                    "account_share",
                    "next_year_revenue",
                    "value_share",
                    "lift",
                ]  # fmt: skip
            )
        b = self.validation.by_tier
        return pd.DataFrame(
            {
                "tier": [self._tier_label(t, lang) for t in b["tier"]],
                "accounts_count": b["accounts"].astype("int64").to_numpy(),
                "account_share": b["account_share"].to_numpy(dtype=float),
                "next_year_revenue": b["value"].to_numpy(dtype=float),
                "value_share": b["value_share"].to_numpy(dtype=float),
                "lift": b["lift"].to_numpy(dtype=float),
            }
        )

    def gains(self, lang: str = "en") -> pd.DataFrame:
        """Gains curves of the back-test with translated ranking names: ``ranking,
        account_share, value_share``."""
        check_lang(lang)
        c = self.validation_curves
        if c.empty:
            return pd.DataFrame(columns=["ranking", "account_share", "value_share"])
        return c.assign(ranking=[label(f"ranking_{r}", lang) for r in c["ranking"]])

    def tier_shares(self, lang: str = "en") -> pd.DataFrame:
        """Account share and revenue share per tier (``tier, account_share, value_share``),
        for :func:`kamlib.charts.tier_shares`."""
        t = self.tier_table(lang)
        return pd.DataFrame(
            {
                "tier": t["tier"],
                "account_share": t["account_share"],
                "value_share": t["revenue_share"],
            }
        )

    def section(self, key: str) -> Mapping[str, Any]:
        """The frames of a segmentation section (empty when it is unavailable)."""
        return self.segmentation.get(key, {})

    def frame(self, section: str, name: str, lang: str = "en") -> pd.DataFrame:
        """One frame of a segmentation section (translated where it names tiers or
        quadrants); an empty frame when the section is unavailable."""
        check_lang(lang)
        value = self.section(section).get(name)
        if value is None:
            return pd.DataFrame(columns=list(SECTION_COLUMNS.get((section, name), ())))
        if callable(value):
            return value(lang)
        return value

    def figures(self, section: str, lang: str = "en") -> dict[str, Any]:
        """Headline figures of a segmentation section (label key → value; empty when the
        section is unavailable), for :func:`kamlib.views.format.facts`."""
        check_lang(lang)
        make = self.section(section).get("figures")
        return make(lang) if callable(make) else {}

    def chart_options(self, section: str, lang: str = "en") -> dict[str, Any]:
        """Extra keyword arguments of the section's chart (the portfolio matrix: its
        thresholds and axis titles); empty when there are none."""
        check_lang(lang)
        make = self.section(section).get("options")
        return make(lang) if callable(make) else {}

    def empty_message(
        self, section: str, *, detail: bool = False, default: str = "nothing_to_show"
    ) -> str:
        """The label key to show in place of an empty chart (the headline) or, with
        ``detail``, an empty table (the explanation) of ``section``; ``default`` when the
        section is available but has nothing to show."""
        status = self.status.get(section, _OK)
        if status.available or not status.reason:
            return default
        return status.explanation if detail else status.reason

    def notices_table(self, lang: str = "en") -> pd.DataFrame:
        """``section, message`` (section names translated)."""
        check_lang(lang)
        if self.notices.empty:
            return pd.DataFrame(columns=["section", "message"])
        return pd.DataFrame(
            {
                "section": [label(s, lang) for s in self.notices["section"]],
                "message": self.notices["message"].to_numpy(),
            }
        )

    def summary(self) -> pd.Series:
        """Headline numbers (English keys) for logs and tests."""
        s = self._group_scores()
        out: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "group": self.group,
            "accounts": len(s),
            **{f"tier_{t.key}": int((s["tier"] == t.key).sum()) for t in self.model.tiers},
        }
        if self.validation is not None:
            out.update(
                lift_top_tier=self.validation.lift_top_tier,
                gini_score=self.validation.gini_score,
                gini_baseline=self.validation.gini_baseline,
            )
        return pd.Series(out, dtype=object)


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


def portfolio_review(
    data: KamData | str | Path,
    *,
    as_of: date | str,
    methodology: Methodology | str | Path | None = None,
    group: str = "all",
    features_source: Any = None,
    tables: Mapping[str, Any] | None = None,
) -> PortfolioReview:
    """Score the book and assemble the portfolio review as of ``as_of``.

    Parameters
    ----------
    data
        The data set (:func:`kamlib.data.load`) or the path of a store; needs ``accounts``
        and ``orders``, every other table is optional (the indicators that need a missing
        table are scored by their missing-value rule, and the review says so).
    as_of
        The review date; the previous period is the quarter (of the methodology's fiscal
        calendar) before the one holding ``as_of``, and the back-test scores as of the
        same day one year earlier.
    methodology
        A :class:`~kamlib.methodology.Methodology`, the path of a methodology file, or ``None``
        / ``""`` for kamlib's default.
    group
        The accounts shown: ``all``, ``top<N>``, ``strategic`` or ``ids:A,B``
        (:func:`kamlib.segmentation.target_group`).  Scores and tiers are always those of
        the whole book.
    features_source, tables
        Compute the account features on another engine: any source of
        :func:`kamlib.features.account_features` (e.g. a ``SparkSession``) and where its
        tables are (``{"orders": "lake.sales.order_lines"}``).  ``None``: from ``data``.
        The rest of the review (names, CLV, target groups) reads ``data``.

    Returns
    -------
    PortfolioReview
        Display methods (``tier_table``, ``ranking``, ``migration_matrix``, ``movers``,
        ``validation_table``, ``gains`` …) give report-ready frames in ``lang``.

    Raises
    ------
    ConfigError
        Unknown group, bad date or methodology.
    DataValidationError
        No account exists at ``as_of``, or ``accounts`` / ``orders`` is missing.

    Notes
    -----
    kamlib's warnings raised while scoring (e.g. an indicator without a value for any
    account) are not re-raised: they are kept in ``notices`` for the report.
    """
    from kamlib.features import account_features_history, months_before
    from kamlib.segmentation import check_group_name

    day = parse_date(as_of)
    notices = _Notices()
    status: dict[str, SectionStatus] = {}
    with notices.capture("methodology"):
        meth = _resolve_methodology(methodology)
    model = meth.require_scoring()
    group = check_group_name(group, methodology=meth)
    data = _resolve_data(data)
    previous = _previous_quarter_end(day, meth.fiscal_year_start_month)
    backtest = months_before(day, 12)

    with notices.capture("features"):
        history = account_features_history(
            data if features_source is None else features_source,
            as_of_dates=[backtest, previous, day],
            tables=tables,
        )
    by_date = {
        d: history.xs(pd.Timestamp(d), level="as_of") if pd.Timestamp(d) in
        history.index.get_level_values("as_of") else history.iloc[:0].droplevel("as_of")
        for d in (backtest, previous, day)
    }  # fmt: skip
    clv_needed = [f for f in model.features() if f in CLV_FEATURES]
    for d in (day, previous, backtest):  # the review date first: its problems are reported
        by_date[d] = _with_clv(by_date[d], data, d, clv_needed, notices, status)
    now = by_date[day]
    if now.empty:
        raise DataValidationError(
            f"No account exists on {day.isoformat()}: the accounts table has none created on "
            "or before that date. Check the as_of date."
        )
    with notices.capture("group"):
        members = _members(data, group, day, meth)
    accounts = data.as_of(pd.Timestamp(day)).require("accounts", "The portfolio review")
    names = accounts[["account_id", "name"]].astype({"account_id": "str"})
    names = names.drop_duplicates("account_id").set_index("account_id")["name"]
    features = now.reset_index()
    features.insert(1, "name", names.reindex(features["account_id"]).to_numpy())

    with notices.capture("scoring"):
        scores = score_accounts(now, meth)

    migration = _migration(by_date[previous], now, meth, members, previous, day, notices, status)
    validation, curves, validated = _validation(
        data, group, members, by_date[backtest], now, meth, backtest, notices, status
    )
    segmentation = _segmentation(data, features, scores, members, meth, day, notices, status)

    return PortfolioReview(
        as_of=day,
        previous_date=previous,
        backtest_date=backtest,
        group=group,
        currency=meth.currency,
        methodology=meth,
        members=members.reset_index(drop=True),
        features=features,
        scores=scores,
        tables_present=tuple(data.tables),
        history_start=_history_start(data, day),
        migration=migration,
        validation=validation,
        validation_curves=curves,
        validation_accounts=validated,
        segmentation=segmentation,
        status={**status, **{k: _OK for k in ("migration", "validation") if k not in status}},
        notices=notices.frame(),
    )


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


# -- segmentation --------------------------------------------------------------------------------
def _segmentation(
    data: KamData,
    features: pd.DataFrame,
    scores: ScoreResult,
    members: pd.DataFrame,
    meth: Methodology,
    day: date,
    notices: _Notices,
    status: dict[str, SectionStatus],
) -> dict[str, dict[str, Any]]:
    """Pareto / ABC, the portfolio matrix and segment profiles of the group, from
    :mod:`kamlib.segmentation` — each section independently: one that cannot be computed
    (the function is not there, or the data do not allow it) is marked unavailable."""
    import kamlib.segmentation as seg

    ids = set(members["account_id"].astype(str))
    group_features = features[features["account_id"].isin(ids)].reset_index(drop=True)
    out: dict[str, dict[str, Any]] = {}
    names = _names(features[["account_id", "name"]])
    model = meth.require_scoring()

    def tier_label(key: str, lang: str) -> str:
        return model.tier(key).label(lang) if key in model.tier_keys else key

    builders: dict[str, tuple[tuple[str, ...], Callable[[], dict[str, Any]]]] = {
        "pareto": (
            ("abc_analysis", "lorenz_curve"),
            lambda: _pareto(seg, group_features, meth),
        ),
        "portfolio_matrix": (
            ("portfolio_matrix",),
            lambda: _matrix(seg, group_features, scores, meth, names, tier_label),
        ),
        "segments": (
            ("cluster_accounts",),
            lambda: _segments(seg, group_features, scores, meth, tier_label, notices),
        ),
    }
    for key, (functions, build) in builders.items():
        missing = [f for f in functions if not callable(getattr(seg, f, None))]
        if missing:
            status[key] = SectionStatus(False, "not_available_yet", explanation="see_above")
            continue
        try:
            with notices.capture(key):
                out[key] = build()
            status[key] = _OK
        except KamlibError as exc:
            why = getattr(exc, "explanation", "see_notes")
            status[key] = SectionStatus(False, "section_failed", str(exc), explanation=why)
            notices.add(key, str(exc))
    return out


class _Unavailable(DataValidationError):
    """A section the data do not allow, with the label key that explains it to the reader."""

    def __init__(self, message: str, explanation: str) -> None:
        super().__init__(message)
        self.explanation = explanation


def _abc_settings(meth: Methodology) -> tuple[str, float, float]:
    abc = getattr(getattr(meth, "segmentation", None), "abc", None)
    if abc is None:
        return "revenue_12m", 0.8, 0.95
    return abc.feature, float(abc.a), float(abc.b)


def _pareto(seg: Any, features: pd.DataFrame, meth: Methodology) -> dict[str, Any]:
    """ABC classes and the Pareto curve of the group's revenue (the methodology's
    ``segments.abc`` feature and limits)."""
    feature, a, b = _abc_settings(meth)
    values = features.set_index("account_id")[feature]
    if not (values > 0).any():
        raise _Unavailable(f"No account has a positive {feature}.", "pareto_no_revenue")
    abc = seg.abc_analysis(values, a=a, b=b)
    lorenz = seg.lorenz_curve(values)
    curve = lorenz.to_frame()  # top accounts first: (0, 0) … (1, 1)
    known = abc[abc["abc_class"].notna() & (abc["abc_class"].astype(str) != "<NA>")]
    classes = known["abc_class"].astype(str).to_numpy()
    n = len(curve) - 1
    if len(classes) != n:  # lorenz and abc count the same accounts (those with a value)
        raise DataValidationError(
            f"ABC analysis and Lorenz curve disagree on the accounts ({len(classes)} vs {n})."
        )
    point_class = np.concatenate([[classes[0] if n else "A"], classes])
    keep = np.unique(
        np.concatenate(
            [
                np.linspace(0, n, min(n, 600) + 1).round().astype(int),
                np.flatnonzero(point_class[1:] != point_class[:-1]),
                np.flatnonzero(point_class[1:] != point_class[:-1]) + 1,
            ]
        )
    )
    pieces = []
    for cls in dict.fromkeys(point_class):
        idx = keep[point_class[keep] == cls]
        # start each class where the previous one ended, so the areas touch
        first = int(idx.min()) if len(idx) else 0
        if first > 0:
            idx = np.concatenate([[first - 1], idx])
        pieces.append(
            pd.DataFrame(
                {
                    "account_share": curve["account_share"].to_numpy()[idx],
                    "value_share": curve["value_share"].to_numpy()[idx],
                    "abc_class": cls,
                }
            )
        )
    points = pd.concat(pieces, ignore_index=True)
    positive = known["value"].clip(lower=0)
    total = float(positive.sum())

    def class_table(lang: str) -> pd.DataFrame:
        rows = []
        for cls in ("A", "B", "C"):
            part = known[known["abc_class"].astype(str) == cls]
            rows.append(
                {
                    "abc_class": cls,
                    "accounts_count": len(part),
                    "account_share": len(part) / len(known) if len(known) else np.nan,
                    "revenue_12m": float(part["value"].sum()),
                    "revenue_share": (
                        float(part["value"].clip(lower=0).sum()) / total if total > 0 else np.nan
                    ),
                }
            )
        return pd.DataFrame(rows)

    def figures(lang: str) -> dict[str, Any]:
        return {
            "accounts_with_revenue": int(lorenz.accounts),
            "pareto_gini": float(lorenz.gini),
            "top_10_share": lorenz.top_share(0.1),
            "top_20_share": lorenz.top_share(0.2),
            "class_a_accounts": int((classes == "A").sum()),
        }

    return {
        "curve": lambda lang: points,
        "classes": class_table,
        "figures": figures,
        "abc": abc,
        "lorenz": lorenz,
    }


def _axis_name(feature: str, model: ScoringModel, lang: str) -> str:
    for ind in model.indicators:
        if ind.feature == feature:
            return ind.label(lang)
    return label(feature, lang)


def _axis_title(spec: Any, model: ScoringModel, lang: str, key: str) -> str:
    """A short axis title: the indicator or feature the axis reads, or "index 0–1"."""
    if isinstance(spec, str):
        return f"{label(key, lang)}: {_axis_name(spec, model, lang)}"
    return f"{label(key, lang)} ({label('percentile_index', lang)})"


def _axis_definition(spec: Any, model: ScoringModel, lang: str) -> str:
    """What an axis is made of: the feature, or the index's features and weights."""
    if isinstance(spec, str):
        return _axis_name(spec, model, lang)
    sep = "、" if lang == "zh" else ", "
    return sep.join(f"{_axis_name(c, model, lang)} {w:.0%}" for c, w in spec)


def _matrix(
    seg: Any,
    features: pd.DataFrame,
    scores: ScoreResult,
    meth: Methodology,
    names: Mapping[str, str],
    tier_label: Callable[[str, str], str],
) -> dict[str, Any]:
    """Accounts of the group in the portfolio matrix (the methodology's axes, median
    thresholds over the group)."""
    settings = getattr(getattr(meth, "segmentation", None), "portfolio", None)
    if settings is not None:
        for axis, key in ((settings.position, "matrix_no_position"),
                          (settings.attractiveness, "matrix_no_attractiveness")):  # fmt: skip
            columns = [axis] if isinstance(axis, str) else [c for c, _w in axis]
            known = [c for c in columns if c in features.columns and features[c].notna().any()]
            if not known:
                raise _Unavailable(
                    f"No account has a value for {', '.join(columns)}: the portfolio matrix "
                    "cannot place any account.",
                    key,
                )
    pm = seg.portfolio_matrix(features, scores, methodology=meth)
    acc = pm.accounts
    revenue = features.set_index("account_id")["revenue_12m"]
    ids = acc["account_id"].astype(str).tolist()
    chart_names = _chart_names(ids, names)
    quadrants = {q.key: q for q in pm.quadrants}
    placed = acc["quadrant"].notna() & (acc["quadrant"].astype(str) != "<NA>")
    model = meth.require_scoring()

    order = {q.key: i for i, q in enumerate(pm.quadrants)}

    def points(lang: str) -> pd.DataFrame:
        part = acc[placed]
        out = pd.DataFrame(
            {
                "account": [chart_names[i] for i in np.flatnonzero(placed.to_numpy())],
                "tier": [tier_label(t, lang) for t in part["tier"].astype(str)],
                "position": part["position"].to_numpy(dtype=float),
                "attractiveness": part["attractiveness"].to_numpy(dtype=float),
                "quadrant": [quadrants[q].label(lang) for q in part["quadrant"].astype(str)],
                "revenue_12m": revenue.reindex(part["account_id"]).to_numpy(dtype=float),
            }
        )
        # quadrants in the methodology's order (the chart's legend follows the rows)
        rank = part["quadrant"].astype(str).map(order).to_numpy()
        return out.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)

    def table(lang: str) -> pd.DataFrame:
        rev = revenue.reindex(acc["account_id"]).to_numpy(dtype=float)
        total = float(np.nansum(np.clip(rev[placed.to_numpy()], 0, None)))
        rows = []
        for q in pm.quadrants:
            sel = (acc["quadrant"].astype(str) == q.key).to_numpy()
            r = rev[sel]
            rows.append(
                {
                    "quadrant": q.label(lang),
                    "accounts_count": int(sel.sum()),
                    "revenue_12m": float(np.nansum(r)),
                    "revenue_share": (
                        float(np.nansum(np.clip(r, 0, None))) / total if total > 0 else np.nan
                    ),
                    "strategy": q.strategy(lang),
                }
            )
        return pd.DataFrame(rows)

    def options(lang: str) -> dict[str, Any]:
        return {
            "x_cut": float(pm.position_threshold),
            "y_cut": float(pm.attractiveness_threshold),
            "x_title": _axis_title(pm.position, model, lang, "position_axis"),
            "y_title": _axis_title(pm.attractiveness, model, lang, "attractiveness_axis"),
        }

    def figures(lang: str) -> dict[str, Any]:
        return {
            "attractiveness_axis": _axis_definition(pm.attractiveness, model, lang),
            "position_axis": _axis_definition(pm.position, model, lang),
            "attractiveness_threshold": float(pm.attractiveness_threshold),
            "position_threshold": float(pm.position_threshold),
            "accounts_placed": int(placed.sum()),
        }

    return {
        "points": points,
        "quadrants": table,
        "options": options,
        "figures": figures,
        "result": pm,
    }


#: Clustered columns need a value for at least this share of the group's accounts.
CLUSTER_MIN_KNOWN = 0.5
#: Segments are formed only for groups of at least this many accounts.
CLUSTER_MIN_ACCOUNTS = 30
#: Numbers of segments tried (the silhouette chooses); more than six is hard to act on.
CLUSTER_K_RANGE = range(2, 7)


def _segments(
    seg: Any,
    features: pd.DataFrame,
    scores: ScoreResult,
    meth: Methodology,
    tier_label: Callable[[str, str], str],
    notices: _Notices,
) -> dict[str, Any]:
    """Clusters of the group (k by silhouette) with their profiles, and the group's tags."""
    from kamlib.segmentation.clusters import CLUSTER_COLUMNS

    if len(features) < CLUSTER_MIN_ACCOUNTS:
        raise _Unavailable(
            f"The group has {len(features)} accounts; segments are formed for groups of at "
            f"least {CLUSTER_MIN_ACCOUNTS}.",
            "segments_small_group",
        )
    usable = [c for c in CLUSTER_COLUMNS if features[c].notna().mean() >= CLUSTER_MIN_KNOWN]
    left_out = [c for c in CLUSTER_COLUMNS if c not in usable]
    if left_out:
        notices.add(
            "segments",
            f"Not clustered on {', '.join(left_out)}: fewer than {CLUSTER_MIN_KNOWN:.0%} of the "
            "accounts have a value.",
        )
    if len(usable) < 2:
        raise _Unavailable(
            f"Too few features with values to cluster the accounts (only {usable or 'none'}).",
            "segments_too_few",
        )
    result = seg.cluster_accounts(features, columns=usable, k_range=CLUSTER_K_RANGE, random_state=0)
    if result.excluded:
        notices.add(
            "segments",
            f"{len(result.excluded)} account(s) without a value in {', '.join(usable)} are in "
            "no segment.",
        )
    labels = result.labels.dropna(subset=["cluster"])
    cluster_of = dict(
        zip(labels["account_id"].astype(str), labels["cluster"].astype(int), strict=True)
    )
    revenue = features.set_index("account_id")["revenue_12m"]
    tiers = scores.scores.set_index("account_id")["tier"]
    model = meth.require_scoring()
    # each column's scale as the clustering saw it: transformed, then standardised
    complete = features[features["account_id"].isin(set(cluster_of))]
    scaled = {}
    for col in usable:
        x = complete[col].to_numpy(dtype=float)
        how = result.transforms.get(col, "none")
        if how == "log1p":
            x = np.log1p(x)
        elif how == "signed log1p":
            x = np.sign(x) * np.log1p(np.abs(x))
        sd = x.std()
        scaled[col] = np.zeros_like(x) if how == "constant" or sd == 0 else (x - x.mean()) / sd
    member = complete["account_id"].astype(str).map(cluster_of).to_numpy()

    def seg_label(cluster: int, lang: str) -> str:
        row = result.profiles[result.profiles["cluster"] == cluster].iloc[0]
        text = row["label_zh"] if lang == "zh" else row["label"]
        return f"{cluster + 1} · {text}"

    def feature_label(col: str, lang: str) -> str:
        for ind in model.indicators:
            if ind.feature == col:
                return ind.label(lang)
        return label(col, lang)

    def profiles(lang: str) -> pd.DataFrame:
        rows = []
        for c in sorted(set(cluster_of.values())):
            for col in usable:
                x = scaled[col]
                rows.append(
                    {
                        "segment": seg_label(c, lang),
                        "feature": feature_label(col, lang),
                        "z": float(np.median(x[member == c]) - np.median(x)),
                        "value": float(
                            result.profiles.loc[result.profiles["cluster"] == c, col].iloc[0]
                        ),
                    }
                )
        return pd.DataFrame(rows)

    def table(lang: str) -> pd.DataFrame:
        n = len(cluster_of)
        positive = revenue.clip(lower=0)
        total = float(positive.reindex(list(cluster_of)).sum())
        rows = []
        for c in sorted(set(cluster_of.values())):
            ids = [a for a, k in cluster_of.items() if k == c]
            counts = tiers.reindex(ids).value_counts()
            mix = " · ".join(
                f"{tier_label(t.key, lang)} {int(counts.get(t.key, 0))}"
                for t in model.tiers
                if counts.get(t.key, 0)
            )
            rows.append(
                {
                    "segment": seg_label(c, lang),
                    "accounts_count": len(ids),
                    "account_share": len(ids) / n if n else np.nan,
                    "revenue_12m": float(revenue.reindex(ids).sum()),
                    "revenue_share": (
                        float(positive.reindex(ids).sum()) / total if total > 0 else np.nan
                    ),
                    "tier_counts": mix,
                }
            )
        return pd.DataFrame(rows)

    tags = _tags(seg, features, meth)

    return {
        "profiles": profiles,
        "segments": table,
        "tags": tags,
        "result": result,
        "figures": lambda lang: {
            "segments_found": int(result.k),
            "silhouette": float(result.silhouette.get(result.k, np.nan)),
            "accounts_in_segments": len(cluster_of),
        },
    }


def _tags(seg: Any, features: pd.DataFrame, meth: Methodology) -> Callable[[str], pd.DataFrame]:
    """Accounts of the group carrying each tag of the methodology (``tag, kind,
    accounts_count, account_share``); a tag whose rule reads a column the features lack is
    left out."""
    rules = tuple(getattr(meth, "tags", ()) or ())
    usable = [t for t in rules if all(f in features.columns or f in {r.name for r in rules}
                                      for f in t.fields)]  # fmt: skip
    if not usable or not callable(getattr(seg, "tag_accounts", None)):
        return lambda lang: pd.DataFrame(columns=["tag", "kind", "accounts_count", "account_share"])
    flags = seg.tag_accounts(features, usable)
    n = len(flags)

    def table(lang: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "tag": [t.label(lang) for t in usable],
                "kind": [label(f"kind_{t.kind}", lang) for t in usable],
                "accounts_count": [int(flags[t.name].sum()) for t in usable],
                "account_share": [float(flags[t.name].mean()) if n else np.nan for t in usable],
            }
        )

    return table
