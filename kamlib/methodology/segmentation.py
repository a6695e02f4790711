"""The ``tags`` and ``segments`` sections of the methodology file.

The ``tags`` section (optional) becomes ``Methodology.tags``: named rule expressions over the
feature columns (:class:`TagRule`), parsed with the safe rule language of
:mod:`kamlib.methodology.rules` — never ``eval`` — and checked on load: an unknown field, a
call, attribute access and the like are refused naming the tag.  The ``segments`` section
(optional) becomes ``Methodology.segmentation`` (:class:`Segmentation`): named target groups
(``segments.groups``), the ABC classes (``segments.abc``), the RFM cut points and segment
rule table (``segments.rfm``) and the portfolio matrix axes and thresholds
(``segments.portfolio``).  A file without the section gets no groups, the default ABC and
portfolio settings and no RFM rule table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from kamlib.errors import ConfigError
from kamlib.methodology.parsing import (
    _check_name,
    _labels,
    _number,
    _safe_sum,
    _unknown,
    normalised_weights,
)
from kamlib.methodology.rules import Rule, parse_rule
from kamlib.methodology.scoring import (
    ScoringModel,
    feature_kinds,
)

#: Fields a target-group rule may read besides the features and the tags, with their kind;
#: computed only when a rule names them (``kamlib.segmentation.resolve_target_group``).
GROUP_FIELDS: dict[str, str] = {
    "score": "number",  # composite score (kamlib.scoring)
    "rank": "number",  # 1 = best score
    "tier": "text",  # tier key, e.g. 'strategic'
    "abc_class": "text",  # 'A', 'B' or 'C' (segments.abc)
    "rfm_segment": "text",  # RFM segment key (segments.rfm)
    "quadrant": "text",  # portfolio quadrant key (segments.portfolio)
}
#: Fields of the RFM segment rules: the R, F and M scores.
RFM_FIELDS: dict[str, str] = {"R": "number", "F": "number", "M": "number"}
RFM_DIMENSIONS: tuple[str, ...] = ("recency", "frequency", "monetary")
#: Built-in target groups of :func:`kamlib.segmentation.target_group`; a named group may not
#: take one of these names.
BUILTIN_GROUP = re.compile(r"^(all|strategic|top\d+|ids:.*)$", re.IGNORECASE | re.DOTALL)
GROUP_KINDS: tuple[str, ...] = ("builtin", "rule", "tiers")


@dataclass(frozen=True)
class TagRule:
    """A named tag: accounts for which ``rule`` is true carry it.

    ``kind`` is ``static`` when every field the rule reads is a static feature (or a static
    tag), else ``dynamic``; ``fields`` lists the fields it reads.
    """

    name: str
    rule: str
    kind: str
    fields: tuple[str, ...]
    label_en: str
    label_zh: str
    description: str = ""

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class GroupDefinition:
    """A named target group: a built-in (``top20``), a rule or a list of tiers.

    ``definition`` is the text that defines it (the built-in name, the rule, or the tier
    keys joined by ``", "``); :attr:`rule` is the rule a ``tiers`` group stands for.
    """

    name: str
    kind: str  # builtin / rule / tiers
    definition: str
    tiers: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    label_en: str = ""
    label_zh: str = ""
    description: str = ""

    @property
    def rule(self) -> str:
        """The rule that selects the members (empty for a built-in)."""
        if self.kind == "tiers":
            return "tier in [" + ", ".join(repr(t) for t in self.tiers) + "]"
        return self.definition if self.kind == "rule" else ""

    def label(self, lang: str = "en") -> str:
        text = self.label_zh if lang == "zh" else self.label_en
        return text or self.name


@dataclass(frozen=True)
class SegmentRule:
    """One row of a segment rule table (RFM): accounts matching ``rule`` are ``key``."""

    key: str
    rule: str
    label_en: str
    label_zh: str

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class AbcSettings:
    """ABC classes: by ``feature``, class A up to share ``a`` of the total, B up to ``b``."""

    feature: str = "revenue_12m"
    a: float = 0.8
    b: float = 0.95


@dataclass(frozen=True)
class RfmSettings:
    """RFM scores: the three feature columns, the scale, optional cut points, the rules.

    ``cut_points`` maps a dimension (recency / frequency / monetary) to ascending cut points
    (a value equal to a cut point falls into the band above it, as in the scoring bands);
    dimensions without cut points are scored by quantiles.  Every dimension has ``levels``
    scores, 1 (worst) to ``levels`` (best); for recency fewer days is better.
    ``segments`` is the rule table over ``R``, ``F``, ``M`` (first match wins); accounts
    matching no rule (or without scores) get ``other``.
    """

    recency: str = "recency_days"
    frequency: str = "orders_12m"
    monetary: str = "revenue_12m"
    quantiles: int = 5
    cut_points: tuple[tuple[str, tuple[float, ...]], ...] = ()
    segments: tuple[SegmentRule, ...] = ()
    other: SegmentRule = SegmentRule("other", "", "Other", "其他")

    @property
    def levels(self) -> int:
        return self.quantiles

    def columns(self) -> dict[str, str]:
        return {"recency": self.recency, "frequency": self.frequency, "monetary": self.monetary}


@dataclass(frozen=True)
class Quadrant:
    """A quadrant of the key-account portfolio matrix."""

    key: str
    high_attractiveness: bool
    high_position: bool
    label_en: str
    label_zh: str
    strategy_en: str
    strategy_zh: str

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def strategy(self, lang: str = "en") -> str:
        return self.strategy_zh if lang == "zh" else self.strategy_en


#: The four quadrants of the key-account selection matrix (a directional policy matrix;
#: Millman & Wilson 1995, McDonald & Woodburn): account attractiveness × our position.
QUADRANTS: tuple[Quadrant, ...] = (
    Quadrant("invest", True, True, "Invest for growth", "重点投入",
             "attractive account where we are strong: invest in the partnership",
             "客户吸引力高、我方地位强：加大投入，深化合作"),
    Quadrant("develop", True, False, "Invest selectively", "选择性投入",
             "attractive account where we are weak: build our share where it can be won",
             "客户吸引力高、我方份额低：有选择地投入，提升份额"),
    Quadrant("maintain", False, True, "Maintain", "维持",
             "less attractive account where we are strong: keep it efficiently",
             "客户吸引力一般、我方地位强：高效维护"),
    Quadrant("manage_for_cash", False, False, "Manage for cash", "精简服务",
             "less attractive account where we are weak: serve at low cost",
             "客户吸引力一般、我方份额低：低成本服务"),
)  # fmt: skip


@dataclass(frozen=True)
class PortfolioSettings:
    """Axes and thresholds of the portfolio matrix.

    Each axis is one feature column (used as it is) or weighted feature columns (an index:
    the weighted mean of their percentile ranks, 0–1).  A threshold ``None`` is the median
    of the axis over the accounts plotted.
    """

    attractiveness: tuple[tuple[str, float], ...] | str = (
        ("category_spend", 0.5), ("growth_12m", 0.25), ("strategic_fit", 0.25),
    )  # fmt: skip
    position: tuple[tuple[str, float], ...] | str = "share_of_wallet"
    attractiveness_threshold: float | None = None
    position_threshold: float | None = None
    quadrants: tuple[Quadrant, ...] = QUADRANTS

    def quadrant(self, key: str) -> Quadrant:
        for q in self.quadrants:
            if q.key == key:
                return q
        raise ConfigError(_unknown("quadrant", key, [q.key for q in self.quadrants]))


@dataclass(frozen=True)
class Segmentation:
    """The validated ``segments`` section (defaults where the file says nothing)."""

    groups: tuple[GroupDefinition, ...] = ()
    abc: AbcSettings = AbcSettings()
    rfm: RfmSettings | None = None
    portfolio: PortfolioSettings = PortfolioSettings()
    source: str = "<memory>"

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.groups)

    def group(self, name: str) -> GroupDefinition:
        for g in self.groups:
            if g.name == name:
                return g
        raise ConfigError(_unknown("target group", name, self.group_names))

    def require_rfm(self) -> RfmSettings:
        if self.rfm is None:
            raise ConfigError(
                f"{self.source}: the methodology file has no 'segments.rfm' section (the RFM "
                "segment rule table). Copy it from kamlib's default methodology file "
                "(kamlib/resources/methodology.yml) or pass segments=... ."
            )
        return self.rfm


def _rule(text: Any, where: str, fields: Mapping[str, str]) -> Rule:
    rule = parse_rule(text, where=where, fields=list(fields))
    rule.check_kinds(fields)
    return rule


def parse_tags(
    raw: Any, *, scoring: ScoringModel | None = None, source: str = "<memory>"
) -> tuple[TagRule, ...]:
    """Validate the ``tags`` section: ``name: rule`` or ``name: {rule, label, description}``.

    A rule may read the feature columns and the tags listed before it.
    """
    if raw is None:
        return ()
    where = f"{source} tags"
    if not isinstance(raw, dict):
        raise ConfigError(
            f'{where}: must map each tag name to its rule, e.g. growing: "growth_12m > 0.2". '
            f"Got {raw!r} instead."
        )
    known = feature_kinds(scoring)
    kinds = {name: value_type for name, (_k, value_type) in known.items()}
    static = {name for name, (kind, _t) in known.items() if kind == "static"}
    tags: list[TagRule] = []
    for name, item in raw.items():
        name = str(name)
        w = f"{where}.{name}"
        _check_name(name, w, "tag")
        if name in known or name in GROUP_FIELDS:
            raise ConfigError(
                f"{w}: '{name}' is a feature or score column; name the tag otherwise."
            )
        spec = {"rule": item} if isinstance(item, str) else item
        if not isinstance(spec, dict) or "rule" not in spec:
            raise ConfigError(f"{w}: give the rule as text or as {{rule, label, description}}.")
        extra = set(spec) - {"rule", "label", "description"}
        if extra:
            raise ConfigError(f"{w}: unknown key(s) {sorted(extra)}; use rule, label, description.")
        rule = _rule(spec["rule"], f"Tag rule '{name}' ({w})", kinds)
        kind = "static" if all(f in static for f in rule.fields) else "dynamic"
        en, zh = _labels(spec.get("label"), name.replace("_", " "), f"{w}.label")
        tags.append(
            TagRule(name, rule.text, kind, rule.fields, en, zh, str(spec.get("description", "")))
        )
        kinds[name] = "bool"
        if kind == "static":
            static.add(name)
    return tuple(tags)


def group_fields(scoring: ScoringModel | None, tags: tuple[TagRule, ...]) -> dict[str, str]:
    """Field name → kind for target-group rules: features, tags, :data:`GROUP_FIELDS`."""
    fields = {name: value_type for name, (_k, value_type) in feature_kinds(scoring).items()}
    fields.update({t.name: "bool" for t in tags})
    fields.update(GROUP_FIELDS)
    return fields


def group_definition(
    name: Any,
    raw: Any,
    *,
    scoring: ScoringModel | None,
    tags: tuple[TagRule, ...] = (),
    where: str = "target group",
) -> GroupDefinition:
    """Validate one target-group definition.

    ``raw`` is a rule (text), a list of tier keys, or a mapping with exactly one of
    ``rule``, ``tiers``, ``builtin`` (``all``, ``top<N>``, ``strategic``, ``ids:A,B``) and
    optionally ``label`` ({en, zh}) and ``description``.
    """
    name = str(name).strip()
    w = f"{where} '{name}'"
    _check_name(name, w, "group")
    if BUILTIN_GROUP.match(name):
        raise ConfigError(
            f"{w}: '{name}' is the name of a built-in group (all, top<N>, strategic, ids:...); "
            "choose another name."
        )
    if isinstance(raw, str):
        spec: dict[str, Any] = {"rule": raw}
    elif isinstance(raw, (list, tuple)):
        spec = {"tiers": list(raw)}
    elif isinstance(raw, dict):
        spec = dict(raw)
    else:
        raise ConfigError(
            f"{w}: a definition is a rule (text), a list of tiers, or {{rule | tiers | builtin, "
            f"label, description}}. Got {raw!r} instead."
        )
    extra = set(spec) - {"rule", "tiers", "builtin", "label", "description"}
    if extra:
        raise ConfigError(
            f"{w}: unknown key(s) {sorted(extra)}; use rule, tiers or builtin, and label, "
            "description."
        )
    given = [k for k in ("rule", "tiers", "builtin") if k in spec]
    if len(given) != 1:
        raise ConfigError(f"{w}: give exactly one of rule, tiers, builtin. Got {given or 'none'}.")
    kind = {"rule": "rule", "tiers": "tiers", "builtin": "builtin"}[given[0]]
    en, zh = _labels(spec.get("label"), name.replace("_", " "), f"{w}.label")
    description = str(spec.get("description", ""))
    tier_keys = scoring.tier_keys if scoring is not None else ()
    if kind == "builtin":
        text = str(spec["builtin"]).strip()
        top = re.match(r"^top(\d+)$", text, re.IGNORECASE)
        if not BUILTIN_GROUP.match(text) or (top and int(top.group(1)) == 0):
            raise ConfigError(
                f"{w}: builtin {text!r} is not a built-in group; use all, top<N> (N ≥ 1), "
                "strategic or ids:A,B."
            )
        if text.lower().startswith("ids:") and not any(p.strip() for p in text[4:].split(",")):
            raise ConfigError(f"{w}: 'ids:' names no accounts; write them after it: ids:A001,A002.")
        return GroupDefinition(name, kind, text, label_en=en, label_zh=zh, description=description)
    if kind == "tiers":
        tiers = spec["tiers"]
        tiers = [tiers] if isinstance(tiers, str) else tiers
        if not isinstance(tiers, list) or not tiers:
            raise ConfigError(
                f"{w}: tiers must be a non-empty list of tier keys, e.g. [strategic, key]."
            )
        keys = [str(t) for t in tiers]
        for key in keys:
            # without a scoring section the group loads but cannot be formed (tiers unknown)
            if scoring is not None and key not in tier_keys:
                raise ConfigError(f"{w}: " + _unknown("tier", key, tier_keys))
        keys = list(dict.fromkeys(keys))
        return GroupDefinition(
            name, kind, ", ".join(keys), tiers=tuple(keys), fields=("tier",),
            label_en=en, label_zh=zh, description=description,
        )  # fmt: skip
    rule = _rule(spec["rule"], f"Target group '{name}' ({w})", group_fields(scoring, tags))
    return GroupDefinition(
        name, kind, rule.text, fields=rule.fields, label_en=en, label_zh=zh, description=description
    )


def parse_segments(
    raw: Any,
    *,
    scoring: ScoringModel | None = None,
    tags: tuple[TagRule, ...] = (),
    source: str = "<memory>",
) -> Segmentation:
    """Validate the ``segments`` section (see the shipped methodology file for every key)."""
    if raw is None:
        return Segmentation(source=source)
    where = f"{source} segments"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping with groups, abc, rfm, portfolio.")
    extra = set(raw) - {"groups", "abc", "rfm", "portfolio"}
    if extra:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(map(str, extra))}; use groups, abc, rfm, portfolio."
        )
    groups_raw = raw.get("groups") or {}
    if not isinstance(groups_raw, dict):
        raise ConfigError(f"{where}.groups: must map each group name to its definition.")
    groups = tuple(
        group_definition(name, item, scoring=scoring, tags=tags, where=f"{where}.groups")
        for name, item in groups_raw.items()
    )
    known = feature_kinds(scoring)
    return Segmentation(
        groups=groups,
        abc=_abc(raw.get("abc"), known, f"{where}.abc"),
        rfm=None if raw.get("rfm") is None else parse_rfm(raw["rfm"], known, f"{where}.rfm"),
        portfolio=_portfolio(raw.get("portfolio"), known, f"{where}.portfolio"),
        source=source,
    )


def _numeric_feature(name: Any, known: Mapping[str, tuple[str, str]], where: str) -> str:
    name = str(name)
    if name not in known:
        raise ConfigError(f"{where}: " + _unknown("feature", name, known))
    if known[name][1] == "text":
        raise ConfigError(f"{where}: '{name}' is a text feature; a numeric feature is needed.")
    return name


def check_abc_limits(a: Any, b: Any, where: str) -> tuple[float, float]:
    """``0 < a < b <= 1`` as floats, or ``ConfigError``."""
    a_, b_ = _number(a, f"{where}.a"), _number(b, f"{where}.b")
    if not 0 < a_ < b_ <= 1:
        raise ConfigError(
            f"{where}: the class limits must satisfy 0 < a < b <= 1 (shares of the total, e.g. "
            f"a=0.8, b=0.95). Got a={a!r}, b={b!r} instead."
        )
    return a_, b_


def _abc(raw: Any, known: Mapping[str, tuple[str, str]], where: str) -> AbcSettings:
    if raw is None:
        return AbcSettings()
    if not isinstance(raw, dict) or set(raw) - {"feature", "a", "b"}:
        raise ConfigError(
            f"{where}: must be {{feature, a, b}}, e.g. {{feature: revenue_12m, a: 0.8, b: 0.95}}."
        )
    default = AbcSettings()
    feature = _numeric_feature(raw.get("feature", default.feature), known, f"{where}.feature")
    a, b = check_abc_limits(raw.get("a", default.a), raw.get("b", default.b), where)
    return AbcSettings(feature, a, b)


def check_cut_points(
    raw: Any, quantiles: int, where: str
) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """Validate RFM cut points: dimension → strictly increasing finite numbers; every
    dimension must end up with ``quantiles`` levels (``quantiles - 1`` cut points)."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{where}: must map recency / frequency / monetary to ascending cut points, e.g. "
            f"{{recency: [30, 90, 180, 365]}}. Got {raw!r} instead."
        )
    out = []
    for dim, cuts in raw.items():
        if dim not in RFM_DIMENSIONS:
            raise ConfigError(f"{where}: " + _unknown("RFM dimension", dim, RFM_DIMENSIONS))
        if not isinstance(cuts, (list, tuple)) or not cuts:
            raise ConfigError(f"{where}.{dim}: must be a non-empty list of ascending numbers.")
        values = [_number(c, f"{where}.{dim}") for c in cuts]
        if any(math.isinf(v) for v in values) or any(
            b <= a for a, b in zip(values, values[1:], strict=False)
        ):
            raise ConfigError(
                f"{where}.{dim}: cut points must be finite and strictly increasing. Got {list(cuts)!r}."
            )
        if len(values) + 1 != quantiles:
            raise ConfigError(
                f"{where}.{dim}: {len(values)} cut points give {len(values) + 1} scores, but the "
                f"scale has {quantiles} (quantiles: {quantiles}); give {quantiles - 1} cut points "
                "so that R, F and M share one scale."
            )
        out.append((str(dim), tuple(values)))
    return tuple(out)


