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
chooses the accounts the review shows.  The review keeps the report language it was built
with; its display methods return frames with translated text, ready for
:func:`kamlib.views.format.table` and :mod:`kamlib.charts` (:meth:`PortfolioReview.with_lang`
gives the same review in another language without computing it again).  A section the data
do not allow is marked unavailable (:class:`SectionStatus`) with a notice; bugs raise.

The review is split in three modules: this one (the view object and :func:`portfolio_review`),
:mod:`kamlib.views.portfolio_sections` (the scoring sections: migration, back-test, CLV) and
:mod:`kamlib.views.portfolio_segments` (the segmentation sections).  This one is a little over
800 lines.  One idea: the review object, one short display method per table or chart of the
report, kept together so the report reads from one class.

Example
-------
>>> review = portfolio_review(data, as_of="2026-09-30", lang="zh", group="top50")  # doctest: +SKIP
>>> review.tier_table()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.errors import ConfigError, DataValidationError
from kamlib.features import FEATURE_SOURCE_TABLES, months_before
from kamlib.methodology import Methodology, ScoringModel, resolve_methodology
from kamlib.methodology.labels import check_lang, label
from kamlib.periods import as_day, period_of
from kamlib.scoring import MigrationResult, ScoreResult, ValidationResult, score_accounts
from kamlib.scoring.coverage import indicator_coverage, max_score_possible
from kamlib.scoring.history import GONE, NEW
from kamlib.segmentation import check_group_name
from kamlib.views.notices import Notices, notices_table, resolve_data
from kamlib.views.portfolio_sections import (
    AVAILABLE,
    SectionStatus,
    account_names,
    chart_names,
    features_by_date,
    group_members,
    history_start,
    migration_section,
    mover_drivers,
    validation_section,
    with_names,
)
from kamlib.views.portfolio_segments import SECTION_COLUMNS, segmentation_sections
from kamlib.views.values import missing_rule

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


def _previous_quarter_end(day: date, fiscal_year_start_month: int) -> date:
    return period_of(day, "quarterly", fiscal_year_start_month=fiscal_year_start_month).start - (
        timedelta(days=1)
    )


