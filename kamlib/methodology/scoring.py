"""The ``scoring`` section of the methodology file: :class:`ScoringModel`.

The section (optional: a file without it still loads, but cannot be used to score)
becomes indicators with their band tables and missing-value rule, the weights and how they
were obtained, the tiers and the Pareto rules.  The shipped
``kamlib/resources/methodology.yml`` documents every key.  Validation on load refuses, with
a :class:`~kamlib.errors.ConfigError` naming the file and the place:

- an indicator whose feature is not a column of ``kamlib.features.account_features``
  (declare extra columns under ``scoring.extra_features``);
- numeric bands that overlap or leave a gap, points outside 0–100, a text feature scored
  with numeric bands;
- a missing-value rule that is absent (there is no silent default of zero);
- ``requires`` naming a table that is not a canonical table (:data:`CANONICAL_TABLES`);
- weights for unknown indicators, indicators without a weight, negative weights; an AHP
  matrix that is not square, positive and reciprocal, or whose consistency ratio is 0.1 or
  more (unless ``allow_inconsistent: true``);
- tiers whose ``min_score`` is not strictly decreasing from the first to the last, or whose
  last tier does not start at 0; a Pareto rule naming an unknown tier or feature.

**Weights that do not sum to 1 are normalised, not refused**: each is divided by their sum
and a :class:`WeightsNormalisedWarning` lists the weights as used.  (A sum of 0 is refused,
and so is a sum above :data:`~kamlib.methodology.parsing.MAX_WEIGHT_SUM`; the sum is computed
without overflow.)
"""

from __future__ import annotations

import difflib
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from kamlib.errors import ConfigError, KamlibWarning
from kamlib.methodology.ahp import ahp_weights
from kamlib.methodology.parsing import (
    _NAME,
    _labels,
    _number,
    _safe_sum,
    _unknown,
    normalise_label,
    normalised_weights,
)

INDICATOR_KINDS: tuple[str, ...] = ("static", "dynamic")
WEIGHT_METHODS: tuple[str, ...] = ("manual", "ahp", "entropy", "data")
MAX_POINTS = 100.0
#: weights whose sum differs from 1 by more than this are normalised with a warning
WEIGHT_SUM_TOLERANCE = 1e-6

#: The columns of ``kamlib.features.account_features``: name → (kind, value type).
KNOWN_FEATURES: dict[str, tuple[str, str]] = {
    "industry": ("static", "text"),
    "region": ("static", "text"),
    "employees": ("static", "number"),
    "annual_revenue": ("static", "number"),
    "registered_capital": ("static", "number"),
    "strategic_fit": ("static", "number"),
    "ownership": ("static", "text"),
    "category_spend": ("static", "number"),
    "registry_capital": ("static", "number"),
    "insured_headcount": ("static", "number"),
    "years_established": ("static", "number"),
    "listed": ("static", "number"),
    "revenue_12m": ("dynamic", "number"),
    "revenue_24m": ("dynamic", "number"),
    "revenue_prev_12m": ("dynamic", "number"),
    "growth_12m": ("dynamic", "number"),
    "gross_margin_12m": ("dynamic", "number"),
    "orders_12m": ("dynamic", "number"),
    "order_days_12m": ("dynamic", "number"),
    "recency_days": ("dynamic", "number"),
    "tenure_days": ("dynamic", "number"),
    "active_quarter_share": ("dynamic", "number"),
    "product_lines_12m": ("dynamic", "number"),
    "share_of_wallet": ("dynamic", "number"),
    "open_pipeline": ("dynamic", "number"),
    "open_opportunities": ("dynamic", "number"),
    "win_rate_24m": ("dynamic", "number"),
    "sla_breach_rate_12m": ("dynamic", "number"),
    "escalations_12m": ("dynamic", "number"),
    "tickets_12m": ("dynamic", "number"),
    "contacts_known": ("dynamic", "number"),
    "decision_maker_support": ("dynamic", "number"),
    "economic_buyer_known": ("dynamic", "number"),
    "days_since_last_activity": ("dynamic", "number"),
}

