"""The ``playbooks`` section of the methodology file: the sales process per customer
purchasing process (招投标 tender, 框架协议 framework agreement, 直接采购 direct purchase …).

For each sales process and open stage it says which tasks are **required** (the stage's exit
criteria, 每个阶段的任务目标), which tasks and resources are **recommended** (pre-sales
engineer, trial / sample, executive visit, reference visit …) and how many days a deal is
expected to stay in the stage.  A catalogue of task codes (``tasks:``) gives each code its kind
(``task`` or ``resource``), optional labels and the spellings a CRM export may use; the
import quarantines a task whose code it does not know.  ``bid_readiness`` scores the deals
at the bid stage with a weighted checklist (qualification answered, technical and
commercial bid done, references, economic buyer supportive, technical buyer not opposed).

Labels: a code's ``label: {en, zh}`` in the file wins; without one, the label comes from
kamlib's vocabulary (``labels.yml``), which names every code of the shipped default;
without that, the code reads as text (``site_survey`` → "Site survey").

Every error is one :class:`~kamlib.errors.ConfigError` line naming the file, the key path and
the fix.  :func:`parse_playbooks` is called by
:func:`~kamlib.methodology.methodology.parse_methodology` after the unknown-key check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kamlib.errors import ConfigError
from kamlib.methodology.parsing import (
    _check_name,
    _labels,
    _number,
    _unknown,
    normalised_weights,
    spelling_table,
)
from kamlib.methodology.vocabulary import vocabulary

#: Kinds of a playbook code: a task the team does, or a resource it brings in.
TASK_KINDS: tuple[str, ...] = ("task", "resource")
#: Conditions a bid-readiness item may read instead of a task (from contacts and
#: opportunity_contacts: the deal's economic / technical buyer and their support).
CHECKLIST_CONDITIONS: tuple[str, ...] = (
    "economic_buyer_supportive",
    "technical_buyer_not_opposed",
)
#: Most days a deal may be expected to stay in one stage.
MAX_EXPECTED_DAYS = 3650.0


@dataclass(frozen=True)
class PlaybookTask:
    """One code of the catalogue: a task or a resource."""

    code: str
    kind: str  # task / resource
    label_en: str
    label_zh: str
    aliases: tuple[str, ...] = ()

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class PlaybookStage:
    """What one stage of one sales process asks for."""

    stage: str
    expected_days: float  # NaN when the file does not say
    required: tuple[str, ...] = ()
    recommended: tuple[str, ...] = ()


@dataclass(frozen=True)
class SalesProcess:
    """One sales process (tender, framework agreement, direct purchase …) and its stages."""

    key: str
    label_en: str
    label_zh: str
    aliases: tuple[str, ...]
    stages: tuple[PlaybookStage, ...]

    def label(self, lang: str = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the bid-readiness checklist; ``weight`` is normalised (the items sum to 1)."""

    item: str
    weight: float
    task: str | None  # the code whose done task proves the item
    condition: str | None  # or one of CHECKLIST_CONDITIONS
    label_en: str
    label_zh: str


