"""One exception hierarchy for kamlib.

Every message says what was wrong, the value found, and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence


class KamlibError(Exception):
    """Base class of every error kamlib raises on purpose."""


class DataValidationError(KamlibError):
    """Input data cannot be used: unreadable file, missing required column, bad mapping."""


class MissingTableError(DataValidationError):
    """An analysis needs a table (or several) the data set does not have.

    ``table`` is the first missing table, ``tables`` all of them (in the order given).
    """

    def __init__(self, table: str | Sequence[str], purpose: str | None = None) -> None:
        tables = (table,) if isinstance(table, str) else tuple(table)
        self.table = tables[0]
        self.tables = tables
        self.purpose = purpose
        if len(tables) == 1:
            why = f" {purpose} needs it." if purpose else ""
            super().__init__(
                f"The data has no '{table}' table.{why} Import a '{table}' file "
                f"(e.g. `kam import {table}.csv --store ...`) or skip this analysis."
            )
            return
        names = ", ".join(f"'{t}'" for t in tables[:-1]) + f" and '{tables[-1]}'"
        why = f" {purpose} needs them." if purpose else ""
        super().__init__(
            f"The data has no {names} tables.{why} Import them (e.g. `kam import "
            f"{tables[0]}.csv --store ...`) or skip this analysis."
        )


class StoreError(DataValidationError):
    """The store cannot be used or written: not a kamlib store, locked, read-only, disk full."""


class ImportRefused(DataValidationError):
    """An import would lose data (shrink a table, orphan rows) or exceed a limit; nothing was written."""


class ImportInterrupted(KamlibError):
    """An import was stopped by a signal (SIGTERM/SIGHUP) before it finished; nothing was written."""


class ConfigError(KamlibError):
    """The methodology file, a mapping file or a parameter is invalid."""


class ProviderError(KamlibError):
    """A registry provider cannot deliver: no API key, the key refused or out of quota, the
    API unreachable after retries, a response that cannot be read; nothing was written."""


class ReportError(KamlibError):
    """A report could not be rendered."""


class ReportSkipped(ReportError):
    """A report is not rendered because the data lacks what it cannot do without.

    Not a failure: nothing is written and a batch goes on.  ``report`` is the report's name,
    ``needs`` its unmet needs (canonical table names, or ``revenue``), ``reason`` the short
    form a summary shows ("needs targets"), ``detail`` what is missing and the fix.
    """

    def __init__(self, report: str, needs: Sequence[str], *, reason: str, detail: str) -> None:
        self.report = report
        self.needs = tuple(needs)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{report} skipped — {reason}: {detail}")


class KamlibWarning(UserWarning):
    """Base class of kamlib's warnings."""


class DataQualityWarning(KamlibWarning):
    """Data was usable but something about it deserves attention."""
