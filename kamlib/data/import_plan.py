"""Planning an import: which file holds which table (file names, a mapping file or a
preset), the preset a set of unplaced files looks like, and each table's fingerprint.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kamlib.data import readers
from kamlib.data.mapping import (
    FileMapping,
    Mapping,
    load_preset,
    table_for_file,
)
from kamlib.data.schemas import LOAD_ORDER
from kamlib.errors import (
    DataValidationError,
)


# -- planning: which file is which table -------------------------------------------------------
@dataclass
class PlannedTable:
    table: str
    files: list[Path]
    rule: FileMapping


def expand_paths(paths: Sequence[str | Path]) -> tuple[list[Path], list[Path]]:
    """Named files and the files of named folders (those may contain unrelated files)."""
    named, in_folders = [], []
    for p in map(Path, paths):
        if p.is_dir():
            in_folders.extend(
                sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith("."))
            )
        else:
            named.append(p)
    return named, in_folders


def plan_files(
    paths: Sequence[str | Path], mapping: Mapping | None
) -> tuple[list[PlannedTable], list[tuple[Path, str]]]:
    named, in_folders = expand_paths(paths)
    ignored: list[tuple[Path, str]] = []
    planned: dict[int, PlannedTable] = {}
    missing = [p for p in named if not p.exists()]
    if missing:
        raise DataValidationError(
            f"{missing[0]}: file not found. Check the path (it is read relative to {Path.cwd()})."
        )
    candidates = named + in_folders
    for path in candidates:
        if mapping is not None:
            hits = [
                i for i, fm in enumerate(mapping.files)
                if fm.pattern and fnmatch.fnmatch(path.name, fm.pattern)
            ]  # fmt: skip
            if not hits:
                _unplaced(
                    path, path in named, ignored, f"no entry of mapping '{mapping.name}' matches it"
                )
                continue
            for i in hits:
                planned.setdefault(i, PlannedTable(mapping.files[i].table, [], mapping.files[i]))
                planned[i].files.append(path)
        else:
            table = table_for_file(path)
            if table is None:
                _unplaced(
                    path,
                    path in named,
                    ignored,
                    "its name is not a canonical table (accounts.csv, orders.xlsx, …)",
                )
                continue
            key = LOAD_ORDER.index(table)
            planned.setdefault(key, PlannedTable(table, [], FileMapping(table, None, None)))
            planned[key].files.append(path)
    return [planned[k] for k in sorted(planned)], ignored


def _unplaced(path: Path, named: bool, ignored: list[tuple[Path, str]], why: str) -> None:
    if named and readers.file_kind(path):
        raise DataValidationError(
            f"{path}: kamlib cannot tell which table this file holds ({why}). Rename it after "
            "its table (e.g. orders.csv) or import it with --mapping FILE / --preset NAME."
        )
    ignored.append((path, why))


def preset_hint(paths: Sequence[str | Path]) -> str | None:
    """Name the presets whose file patterns match the files being imported."""
    from kamlib.data.mapping import preset_names

    named, in_folders = expand_paths(paths)
    names = [p.name for p in named + in_folders]
    hits = []
    for name in preset_names():
        entries = [
            fm for fm in load_preset(name).files
            if fm.pattern and any(fnmatch.fnmatch(n, fm.pattern) for n in names)
        ]  # fmt: skip
        if len(entries) >= 2 or any(table_for_file(Path(e.pattern)) is None for e in entries):
            hits.append(name)
    if not hits:
        return None
    return (
        "These files look like a known export: try "
        + " or ".join(f"--preset {h}" for h in hits)
        + "."
    )


def table_fingerprint(
    planned: PlannedTable, files: list[readers.SourceFile] | None, extra: str
) -> str:
    digest = hashlib.sha256(extra.encode())
    digest.update(repr(planned.rule).encode())
    for f in files or []:
        digest.update(f"{f.path.name}:{f.fingerprint};".encode())
    return digest.hexdigest()[:32]
