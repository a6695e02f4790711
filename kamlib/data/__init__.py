"""Reading, mapping, validating and storing the canonical tables.

Public API
----------
- :func:`import_files` — CSV / Excel / Parquet exports → validated import batch in the store.
- :func:`import_frames` — in-memory canonical frames (e.g. the demo company) → same path.
- :func:`load` — the store (or files) → :class:`KamData`, optionally at a past snapshot.
- :class:`KamData` — immutable container of the tables with an ``as_of(date)`` view.

Only this package (and ``kamlib.reports``) touches the file system.
"""

from kamlib.data.kamdata import KamData, Snapshot
from kamlib.data.schemas import TABLES

__all__ = ["TABLES", "KamData", "Snapshot"]
