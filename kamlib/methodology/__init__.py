"""The methodology file: stages, currency, fiscal calendar and the scoring model.

The file is YAML, validated on load into frozen objects.  ``load_methodology()`` with no
argument returns the documented default shipped with kamlib.

The ``scoring`` section (optional: a file without it still loads, but cannot be used to
score) becomes a :class:`ScoringModel`: indicators with their band tables and missing-value
rule, the weights and how they were obtained, the tiers and the Pareto rules.  The shipped
``kamlib/resources/methodology.yml`` documents every key.  Validation on load refuses, with
a :class:`~kamlib.errors.ConfigError` naming the file and the place:

- an indicator whose feature is not a column of ``kamlib.features.account_features``
  (declare extra columns under ``scoring.extra_features``);
- numeric bands that overlap or leave a gap, points outside 0–100, a text feature scored
  with numeric bands;
- a missing-value rule that is absent (there is no silent default of zero);
- weights for unknown indicators, indicators without a weight, negative weights; an AHP
  matrix that is not square, positive and reciprocal, or whose consistency ratio is 0.1 or
  more (unless ``allow_inconsistent: true``);
- tiers whose ``min_score`` is not strictly decreasing from the first to the last, or whose
  last tier does not start at 0; a Pareto rule naming an unknown tier or feature.

Before any section is parsed, :func:`check_methodology_keys` refuses a key the file does
not know at any nesting level (``scorin:``, a band's ``pts:``), naming the file, the key's path
and the closest valid key — a typo is never ignored in favour of the default.  Reading the
file (:func:`read_yaml_file`) refuses, each with one line: a file over
:data:`MAX_YAML_BYTES`, one that is not UTF-8 text, YAML nested too deeply to parse, and
anchors / aliases that expand beyond :data:`MAX_YAML_NODES` nodes (an alias bomb).

**Weights that do not sum to 1 are normalised, not refused**: each is divided by their sum
and a :class:`WeightsNormalisedWarning` lists the weights as used.  (A sum of 0 is refused,
and so is a sum above :data:`MAX_WEIGHT_SUM`; the sum is computed without overflow.)

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

import difflib
import hashlib
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kamlib.errors import ConfigError, KamlibWarning

DEFAULT_METHODOLOGY = "methodology.yml"


@dataclass(frozen=True)
class Stage:
    """One opportunity stage."""

    key: str
    label_en: str
    label_zh: str
    status: str  # open / won / lost
    order: int  # funnel position; won and lost come after every open stage
    probability: float | None
    aliases: tuple[str, ...]

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class Methodology:
    """A validated methodology file."""

    currency: str
    fiscal_year_start_month: int
    stages: tuple[Stage, ...]
    source: str
    fingerprint: str
    scoring: ScoringModel | None = None
    tags: tuple[TagRule, ...] = ()
    segmentation: Segmentation | None = None
    research: ResearchSettings | None = None
    forecast: ForecastSettings | None = None

    def require_scoring(self) -> ScoringModel:
        """The scoring model; ``ConfigError`` when the file has no ``scoring`` section."""
        if self.scoring is None:
            raise ConfigError(
                f"{self.source}: the methodology file has no 'scoring' section, so it cannot "
                "score accounts. Copy the 'scoring' section of kamlib's default methodology "
                "file (kamlib/resources/methodology.yml) into it and adapt it."
            )
        return self.scoring

    @property
    def open_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.status == "open")

    def stage_lookup(self) -> dict[str, Stage]:
        """Map every alias (lower-cased, stripped) and key to its stage."""
        table: dict[str, Stage] = {}
        for stage in self.stages:
            for name in (stage.key, stage.label_en, stage.label_zh, *stage.aliases):
                table[normalise_label(name)] = stage
        return table

    def resolve_stage(self, value: str) -> Stage | None:
        """Return the stage a source label means, or ``None`` when it is unknown."""
        return self.stage_lookup().get(normalise_label(value))


def normalise_label(value: str) -> str:
    return " ".join(str(value).strip().lower().replace("_", " ").split())


def _stage(raw: Any, status: str, order: int, where: str) -> Stage:
    if not isinstance(raw, dict) or "key" not in raw:
        raise ConfigError(f"{where}: each stage needs at least a 'key'. Got {raw!r} instead.")
    en, zh = _labels(raw.get("label") or None, str(raw["key"]), f"{where}.label")
    probability = raw.get("probability")
    if probability is not None and not (0 <= _number(probability, f"{where}.probability") <= 1):
        raise ConfigError(
            f"{where}: stage '{raw['key']}' has probability {probability!r}; "
            "it must lie between 0 and 1."
        )
    aliases = raw.get("aliases")
    aliases = [] if aliases is None else aliases
    if not isinstance(aliases, list):
        raise ConfigError(
            f"{where}.aliases: must be a list of the stage's spellings, e.g. [quote, 报价]. "
            f"Got {aliases!r} instead."
        )
    return Stage(
        key=str(raw["key"]),
        label_en=en,
        label_zh=zh,
        status=status,
        order=order,
        probability=None if probability is None else _number(probability, where),
        aliases=tuple(str(a) for a in aliases),
    )


def parse_methodology(raw: Any, *, source: str = "<memory>", text: str = "") -> Methodology:
    """Validate a parsed methodology mapping."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the methodology file must be a YAML mapping.")
    check_methodology_keys(raw, source=source)
    stages_raw = raw.get("stages")
    if (
        not isinstance(stages_raw, dict)
        or not stages_raw.get("open")
        or not isinstance(stages_raw["open"], list)
    ):
        raise ConfigError(
            f"{source}: 'stages' must have an 'open' list and 'won' and 'lost' entries."
        )
    stages: list[Stage] = []
    for i, s in enumerate(stages_raw["open"]):
        stages.append(_stage(s, "open", i, f"{source} stages.open[{i}]"))
    n = len(stages)
    for j, status in enumerate(("won", "lost")):
        if status not in stages_raw:
            raise ConfigError(f"{source}: 'stages' has no '{status}' entry.")
        stages.append(_stage(stages_raw[status], status, n + j, f"{source} stages.{status}"))
    seen: dict[str, str] = {}
    for stage in stages:
        for name in (stage.key, *stage.aliases):
            norm = normalise_label(name)
            if norm in seen and seen[norm] != stage.key:
                raise ConfigError(
                    f"{source}: stage alias '{name}' is given for both '{seen[norm]}' and "
                    f"'{stage.key}'. Each alias must name one stage."
                )
            seen[norm] = stage.key
    fy = raw.get("fiscal_year_start_month", 1)
    if isinstance(fy, float) and fy.is_integer():
        fy = int(fy)
    if isinstance(fy, bool) or not isinstance(fy, int) or not 1 <= fy <= 12:
        raise ConfigError(
            f"{source}: fiscal_year_start_month is {fy!r}; it must be 1–12 (a whole number)."
        )
    scoring = None
    if raw.get("scoring") is not None:
        scoring = parse_scoring(raw["scoring"], source=source)
    tags = parse_tags(raw.get("tags"), scoring=scoring, source=source)
    segmentation = parse_segments(raw.get("segments"), scoring=scoring, tags=tags, source=source)
    return Methodology(
        currency=str(raw.get("currency", "CNY")),
        fiscal_year_start_month=fy,
        stages=tuple(stages),
        source=source,
        fingerprint=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        scoring=scoring,
        tags=tags,
        segmentation=segmentation,
        research=parse_research(raw.get("research"), source=source),
        forecast=parse_forecast(raw.get("forecast"), source=source),
    )