#: The canonical tables of the store, in load order: a copy of ``kamlib.data.TABLES`` (the
#: methodology sits below the data layer and may not import it; a test keeps them equal).
#: An indicator's ``requires`` names one of them.
CANONICAL_TABLES: tuple[str, ...] = (
    "accounts", "products", "orders", "opportunities", "stage_history", "contacts",
    "opportunity_contacts", "activities", "service_tickets", "targets", "plan_items", "tasks",
    "opportunity_competitors", "firmographics", "company_events",
)  # fmt: skip

#: Column names of the score tables; an indicator may not take one of them.
RESERVED_NAMES = frozenset(
    {"account_id", "as_of", "score", "tier", "tier_label", "rank", "tier_by_score", "pareto",
     "coverage"}
)  # fmt: skip


class WeightsNormalisedWarning(KamlibWarning):
    """Weights that did not sum to 1 were divided by their sum (the message lists them)."""


@dataclass(frozen=True)
class Band:
    """One row of a numeric band table: ``min <= value < max`` scores ``points``.

    ``min`` is ``None`` on an open-below first band, ``max`` on an open-above last band.
    """

    points: float
    min: float | None
    max: float | None
    label: str

    def contains(self, value: float) -> bool:
        lo = -math.inf if self.min is None else self.min
        hi = math.inf if self.max is None else self.max
        return lo <= value < hi


@dataclass(frozen=True)
class MissingRule:
    """What an unknown value scores: fixed ``points``, or excluded (weights re-normalised)."""

    exclude: bool
    points: float | None = None

    def describe(self) -> str:
        if self.exclude:
            return "excluded, the other indicators' weights re-normalised"
        return f"scored {format_number(self.points)} points as configured"


@dataclass(frozen=True)
class Indicator:
    """One scored indicator: a feature column mapped to 0–100 points.

    Exactly one of ``bands`` (numeric band table) and ``categories`` (value → points, with
    ``other_points`` for values not listed) is set.  Category values are matched after
    :func:`normalise_label` (case, spaces and underscores ignored) or, when every key is a
    number, numerically.  ``requires`` names the canonical table the indicator needs: when
    the data scored has no such table the indicator is *off* — the scoring drops it and
    re-normalises the other weights (see :meth:`ScoringModel.without`).
    """

    name: str
    feature: str
    kind: str
    label_en: str
    label_zh: str
    missing: MissingRule
    bands: tuple[Band, ...] = ()
    categories: tuple[tuple[str | float, float], ...] = ()
    other_points: float | None = None
    description: str = ""
    requires: str | None = None

    @property
    def is_categorical(self) -> bool:
        return bool(self.categories)

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class AhpJudgements:
    """An AHP pairwise-comparison matrix from the methodology file and its consistency."""

    criteria: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]
    allow_inconsistent: bool
    random_index: float | None
    lambda_max: float
    consistency_index: float
    consistency_ratio: float


@dataclass(frozen=True)
class WeightSpec:
    """How the indicators are weighted.

    ``values`` (indicator → weight, summing to 1) is set for ``manual``, ``ahp`` (the AHP
    priorities) and ``data`` (weights recorded from :func:`kamlib.scoring.data_weights`);
    ``entropy`` weights are computed from the accounts scored, so ``values`` is empty.
    """

    method: str
    values: tuple[tuple[str, float], ...] = ()
    ahp: AhpJudgements | None = None
    note: str = ""

    def as_dict(self) -> dict[str, float]:
        return dict(self.values)


@dataclass(frozen=True)
class Tier:
    """A tier: every account whose score is at least ``min_score`` (and below the next)."""

    key: str
    label_en: str
    label_zh: str
    min_score: float

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class ParetoRule:
    """The fewest top accounts by ``feature`` that make ``share`` of its total are at least
    ``min_tier``."""

    feature: str
    share: float
    min_tier: str


