"""Explore the scoring model live: move a weight or a tier threshold, see the tiers change.

For analysts and methodology training sessions in JupyterLab.  Two layers:

- :class:`ScoringExplorer` — plain Python, no widgets needed: it keeps the features
  (computed once), and :meth:`ScoringExplorer.update` re-scores and re-tiers them with the
  weights and thresholds given, returning an :class:`ExplorerState` (tier counts next to the
  methodology's, the accounts whose tier changes).  This is the callback the sliders call;
  tests and scripts call it directly.
- :meth:`ScoringExplorer.widget` — the ipywidgets control: one slider per indicator weight
  and per tier threshold, a reset button, and an output area redrawn on every move.  The
  sliders always show the setting the output was computed with (an :meth:`~ScoringExplorer.update`
  from code moves them too).
- :func:`what_if` (and :meth:`ScoringExplorer.what_if`) — a setting's tiers computed aside,
  from the methodology, never from where the sliders stand: what training checks compare with.

Widgets render only in a live notebook (their HTML needs a CDN): a rendered report leaves
them out (:mod:`kamlib.reports.html`), so reports never depend on them — show a static chart
of :attr:`ScoringExplorer.state` next to the widget for readers of the rendered page.

:func:`scoring_walkthrough` takes the composite points method apart, step by step, on the
data (indicators, band tables, one account's points, weights and contributions, tiers and
the Pareto rule) for the training notebook.

Like a notebook, this module sits below :mod:`kamlib.charts` and
:mod:`kamlib.views.format` (it draws with them); analysis modules never import it.

Example
-------
>>> explorer = ScoringExplorer(features, lang="zh")                  # doctest: +SKIP
>>> state = explorer.update(weights={"revenue_12m": 0.5})           # doctest: +SKIP
>>> state.counts()                                                  # doctest: +SKIP
>>> explorer.widget()  # in JupyterLab                               # doctest: +SKIP
"""

from __future__ import annotations

import math
import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError, DataQualityWarning
from kamlib.methodology import (
    Methodology,
    ScoringModel,
    WeightsNormalisedWarning,
    resolve_methodology,
)
from kamlib.methodology.labels import check_lang, label
from kamlib.scoring import score_accounts
from kamlib.scoring.scorecard import account_frame, resolve_model, score_table
from kamlib.views.values import missing_rule

__all__ = [
    "ExplorerState",
    "ScoringExplorer",
    "ScoringWalkthrough",
    "scoring_walkthrough",
    "what_if",
]

#: Slider resolution: weights in steps of 0.01, thresholds in whole points.
WEIGHT_STEP = 0.01
THRESHOLD_STEP = 1.0


def weight_slider_max(weights: Mapping[str, float]) -> float:
    """The weight sliders' common upper end: twice the largest weight, rounded up to 0.05,
    between 0.1 and 1.

    A 0–1 range put the default weights (0.02–0.30) in the first third of every slider, where
    a trainee could hardly set 0.03 apart from 0.05; twice the largest weight leaves room to
    make any indicator the heaviest.  A larger weight set from code widens its slider.
    """
    largest = max((float(v) for v in weights.values()), default=0.0)
    return min(1.0, max(0.1, round(math.ceil(round(2 * largest / 0.05, 9)) * 0.05, 2)))


def _names(names: Mapping[str, str] | pd.DataFrame | None) -> dict[str, str] | None:
    """account_id → name from a mapping or a frame with ``account_id`` and ``name`` (such as
    the accounts table)."""
    if names is None:
        return None
    if isinstance(names, pd.DataFrame):
        if not {"account_id", "name"} <= set(names.columns):
            raise ConfigError(
                "The 'names' frame needs columns 'account_id' and 'name' (e.g. data.accounts). "
                f"Got {list(names.columns)} instead."
            )
        pairs = names[["account_id", "name"]].dropna(subset=["account_id"])
        return {
            str(a): (str(n) if pd.notna(n) and str(n).strip() else str(a))
            for a, n in zip(pairs["account_id"], pairs["name"], strict=True)
        }
    return {str(k): str(v) for k, v in names.items()}


def _model(methodology: Methodology | ScoringModel | str | None) -> ScoringModel:
    if isinstance(methodology, ScoringModel):
        return methodology
    return resolve_model(resolve_methodology(methodology, owner="ScoringExplorer"))