# --- the keys a methodology file may use ------------------------------------------------------
class _Items:
    """Schema of a list whose items (mappings) follow ``schema``; a lone mapping is checked as
    one item (``pareto`` may be a rule or a list of rules)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema


class _Each:
    """Schema of a mapping with free keys (names the user chooses) whose values, when they
    are mappings, follow ``schema``."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema


_FREE = None  # any value: the section's own parser checks it
_LABEL = _FREE  # checked by _labels (en, zh), whose message explains quoting
_STAGE = {"key": _FREE, "label": _LABEL, "probability": _FREE, "aliases": _FREE}


def _methodology_schema() -> dict[str, Any]:
    """Every key a methodology file may use, at every nesting level (the shipped
    ``kamlib/resources/methodology.yml`` documents them)."""
    return {
        "version": _FREE,
        "extends": _FREE,
        "currency": _FREE,
        "fiscal_year_start_month": _FREE,
        "stages": {"open": _Items(_STAGE), "won": _STAGE, "lost": _STAGE},
        "scoring": {
            "missing": {"points": _FREE},
            "extra_features": _FREE,
            "indicators": _Items({
                "name": _FREE, "feature": _FREE, "kind": _FREE, "label": _LABEL,
                "description": _FREE, "missing": {"points": _FREE},
                "bands": _Items({"min": _FREE, "max": _FREE, "points": _FREE, "label": _FREE}),
                "categories": _FREE, "other": _FREE,
            }),
            "weights": {
                "method": _FREE, "values": _FREE, "note": _FREE,
                "ahp": {"criteria": _FREE, "matrix": _FREE, "allow_inconsistent": _FREE,
                        "random_index": _FREE},
            },
            "tiers": _Items({"key": _FREE, "label": _LABEL, "min_score": _FREE}),
            "pareto": _Items({"feature": _FREE, "share": _FREE, "min_tier": _FREE}),
        },
        "tags": _Each({"rule": _FREE, "label": _LABEL, "description": _FREE}),
        "segments": {
            "groups": _Each({"rule": _FREE, "tiers": _FREE, "builtin": _FREE, "label": _LABEL,
                             "description": _FREE}),
            "abc": {"feature": _FREE, "a": _FREE, "b": _FREE},
            "rfm": {
                "recency": _FREE, "frequency": _FREE, "monetary": _FREE, "quantiles": _FREE,
                "cut_points": {"recency": _FREE, "frequency": _FREE, "monetary": _FREE},
                "segments": _FREE,  # a list of {key, rule, label} or key: rule (checked there)
                "other": {"key": _FREE, "label": _LABEL},
            },
            "portfolio": {
                "attractiveness": _FREE, "position": _FREE,
                "thresholds": {"attractiveness": _FREE, "position": _FREE},
                "quadrants": _Each({"label": _LABEL, "strategy": _LABEL}),
            },
        },
        "research": dict.fromkeys(ResearchSettings.__dataclass_fields__),
        "forecast": dict.fromkeys(ForecastSettings.__dataclass_fields__),
    }  # fmt: skip