@dataclass(frozen=True)
class ScoringModel:
    """The validated ``scoring`` section: indicators, weights, tiers (highest first), Pareto."""

    indicators: tuple[Indicator, ...]
    weights: WeightSpec
    tiers: tuple[Tier, ...]
    pareto: tuple[ParetoRule, ...] = ()
    extra_features: tuple[tuple[str, str], ...] = ()
    source: str = "<memory>"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.indicators)

    @property
    def tier_keys(self) -> tuple[str, ...]:
        return tuple(t.key for t in self.tiers)

    def indicator(self, name: str) -> Indicator:
        for ind in self.indicators:
            if ind.name == name:
                return ind
        raise ConfigError(_unknown("indicator", name, self.names))

    def tier(self, key: str) -> Tier:
        for tier in self.tiers:
            if tier.key == key:
                return tier
        raise ConfigError(_unknown("tier", key, self.tier_keys))

    def features(self) -> tuple[str, ...]:
        """Every feature column the model reads (indicators, then Pareto rules)."""
        cols = [i.feature for i in self.indicators] + [p.feature for p in self.pareto]
        return tuple(dict.fromkeys(cols))

    def with_weights(self, weights: Mapping[str, float], *, note: str = "") -> ScoringModel:
        """A copy with manual ``weights`` (validated like the file's; normalised with a
        warning when they do not sum to 1)."""
        values = _check_weight_values(dict(weights), self.names, where="weights")
        spec = WeightSpec(method="manual", values=values, note=note)
        return replace(self, weights=spec)

    def without(self, names: tuple[str, ...] | list[str]) -> ScoringModel:
        """A copy without the indicators ``names`` (indicators switched off), the others'
        weights divided by the weight that remains so they sum to 1 again.

        ``manual``, ``ahp`` and ``data`` weights are re-normalised (the AHP priorities that
        remain keep their ratios; ``weights.ahp`` still records the file's judgements);
        ``entropy`` weights are computed from the indicators that remain anyway.  Switching off every
        indicator, or every indicator with a weight, is refused with a ``ConfigError``.
        """
        off = set(names)
        for name in off:
            self.indicator(name)  # unknown → ConfigError
        if not off:
            return self
        kept = tuple(i for i in self.indicators if i.name not in off)
        if not kept:
            raise ConfigError(
                f"{self.source} scoring: every indicator is off ({', '.join(sorted(off))}); "
                "nothing is left to score with."
            )
        weights = self.weights
        if weights.values:
            left = [(n, w) for n, w in weights.values if n not in off]
            total = math.fsum(w for _, w in left)
            if total <= 0:
                raise ConfigError(
                    f"{self.source} scoring: the indicators left after switching off "
                    f"{', '.join(sorted(off))} all have weight 0; nothing is left to score with."
                )
            shares = normalised_weights([w for _, w in left])
            weights = replace(weights, values=tuple(zip([n for n, _ in left], shares, strict=True)))
        return replace(self, indicators=kept, weights=weights)

    def with_thresholds(self, thresholds: Mapping[str, float]) -> ScoringModel:
        """A copy with new ``min_score`` for the tiers named (validated like the file's)."""
        unknown = [k for k in thresholds if k not in self.tier_keys]
        if unknown:
            raise ConfigError(_unknown("tier", unknown[0], self.tier_keys))
        tiers = tuple(
            replace(t, min_score=float(thresholds.get(t.key, t.min_score))) for t in self.tiers
        )
        _check_tier_order(tiers, where="thresholds")
        return replace(self, tiers=tiers)


def parse_scoring(raw: Any, *, source: str = "<memory>") -> ScoringModel:
    """Validate the ``scoring`` section of a methodology file (see the module docstring)."""
    where = f"{source} scoring"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping with 'indicators', 'weights', 'tiers'.")
    extra = _extra_features(raw.get("extra_features"), where)
    known = {**KNOWN_FEATURES, **{name: (kind, "any") for name, kind in extra}}
    default_missing = None
    if "missing" in raw:
        default_missing = _missing_rule(raw["missing"], f"{where}.missing")
    raw_indicators = raw.get("indicators")
    if not isinstance(raw_indicators, list) or not raw_indicators:
        raise ConfigError(f"{where}: 'indicators' must be a non-empty list.")
    indicators: list[Indicator] = []
    for i, item in enumerate(raw_indicators):
        indicators.append(_indicator(item, known, default_missing, f"{where}.indicators[{i}]"))
    names = [ind.name for ind in indicators]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"{where}: indicator '{dupes[0]}' is defined twice; names must be unique."
        )
    tiers = _tiers(raw.get("tiers"), f"{where}.tiers")
    pareto = _pareto(raw.get("pareto"), known, tiers, f"{where}.pareto")
    weights = _weights(raw.get("weights"), tuple(names), f"{where}.weights")
    return ScoringModel(
        indicators=tuple(indicators),
        weights=weights,
        tiers=tiers,
        pareto=pareto,
        extra_features=extra,
        source=source,
    )