@dataclass(frozen=True)
class Playbooks:
    """The validated ``playbooks`` section.

    ``processes`` are the sales-process keys in file order; ``sales_processes`` their
    details; ``tasks`` the code catalogue; ``bid_stage`` the stage whose deals get a
    bid-readiness score, ``bid_processes`` the processes it applies to (all when the file
    does not restrict it) and ``checklist`` its weighted items.
    """

    processes: tuple[str, ...]
    sales_processes: tuple[SalesProcess, ...]
    tasks: tuple[PlaybookTask, ...]
    bid_stage: str
    bid_processes: tuple[str, ...]
    checklist: tuple[ChecklistItem, ...]
    source: str = "<memory>"

    @property
    def task_codes(self) -> frozenset[str]:
        """Every task and resource code of the catalogue (the import refuses any other)."""
        return frozenset(t.code for t in self.tasks)

    def task(self, code: str) -> PlaybookTask:
        """The catalogue entry of ``code``; ``ConfigError`` listing the codes when unknown."""
        for entry in self.tasks:
            if entry.code == code:
                return entry
        raise ConfigError(f"{self.source} playbooks: " + _unknown("task code", code, self._codes()))

    def process(self, key: str) -> SalesProcess:
        """The sales process ``key``; ``ConfigError`` listing the processes when unknown."""
        for entry in self.sales_processes:
            if entry.key == key:
                return entry
        raise ConfigError(
            f"{self.source} playbooks: " + _unknown("sales process", key, self.processes)
        )

    def task_lookup(self) -> dict[str, str]:
        """Every spelling of a code (the code, its labels, its aliases; normalised like stage
        aliases: case, spaces and underscores ignored) → the code."""
        return spelling_table(
            ((t.code, _spellings(t)) for t in self.tasks), what="task code", where="playbooks"
        )

    def process_lookup(self) -> dict[str, str]:
        """Every spelling of a sales process (key, labels, aliases; normalised) → its key."""
        return spelling_table(
            ((s.key, _spellings(s)) for s in self.sales_processes),
            what="sales process",
            where="playbooks",
        )

    def tasks_frame(self) -> pd.DataFrame:
        """One row per (sales process, stage, code) the playbooks list.

        Columns: ``sales_process``, ``stage``, ``task`` (the code), ``kind`` (task /
        resource), ``required`` (bool: an exit criterion of the stage), ``expected_days``
        (float, the stage's expected days, repeated per row; NaN when not given),
        ``label_en``, ``label_zh``.  Rows follow the file's process order and, within a
        process, the stage order of the file's stages, required codes first.
        """
        kinds = {t.code: t for t in self.tasks}
        rows = [
            {
                "sales_process": process.key,
                "stage": stage.stage,
                "task": code,
                "kind": kinds[code].kind,
                "required": required,
                "expected_days": stage.expected_days,
                "label_en": kinds[code].label_en,
                "label_zh": kinds[code].label_zh,
            }
            for process in self.sales_processes
            for stage in process.stages
            for required, codes in ((True, stage.required), (False, stage.recommended))
            for code in codes
        ]
        columns = ["sales_process", "stage", "task", "kind", "required", "expected_days",
                   "label_en", "label_zh"]  # fmt: skip
        out = pd.DataFrame(rows, columns=columns)
        return out.astype(
            {"required": "bool", "expected_days": "float64"}
            | {c: "str" for c in columns if c not in ("required", "expected_days")}
        )

    def stages_frame(self) -> pd.DataFrame:
        """One row per (sales process, stage) the playbooks list: ``sales_process``,
        ``stage``, ``expected_days``, ``required_tasks`` and ``recommended`` (counts)."""
        rows = [
            {
                "sales_process": p.key,
                "stage": s.stage,
                "expected_days": s.expected_days,
                "required_tasks": len(s.required),
                "recommended": len(s.recommended),
            }
            for p in self.sales_processes
            for s in p.stages
        ]
        out = pd.DataFrame(
            rows,
            columns=["sales_process", "stage", "expected_days", "required_tasks", "recommended"],
        )
        return out.astype(
            {"sales_process": "str", "stage": "str", "expected_days": "float64",
             "required_tasks": "int64", "recommended": "int64"}
        )  # fmt: skip

    def checklist_frame(self) -> pd.DataFrame:
        """The bid-readiness checklist: ``item``, ``weight`` (float, the items sum to 1),
        ``task`` (the code proving the item when done, or NA), ``condition`` (NA or one of
        :data:`CHECKLIST_CONDITIONS`), ``label_en``, ``label_zh``."""
        out = pd.DataFrame(
            {
                "item": [c.item for c in self.checklist],
                "weight": [c.weight for c in self.checklist],
                "task": [c.task for c in self.checklist],
                "condition": [c.condition for c in self.checklist],
                "label_en": [c.label_en for c in self.checklist],
                "label_zh": [c.label_zh for c in self.checklist],
            }
        )
        return out.astype({"item": "str", "weight": "float64", "task": "str",
                           "condition": "str", "label_en": "str", "label_zh": "str"})  # fmt: skip

    def _codes(self) -> list[str]:
        return [t.code for t in self.tasks]