def check_methodology_keys(raw: Any, *, source: str = "<memory>") -> None:
    """Refuse a key the methodology file does not know, at any nesting level: a typo such
    as ``scorin:`` would otherwise be ignored and the default used silently.

    The message names the file, the key's path and the closest valid key.
    """
    stack: list[tuple[Any, Any, str]] = [(raw, _methodology_schema(), "")]
    while stack:
        value, schema, path = stack.pop()
        if schema is None:
            continue
        if isinstance(schema, _Items):
            if isinstance(value, dict):
                stack.append((value, schema.schema, path))
            elif isinstance(value, list):
                stack.extend((item, schema.schema, f"{path}[{i}]") for i, item in enumerate(value))
            continue
        if isinstance(schema, _Each):
            if isinstance(value, dict):
                stack.extend((v, schema.schema, f"{path}.{k}") for k, v in value.items())
            continue
        if not isinstance(value, dict):
            continue
        for key, item in value.items():
            if key not in schema:
                hint = difflib.get_close_matches(str(key), list(schema), n=1, cutoff=0.6)
                did = f" Did you mean '{hint[0]}'?" if hint else ""
                place = f"at {path.lstrip('.')}.{key}" if path else "at the top level"
                raise ConfigError(
                    f"{source}: unknown key '{key}' {place}.{did} Valid keys there: "
                    f"{', '.join(schema)}."
                )
            stack.append((item, schema[key], f"{path}.{key}"))