def _extra_features(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}.extra_features: must map a feature column to its kind (static or "
            f"dynamic). Got {raw!r} instead."
        )
    out = []
    for name, kind in raw.items():
        if kind not in INDICATOR_KINDS:
            raise ConfigError(
                f"{where}.extra_features: '{name}' has kind {kind!r}; use static or dynamic."
            )
        out.append((str(name), str(kind)))
    return tuple(out)


def _indicator(
    raw: Any, known: dict[str, tuple[str, str]], default_missing: MissingRule | None, where: str
) -> Indicator:
    if not isinstance(raw, dict) or not (raw.get("feature") or raw.get("name")):
        raise ConfigError(
            f"{where}: each indicator needs at least 'feature' (a feature column) and a band "
            f"table ('bands' or 'categories'). Got {raw!r} instead."
        )
    feature = str(raw.get("feature") or raw.get("name"))
    name = str(raw.get("name") or feature)
    where = f"{where} ({name})"
    if not _NAME.match(name) or name in RESERVED_NAMES:
        raise ConfigError(
            f"{where}: indicator name {name!r} cannot be used; use letters, digits and "
            f"underscores, starting with a letter, and none of {', '.join(sorted(RESERVED_NAMES))}."
        )
    if feature not in known:
        hint = difflib.get_close_matches(feature, list(known), n=1)
        did = f" Did you mean '{hint[0]}'?" if hint else ""
        raise ConfigError(
            f"{where}: unknown feature '{feature}'.{did} Use a column of "
            "kamlib.features.account_features, or declare it under scoring.extra_features."
        )
    default_kind, value_type = known[feature]
    kind = str(raw.get("kind", default_kind))
    if kind not in INDICATOR_KINDS:
        raise ConfigError(f"{where}: kind is {kind!r}; it must be static or dynamic.")
    label_en, label_zh = _labels(raw.get("label") or None, name, f"{where}.label")
    if "missing" in raw:
        missing = _missing_rule(raw["missing"], f"{where}.missing")
    elif default_missing is not None:
        missing = default_missing
    else:
        raise ConfigError(
            f"{where}: says nothing about missing values. Add 'missing: exclude' (leave it out "
            "and re-normalise the other weights) or 'missing: <points>', here or as a "
            "default under scoring.missing."
        )
    has_bands, has_cats = "bands" in raw, "categories" in raw
    if has_bands == has_cats:
        raise ConfigError(
            f"{where}: give exactly one band table: 'bands' (numeric min/max/points) or "
            "'categories' (value: points)."
        )
    bands: tuple[Band, ...] = ()
    categories: tuple[tuple[str | float, float], ...] = ()
    other = None
    if has_bands:
        if value_type == "text":
            raise ConfigError(
                f"{where}: feature '{feature}' is text; score it with 'categories' "
                "(value: points), not numeric 'bands'."
            )
        bands = _bands(raw["bands"], f"{where}.bands")
    else:
        categories = _categories(raw["categories"], value_type, f"{where}.categories")
        if raw.get("other") is not None:
            other = _points(raw["other"], f"{where}.other")
    if "other" in raw and has_bands:
        raise ConfigError(f"{where}: 'other' belongs to a 'categories' table, not to 'bands'.")
    requires = None
    if raw.get("requires") is not None:
        requires = str(raw["requires"])
        if requires not in CANONICAL_TABLES:
            raise ConfigError(
                f"{where}.requires: " + _unknown("table", requires, CANONICAL_TABLES)
            )
    return Indicator(
        name=name,
        feature=feature,
        kind=kind,
        label_en=label_en,
        label_zh=label_zh,
        missing=missing,
        bands=bands,
        categories=categories,
        other_points=other,
        description=str(raw.get("description", "")),
        requires=requires,
    )