# --- parsing ---------------------------------------------------------------------------------
def parse_playbooks(
    raw: Any, *, open_stages: tuple[str, ...], source: str = "<memory>"
) -> Playbooks | None:
    """Validate the ``playbooks`` section (``None`` when the file has none).

    ``open_stages`` are the methodology's open stage keys in funnel order: a playbook stage
    must be one of them.
    """
    if raw is None:
        return None
    where = f"{source} playbooks"
    _mapping(raw, where, "a mapping with 'tasks', 'processes' and 'bid_readiness'")
    for key in ("tasks", "processes", "bid_readiness"):
        if raw.get(key) is None:
            raise ConfigError(
                f"{where}: '{key}' is missing. Copy the playbooks section of kamlib's default "
                "methodology file (kamlib/resources/methodology.yml) and adapt it."
            )
    tasks = _catalogue(raw["tasks"], f"{where}.tasks")
    codes = [t.code for t in tasks]
    processes = _processes(raw["processes"], codes, open_stages, f"{where}.processes")
    keys = tuple(p.key for p in processes)
    bid = raw["bid_readiness"]
    _mapping(bid, f"{where}.bid_readiness", "a mapping with 'stage' and 'checklist'")
    stage = bid.get("stage")
    if stage not in open_stages:
        raise ConfigError(
            f"{where}.bid_readiness.stage: "
            + _unknown("stage", stage, open_stages).replace("Valid:", "Valid open stages:")
        )
    bid_processes = _names_list(bid.get("processes"), f"{where}.bid_readiness.processes")
    for key in bid_processes:
        if key not in keys:
            raise ConfigError(
                f"{where}.bid_readiness.processes: " + _unknown("sales process", key, keys)
            )
    checklist = _checklist(bid.get("checklist"), codes, f"{where}.bid_readiness.checklist")
    return Playbooks(
        processes=keys,
        sales_processes=processes,
        tasks=tasks,
        bid_stage=str(stage),
        bid_processes=bid_processes or keys,
        checklist=checklist,
        source=source,
    )


def _mapping(raw: Any, where: str, what: str) -> None:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{where}: must be {what}. Got {raw!r} instead.")