def load_methodology(path: str | Path | None = None) -> Methodology:
    """Load and validate a methodology file (the shipped default when ``path`` is None)."""
    if path is None:
        return _default_methodology()
    raw, text = read_yaml_file(path, "methodology file")
    raw, text = _extended(raw, text, Path(path), seen=())
    return parse_methodology(raw, source=str(path), text=text)


def resolve_methodology(
    methodology: Methodology | str | Path | None,
    *,
    owner: str = "this function",
    paths: bool = True,
) -> Methodology:
    """The one way a public function takes its ``methodology`` argument.

    ``None`` (or ``""``) is kamlib's documented default; a :class:`Methodology` is used as it is;
    the path of a methodology file is loaded and validated — where ``paths`` is true: the
    views, reports and commands take paths, and resolve them once; the analysis functions
    below them (``paths=False``) take only a loaded methodology, so one report does not read
    the file many times.  Anything else is a ``ConfigError`` naming ``owner``.
    """
    if methodology is None or (isinstance(methodology, str) and not methodology.strip()):
        return load_methodology()
    if isinstance(methodology, Methodology):
        return methodology
    if paths and isinstance(methodology, str | Path):
        return load_methodology(methodology)
    accepted = "a Methodology, the path of a methodology file, or empty" if paths else (
        "a kamlib.methodology.Methodology (load a file with "
        "kamlib.methodology.load_methodology(path)) or None"
    )
    raise ConfigError(
        f"The 'methodology' parameter of {owner} must be {accepted} for kamlib's default. "
        f"Got {type(methodology).__name__} instead."
    )


def _extended(raw: Any, text: str, path: Path, *, seen: tuple[Path, ...]) -> tuple[Any, str]:
    """Resolve ``extends:``: a methodology file may build on kamlib's default (``extends:
    default``) or on another file (a path relative to it).  Each top-level section it
    gives (``scoring``, ``tags``, ``currency`` …) replaces the base's section whole; the
    fingerprint covers the base's text too."""
    if not isinstance(raw, dict) or "extends" not in raw:
        return raw, text
    base_name = raw["extends"]
    if not isinstance(base_name, str) or not base_name.strip():
        raise ConfigError(
            f"{path}: 'extends' must be 'default' or the path of another methodology file; "
            f"got {base_name!r}."
        )
    if base_name.strip() == "default":
        base_text = (
            resources.files("kamlib.resources").joinpath(DEFAULT_METHODOLOGY).read_text("utf-8")
        )
        base_raw = load_yaml_text(base_text, f"kamlib:{DEFAULT_METHODOLOGY}")
    else:
        base_path = (path.parent / base_name).resolve()
        if base_path in seen or base_path == path.resolve():
            chain = " → ".join(str(p) for p in (*seen, path.resolve(), base_path))
            raise ConfigError(f"{path}: 'extends' forms a cycle: {chain}.")
        try:
            base_raw, base_text = read_yaml_file(base_path, "methodology file")
        except ConfigError as exc:
            raise ConfigError(f"{path}: 'extends: {base_name}': {exc}") from exc
        base_raw, base_text = _extended(
            base_raw, base_text, base_path, seen=(*seen, path.resolve())
        )
    if not isinstance(base_raw, dict):
        raise ConfigError(f"{path}: the file it extends ({base_name}) is not a YAML mapping.")
    base_source = "kamlib:" + DEFAULT_METHODOLOGY if base_name.strip() == "default" else base_path
    check_methodology_keys(base_raw, source=str(base_source))
    merged = {**base_raw, **{k: v for k, v in raw.items() if k != "extends"}}
    return merged, base_text + "\n---\n" + text