def _points(value: Any, where: str) -> float:
    points = _number(value, where)
    if not 0 <= points <= MAX_POINTS:
        raise ConfigError(f"{where}: points must lie between 0 and 100. Got {value!r} instead.")
    return points


def _missing_rule(raw: Any, where: str) -> MissingRule:
    if isinstance(raw, str) and raw.strip().lower() == "exclude":
        return MissingRule(exclude=True)
    if isinstance(raw, dict) and set(raw) == {"points"}:
        raw = raw["points"]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return MissingRule(exclude=False, points=_points(raw, where))
    raise ConfigError(
        f"{where}: must be 'exclude' (leave the indicator out and re-normalise the other "
        f"weights) or the points a missing value scores (0–100). Got {raw!r} instead."
    )


def format_number(x: float | None) -> str:
    """A threshold or value as people write it: 10,000,000 · 0.05 · -0.3."""
    if x is None:
        return ""
    if float(x).is_integer() and abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:g}"


def _band_label(lo: float | None, hi: float | None) -> str:
    if lo is None and hi is None:
        return "any value"
    if lo is None:
        return f"< {format_number(hi)}"
    if hi is None:
        return f"≥ {format_number(lo)}"
    return f"{format_number(lo)} – < {format_number(hi)}"


def _bands(raw: Any, where: str) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: must be a non-empty list of {{min, max, points}}.")
    bands = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(item, dict) or "points" not in item:
            raise ConfigError(
                f"{w}: each band needs 'points' and 'min' and/or 'max'. Got {item!r}."
            )
        unknown = set(item) - {"min", "max", "points", "label"}
        if unknown:
            raise ConfigError(
                f"{w}: unknown key(s) {sorted(unknown)}; use min, max, points, label."
            )
        lo = None if item.get("min") is None else _number(item["min"], f"{w}.min")
        hi = None if item.get("max") is None else _number(item["max"], f"{w}.max")
        if lo is not None and hi is not None and not lo < hi:
            raise ConfigError(f"{w}: min {format_number(lo)} is not below max {format_number(hi)}.")
        label = str(item.get("label") or _band_label(lo, hi))
        bands.append(
            Band(points=_points(item["points"], f"{w}.points"), min=lo, max=hi, label=label)
        )
    ordered = sorted(bands, key=lambda b: -math.inf if b.min is None else b.min)
    for a, b in zip(ordered, ordered[1:], strict=False):
        a_hi = math.inf if a.max is None else a.max
        b_lo = -math.inf if b.min is None else b.min
        if a_hi > b_lo:
            raise ConfigError(
                f"{where}: bands '{a.label}' and '{b.label}' overlap. Make each band's min "
                "equal the previous band's max (min is included, max is not)."
            )
        if a_hi < b_lo:
            raise ConfigError(
                f"{where}: bands '{a.label}' and '{b.label}' leave a gap from {format_number(a_hi)} to "
                f"{format_number(b_lo)}. Make each band's min equal the previous band's max."
            )
    return tuple(ordered)


def _categories(raw: Any, value_type: str, where: str) -> tuple[tuple[str | float, float], ...]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{where}: must be a non-empty mapping of value: points.")
    numeric = [isinstance(k, (int, float)) and not isinstance(k, bool) for k in raw]
    if any(numeric) and not all(numeric):
        raise ConfigError(f"{where}: mixes number and text values; quote them all or none.")
    if all(numeric) and value_type == "text":
        raise ConfigError(f"{where}: the feature is text; quote the category values.")
    if not all(numeric) and value_type == "number":
        raise ConfigError(
            f"{where}: the feature is numeric; use number keys or numeric 'bands' instead."
        )
    out: list[tuple[str | float, float]] = []
    seen: set[Any] = set()
    for key, points in raw.items():
        value: str | float = float(key) if all(numeric) else str(key)
        norm = value if isinstance(value, float) else normalise_label(value)
        if norm in seen:
            raise ConfigError(f"{where}: value {key!r} is listed twice (case and spaces ignored).")
        seen.add(norm)
        out.append((value, _points(points, f"{where}.{key}")))
    return tuple(out)


