"""How a report was made: the data snapshot it read, the versions that ran it, its notebook.

What a report's manifest and page header record so that a reader can tell which data and
which software produced its figures: the store's import batch and fingerprint
(:func:`read_snapshot`, :func:`snapshot_text`), the versions of Python, kamlib and the main
dependencies (:func:`environment_versions`), and the report notebook's path
(:func:`display_path`).
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

# the packages whose versions a manifest records
_VERSIONED = (
    "kamlib", "papermill", "nbclient", "nbconvert", "nbformat", "ipykernel", "jupyter_client",
    "pandas", "numpy", "pyarrow", "duckdb", "ibis-framework", "altair", "vl-convert-python",
    "statsmodels", "scikit-learn",
)  # fmt: skip


def read_snapshot(store: Path, *, batch: int | None = None) -> dict[str, Any] | None:
    """The store's data snapshot (``kamlib.data.snapshot_info``) as a JSON-ready dict, with
    the tables it holds and where its revenue comes from (``revenue_source``: order lines,
    won deals or none; :mod:`kamlib.data.purchases`).

    ``batch``: the snapshot right after that import batch (default: the newest).  A store
    that cannot be read, or has no such batch, raises the data layer's error.
    """
    from kamlib.data import snapshot_info
    from kamlib.data.purchases import revenue_source

    snap = snapshot_info(store, snapshot=batch)
    tables = snap.tables
    imported = getattr(snap, "imported_at", None)
    return {
        "batch_id": getattr(snap, "batch_id", None),
        "fingerprint": getattr(snap, "fingerprint", None),
        "imported_at": None if imported is None or pd.isna(imported) else str(imported),
        "source": getattr(snap, "source", None),
        "tables": list(tables),
        "revenue_source": revenue_source(tables),
    }


_versions: dict[str, str] | None = None


def environment_versions() -> dict[str, str]:
    """Python, kamlib and the main dependencies' versions (recorded in every manifest)."""
    global _versions
    if _versions is None:
        from importlib.metadata import PackageNotFoundError, version

        found = {"python": platform.python_version()}
        for name in _VERSIONED:
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                continue
        _versions = found
    return dict(_versions)


def snapshot_text(snapshot: Mapping[str, Any] | None) -> str:
    """The snapshot as the page header shows it: ``batch 3 · 1a2b3c4d5e6f``."""
    if not snapshot:
        return "unknown"
    fp = str(snapshot.get("fingerprint") or "")[:12]
    batch = snapshot.get("batch_id")
    return f"batch {batch} · {fp}" if batch is not None else fp or "unknown"


def revenue_basis(snapshot: Mapping[str, Any] | None, lang: str) -> str:
    """What the page header says about revenue: empty for order lines, else where it comes
    from ("won deals — the data has no order lines")."""
    from kamlib.data.purchases import WON_DEALS
    from kamlib.methodology.labels import label

    if not snapshot or snapshot.get("revenue_source") != WON_DEALS:
        return ""
    return label("revenue_won_deals", lang)


def display_path(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it lies below it, else as it is."""
    try:
        return path.relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


__all__ = [
    "display_path",
    "environment_versions",
    "read_snapshot",
    "revenue_basis",
    "snapshot_text",
]