#: Largest methodology / mapping / schedule file accepted (bytes); these files are a few KB.
MAX_YAML_BYTES = 1_000_000
#: Most YAML nodes a file may expand to once aliases are resolved (the shipped methodology
#: file has about 2,000): refuses "billion laughs" alias bombs before anything walks them.
MAX_YAML_NODES = 200_000


class _LimitedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a document whose aliases expand it beyond
    :data:`MAX_YAML_NODES` nodes, or an alias that refers to the node containing it."""

    def compose_document(self):  # type: ignore[no-untyped-def]
        node = super().compose_document()
        _check_expanded_size(node, self.name)
        return node


def _check_expanded_size(root: yaml.Node, name: str) -> None:
    """Count the nodes of ``root`` as if every alias were copied (memoised, so an alias bomb
    is measured in linear time, without expanding it)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            if total > MAX_YAML_NODES:
                raise ConfigError(
                    f"{name} expands to more than {MAX_YAML_NODES:,} YAML nodes (its anchors "
                    "and aliases (&name / *name) repeat a part over and over); write the values "
                    "out or use fewer aliases."
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ConfigError(
                f"{name}: an alias (*name) refers to the mapping or list that contains it; "
                "remove the alias."
            )
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml_text(text: str, name: str) -> Any:
    """Parse YAML text with kamlib's limits (safe types only, alias expansion and nesting
    bounded); ``yaml.YAMLError``, ``ConfigError`` or ``RecursionError`` reach the caller."""
    loader = _LimitedLoader(text)
    loader.name = name
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml_file(path: str | Path, what: str) -> tuple[Any, str]:
    """Parse a YAML file (methodology, mapping, schedule …); ``ConfigError`` naming the file.

    Refused with one line each: a file larger than :data:`MAX_YAML_BYTES`, a file that is not
    UTF-8 text (binary, another encoding), invalid YAML, nesting too deep to parse, and
    anchors/aliases expanding beyond :data:`MAX_YAML_NODES` nodes.
    """
    p = Path(path)
    What = f"{what[0].upper()}{what[1:]}"
    try:
        size = p.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(
                f"{What} {p} is {size:,} bytes; at most {MAX_YAML_BYTES:,} are accepted. "
                "Check that this is the right file."
            )
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read {what} {p}: {exc.strerror or exc}.") from exc
    try:
        # newlines as text mode reads them, so the fingerprint does not depend on CRLF / LF
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{What} {p} is not a text YAML file (byte {exc.start} is not UTF-8). Save it as "
            "UTF-8 text, or check that this is the right file."
        ) from exc
    if "\x00" in text:
        raise ConfigError(
            f"{What} {p} is not a text YAML file (it holds NUL bytes). Check that this is the "
            "right file."
        )
    try:
        return load_yaml_text(text, f"{What} {p}"), text
    except yaml.YAMLError as exc:
        raise ConfigError(f"{What} {p} is not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(
            f"{What} {p} is nested too deeply to read; a methodology file needs a few levels."
        ) from exc


@cache
def _default_methodology() -> Methodology:
    text = resources.files("kamlib.resources").joinpath(DEFAULT_METHODOLOGY).read_text("utf-8")
    return parse_methodology(
        load_yaml_text(text, f"kamlib:{DEFAULT_METHODOLOGY}"),
        source=f"kamlib:{DEFAULT_METHODOLOGY}",
        text=text,
    )


# --- the scoring model ----------------------------------------------------------------------

INDICATOR_KINDS: tuple[str, ...] = ("static", "dynamic")
WEIGHT_METHODS: tuple[str, ...] = ("manual", "ahp", "entropy", "data")
MAX_POINTS = 100.0
#: weights whose sum differs from 1 by more than this are normalised with a warning
WEIGHT_SUM_TOLERANCE = 1e-6
#: Saaty's acceptance limit for the consistency ratio of a pairwise-comparison matrix
AHP_MAX_CONSISTENCY_RATIO = 0.1

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