def _tiers(raw: Any, where: str) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"{where}: must list the tiers from the highest to the lowest, each with key, "
            "label {en, zh} and min_score."
        )
    tiers = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(item, dict) or "key" not in item or "min_score" not in item:
            raise ConfigError(f"{w}: each tier needs 'key' and 'min_score'. Got {item!r} instead.")
        key = str(item["key"])
        if not _NAME.match(key):
            raise ConfigError(
                f"{w}: tier key {key!r} must be letters, digits and underscores, starting with "
                "a letter (put display names in 'label')."
            )
        label_en, label_zh = _labels(item.get("label") or None, key, f"{w}.label")
        score = _number(item["min_score"], f"{w}.min_score")
        tiers.append(
            Tier(
                key=key,
                label_en=label_en,
                label_zh=label_zh,
                min_score=score,
            )
        )
    keys = [t.key for t in tiers]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ConfigError(f"{where}: tier '{dupes[0]}' is listed twice.")
    _check_tier_order(tuple(tiers), where=where)
    return tuple(tiers)


def _check_tier_order(tiers: tuple[Tier, ...], *, where: str) -> None:
    for tier in tiers:
        if not 0 <= tier.min_score <= MAX_POINTS:
            raise ConfigError(
                f"{where}: tier '{tier.key}' has min_score {format_number(tier.min_score)}; scores run "
                "from 0 to 100."
            )
    for a, b in zip(tiers, tiers[1:], strict=False):
        if not a.min_score > b.min_score:
            raise ConfigError(
                f"{where}: thresholds out of order: '{b.key}' (min_score {format_number(b.min_score)}) "
                f"comes after '{a.key}' (min_score {format_number(a.min_score)}). List the tiers from "
                "the highest to the lowest with strictly decreasing min_score."
            )
    if tiers[-1].min_score != 0:
        raise ConfigError(
            f"{where}: the last tier '{tiers[-1].key}' has min_score "
            f"{format_number(tiers[-1].min_score)}; it must be 0 so that every score has a tier."
        )


def _pareto(
    raw: Any, known: dict[str, tuple[str, str]], tiers: tuple[Tier, ...], where: str
) -> tuple[ParetoRule, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ConfigError(
            f"{where}: must be a rule {{feature, share, min_tier}} or a list of them."
        )
    keys = [t.key for t in tiers]
    rules = []
    for i, item in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(item, dict) or not {"feature", "share", "min_tier"} <= set(item):
            raise ConfigError(
                f"{w}: a Pareto rule needs feature, share and min_tier. Got {item!r}."
            )
        feature = str(item["feature"])
        if feature not in known or known[feature][1] == "text":
            raise ConfigError(f"{w}: '{feature}' is not a numeric feature column.")
        share = _number(item["share"], f"{w}.share")
        if not 0 < share <= 1:
            raise ConfigError(f"{w}: share is {item['share']!r}; it must lie in (0, 1], e.g. 0.5.")
        min_tier = str(item["min_tier"])
        if min_tier not in keys:
            raise ConfigError(f"{w}: " + _unknown("tier", min_tier, keys))
        rules.append(ParetoRule(feature=feature, share=share, min_tier=min_tier))
    return tuple(rules)


def _check_weight_values(
    raw: Any, names: tuple[str, ...], *, where: str
) -> tuple[tuple[str, float], ...]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must map each indicator to its weight. Got {raw!r} instead.")
    for key in raw:
        if key not in names:
            raise ConfigError(f"{where}: " + _unknown("indicator", key, names))
    absent = [n for n in names if n not in raw]
    if absent:
        raise ConfigError(
            f"{where}: no weight for indicator(s) {', '.join(absent)}. Give every indicator a "
            "weight (0 switches one off)."
        )
    values = {n: _number(raw[n], f"{where}.{n}") for n in names}
    negative = [n for n, v in values.items() if v < 0 or math.isinf(v)]
    if negative:
        raise ConfigError(
            f"{where}: weight of '{negative[0]}' is {values[negative[0]]!r}; weights must be "
            "finite and at least 0."
        )
    total = _safe_sum(values.values(), where)
    if total <= 0:
        raise ConfigError(f"{where}: the weights sum to 0; give at least one indicator a weight.")
    if abs(total - 1) > WEIGHT_SUM_TOLERANCE:
        values = dict(zip(values, normalised_weights(list(values.values())), strict=True))
        listing = ", ".join(f"{n} {v:.4f}" for n, v in values.items())
        warnings.warn(
            f"{where}: the weights sum to {total:g}, not 1; kamlib divided each by {total:g} "
            f"and uses: {listing}. Make them sum to 1 to silence this warning.",
            WeightsNormalisedWarning,
            stacklevel=3,
        )
    return tuple(values.items())


def _weights(raw: Any, names: tuple[str, ...], where: str) -> WeightSpec:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: must be a mapping with 'method' ({', '.join(WEIGHT_METHODS)}) and, for "
            "manual and data, 'values'."
        )
    method = str(raw.get("method", "manual"))
    if method not in WEIGHT_METHODS:
        raise ConfigError(
            f"{where}: method is {method!r}; it must be one of {', '.join(WEIGHT_METHODS)}."
        )
    note = str(raw.get("note", ""))
    if method in ("manual", "data"):
        if "values" not in raw:
            extra = (
                " (for 'data', the weights recorded from kamlib.scoring.data_weights(...))"
                if method == "data"
                else ""
            )
            raise ConfigError(f"{where}: method '{method}' needs 'values'{extra}.")
        values = _check_weight_values(raw["values"], names, where=f"{where}.values")
        return WeightSpec(method=method, values=values, note=note)
    if "values" in raw:
        raise ConfigError(
            f"{where}: method '{method}' computes the weights; remove 'values' (or use method "
            "manual)."
        )
    if method == "entropy":
        return WeightSpec(method=method, note=note)
    return _ahp_spec(raw.get("ahp"), names, note, f"{where}.ahp")


