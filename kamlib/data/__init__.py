"""Reading, mapping, validating and storing the canonical tables.

Public API
----------
- :func:`import_files` — CSV / Excel / Parquet exports → validated import batch in the store.
- :func:`import_frames` — in-memory canonical frames (e.g. the demo company) → same path.
- :func:`load` — the store → :class:`KamData`, optionally at a past snapshot (batch).
- :func:`load_files` — exports straight from files (an in-memory store) → :class:`KamData`.
- :func:`snapshot_info` — which data a store holds and its tables (cheap).
- :mod:`kamlib.data.purchases` — the one rule for revenue without order lines: won deals
  stand in for purchases (``KamData.revenue_source`` says which), and report needs.
- :func:`save_target_group` / :func:`saved_target_group` / :func:`saved_target_groups`,
  :func:`save_score_history` / :func:`saved_score_history` — analysis results kept in the
  store with the data snapshot and methodology they came from (``kamlib.data.results``).
- :class:`ReadLimits` — bounds on what a spreadsheet may expand to (``import_files(limits=…)``).
- :class:`KamData` — immutable container of the tables with an ``as_of(date)`` view.

Only this package (and ``kamlib.reports``) touches the file system.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from kamlib.data.import_report import ImportReport, TableCounts
from kamlib.data.importer import import_files, import_frames
from kamlib.data.kamdata import KamData, Snapshot
from kamlib.data.mapping import load_mapping, load_preset, preset_names
from kamlib.data.readers import ReadLimits
from kamlib.data.results import (
    save_score_history,
    save_target_group,
    saved_score_history,
    saved_target_group,
    saved_target_groups,
)
from kamlib.data.schemas import TABLES
from kamlib.data.store import load, load_truth, snapshot_info, write_truth


def load_files(
    paths: Sequence[str | Path],
    *,
    preset: str | None = None,
    mapping: str | Path | None = None,
    encoding: str | None = None,
) -> tuple[KamData, ImportReport]:
    """Import files into a throw-away store and return the data and the import report."""
    with tempfile.TemporaryDirectory(prefix="kamlib-files-") as tmp:
        store = Path(tmp) / "files.duckdb"
        report = import_files(paths, store=store, preset=preset, mapping=mapping, encoding=encoding)
        return load(store), report


__all__ = [
    "TABLES",
    "ImportReport",
    "KamData",
    "ReadLimits",
    "Snapshot",
    "TableCounts",
    "import_files",
    "import_frames",
    "load",
    "load_files",
    "load_mapping",
    "load_preset",
    "load_truth",
    "preset_names",
    "save_score_history",
    "save_target_group",
    "saved_score_history",
    "saved_target_group",
    "saved_target_groups",
    "snapshot_info",
    "write_truth",
]
