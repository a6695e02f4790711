"""What an import did (:class:`ImportReport`, :class:`TableCounts`) and what it may do to
the tables it replaces (:class:`ImportGuard`: shrink limits, date floor, read limits).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kamlib.data import readers
from kamlib.errors import (
    ConfigError,
)

#: Problems kept in an ImportReport's ``to_dict()`` (all are in the store's quarantine table).
MAX_REPORTED_PROBLEMS = 1000
#: An import that would leave a table with more than this share fewer rows than its current
#: snapshot is refused unless ``allow_shrink`` (``--allow-shrink``); ``--max-shrink`` sets it.
MAX_SHRINK = 0.5
#: Dates before this day are quarantined ("before the date floor"); ``--date-floor`` sets it.
#: ``accounts.created_date`` (when a customer was founded) is exempt.
DATE_FLOOR = "1970-01-01"


@dataclass(frozen=True)
class TableCounts:
    """Rows of one table in one import; ``read == loaded + quarantined`` always."""

    read: int
    loaded: int
    quarantined: int
    files: tuple[str, ...]
    status: str  # loaded / unchanged

    def to_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "files": list(self.files),
            "status": self.status,
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import did.  ``problems`` are the quarantined rows' reasons."""

    batch_id: int | None
    status: str  # loaded / unchanged
    store: str
    tables: dict[str, TableCounts]
    problems: pd.DataFrame = field(repr=False)
    notices: pd.DataFrame = field(repr=False)

    @property
    def reconciles(self) -> bool:
        return all(c.read == c.loaded + c.quarantined for c in self.tables.values())

    def to_frame(self) -> pd.DataFrame:
        """One row per table: read, loaded, quarantined, status, files."""
        return pd.DataFrame(
            [{"table": t, **c.to_dict()} for t, c in self.tables.items()],
            columns=["table", "read", "loaded", "quarantined", "status", "files"],
        )

    def problem_summary(self) -> pd.DataFrame:
        """Quarantine entries counted by table, column and check, with an example reason."""
        if self.problems.empty:
            return pd.DataFrame(columns=["table", "column", "check", "rows", "example"])
        return (
            self.problems.groupby(["table", "column", "check"], sort=False)
            .agg(rows=("row", "size"), example=("reason", "first"))
            .reset_index()
            .sort_values("rows", ascending=False, kind="stable")
        )

    def to_dict(self, *, max_problems: int = MAX_REPORTED_PROBLEMS) -> dict[str, object]:
        problems = self.problems.head(max_problems)
        return {
            "batch": self.batch_id,
            "status": self.status,
            "store": self.store,
            "tables": {t: c.to_dict() for t, c in self.tables.items()},
            "problems_total": len(self.problems),
            "problems": [
                {k: (None if pd.isna(v) else v) for k, v in row.items()}
                for row in problems[["table", "file", "row", "column", "value", "reason", "check"]]
                .astype(object)
                .to_dict("records")
            ],
            "notices": self.notices.astype(object)
            .where(self.notices.notna(), None)
            .to_dict("records"),
        }


@dataclass(frozen=True)
class ImportGuard:
    """What an import may do to the tables it replaces, and its read limits.

    ``allow_shrink`` accepts an import that empties a table, leaves it more than
    ``max_shrink`` (a share, 0–1) smaller than now, or orphans rows of tables it does not
    replace; accepted ones are listed as notices (kind ``shrink`` / ``orphaned``).
    ``date_floor``: dates before it are quarantined.  ``limits``: spreadsheet read limits.
    """

    allow_shrink: bool = False
    max_shrink: float = MAX_SHRINK
    date_floor: str | pd.Timestamp = DATE_FLOOR
    limits: readers.ReadLimits = field(default_factory=lambda: readers.ReadLimits())

    @property
    def fingerprint_extra(self) -> str:
        """What changes which rows load (part of a table's fingerprint; empty by default,
        so stores imported before the floor existed keep their fingerprints)."""
        floor = pd.Timestamp(self.date_floor)
        return "" if floor == pd.Timestamp(DATE_FLOOR) else f"floor={floor:%Y-%m-%d}"

    def __post_init__(self) -> None:
        if not 0 <= self.max_shrink <= 1:
            raise ConfigError(
                f"max_shrink must be a share between 0 and 1 (0.5 = refuse losing more than "
                f"half of a table). Got {self.max_shrink!r} instead."
            )
        try:
            pd.Timestamp(self.date_floor)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"date_floor must be a date like 1970-01-01. Got {self.date_floor!r} instead."
            ) from exc
