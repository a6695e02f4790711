"""Where a relative path given to kamlib is read from — the one resolver.

A notebook's kernel starts in the notebook's folder (``notebooks/training/``), while the paths
in kamlib's notebooks and docs (``data/demo.duckdb``, ``data/methodology.yml``) are written
from the project's root.  :func:`project_path` reads a relative path from the working folder
when it is there and otherwise from the nearest folder above it that has it (as git finds
``.git``), so a notebook runs as shipped from whatever folder its kernel starts in.  Absolute
paths are used as they are; a path found nowhere comes back unchanged, so the error that
follows names it as the user wrote it.  Only paths that are *read* go through it (stores
loaded, methodology files); a store being written (``kam import``, ``kam demo``) is created
where it is given.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["project_path"]


def project_path(path: str | Path) -> Path:
    """``path`` itself when absolute or present in the working folder; else the first
    ``<ancestor>/<path>`` that exists, from the working folder's parent upwards."""
    given = Path(path).expanduser()
    if given.is_absolute() or given.exists():
        return given
    for folder in Path.cwd().resolve().parents:
        candidate = folder / given
        if candidate.exists():
            return candidate
    return given
