"""The methodology file: stages, currency, fiscal calendar (and, later, scoring rules).

The file is YAML, validated on load into frozen objects.  ``load_methodology()`` with no
argument returns the documented default shipped with kamlib.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kamlib.errors import ConfigError

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
    label = raw.get("label") or {}
    if isinstance(label, str):
        label = {"en": label, "zh": label}
    probability = raw.get("probability")
    if probability is not None and not (0 <= float(probability) <= 1):
        raise ConfigError(
            f"{where}: stage '{raw['key']}' has probability {probability!r}; "
            "it must lie between 0 and 1."
        )
    return Stage(
        key=str(raw["key"]),
        label_en=str(label.get("en", raw["key"])),
        label_zh=str(label.get("zh", label.get("en", raw["key"]))),
        status=status,
        order=order,
        probability=None if probability is None else float(probability),
        aliases=tuple(str(a) for a in raw.get("aliases", ())),
    )


def parse_methodology(raw: Any, *, source: str = "<memory>", text: str = "") -> Methodology:
    """Validate a parsed methodology mapping."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the methodology file must be a YAML mapping.")
    stages_raw = raw.get("stages")
    if not isinstance(stages_raw, dict) or not stages_raw.get("open"):
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
    fy = int(raw.get("fiscal_year_start_month", 1))
    if not 1 <= fy <= 12:
        raise ConfigError(f"{source}: fiscal_year_start_month is {fy}; it must be 1–12.")
    return Methodology(
        currency=str(raw.get("currency", "CNY")),
        fiscal_year_start_month=fy,
        stages=tuple(stages),
        source=source,
        fingerprint=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
    )


def load_methodology(path: str | Path | None = None) -> Methodology:
    """Load and validate a methodology file (the shipped default when ``path`` is None)."""
    if path is None:
        return _default_methodology()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read methodology file {p}: {exc.strerror}.") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"Methodology file {p} is not valid YAML: {exc}") from exc
    return parse_methodology(raw, source=str(p), text=text)


@cache
def _default_methodology() -> Methodology:
    text = resources.files("kamlib.resources").joinpath(DEFAULT_METHODOLOGY).read_text("utf-8")
    return parse_methodology(yaml.safe_load(text), source=f"kamlib:{DEFAULT_METHODOLOGY}", text=text)