def check_quantiles(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 10:
        raise ConfigError(
            f"{where}: quantiles must be a whole number from 2 to 10. Got {value!r} instead."
        )
    return value


def segment_rules(raw: Any, where: str) -> tuple[SegmentRule, ...]:
    """Validate an RFM rule table: a list of {key, rule, label} (or a mapping key: rule)."""
    if isinstance(raw, dict):
        raw = [{"key": k, **(v if isinstance(v, dict) else {"rule": v})} for k, v in raw.items()]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"{where}: must be a non-empty list of {{key, rule, label}} (first match wins)."
        )
    rules: list[SegmentRule] = []
    for i, item in enumerate(raw):
        w = f"{where}[{i}]"
        if not isinstance(item, dict) or not {"key", "rule"} <= set(item):
            raise ConfigError(f"{w}: each segment needs key and rule. Got {item!r} instead.")
        extra = set(item) - {"key", "rule", "label"}
        if extra:
            raise ConfigError(f"{w}: unknown key(s) {sorted(extra)}; use key, rule, label.")
        key = str(item["key"])
        _check_name(key, w, "segment")
        if key in [r.key for r in rules]:
            raise ConfigError(f"{w}: segment '{key}' is listed twice.")
        rule = _rule(item["rule"], f"RFM segment '{key}' ({w})", RFM_FIELDS)
        en, zh = _labels(item.get("label"), key.replace("_", " "), f"{w}.label")
        rules.append(SegmentRule(key, rule.text, en, zh))
    return tuple(rules)