# -- the result ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PortfolioReview:
    """Everything the portfolio review report shows (see :func:`portfolio_review`).

    Attributes
    ----------
    lang
        The report language of the display methods (``en`` or ``zh``).
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

    lang: str
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
    def with_lang(self, lang: str) -> PortfolioReview:
        """The same review shown in ``lang`` (nothing is computed again)."""
        return dataclasses.replace(self, lang=check_lang(lang))

    @property
    def model(self) -> ScoringModel:
        return self.scores.model

    @property
    def names(self) -> dict[str, str]:
        """account_id → name, for every account of the book at ``as_of``."""
        return account_names(self.features[["account_id", "name"]])

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

    def off_indicators(self) -> list[str]:
        """Indicators of the methodology switched off because the data lacks the table they
        require (their weight went to the others: ``ScoreResult.notes``)."""
        kept = set(self.model.names)
        return [n for n in self.methodology.require_scoring().names if n not in kept]

    def unavailable_indicators(self) -> list[str]:
        """Indicators with no value for any account of the group."""
        status = self._indicator_status()
        return status.loc[status["known_share"] <= 0, "indicator"].tolist()

    # -- key figures -----------------------------------------------------------------------
    def key_figures(self) -> dict[str, Any]:
        """Label key → value for :func:`kamlib.views.format.facts`."""
        lang = self.lang
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
            "indicators_off": sep.join(
                self.methodology.require_scoring().indicator(n).label(lang)
                for n in self.off_indicators()
            ) or label("none", lang),
            "max_score_possible": round(self.max_score(), 1),
        }

    # -- indicators ------------------------------------------------------------------------
    def _indicator_status(self) -> pd.DataFrame:
        """:func:`~kamlib.scoring.coverage.indicator_coverage` over the group."""
        return indicator_coverage(self.scores, self.member_ids)

    def max_score(self) -> float:
        """The highest score any account of the group could reach with this data
        (:func:`~kamlib.scoring.coverage.max_score_possible`)."""
        return max_score_possible(self.scores, self._indicator_status())

    def indicator_table(self) -> pd.DataFrame:
        """One row per indicator: ``indicator, kind, weight_share, known_share, status,
        missing_rule, reason`` (translated text)."""
        lang = self.lang
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
                elif ind.feature in CLV_FEATURES and self.status.get("clv", AVAILABLE).reason:
                    reason = self.status["clv"].message(lang)
                else:
                    reason = label("reason_some_missing", lang)
            rule = missing_rule(ind, lang)
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

    def tables_table(self) -> pd.DataFrame:
        """Optional tables: ``table`` (key, translated by the table formatter), ``present``
        and ``indicators`` (the indicators of this methodology that read it)."""
        lang = self.lang
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
    def tier_table(self) -> pd.DataFrame:
        """One row per tier (highest first): ``tier, min_score, accounts_count, account_share,
        score_mean, revenue_12m, revenue_share, lifted_by_pareto``."""
        lang = self.lang
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

    def ranking(self, *, strongest: int = 3) -> pd.DataFrame:
        """The group's accounts, best first, with their explanation: ``rank`` (in the whole
        book), ``account_id`` (left out when every name is the id itself), ``name, tier,
        score, revenue_12m, strongest, not_scored``.

        ``strongest`` lists the indicators that contributed most (weighted points);
        ``not_scored`` the indicators without a value for the account (scored by their
        missing-value rule; indicators no account of the group has are left out here, see
        :meth:`indicator_table`) and, when some were left out of the score, the share of the
        weight it rests on."""
        lang = self.lang
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

    def breakdown(self, *, top: int = 25) -> pd.DataFrame:
        """Weighted contributions of the ``top`` best accounts of the group, long form for
        :func:`kamlib.charts.score_breakdown`: ``account, tier, score, indicator,
        contribution, points`` (accounts best first, indicators in methodology order)."""
        lang = self.lang
        if top < 1:
            raise ConfigError(f"The 'top' parameter of breakdown must be at least 1. Got {top}.")
        scores = self._group_scores().head(top)
        ids = scores["account_id"].astype(str).tolist()
        ex = self.scores.explanations
        ex = ex[ex["account_id"].isin(set(ids))]
        shown = dict(zip(ids, chart_names(ids, self.names), strict=True))
        order = {a: i for i, a in enumerate(ids)}
        ind_order = {n: i for i, n in enumerate(self.model.names)}
        ex = ex.assign(
            _a=ex["account_id"].map(order), _i=ex["indicator"].map(ind_order)
        ).sort_values(["_a", "_i"], kind="stable")
        score = scores.set_index("account_id")
        return pd.DataFrame(
            {
                "account": ex["account_id"].map(shown).to_numpy(),
                "tier": [self._tier_label(score.at[a, "tier"], lang) for a in ex["account_id"]],
                "score": [float(score.at[a, "score"]) for a in ex["account_id"]],
                "indicator": [self._indicator_label(i, lang) for i in ex["indicator"]],
                "contribution": ex["contribution"].to_numpy(dtype=float),
                "points": ex["points"].to_numpy(dtype=float),
            }
        )

    def tier_points(self) -> pd.DataFrame:
        """Mean band points (0–100) per tier and indicator over the group's accounts:
        ``tier, indicator, points, accounts_count`` (for :func:`kamlib.charts.tier_profile`)."""
        lang = self.lang
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

    def score_distribution(self) -> pd.DataFrame:
        """The group's scores and tiers: ``account_id, score, tier`` (tier labels)."""
        lang = self.lang
        scores = self._group_scores()
        return pd.DataFrame(
            {
                "account_id": scores["account_id"].astype(str).to_numpy(),
                "score": scores["score"].to_numpy(dtype=float),
                "tier": [self._tier_label(t, lang) for t in scores["tier"]],
            }
        )

    def thresholds(self) -> pd.DataFrame:
        """Tier thresholds: ``tier, min_score`` (highest first)."""
        lang = self.lang
        return pd.DataFrame(
            {
                "tier": [t.label(lang) for t in self.model.tiers],
                "min_score": [float(t.min_score) for t in self.model.tiers],
            }
        )

    def migration_summary(self) -> dict[str, Any]:
        """Label key → value: the two dates, accounts in both, stayed, up, down, new, gone."""
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

    def migration_matrix(self) -> pd.DataFrame:
        """Counts, long form: ``from_tier, to_tier, accounts_count`` (tier labels, highest first;
        ``(new)`` / ``(gone)`` rows and columns only when they hold accounts)."""
        lang = self.lang
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

    def movers(self, direction: str) -> pd.DataFrame:
        """Accounts that moved ``up`` or ``down`` a tier since the previous quarter end:
        ``account_id, name, from_tier, to_tier, from_score, to_score, score_change,
        drivers`` (the indicators whose weighted contribution changed most in the
        direction of the move, with the change in points)."""
        lang = self.lang
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
                    mover_drivers(row, self.model, lang) for row in frame.to_dict("records")
                ],
            },
            columns=columns,
        )

    # -- validation ------------------------------------------------------------------------
    def validation_figures(self) -> dict[str, Any]:
        """Label key → value: back-test date, accounts, next-year value, lift of the top
        tier, Gini of the score, of last year's revenue and the best possible, and the
        accounts that were not customers yet."""
        lang = self.lang
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

    def validation_table(self) -> pd.DataFrame:
        """Per tier (highest first): ``tier, accounts_count, account_share, next_year_revenue,
        value_share, lift``."""
        lang = self.lang
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

    def gains(self) -> pd.DataFrame:
        """Gains curves of the back-test with translated ranking names: ``ranking,
        account_share, value_share``."""
        lang = self.lang
        c = self.validation_curves
        if c.empty:
            return pd.DataFrame(columns=["ranking", "account_share", "value_share"])
        return c.assign(ranking=[label(f"ranking_{r}", lang) for r in c["ranking"]])

    def tier_shares(self) -> pd.DataFrame:
        """Account share and revenue share per tier (``tier, account_share, value_share``),
        for :func:`kamlib.charts.tier_shares`."""
        t = self.tier_table()
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

    def frame(self, section: str, name: str) -> pd.DataFrame:
        """One frame of a segmentation section (translated where it names tiers or
        quadrants); an empty frame when the section is unavailable."""
        lang = self.lang
        value = self.section(section).get(name)
        if value is None:
            return pd.DataFrame(columns=list(SECTION_COLUMNS.get((section, name), ())))
        if callable(value):
            return value(lang)
        return value

    def figures(self, section: str) -> dict[str, Any]:
        """Headline figures of a segmentation section (label key → value; empty when the
        section is unavailable), for :func:`kamlib.views.format.facts`."""
        lang = self.lang
        make = self.section(section).get("figures")
        return make(lang) if callable(make) else {}

    def chart_options(self, section: str) -> dict[str, Any]:
        """Extra keyword arguments of the section's chart (the portfolio matrix: its
        thresholds and axis titles); empty when there are none."""
        lang = self.lang
        make = self.section(section).get("options")
        return make(lang) if callable(make) else {}

    def empty_message(
        self, section: str, *, detail: bool = False, default: str = "nothing_to_show"
    ) -> str:
        """The label key to show in place of an empty chart (the headline) or, with
        ``detail``, an empty table (the explanation) of ``section``; ``default`` when the
        section is available but has nothing to show."""
        status = self.status.get(section, AVAILABLE)
        if status.available or not status.reason:
            return default
        return status.explanation if detail else status.reason

    def notices_table(self) -> pd.DataFrame:
        """``section, message`` (section names translated)."""
        return notices_table(self.notices, self.lang)

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