def _ahp_spec(raw: Any, names: tuple[str, ...], note: str, where: str) -> WeightSpec:
    if not isinstance(raw, dict) or "criteria" not in raw or "matrix" not in raw:
        raise ConfigError(
            f"{where}: method 'ahp' needs 'ahp: {{criteria: [...], matrix: [[...], ...]}}' — "
            "the indicators in row order and the pairwise-comparison matrix."
        )
    criteria = [str(c) for c in raw["criteria"]]
    for c in criteria:
        if c not in names:
            raise ConfigError(f"{where}.criteria: " + _unknown("indicator", c, names))
    if sorted(criteria) != sorted(names):
        absent = [n for n in names if n not in criteria] or sorted(
            {c for c in criteria if criteria.count(c) > 1}
        )
        raise ConfigError(
            f"{where}.criteria: must list every indicator exactly once; check {', '.join(absent)}."
        )
    matrix_raw = raw["matrix"]
    if not isinstance(matrix_raw, list) or not all(isinstance(r, list) for r in matrix_raw):
        raise ConfigError(f"{where}.matrix: must be a list of rows (lists of numbers).")
    matrix = [
        [_number(v, f"{where}.matrix[{i}][{j}]") for j, v in enumerate(row)]
        for i, row in enumerate(matrix_raw)
    ]
    allow = bool(raw.get("allow_inconsistent", False))
    ri = raw.get("random_index")
    ri = None if ri is None else _number(ri, f"{where}.random_index")
    try:
        result = ahp_weights(matrix, labels=criteria, allow_inconsistent=allow, random_index=ri)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    judgements = AhpJudgements(
        criteria=tuple(criteria),
        matrix=tuple(tuple(row) for row in matrix),
        allow_inconsistent=allow,
        random_index=ri,
        lambda_max=result.lambda_max,
        consistency_index=result.consistency_index,
        consistency_ratio=result.consistency_ratio,
    )
    values = tuple((n, float(result.weights[n])) for n in names)
    return WeightSpec(method="ahp", values=values, ahp=judgements, note=note)


def feature_kinds(scoring: ScoringModel | None) -> dict[str, tuple[str, str]]:
    """Feature name → (static/dynamic, number/text/any): the known features and the
    scoring section's ``extra_features``."""
    extra = scoring.extra_features if scoring is not None else ()
    return {**KNOWN_FEATURES, **{name: (kind, "any") for name, kind in extra}}