def parse_rfm(raw: Any, known: Mapping[str, tuple[str, str]], where: str) -> RfmSettings:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: must be a mapping with segments (and optionally columns, cut points)."
        )
    extra = set(raw) - {*RFM_DIMENSIONS, "quantiles", "cut_points", "segments", "other"}
    if extra:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(map(str, extra))}; use recency, frequency, monetary, "
            "quantiles, cut_points, segments, other."
        )
    default = RfmSettings()
    columns = {
        dim: _numeric_feature(raw.get(dim, getattr(default, dim)), known, f"{where}.{dim}")
        for dim in RFM_DIMENSIONS
    }
    quantiles = check_quantiles(raw.get("quantiles", default.quantiles), f"{where}.quantiles")
    cuts = check_cut_points(raw.get("cut_points"), quantiles, f"{where}.cut_points")
    if "segments" not in raw:
        raise ConfigError(f"{where}: needs 'segments', the rule table over R, F and M.")
    rules = segment_rules(raw["segments"], f"{where}.segments")
    other = default.other
    if raw.get("other") is not None:
        item = raw["other"]
        item = {"key": item} if isinstance(item, str) else item
        if not isinstance(item, dict) or "key" not in item:
            raise ConfigError(f"{where}.other: must be {{key, label}}. Got {item!r} instead.")
        _check_name(str(item["key"]), f"{where}.other", "segment")
        en, zh = _labels(item.get("label"), str(item["key"]), f"{where}.other.label")
        other = SegmentRule(str(item["key"]), "", en, zh)
    if other.key in [r.key for r in rules]:
        raise ConfigError(f"{where}.other: '{other.key}' is also a segment of the table.")
    return RfmSettings(
        recency=columns["recency"], frequency=columns["frequency"], monetary=columns["monetary"],
        quantiles=quantiles, cut_points=cuts, segments=rules, other=other,
    )  # fmt: skip