@dataclass(frozen=True, eq=False)
class ExplorerState:
    """One setting of weights and thresholds and the tiers it gives.

    Attributes
    ----------
    weights
        Indicator → weight as entered (the sliders' values).
    weights_used
        The same, normalised to sum to 1 (what the score applies).
    thresholds
        Tier key → minimum score, highest tier first.
    scores
        One row per account, best first: ``account_id, score, tier, methodology_tier``
        (the tier under the methodology's own weights and thresholds).
    error
        Empty, or the label key saying why the setting asked for was not applied
        (``thresholds_invalid``, ``weights_all_zero``); the state then keeps the last
        valid setting's scores.
    model
        The scoring model of this setting.
    """

    weights: Mapping[str, float]
    weights_used: Mapping[str, float]
    thresholds: Mapping[str, float]
    scores: pd.DataFrame
    error: str
    model: ScoringModel

    @property
    def tier_counts(self) -> dict[str, int]:
        """Tier key → accounts under this setting (every tier, highest first)."""
        counts = self.scores["tier"].value_counts()
        return {t.key: int(counts.get(t.key, 0)) for t in self.model.tiers}

    @property
    def methodology_counts(self) -> dict[str, int]:
        """Tier key → accounts under the methodology's setting."""
        counts = self.scores["methodology_tier"].value_counts()
        return {t.key: int(counts.get(t.key, 0)) for t in self.model.tiers}

    @property
    def changed(self) -> int:
        """Accounts whose tier differs from the methodology's."""
        return int((self.scores["tier"] != self.scores["methodology_tier"]).sum())

    def counts(self, lang: str = "en") -> pd.DataFrame:
        """``tier, scenario, accounts_count`` for :func:`kamlib.charts.tier_counts`: the
        methodology's setting and this one, per tier (labels in ``lang``)."""
        check_lang(lang)
        rows = []
        for key, n_methodology in self.methodology_counts.items():
            tier = self.model.tier(key).label(lang)
            rows.append(
                {"tier": tier, "scenario": label("scenario_methodology", lang),
                 "accounts_count": n_methodology}
            )  # fmt: skip
            rows.append(
                {"tier": tier, "scenario": label("scenario_explored", lang),
                 "accounts_count": self.tier_counts[key]}
            )  # fmt: skip
        return pd.DataFrame(rows)

    def changes(self, lang: str = "en", *, names: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Accounts whose tier changes, best first: ``account_id, name, score, from_tier,
        to_tier`` (``name`` only when ``names`` is given)."""
        check_lang(lang)
        moved = self.scores[self.scores["tier"] != self.scores["methodology_tier"]]
        out = pd.DataFrame(
            {
                "account_id": moved["account_id"].astype(str).to_numpy(),
                "score": moved["score"].to_numpy(dtype=float),
                "from_tier": [self.model.tier(t).label(lang) for t in moved["methodology_tier"]],
                "to_tier": [self.model.tier(t).label(lang) for t in moved["tier"]],
            }
        )
        if names is not None:
            out.insert(1, "name", [names.get(a, a) for a in out["account_id"]])
        return out

    def weights_table(self, lang: str = "en") -> pd.DataFrame:
        """``indicator, weight_share`` (the normalised weights applied)."""
        check_lang(lang)
        return pd.DataFrame(
            {
                "indicator": [self.model.indicator(n).label(lang) for n in self.weights_used],
                "weight_share": list(self.weights_used.values()),
            }
        )

    def summary(self) -> pd.Series:
        """Accounts per tier under this setting, the number that changed, and the error."""
        return pd.Series(
            {**{f"tier_{k}": v for k, v in self.tier_counts.items()}, "changed": self.changed,
             "error": self.error},
            dtype=object,
        )  # fmt: skip


class ScoringExplorer:
    """Re-score and re-tier accounts live with other weights and thresholds.

    Parameters
    ----------
    features
        One row per account (as from :func:`kamlib.features.account_features`), computed
        once; every update scores these same features.
    methodology
        A Methodology, a ScoringModel, the path of a methodology file, or ``None`` / ``""``
        for kamlib's default.  Its weights and thresholds are the starting point and the
        reference the changes are compared with.  (With ``method: entropy`` the starting
        weights are the entropy weights of these accounts.)
    lang
        ``"en"`` or ``"zh"``: slider labels, tables and charts.
    names
        Optional account_id → name (a mapping, or a frame with ``account_id`` and ``name``
        such as ``data.accounts``), for the table of accounts that change tier.

    Attributes
    ----------
    state
        The current :class:`ExplorerState` (after the last :meth:`update`).
    baseline
        The state of the methodology's own setting.
    """

    def __init__(
        self,
        features: pd.DataFrame,
        methodology: Methodology | ScoringModel | str | None = None,
        *,
        lang: str = "en",
        names: Mapping[str, str] | pd.DataFrame | None = None,
    ) -> None:
        self.lang = check_lang(lang)
        self.model = _model(methodology)
        self.features = account_frame(features, "ScoringExplorer").copy()
        self.names = _names(names)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)  # the report states these
            reference = score_accounts(self.features, self.model)
        # the indicators that score this data: one whose table the data lacks is off (no
        # slider for it), its weight spread over the others, and the notes say so
        self.off_indicators = tuple(n for n in self.model.names if n not in reference.model.names)
        self.model = reference.model
        self.notes = reference.notes
        self._reference_tiers = reference.scores.set_index("account_id")["tier"]
        self.default_weights = {k: float(v) for k, v in reference.weights.items()}
        self.default_thresholds = {t.key: float(t.min_score) for t in self.model.tiers}
        self._widgets: dict[str, Any] = {}
        self._output: Any = None
        self._box: Any = None
        self._silent = False
        self.baseline = self._compute(self.default_weights, self.default_thresholds, "")
        self.state = self.baseline

    # -- the callback ----------------------------------------------------------------------
    def update(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        thresholds: Mapping[str, float] | None = None,
    ) -> ExplorerState:
        """Apply new weights and/or thresholds (only those named change) and re-score.

        Weights need not sum to 1: they are normalised, as the methodology file's are; a
        weight for an indicator that is off (its table is not in the data) is ignored.  A
        setting that cannot be applied — thresholds that do not decrease from the highest
        tier to the lowest, or every weight zero — is not applied: the state keeps the last
        valid scores and says why in ``error``.  Unknown indicator or tier names raise
        ``ConfigError``.  The sliders (when :meth:`widget` was called) move to the new
        setting, so the control always shows the setting its output was computed with.

        Returns the new :attr:`state`.
        """
        self.state = self._apply(self.state, weights, thresholds)
        self._sync_sliders()
        self._redraw()
        return self.state

    def what_if(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        thresholds: Mapping[str, float] | None = None,
    ) -> ExplorerState:
        """The methodology's setting with the named weights and thresholds changed, computed
        aside: :attr:`state`, the sliders and the output stay as they are.

        Use it for answers that must not depend on where someone left the sliders (the
        training exercises' checks).  Same rules as :meth:`update`.
        """
        return self._apply(self.baseline, weights, thresholds)

    def reset(self) -> ExplorerState:
        """Back to the methodology's weights and thresholds (sliders too)."""
        self.state = self.baseline
        self._sync_sliders()
        self._redraw()
        return self.state

    def _apply(
        self,
        start: ExplorerState,
        weights: Mapping[str, float] | None,
        thresholds: Mapping[str, float] | None,
    ) -> ExplorerState:
        """``start`` with the named weights and thresholds changed, re-scored (or, when the
        setting cannot apply, ``start``'s scores with the reason in ``error``)."""
        new_weights = dict(start.weights)
        for name, value in (weights or {}).items():
            if name in self.off_indicators:  # off for this data: ignored, as score_accounts does
                continue
            if name not in self.default_weights:
                raise ConfigError(
                    f"Indicator {name!r} is not in the methodology. Indicators: "
                    f"{', '.join(self.default_weights)}."
                )
            new_weights[name] = float(value)
        new_thresholds = dict(start.thresholds)
        for key, value in (thresholds or {}).items():
            if key not in self.default_thresholds:
                raise ConfigError(
                    f"Tier {key!r} is not in the methodology. Tiers: "
                    f"{', '.join(self.default_thresholds)}."
                )
            new_thresholds[key] = float(value)
        error = ""
        if any(w < 0 or not math.isfinite(w) for w in new_weights.values()):
            raise ConfigError(f"Weights must be finite and >= 0. Got {new_weights} instead.")
        if sum(new_weights.values()) <= 0:
            error = "weights_all_zero"
        else:
            values = list(new_thresholds.values())
            if values[-1] != 0 or any(a <= b for a, b in zip(values, values[1:], strict=False)):
                error = "thresholds_invalid"
        if not error:
            return self._compute(new_weights, new_thresholds, "")
        return ExplorerState(
            weights=new_weights,
            weights_used=start.weights_used,
            thresholds=new_thresholds,
            scores=start.scores,
            error=error,
            model=start.model,
        )

    def _compute(
        self, weights: Mapping[str, float], thresholds: Mapping[str, float], error: str
    ) -> ExplorerState:
        total = math.fsum(weights.values())
        used = {k: v / total for k, v in weights.items()}
        model = self.model.with_thresholds(thresholds)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", WeightsNormalisedWarning)
            warnings.simplefilter("ignore", DataQualityWarning)
            scored = score_table(self.features, model, used, who="ScoringExplorer.update")
        frame = scored[["account_id", "score", "tier"]]
        frame["methodology_tier"] = (
            self._reference_tiers.reindex(frame["account_id"]).astype("str").to_numpy()
        )
        return ExplorerState(
            weights=dict(weights),
            weights_used=used,
            thresholds=dict(thresholds),
            scores=frame,
            error=error,
            model=model,
        )

    # -- the widget --------------------------------------------------------------------------
    def on_change(self, change: Mapping[str, Any]) -> None:
        """Slider observer: ``change`` as ipywidgets sends it (``owner``, ``new``)."""
        if self._silent:
            return
        owner = change.get("owner")
        for key, widget in self._widgets.items():
            if widget is owner:
                kind, name = key.split(":", 1)
                if kind == "weight":
                    self.update(weights={name: float(change["new"])})
                else:
                    self.update(thresholds={name: float(change["new"])})
                return

    def widget(self) -> Any:
        """The ipywidgets control: weight and threshold sliders, a reset button and the
        output (tier counts chart, accounts that change tier).  Display it in JupyterLab.

        One control per explorer: calling it again returns the same control (displayed
        twice, both views show the same sliders and output)."""
        if self._box is not None:
            return self._box
        import ipywidgets as w

        lang = self.lang
        descriptions = [ind.label(lang) for ind in self.model.indicators]
        descriptions += [tier.label(lang) for tier in self.model.tiers[:-1]]
        width = _text_width_em(descriptions)
        style = {"description_width": f"{width:.1f}em"}
        layout = w.Layout(width=f"{width + 20:.1f}em")
        weight_sliders = []
        top = weight_slider_max(self.state.weights)
        for ind in self.model.indicators:
            slider = w.FloatSlider(
                value=self.state.weights[ind.name], min=0.0,
                max=max(top, self.state.weights[ind.name]), step=WEIGHT_STEP,
                description=ind.label(lang), readout_format=".2f", continuous_update=False,
                style=style, layout=layout,
            )  # fmt: skip
            slider.observe(self.on_change, names="value")
            self._widgets[f"weight:{ind.name}"] = slider
            weight_sliders.append(slider)
        threshold_sliders = []
        for tier in self.model.tiers[:-1]:  # the lowest tier starts at 0
            slider = w.FloatSlider(
                value=self.state.thresholds[tier.key], min=0.0, max=100.0, step=THRESHOLD_STEP,
                description=tier.label(lang), readout_format=".0f", continuous_update=False,
                style=style, layout=layout,
            )  # fmt: skip
            slider.observe(self.on_change, names="value")
            self._widgets[f"threshold:{tier.key}"] = slider
            threshold_sliders.append(slider)
        # ipywidgets gives a button a fixed width that cuts a longer label: size it to its text
        reset = w.Button(
            description=label("explorer_reset", lang), icon="undo",
            layout=w.Layout(width="max-content"),
        )  # fmt: skip
        reset.on_click(lambda _button: self.reset())
        self._output = w.Output()
        self._redraw()
        self._box = w.VBox(
            [
                w.HTML(f"<h3>{label('scoring_explorer', lang)}</h3>"),
                w.HTML(f"<b>{label('explorer_weights', lang)}</b>"),
                *weight_sliders,
                w.HTML(f"<b>{label('explorer_thresholds', lang)}</b>"),
                *threshold_sliders,
                reset,
                self._output,
            ]
        )
        return self._box

    def _sync_sliders(self) -> None:
        """Move the sliders to :attr:`state` (without re-scoring for each one)."""
        self._silent = True
        try:
            for key, widget in self._widgets.items():
                kind, name = key.split(":", 1)
                source = self.state.weights if kind == "weight" else self.state.thresholds
                value = source[name]
                if value > widget.max:  # a weight above the slider's range: widen it
                    widget.max = value
                widget.value = value
        finally:
            self._silent = False

    def _redraw(self) -> None:
        if self._output is None:
            return
        from IPython.display import display

        from kamlib.charts import tier_counts
        from kamlib.views.format import HtmlBlock, table

        lang = self.lang
        state = self.state
        self._output.clear_output(wait=True)
        with self._output:
            if state.error:
                display(
                    HtmlBlock(f'<p class="kamlib-message"><b>{label(state.error, lang)}</b></p>')
                )
            display(tier_counts(state.counts(lang), lang=lang))
            changed = f"{label('accounts_changed_tier', lang)}: {state.changed:,}"
            display(HtmlBlock(f"<p>{changed}</p>"))
            display(table(state.changes(lang, names=self.names), lang=lang, max_rows=15))
            display(table(state.weights_table(lang), lang=lang,
                          caption=label("weights_normalised", lang)))  # fmt: skip


def what_if(
    features: pd.DataFrame,
    methodology: Methodology | ScoringModel | str | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> ExplorerState:
    """The tiers the methodology's scoring gives with the named weights and thresholds
    changed, next to the methodology's own tiers — no widget involved.

    With neither ``weights`` nor ``thresholds`` it is the methodology's own setting.  The
    training exercises check answers against it, so a check gives the same verdict wherever
    the sliders of a :class:`ScoringExplorer` were left.  Arguments as for
    :class:`ScoringExplorer` and :meth:`ScoringExplorer.update`.

    Example
    -------
    >>> what_if(features).tier_counts["strategic"]                    # doctest: +SKIP
    >>> what_if(features, weights={"revenue_12m": 1.0}).changed        # doctest: +SKIP
    """
    return ScoringExplorer(features, methodology).what_if(weights=weights, thresholds=thresholds)


# -- the training walkthrough ----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ScoringWalkthrough:
    """The composite points method taken apart on the data (see :func:`scoring_walkthrough`).

    Attributes
    ----------
    model
        The scoring model.
    result
        The scoring of every account (:class:`~kamlib.scoring.ScoreResult`).
    example
        The account whose score is worked through.
    names
        account_id → name.
    """

    model: ScoringModel
    result: Any
    example: str
    names: Mapping[str, str]

    def indicators(self, lang: str = "en") -> pd.DataFrame:
        """Step 1: ``indicator, kind, feature, weight_share, missing_rule``."""
        check_lang(lang)
        rows = []
        for ind in self.model.indicators:
            rule = missing_rule(ind, lang)
            rows.append(
                {
                    "indicator": ind.label(lang),
                    "kind": label(f"kind_{ind.kind}", lang),
                    "feature": ind.feature,
                    "weight_share": float(self.result.weights[ind.name]),
                    "missing_rule": rule,
                }
            )
        return pd.DataFrame(rows)

    def bands(self, lang: str = "en") -> pd.DataFrame:
        """Step 2: every indicator's band table: ``indicator, band, points``."""
        check_lang(lang)
        rows = []
        for ind in self.model.indicators:
            if ind.is_categorical:
                entries = [
                    (str(k if not isinstance(k, float) else f"{k:g}"), p) for k, p in ind.categories
                ]
                if ind.other_points is not None:
                    entries.append((label("other_values", lang), ind.other_points))
            else:
                entries = [(b.label, b.points) for b in ind.bands]
            for band, points in entries:
                rows.append({"indicator": ind.label(lang), "band": band, "points": float(points)})
        out = pd.DataFrame(rows)
        out["points"] = _whole(out["points"])
        return out

    def example_facts(self, lang: str = "en") -> dict[str, Any]:
        """Step 3 headline: the example account, its score and tier."""
        check_lang(lang)
        row = self.result.scores.set_index("account_id").loc[self.example]
        return {
            "account_id": self.example,
            "name": self.names.get(self.example, self.example),
            "score": float(row["score"]),
            "tier": self.model.tier(str(row["tier"])).label(lang),
            "rank": int(row["rank"]),
        }

    def example_steps(self, lang: str = "en") -> pd.DataFrame:
        """Step 3: the example account, indicator by indicator: ``indicator, raw_value, band,
        points, weight_share, contribution`` — the contributions add up to the score."""
        check_lang(lang)
        ex = self.result.explain(self.example)
        return pd.DataFrame(
            {
                "indicator": [self.model.indicator(n).label(lang) for n in ex["indicator"]],
                "raw_value": [_value_text(v) for v in ex["raw_value"]],
                "band": [
                    label("missing_value", lang) if b == "missing" or pd.isna(b) else str(b)
                    for b in ex["band"]
                ],
                "points": _whole(ex["points"].to_numpy(dtype=float)).to_numpy(),
                "weight_share": ex["weight"].to_numpy(dtype=float),
                "contribution": ex["contribution"].to_numpy(dtype=float),
            }
        )

    def tiers(self, lang: str = "en") -> pd.DataFrame:
        """Step 4: ``tier, min_score, accounts_count``."""
        check_lang(lang)
        counts = self.result.scores["tier"].value_counts()
        return pd.DataFrame(
            {
                "tier": [t.label(lang) for t in self.model.tiers],
                "min_score": _whole([t.min_score for t in self.model.tiers]).to_numpy(),
                "accounts_count": [int(counts.get(t.key, 0)) for t in self.model.tiers],
            }
        )

    def thresholds(self, lang: str = "en") -> pd.DataFrame:
        """``tier, min_score`` for :func:`kamlib.charts.score_distribution`."""
        return self.tiers(lang)[["tier", "min_score"]]

    def score_distribution(self, lang: str = "en") -> pd.DataFrame:
        """``account_id, score, tier`` (labels) of every account."""
        check_lang(lang)
        s = self.result.scores
        return pd.DataFrame(
            {
                "account_id": s["account_id"].astype(str).to_numpy(),
                "score": s["score"].to_numpy(dtype=float),
                "tier": [self.model.tier(t).label(lang) for t in s["tier"]],
            }
        )

    def pareto_lifted(self, lang: str = "en") -> pd.DataFrame:
        """Step 5: accounts the Pareto rule lifted: ``account_id, name, score, tier_by_score,
        tier``."""
        check_lang(lang)
        s = self.result.scores
        lifted = s[s["pareto"] & (s["tier"] != s["tier_by_score"])]
        return pd.DataFrame(
            {
                "account_id": lifted["account_id"].astype(str).to_numpy(),
                "name": [self.names.get(a, a) for a in lifted["account_id"]],
                "score": lifted["score"].to_numpy(dtype=float),
                "tier_by_score": [self.model.tier(t).label(lang) for t in lifted["tier_by_score"]],
                "tier": [self.model.tier(t).label(lang) for t in lifted["tier"]],
            }
        )


def _text_width_em(texts: list[str]) -> float:
    """An em width that holds the longest of ``texts`` on one line: wide (CJK) characters
    count one em, others 0.6 em (a generous average for the UI font), plus a margin."""
    widths = [
        sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6 for ch in text)
        for text in texts
    ]
    return max([8.0, *widths]) + 1.0


def _whole(values: Any) -> pd.Series:
    """Numbers as whole numbers (nullable ``Int64``) when every known one is whole, so a
    table shows ``80`` rather than ``80.00``; otherwise as floats."""
    series = pd.Series(values, dtype="float64")
    known = series.dropna()
    if len(known) and (known % 1 == 0).all():
        return series.round().astype("Int64")
    return series


def _value_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float | np.floating):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return str(value)


def scoring_walkthrough(
    features: pd.DataFrame,
    methodology: Methodology | ScoringModel | str | None = None,
    *,
    example: str = "",
    names: Mapping[str, str] | pd.DataFrame | None = None,
) -> ScoringWalkthrough:
    """Score the accounts and keep what a training session walks through.

    Parameters
    ----------
    features
        Account features (:func:`kamlib.features.account_features`).
    methodology
        Methodology, ScoringModel, path of a methodology file, or ``None`` / ``""``.
    example
        The account to work through; empty: the best-scored account that has a value for
        every indicator (else the best-scored one).
    names
        Optional account_id → name (a mapping, or a frame with ``account_id`` and ``name``
        such as ``data.accounts``).

    Raises
    ------
    ConfigError
        ``example`` is not one of the scored accounts.
    """
    model = _model(methodology)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        result = score_accounts(features, model)
    scores = result.scores
    if scores.empty:
        raise ConfigError("There is no account to score: the features frame is empty.")
    if example:
        if example not in set(scores["account_id"]):
            raise ConfigError(
                f"Account {example!r} is not among the scored accounts; e.g. "
                f"{', '.join(scores['account_id'].head(3))}."
            )
        chosen = example
    else:
        complete = scores.loc[scores["coverage"] >= 1 - 1e-9, "account_id"]
        ex = result.explanations
        no_missing = set(ex["account_id"]) - set(
            ex.loc[ex["missing_reason"].notna() & (ex["missing_reason"] != ""), "account_id"]
        )
        candidates = [a for a in complete if a in no_missing]
        chosen = candidates[0] if candidates else str(scores["account_id"].iloc[0])
    # the model that scored: an indicator whose table the data lacks is off (result.notes)
    return ScoringWalkthrough(
        model=result.model, result=result, example=chosen, names=_names(names) or {}
    )
