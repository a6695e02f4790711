"""The methodology file as one object: :class:`Methodology` and its stages; load, parse, resolve.

The file is YAML, validated on load into frozen objects.  ``load_methodology()`` with no
argument returns the documented default shipped with kamlib; :func:`resolve_methodology` is
the one way a public function takes its ``methodology`` argument.  A file may build on the
default or on another file with ``extends:``.  Each section is parsed by its own module
(:mod:`~kamlib.methodology.scoring`, :mod:`~kamlib.methodology.segmentation`,
:mod:`~kamlib.methodology.research`, :mod:`~kamlib.methodology.forecast`,
:mod:`~kamlib.methodology.playbooks`) after
:func:`~kamlib.methodology.schema.check_methodology_keys` has refused unknown keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from kamlib.errors import ConfigError
from kamlib.methodology.files import load_yaml_text, read_yaml_file
from kamlib.methodology.forecast import ForecastSettings, parse_forecast
from kamlib.methodology.parsing import (
    _labels,
    _number,
    normalise_label,
)
from kamlib.methodology.playbooks import Playbooks, parse_playbooks
from kamlib.methodology.research import ResearchSettings, parse_research
from kamlib.methodology.schema import check_methodology_keys
from kamlib.methodology.scoring import (
    ScoringModel,
    parse_scoring,
)
from kamlib.methodology.segmentation import Segmentation, TagRule, parse_segments, parse_tags
from kamlib.paths import project_path

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
    playbooks: Playbooks | None = None

    @property
    def research_settings(self) -> ResearchSettings:
        """The ``research`` section, or its documented defaults when the file has none."""
        return self.research if self.research is not None else ResearchSettings()

    def require_scoring(self) -> ScoringModel:
        """The scoring model; ``ConfigError`` when the file has no ``scoring`` section."""
        if self.scoring is None:
            raise ConfigError(
                f"{self.source}: the methodology file has no 'scoring' section, so it cannot "
                "score accounts. Copy the 'scoring' section of kamlib's default methodology "
                "file (kamlib/resources/methodology.yml) into it and adapt it."
            )
        return self.scoring

    def require_playbooks(self) -> Playbooks:
        """The sales-process playbooks; ``ConfigError`` when the file has no ``playbooks``."""
        if self.playbooks is None:
            raise ConfigError(
                f"{self.source}: the methodology file has no 'playbooks' section, so it names "
                "no sales process, stage task or bid checklist. Copy the 'playbooks' section of "
                "kamlib's default methodology file (kamlib/resources/methodology.yml) into it "
                "and adapt it (or start the file with 'extends: default')."
            )
        return self.playbooks

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
        playbooks=parse_playbooks(
            raw.get("playbooks"),
            open_stages=tuple(s.key for s in stages if s.status == "open"),
            source=source,
        ),
    )


def load_methodology(path: str | Path | None = None) -> Methodology:
    """Load and validate a methodology file (the shipped default when ``path`` is None); a
    relative path is read from the working folder or the nearest folder above it that has
    it (:mod:`kamlib.paths`)."""
    if path is None:
        return _default_methodology()
    found = project_path(path)  # read from the project root when the kernel starts below it
    path = found if found.exists() else path
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
        base_raw = load_yaml_text(base_text, f"kamlib:{DEFAULT_METHODOLOGY}", shipped=True)
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
    if "playbooks" not in raw and not _playbooks_fit_stages(merged):
        # the base's playbooks name stages this file replaced: they do not apply to it
        merged.pop("playbooks", None)
    return merged, base_text + "\n---\n" + text


def _playbooks_fit_stages(raw: dict[str, Any]) -> bool:
    """Whether every stage the (inherited) ``playbooks`` name is an open stage of ``stages``.

    A file that extends another and gives its own ``stages`` (e.g. a CRM's Prospecting /
    Engaging) but no ``playbooks`` would otherwise inherit playbooks written for stages it
    does not have, and could not be loaded at all; it gets no playbooks instead (and
    :meth:`Methodology.require_playbooks` says how to add them).
    """
    playbooks, stages = raw.get("playbooks"), raw.get("stages")
    if not isinstance(playbooks, dict) or not isinstance(stages, dict):
        return True
    opened = stages.get("open")
    keys = {s.get("key") for s in opened if isinstance(s, dict)} if isinstance(opened, list) else set()
    named = set()
    for process in (playbooks.get("processes") or {}).values():
        if isinstance(process, dict) and isinstance(process.get("stages"), dict):
            named |= set(process["stages"])
    bid = playbooks.get("bid_readiness")
    if isinstance(bid, dict) and "stage" in bid:
        named.add(bid["stage"])
    return named <= keys


@cache
def _default_methodology() -> Methodology:
    text = resources.files("kamlib.resources").joinpath(DEFAULT_METHODOLOGY).read_text("utf-8")
    return parse_methodology(
        load_yaml_text(text, f"kamlib:{DEFAULT_METHODOLOGY}", shipped=True),
        source=f"kamlib:{DEFAULT_METHODOLOGY}",
        text=text,
    )