def _names_list(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise ConfigError(f"{where}: must be a list of names, e.g. [a, b]. Got {raw!r} instead.")
    if len(set(raw)) != len(raw):
        twice = sorted({x for x in raw if raw.count(x) > 1})
        raise ConfigError(f"{where}: '{twice[0]}' is listed twice; list each once.")
    return tuple(raw)


def _resolved_labels(raw: Any, code: str, where: str) -> tuple[str, str]:
    """The file's label, else kamlib's vocabulary, else the code as text."""
    if raw is not None:
        return _labels(raw, code, where)
    known = vocabulary().labels.get(code)
    if known is not None:
        return known
    text = code.replace("_", " ").strip().capitalize()
    return text, text


def _aliases(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(a, str | int | float) for a in raw):
        raise ConfigError(
            f"{where}: must be a list of the spellings an export may use, e.g. "
            f"[site visit, 现场勘察]. Got {raw!r} instead."
        )
    return tuple(str(a) for a in raw)


def _spellings(entry: PlaybookTask | SalesProcess) -> tuple[str, ...]:
    """The labels and aliases an export may write for a task code or a sales process."""
    return (entry.label_en, entry.label_zh, *entry.aliases)


def _catalogue(raw: Any, where: str) -> tuple[PlaybookTask, ...]:
    _mapping(raw, where, "a mapping of task code → {kind, label, aliases}")
    out = []
    for code, entry in raw.items():
        code = str(code)
        here = f"{where}.{code}"
        _check_name(code, here, "a task code's")
        entry = {} if entry is None else entry
        if not isinstance(entry, dict):
            raise ConfigError(
                f"{here}: must be a mapping such as {{kind: task, aliases: [...]}}. "
                f"Got {entry!r} instead."
            )
        kind = entry.get("kind", "task")
        if kind not in TASK_KINDS:
            raise ConfigError(f"{here}.kind: " + _unknown("kind", kind, TASK_KINDS))
        en, zh = _resolved_labels(entry.get("label"), code, f"{here}.label")
        task = PlaybookTask(
            code, str(kind), en, zh, _aliases(entry.get("aliases"), f"{here}.aliases")
        )
        out.append(task)
    spelling_table(((t.code, _spellings(t)) for t in out), what="task code", where=where)
    return tuple(out)


def _codes_list(raw: Any, codes: list[str], where: str) -> tuple[str, ...]:
    names = _names_list(raw, where)
    for code in names:
        if code not in codes:
            raise ConfigError(
                f"{where}: "
                + _unknown("task code", code, codes)
                + " Add it to playbooks.tasks, or fix the spelling."
            )
    return names


def _processes(
    raw: Any, codes: list[str], open_stages: tuple[str, ...], where: str
) -> tuple[SalesProcess, ...]:
    _mapping(raw, where, "a mapping of sales process → {label, aliases, stages}")
    out = []
    for key, entry in raw.items():
        key = str(key)
        here = f"{where}.{key}"
        _check_name(key, here, "a sales process")
        if not isinstance(entry, dict) or not isinstance(entry.get("stages"), dict):
            raise ConfigError(
                f"{here}: needs 'stages', a mapping of stage → {{expected_days, required, "
                f"recommended}}. Got {entry!r} instead."
            )
        en, zh = _resolved_labels(entry.get("label"), key, f"{here}.label")
        aliases = _aliases(entry.get("aliases"), f"{here}.aliases")
        stages = []
        seen: dict[str, str] = {}
        for stage, spec in entry["stages"].items():
            at = f"{here}.stages.{stage}"
            if stage not in open_stages:
                raise ConfigError(
                    f"{at}: "
                    + _unknown("stage", stage, open_stages).replace("Valid:", "Valid open stages:")
                    + " A playbook stage is an open stage key of the methodology file."
                )
            spec = {} if spec is None else spec
            if not isinstance(spec, dict):
                raise ConfigError(
                    f"{at}: must be a mapping such as {{expected_days: 20, required: [...]}}. "
                    f"Got {spec!r} instead."
                )
            days = spec.get("expected_days")
            if days is None:
                expected = math.nan
            else:
                expected = _number(days, f"{at}.expected_days")
                if not 0 < expected <= MAX_EXPECTED_DAYS:
                    raise ConfigError(
                        f"{at}.expected_days: must be a number of days above 0 and at most "
                        f"{MAX_EXPECTED_DAYS:g}. Got {days!r} instead."
                    )
            required = _codes_list(spec.get("required"), codes, f"{at}.required")
            recommended = _codes_list(spec.get("recommended"), codes, f"{at}.recommended")
            for code in (*required, *recommended):
                if code in seen:
                    raise ConfigError(
                        f"{at}: '{code}' is already listed at {seen[code]}. A code appears once "
                        "per sales process (required or recommended, at one stage)."
                    )
                seen[code] = f"{here}.stages.{stage}"
            stages.append(PlaybookStage(str(stage), expected, required, recommended))
        order = {s: i for i, s in enumerate(open_stages)}
        stages.sort(key=lambda s: order[s.stage])
        out.append(SalesProcess(key, en, zh, aliases, tuple(stages)))
    spelling_table(
        ((s.key, _spellings(s)) for s in out),
        what="sales process",
        where=where,
        article="the sales process ",
    )
    return tuple(out)


def _checklist(raw: Any, codes: list[str], where: str) -> tuple[ChecklistItem, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"{where}: must be a list of items such as {{item: technical_bid_done, weight: 0.2, "
            f"task: bid_technical}}. Got {raw!r} instead."
        )
    parsed = []
    names: set[str] = set()
    for i, entry in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(entry, dict) or "item" not in entry:
            raise ConfigError(
                f"{here}: each item needs 'item', 'weight' and a 'task' or a 'condition'."
            )
        item = str(entry["item"])
        _check_name(item, f"{here}.item", "a checklist item's")
        if item in names:
            raise ConfigError(f"{here}.item: '{item}' is listed twice; list each item once.")
        names.add(item)
        weight = _number(entry.get("weight"), f"{here}.weight")
        if not (math.isfinite(weight) and weight > 0):
            raise ConfigError(
                f"{here}.weight: must be a positive number (weights are relative and divided "
                f"by their sum). Got {entry.get('weight')!r} instead."
            )
        task, condition = entry.get("task"), entry.get("condition")
        if (task is None) == (condition is None):
            raise ConfigError(
                f"{here}: give exactly one of 'task' (a code of playbooks.tasks) or "
                f"'condition' ({', '.join(CHECKLIST_CONDITIONS)})."
            )
        if task is not None and task not in codes:
            raise ConfigError(f"{here}.task: " + _unknown("task code", task, codes))
        if condition is not None and condition not in CHECKLIST_CONDITIONS:
            raise ConfigError(
                f"{here}.condition: " + _unknown("condition", condition, CHECKLIST_CONDITIONS)
            )
        en, zh = _resolved_labels(entry.get("label"), item, f"{here}.label")
        parsed.append((item, weight, task, condition, en, zh))
    shares = normalised_weights([p[1] for p in parsed])
    return tuple(
        ChecklistItem(item, share, task, condition, en, zh)
        for (item, _, task, condition, en, zh), share in zip(parsed, shares, strict=True)
    )
