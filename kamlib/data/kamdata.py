"""``KamData``: the immutable, typed container of the canonical tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd
from pandas.core.arrays.masked import BaseMaskedArray

from kamlib.data import purchases as purchase_rule
from kamlib.data.registry_records import kept_at_cut
from kamlib.data.schemas import DATE_COLUMNS, TABLES
from kamlib.display import Brief, ShowsBrief, table_size
from kamlib.errors import DataValidationError, MissingTableError
from kamlib.frames import isin
from kamlib.periods import as_day


@dataclass(frozen=True)
class Snapshot:
    """Which import state a ``KamData`` shows.

    ``batch_id`` is the newest import batch included; ``fingerprint`` identifies the data
    exactly (the file fingerprints of every table's batch), so a report can say which data
    it was made from and a rerun can check it sees the same data.
    """

    batch_id: int | None
    fingerprint: str
    imported_at: pd.Timestamp | None
    source: str
    #: the canonical tables held, in canonical order (empty when not read from a store)
    tables: tuple[str, ...] = ()


@dataclass(frozen=True, repr=False)
class KamData(ShowsBrief):
    """The canonical tables of one data set, read-only.

    Access a table as an attribute (``data.orders``) or by name (``data["orders"]``); every
    access returns a new frame (copy-on-write), so callers can never alter the container.
    A table that was never imported raises :class:`~kamlib.errors.MissingTableError`
    naming the table and what to import; ``data.has("contacts")`` asks first.

    ``as_of`` is the date the view is cut at (``None``: everything that was imported).

    Data without order lines but with opportunities gets its ``orders`` from the won deals
    (:mod:`kamlib.data.purchases`, the one rule); ``revenue_source`` says which it is
    (``"order_lines"``, ``"won_deals"`` or ``None``) and ``revenue_statement`` is the
    sentence a report shows when revenue is won deals (empty otherwise).
    """

    _tables: Mapping[str, pd.DataFrame]
    snapshot: Snapshot
    as_of_date: pd.Timestamp | None = None
    import_batches: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    import_tables: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    notices: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    revenue_source: str | None = None
    revenue_statement: str = ""

    def __post_init__(self) -> None:
        if self.revenue_source is None:
            source = purchase_rule.revenue_source(self._tables)
            if source == purchase_rule.WON_DEALS:
                made = purchase_rule.purchases_from_won_deals(self._tables["opportunities"])
                object.__setattr__(self, "_tables", {**self._tables, "orders": made.orders})
                object.__setattr__(self, "revenue_statement", made.statement())
            object.__setattr__(self, "revenue_source", source)
        if isinstance(self._tables, _CutTables):
            return  # cut on first use, read-only then
        # shallow copies: a caller that built the frames and later writes into them makes
        # pandas copy first (copy-on-write) instead of writing into the read-only arrays
        held = {name: _read_only(frame.copy(deep=False)) for name, frame in self._tables.items()}
        object.__setattr__(self, "_tables", MappingProxyType(held))

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if name in _BOOKKEEPING:  # a new object per access, like the tables
            return value.copy(deep=False)
        return value

    # -- access -----------------------------------------------------------------------------
    @property
    def tables(self) -> tuple[str, ...]:
        """Names of the tables present, in canonical order."""
        return tuple(t for t in TABLES if t in self._tables)

    def has(self, table: str) -> bool:
        """Whether ``table`` was imported (it may still have zero rows); ``orders`` also when
        they are made from won deals (``revenue_source``)."""
        _check_name(table)
        return table in self._tables

    def require(self, table: str, purpose: str | None = None) -> pd.DataFrame:
        """Return ``table`` or raise ``MissingTableError`` saying what needs it."""
        _check_name(table)
        if table not in self._tables:
            raise MissingTableError(table, purpose)
        return self._tables[table].copy(deep=False)

    def __getitem__(self, table: str) -> pd.DataFrame:
        return self.require(table)

    def __getattr__(self, table: str) -> pd.DataFrame:
        if table.startswith("_") or table not in TABLES:
            raise AttributeError(table)
        return self.require(table)

    def counts(self) -> dict[str, int]:
        """Rows per present table."""
        return {t: len(self._tables[t]) for t in self.tables}

    def summary(self) -> pd.DataFrame:
        """One row per canonical table: present, rows, date range of its as-of column."""
        rows = []
        for name, spec in TABLES.items():
            frame = self._tables.get(name)
            first = last = pd.NaT
            if frame is not None and spec.as_of_column and len(frame):
                col = frame[spec.as_of_column]
                first, last = col.min(), col.max()
            rows.append(
                {
                    "table": name,
                    "required": spec.required,
                    "present": frame is not None,
                    "rows": 0 if frame is None else len(frame),
                    "first_date": first,
                    "last_date": last,
                }
            )
        return pd.DataFrame(rows)

    # -- point in time -----------------------------------------------------------------------
    def as_of(self, date: str | pd.Timestamp) -> KamData:
        """The data as it was known at the end of ``date``: nothing dated after it.

        - rows whose as-of column (order_date, created_date, entered_at, opened_at, date) lies
          after the date are dropped; accounts created after it too, and an account without
          a created_date exists from its first order line, opportunity, activity or ticket
          (:data:`FIRST_SEEN`; the account features use the same rule);
        - opportunities closed after the date are open again, at the stage the stage history
          shows for that date (their closed_date, lost_reason cleared);
        - tickets: response / resolution after the date are unknown (NaT);
        - contacts: a last_contact_date after the date is unknown;
        - tasks: one done after the date is open again (its done_date unknown);
          opportunity_competitors: only the rows of opportunities known then;
        - firmographics: the retrievals up to the date, and for an account with none its
          earliest (the record the registry rule falls back on:
          :mod:`kamlib.data.registry_records`).

        Each table is cut when it is first read (a back-test cuts the data at every origin
        and reads a few of its tables; the orders of a big book are millions of lines).
        """
        cut = as_day(date, parameter="date", owner="KamData.as_of")
        tables = _CutTables(self._tables, cut)
        return KamData(
            tables,
            snapshot=self.snapshot,
            as_of_date=cut,
            revenue_source=self.revenue_source,
            revenue_statement=self.revenue_statement,
            import_batches=self.import_batches,
            import_tables=self.import_tables,
            quarantine=self.quarantine,
            notices=self.notices,
        )

    # -- contract ----------------------------------------------------------------------------
    def validate(self) -> None:
        """Check every table against its pandera schema (lazy: all failures in one error)."""
        import pandera.errors as pa_errors

        for name in self.tables:
            try:
                TABLES[name].model.validate(self._tables[name], lazy=True)
            except pa_errors.SchemaErrors as exc:
                cases = exc.failure_cases.head(20).to_string(index=False)
                raise DataValidationError(
                    f"Table '{name}' does not match the canonical schema:\n{cases}"
                ) from exc

    def _brief(self) -> Brief:
        snap = self.snapshot
        batch = f"batch {snap.batch_id} · " if snap.batch_id is not None else ""
        facts = {
            "as of": self.as_of_date if self.as_of_date is not None else "everything imported",
            "snapshot": f"{batch}{str(snap.fingerprint)[:12]}",
            "source": snap.source,
            "tables": len(self.tables),
        }
        if self.revenue_source == purchase_rule.WON_DEALS:
            facts["revenue"] = "won deals (no order lines)"
        return Brief("KamData", facts, {f".{t}": table_size(self._tables[t]) for t in self.tables})


class _CutTables(Mapping[str, pd.DataFrame]):
    """The tables of :meth:`KamData.as_of`, each cut at ``cut`` on first use and kept (the
    work is the same whichever thread asks first)."""

    def __init__(self, source: Mapping[str, pd.DataFrame], cut: pd.Timestamp) -> None:
        self._source = source
        self._cut = cut
        self._done: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        frame = self._done.get(name)
        if frame is None:
            if name not in self._source:
                raise KeyError(name)
            frame = _read_only(_cut_table(name, self._source, self, self._cut).copy(deep=False))
            self._done[name] = frame
        return frame

    def __contains__(self, name: object) -> bool:
        return name in self._source

    def __iter__(self):
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


def _cut_table(
    name: str, source: Mapping[str, pd.DataFrame], cut_tables: _CutTables, cut: pd.Timestamp
) -> pd.DataFrame:
    """One table of :meth:`KamData.as_of` (the rules are in its docstring)."""
    end = cut + pd.Timedelta(days=1)  # timestamps during the as-of day count
    spec = TABLES[name]
    out = source[name]
    if name == "firmographics":  # the registry rule's fall-back record stays
        out = out[kept_at_cut(out, cut)]
    elif spec.as_of_column:
        out = out[_before(out[spec.as_of_column], spec.as_of_column, cut, end)]
    if name == "accounts":
        out = out[_existed(out, source, cut, end)]
    elif name == "contacts":
        out = out.assign(
            last_contact_date=out["last_contact_date"].where(out["last_contact_date"] <= cut)
        )
    elif name == "service_tickets":
        out = out.assign(
            first_response_at=out["first_response_at"].where(out["first_response_at"] < end),
            resolved_at=out["resolved_at"].where(out["resolved_at"] < end),
        )
    elif name == "tasks":
        later = out["done_date"] >= end
        if later.any():
            out = out.assign(
                done_date=out["done_date"].where(~later),
                status=out["status"].where(~later, "open"),
            )
    elif name == "opportunity_competitors" and "opportunities" in source:
        out = out[isin(out["opportunity_id"], cut_tables["opportunities"]["opportunity_id"])]
    elif name == "opportunities":
        out = _reopen(out, cut_tables.get("stage_history"), cut)
    return out


#: import bookkeeping frames handed out as copies
_BOOKKEEPING = frozenset({"import_batches", "import_tables", "quarantine", "notices"})


def _read_only(frame: pd.DataFrame) -> pd.DataFrame:
    """Mark the value and mask arrays of nullable columns read-only: pandas gives a writable
    view of them through ``to_numpy()`` when nothing is missing (numpy columns it already
    protects)."""
    for column in frame.columns:
        array = frame[column].array
        if isinstance(array, BaseMaskedArray):
            array._data.flags.writeable = False
            array._mask.flags.writeable = False
    return frame


#: the dated records that show an account without a created_date existed (first one counts)
FIRST_SEEN: dict[str, str] = {
    "orders": "order_date",
    "opportunities": "created_date",
    "activities": "date",
    "service_tickets": "opened_at",
}


def _existed(
    accounts: pd.DataFrame, tables: Mapping[str, pd.DataFrame], cut: pd.Timestamp, end: pd.Timestamp
) -> pd.Series:
    """Which accounts existed at the end of ``cut``: from their ``created_date``; without one,
    from their first order line, opportunity, activity or ticket — an account with no dated
    record by then did not exist yet (the point-in-time universe of the account features)."""
    created = accounts["created_date"]
    undated = created.isna()
    if not undated.any():
        return created <= cut
    seen = [pd.Series([], dtype="str")]
    for name, column in FIRST_SEEN.items():
        frame = tables.get(name)
        if frame is not None and len(frame):
            hit = _before(frame[column], column, cut, end)
            seen.append(pd.Series(frame.loc[hit, "account_id"].dropna().astype("str").unique()))
    known = isin(accounts["account_id"].astype("str"), pd.concat(seen, ignore_index=True))
    return (created <= cut) | (undated & known)


def _check_name(table: str) -> None:
    if table not in TABLES:
        raise DataValidationError(
            f"'{table}' is not a canonical table. Valid tables: {', '.join(TABLES)}."
        )


def _before(col: pd.Series, name: str, cut: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    return col <= cut if name in DATE_COLUMNS else col < end


def _reopen(opps: pd.DataFrame, history: pd.DataFrame | None, cut: pd.Timestamp) -> pd.DataFrame:
    """Opportunities closed after ``cut`` become open at the stage they had on ``cut``."""
    closed_later = opps["closed_date"].notna() & (opps["closed_date"] > cut)
    if not closed_later.any():
        return opps
    out = opps.copy()
    stage_then = pd.Series(pd.NA, index=out.index, dtype=out["stage"].dtype)
    if history is not None and len(history):
        last = (
            history.sort_values(["opportunity_id", "entered_at"])
            .groupby("opportunity_id", sort=False)
            .tail(1)
            .set_index("opportunity_id")
        )
        stage_then = out["opportunity_id"].map(last["stage"])
        if "amount" in last and last["amount"].notna().any():
            amount_then = out["opportunity_id"].map(last["amount"])
            out.loc[closed_later, "amount"] = amount_then[closed_later].fillna(
                out.loc[closed_later, "amount"]
            )
        if "expected_close_date" in last:
            ecd = out["opportunity_id"].map(last["expected_close_date"])
            out.loc[closed_later, "expected_close_date"] = ecd[closed_later].fillna(
                out.loc[closed_later, "expected_close_date"]
            )
    out.loc[closed_later, "stage"] = stage_then[closed_later]
    out.loc[closed_later, "status"] = "open"
    out.loc[closed_later, "closed_date"] = pd.NaT
    out.loc[closed_later, "lost_reason"] = pd.NA
    if "lost_to" in out:
        out.loc[closed_later, "lost_to"] = pd.NA
    # No history for the as-of date: the stage is unknown, but the deal was open.
    out.loc[closed_later & out["stage"].isna(), "stage"] = "unknown"
    return out