#: Column names of the score tables; an indicator may not take one of them.
RESERVED_NAMES = frozenset(
    {"account_id", "as_of", "score", "tier", "tier_label", "rank", "tier_by_score", "pareto",
     "coverage"}
)  # fmt: skip
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


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
    number, numerically.
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
    )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number. Got {value!r} instead.")
    try:
        out = float(Fraction(str(value).strip())) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise ConfigError(f"{where}: expected a number. Got {value!r} instead.") from exc
    if math.isnan(out):
        raise ConfigError(f"{where}: expected a number. Got {value!r} instead.")
    return out


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


def _unknown(what: str, name: Any, valid: Any) -> str:
    valid = list(valid)
    hint = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1)
    did = f" Did you mean '{hint[0]}'?" if hint else ""
    return f"Unknown {what} '{name}'.{did} Valid: {', '.join(map(str, valid))}."


#: Largest weight sum accepted: weights are shares (0.3) or points (30), never astronomical.
MAX_WEIGHT_SUM = 1e12


def _safe_sum(values: Any, where: str) -> float:
    """The sum of finite, non-negative weights; ``ConfigError`` when it exceeds
    :data:`MAX_WEIGHT_SUM` (1e308 + 1e308 would overflow)."""
    vals = list(values)
    top = max(vals, default=0.0)
    if top <= 0:
        return 0.0
    total = top * math.fsum(v / top for v in vals)  # scaled: no intermediate overflow
    if not total <= MAX_WEIGHT_SUM:
        raise ConfigError(
            f"{where}: the weights sum to "
            f"{f'{total:g}' if math.isfinite(total) else 'more than 1e308'}; weights are shares (e.g. 0.3) or points "
            f"(e.g. 30), at most {MAX_WEIGHT_SUM:g} in total. Give smaller weights."
        )
    return total


def normalised_weights(values: list[float]) -> list[float]:
    """Finite, non-negative weights (sum > 0) divided by their sum, computed without
    overflow or underflow (each is first divided by the largest)."""
    top = max(values)
    scaled = [v / top for v in values]
    total = math.fsum(scaled)
    return [v / total for v in scaled]


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
    from kamlib.scoring.weights import ahp_weights  # lazy: the AHP arithmetic lives in scoring

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


# --- tags and segments ----------------------------------------------------------------------

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


def feature_kinds(scoring: ScoringModel | None) -> dict[str, tuple[str, str]]:
    """Feature name → (static/dynamic, number/text/any): the known features and the
    scoring section's ``extra_features``."""
    extra = scoring.extra_features if scoring is not None else ()
    return {**KNOWN_FEATURES, **{name: (kind, "any") for name, kind in extra}}


def _labels(raw: Any, default: str, where: str = "label") -> tuple[str, str]:
    label = raw if raw is not None else {}
    if isinstance(label, str):
        return label, label
    if not isinstance(label, dict):
        raise ConfigError(f"{where}: a label must be text or {{en, zh}}. Got {raw!r} instead.")
    extra = set(label) - {"en", "zh"}
    if extra:
        raise ConfigError(
            f"{where}: the label has unknown key(s) {sorted(map(str, extra))}; use en and zh. "
            '(Text with a comma inside {...} must be quoted: {en: "Big, small"}.)'
        )
    en = str(label.get("en", default))
    return en, str(label.get("zh", en))


def _rule(text: Any, where: str, fields: Mapping[str, str]):
    from kamlib.methodology.rules import parse_rule  # lazy: the rule language lives there

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