def portfolio_review(
    data: KamData | str | Path,
    methodology: Methodology | str | Path | None = None,
    *,
    as_of: date | str,
    lang: str = "en",
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
    lang
        The report language (``en`` or ``zh``) of the review's display methods.
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
        Unknown group or language, bad date or methodology.
    DataValidationError
        No account exists at ``as_of``, or ``accounts`` / ``orders`` is missing.

    Notes
    -----
    kamlib's warnings raised while scoring (e.g. an indicator without a value for any
    account) are not re-raised: they are kept in ``notices`` for the report; a section whose
    computation raises a :class:`~kamlib.errors.KamlibError` is marked unavailable with a
    notice.
    """
    owner = "portfolio_review"
    day = as_day(as_of, owner=owner).date()
    check_lang(lang)
    notices = Notices()
    status: dict[str, SectionStatus] = {}
    with notices.warnings("methodology"):
        meth = resolve_methodology(methodology, owner=owner)
    model = meth.require_scoring()
    group = check_group_name(group, methodology=meth)
    data = resolve_data(data, owner=owner)
    notices.state_revenue_basis(data)
    previous = _previous_quarter_end(day, meth.fiscal_year_start_month)
    backtest = months_before(day, 12)

    clv_needed = [f for f in model.features() if f in CLV_FEATURES]
    by_date = features_by_date(
        data, features_source, tables, [backtest, previous, day], clv_needed, notices, status
    )
    now = by_date[day]
    if now.empty:
        raise DataValidationError(
            f"No account exists on {day.isoformat()}: the accounts table has none created on "
            "or before that date. Check the as_of date."
        )
    with notices.warnings("group"):
        members = group_members(data, group, day, meth)
    features = with_names(now, data, day)

    with notices.warnings("scoring"):
        scores = score_accounts(now, meth)

    migration = migration_section(
        by_date[previous], now, meth, members, previous, day, notices, status
    )
    validation, curves, validated = validation_section(
        data, group, members, by_date[backtest], now, meth, backtest, notices, status
    )
    segmentation = segmentation_sections(features, scores, members, meth, notices, status)

    return PortfolioReview(
        lang=lang,
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
        history_start=history_start(data, day),
        migration=migration,
        validation=validation,
        validation_curves=curves,
        validation_accounts=validated,
        segmentation=segmentation,
        status={**status, **{k: AVAILABLE for k in ("migration", "validation") if k not in status}},
        notices=notices.frame(),
    )