def portfolio_axis(
    raw: Any, known: Mapping[str, tuple[str, str]] | None, where: str
) -> tuple[tuple[str, float], ...] | str:
    """An axis of the portfolio matrix: a feature name, or feature → weight (normalised to
    sum 1).  ``known`` None skips the feature-name check (columns are checked on use)."""
    if isinstance(raw, str):
        return raw if known is None else _numeric_feature(raw, known, where)
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(
            f"{where}: must be a feature name or a mapping feature: weight, e.g. "
            f"{{category_spend: 0.5, growth_12m: 0.5}}. Got {raw!r} instead."
        )
    items = []
    for name, weight in raw.items():
        feature = str(name) if known is None else _numeric_feature(name, known, where)
        w = _number(weight, f"{where}.{name}")
        if w < 0 or math.isinf(w):
            raise ConfigError(
                f"{where}.{name}: weights must be finite and at least 0. Got {weight!r}."
            )
        items.append((feature, w))
    total = _safe_sum((w for _n, w in items), where)
    if total <= 0:
        raise ConfigError(f"{where}: the weights sum to 0; give at least one feature a weight.")
    return tuple(
        zip((n for n, _w in items), normalised_weights([w for _n, w in items]), strict=True)
    )


def portfolio_threshold(raw: Any, where: str) -> float | None:
    if raw is None or (isinstance(raw, str) and raw.strip().lower() == "median"):
        return None
    return _number(raw, where)