def _check_name(name: str, where: str, what: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(
            f"{where}: {what} name {name!r} must be letters, digits and underscores, starting "
            "with a letter."
        )


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
    return tuple(zip((n for n, _w in items), normalised_weights([w for _n, w in items]), strict=True))


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


# --- account research -------------------------------------------------------------------------
@dataclass(frozen=True)
class ResearchSettings:
    """Thresholds of :mod:`kamlib.research` (the ``research`` section of the methodology file).

    Every rule a dossier applies reads its threshold here, so the report can print the rule
    with the number that produced a finding.  Defaults are the shipped file's values.
    """

    # power map
    high_influence: int = 4
    supporter_min_support: int = 1
    opponent_max_support: int = -1
    stale_contact_days: int = 90
    single_thread_share: float = 0.6
    single_thread_min_contacts: int = 2
    relationship_window_days: int = 365
    strength_support_weight: float = 0.5
    strength_recency_weight: float = 0.25
    strength_frequency_weight: float = 0.25
    strength_recency_scale_days: float = 90.0
    strength_full_frequency: float = 6.0
    # service
    service_recent_months: int = 6
    service_baseline_months: int = 18
    service_min_tickets: int = 3
    service_slowdown_ratio: float = 1.5
    service_min_evidence: float = 2.0
    service_breach_alert: float = 0.25
    service_stall_ratio: float = 1.3
    service_stall_min_tickets: int = 20
    backlog_alert_days: int = 14
    # revenue, whitespace, pipeline
    revenue_decline_alert: float = -0.15
    whitespace_peer_share: float = 0.4
    whitespace_min_peers: int = 5
    recent_deals_days: int = 180
    # OGSM
    on_track_ratio: float = 0.95
    at_risk_ratio: float = 0.8
    # findings
    top_findings: int = 5


_RESEARCH_INTS = {
    "high_influence": (1, 5), "supporter_min_support": (-2, 2), "opponent_max_support": (-2, 2),
    "stale_contact_days": (1, 3650), "single_thread_min_contacts": (1, 100),
    "relationship_window_days": (30, 3650), "service_recent_months": (1, 36),
    "service_baseline_months": (1, 60), "service_min_tickets": (1, 1000),
    "service_stall_min_tickets": (1, 100000), "backlog_alert_days": (1, 3650),
    "whitespace_min_peers": (1, 100000), "recent_deals_days": (1, 3650), "top_findings": (1, 50),
}  # fmt: skip
_RESEARCH_FLOATS = {
    "single_thread_share": (0.0, 1.0), "strength_support_weight": (0.0, 1.0),
    "strength_recency_weight": (0.0, 1.0), "strength_frequency_weight": (0.0, 1.0),
    "strength_recency_scale_days": (1.0, 3650.0), "strength_full_frequency": (0.1, 1000.0),
    "service_slowdown_ratio": (1.0, 100.0), "service_min_evidence": (0.0, 10.0),
    "service_breach_alert": (0.0, 1.0), "service_stall_ratio": (1.0, 100.0),
    "revenue_decline_alert": (-1.0, 0.0), "whitespace_peer_share": (0.0, 1.0),
    "on_track_ratio": (0.0, 2.0), "at_risk_ratio": (0.0, 2.0),
}  # fmt: skip


def parse_research(raw: Any, *, source: str = "<memory>") -> ResearchSettings:
    """Validate the ``research`` section (absent: the defaults of :class:`ResearchSettings`)."""
    if raw is None:
        return ResearchSettings()
    where = f"{source} research"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping of setting → value. Got {raw!r} instead.")
    valid = [*_RESEARCH_INTS, *_RESEARCH_FLOATS]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in valid:
            raise ConfigError(f"{where}: " + _unknown("setting", key, valid))
        lo, hi = _RESEARCH_INTS.get(key) or _RESEARCH_FLOATS[key]
        whole = key in _RESEARCH_INTS
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        if ok and whole and float(value) != int(value):
            ok = False
        if not ok or not lo <= float(value) <= hi:
            kind = "a whole number" if whole else "a number"
            raise ConfigError(
                f"{where}.{key}: must be {kind} between {lo} and {hi}. Got {value!r} instead."
            )
        values[key] = int(value) if whole else float(value)
    settings = ResearchSettings(**values)
    weights = (
        settings.strength_support_weight
        + settings.strength_recency_weight
        + settings.strength_frequency_weight
    )
    if abs(weights - 1.0) > 1e-9:
        raise ConfigError(
            f"{where}: strength_support_weight + strength_recency_weight + "
            f"strength_frequency_weight must add up to 1. Got {weights:g} instead."
        )
    if settings.at_risk_ratio > settings.on_track_ratio:
        raise ConfigError(
            f"{where}: at_risk_ratio ({settings.at_risk_ratio:g}) must not exceed "
            f"on_track_ratio ({settings.on_track_ratio:g})."
        )
    return settings


# --- forecasting --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ForecastSettings:
    """Settings of :mod:`kamlib.forecast` (the ``forecast`` section of the methodology file).

    ``commit`` and ``best_case`` are win-probability thresholds of the forecast categories
    (commit ≥ commit; best case ≥ best_case; the rest is pipeline).  ``min_closed_deals``
    and ``min_per_outcome`` say how much history the win-probability model needs; with less
    it falls back to empirical stage win rates.  ``timing_*`` and ``zombie_*`` set the
    close-timing model (:mod:`kamlib.forecast.close_timing`): age bucket length, events needed
    for the hazard GLM (else the life table), the median |slip| of a stage's won deals above
    which its deals are timed by the hazard model instead of expected close + slippage, and
    the zombie limits (age quantile of closed deals, P(ever closes)).
    """

    simulations: int = 10_000
    seed: int = 2026
    commit: float = 0.7
    best_case: float = 0.4
    min_closed_deals: int = 200
    min_per_outcome: int = 30
    owner_prior_deals: float = 20.0
    stage_prior_deals: float = 10.0
    snapshot_months: int = 36
    snapshot_step_months: int = 3
    holdout_months: int = 6
    new_deal_periods: int = 8
    run_rate_months: int = 36
    timing_bucket_days: int = 7
    timing_min_events: int = 30
    timing_max_slip_days: float = 90.0
    zombie_age_quantile: float = 0.99
    zombie_min_close_probability: float = 0.02


def parse_forecast(raw: Any, *, source: str = "<memory>") -> ForecastSettings:
    """Validate the ``forecast`` section (absent: the defaults of :class:`ForecastSettings`)."""
    where = f"{source} forecast"
    if raw is None:
        return ForecastSettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping of settings. Got {raw!r} instead.")
    defaults = ForecastSettings()
    known = set(defaults.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting {unknown[0]!r}. Valid settings: {', '.join(sorted(known))}."
        )
    limits = {
        "simulations": (100, 10_000_000, True),
        "seed": (0, 2**63 - 1, True),
        "commit": (0.0, 1.0, False),
        "best_case": (0.0, 1.0, False),
        "min_closed_deals": (1, 10**9, True),
        "min_per_outcome": (1, 10**9, True),
        "owner_prior_deals": (0.0, 1e6, False),
        "stage_prior_deals": (0.0, 1e6, False),
        "snapshot_months": (3, 240, True),
        "snapshot_step_months": (1, 12, True),
        "holdout_months": (1, 60, True),
        "new_deal_periods": (0, 40, True),
        "run_rate_months": (12, 240, True),
        "timing_bucket_days": (1, 366, True),
        "timing_min_events": (1, 10**9, True),
        "timing_max_slip_days": (0.0, 3660.0, False),
        "zombie_age_quantile": (0.5, 1.0, False),
        "zombie_min_close_probability": (0.0, 1.0, False),
    }
    values: dict[str, Any] = {}
    for key, value in raw.items():
        lo, hi, whole = limits[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = (
            ok and math.isfinite(value) and lo <= value <= hi and (not whole or value == int(value))
        )
        if not ok:
            kind = "a whole number" if whole else "a number"
            raise ConfigError(
                f"{where}.{key}: must be {kind} between {lo} and {hi}. Got {value!r} instead."
            )
        values[key] = int(value) if whole else float(value)
    settings = replace(defaults, **values)
    if settings.best_case > settings.commit:
        raise ConfigError(
            f"{where}: best_case ({settings.best_case:g}) must not exceed commit "
            f"({settings.commit:g}): a commit deal is also a best-case deal."
        )
    return settings