def _portfolio(raw: Any, known: Mapping[str, tuple[str, str]], where: str) -> PortfolioSettings:
    default = PortfolioSettings()
    if raw is None:
        return default
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: must be a mapping with attractiveness, position, thresholds, quadrants."
        )
    extra = set(raw) - {"attractiveness", "position", "thresholds", "quadrants"}
    if extra:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(map(str, extra))}; use attractiveness, position, "
            "thresholds, quadrants."
        )
    thresholds = raw.get("thresholds") or {}
    if not isinstance(thresholds, dict) or set(thresholds) - {"attractiveness", "position"}:
        raise ConfigError(
            f"{where}.thresholds: must be {{attractiveness, position}}, each a number or median."
        )
    quadrants = list(default.quadrants)
    labels = raw.get("quadrants") or {}
    if not isinstance(labels, dict):
        raise ConfigError(f"{where}.quadrants: must map quadrant keys to {{label, strategy}}.")
    keys = [q.key for q in quadrants]
    for key, item in labels.items():
        if key not in keys:
            raise ConfigError(f"{where}.quadrants: " + _unknown("quadrant", key, keys))
        item = item if isinstance(item, dict) else {"label": item}
        i = keys.index(key)
        q = quadrants[i]
        w = f"{where}.quadrants.{key}"
        en, zh = (
            _labels(item.get("label"), q.label_en, f"{w}.label")
            if "label" in item
            else (q.label_en, q.label_zh)
        )
        s_en, s_zh = (
            _labels(item.get("strategy"), q.strategy_en, f"{w}.strategy")
            if "strategy" in item
            else (q.strategy_en, q.strategy_zh)
        )
        quadrants[i] = replace(q, label_en=en, label_zh=zh, strategy_en=s_en, strategy_zh=s_zh)
    return PortfolioSettings(
        attractiveness=portfolio_axis(
            raw.get("attractiveness", dict(default.attractiveness)),
            known,
            f"{where}.attractiveness",
        ),
        position=portfolio_axis(raw.get("position", default.position), known, f"{where}.position"),
        attractiveness_threshold=portfolio_threshold(
            thresholds.get("attractiveness"), f"{where}.thresholds.attractiveness"
        ),
        position_threshold=portfolio_threshold(
            thresholds.get("position"), f"{where}.thresholds.position"
        ),
        quadrants=tuple(quadrants),
    )
