"""Data health: what was imported, what was set aside, and what is missing.

Pure analysis of a :class:`~kamlib.data.KamData` and the import bookkeeping it carries
(``import_batches``, ``import_tables``, ``quarantine``, ``notices``).  Nothing here reads a
file or prints; every function returns a new frame and leaves the data untouched.

>>> health = data_health(data, as_of="2026-09-30")  # doctest: +SKIP
>>> health.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from kamlib.data.kamdata import KamData, Snapshot
from kamlib.data.schemas import TABLES
from kamlib.periods import as_day

BATCH_COLUMNS = (
    "batch_id", "source", "started_at", "finished_at", "status", "fingerprint", "kamlib_version",
)  # fmt: skip
BATCH_TABLE_COLUMNS = (
    "batch_id", "table", "files", "rows_read", "rows_loaded", "rows_quarantined",
)  # fmt: skip
QUARANTINE_COLUMNS = ("batch_id", "table", "file", "row", "column", "value", "reason", "check")
NOTICE_COLUMNS = ("batch_id", "table", "file", "column", "kind", "message", "rows")
COVERAGE_COLUMNS = ("check", "table", "rows", "of_rows", "share", "examples")
ORPHAN_COLUMNS = ("table", "column", "missing_in", "rows", "value", "examples")


@dataclass(frozen=True)
class DataHealth:
    """Everything the data-health report shows, computed once.

    Attributes
    ----------
    snapshot : the data snapshot examined.
    as_of : the date the tables were cut at (``None``: everything imported).
    tables : :func:`table_overview`.
    batches : :func:`import_history`.
    batch_tables : :func:`batch_rows`.
    quarantine : :func:`quarantine_summary`.
    notices : :func:`notice_summary`.
    coverage : :func:`coverage_gaps`.
    orphans : :func:`orphans`.
    """

    snapshot: Snapshot
    as_of: pd.Timestamp | None
    tables: pd.DataFrame
    batches: pd.DataFrame
    batch_tables: pd.DataFrame
    quarantine: pd.DataFrame
    notices: pd.DataFrame
    coverage: pd.DataFrame
    orphans: pd.DataFrame = dataclasses.field(
        default_factory=lambda: pd.DataFrame(columns=list(ORPHAN_COLUMNS))
    )

    def key_figures(self) -> dict[str, int]:
        """Label key → count: tables imported, rows, batches, quarantined rows, notices, and
        coverage checks that found a gap (for :func:`kamlib.views.format.facts`)."""
        return {
            "tables_present": int(self.tables["present"].sum()),
            "total_rows": int(self.tables["rows"].sum()),
            "batches": len(self.batches),
            "quarantined_rows": int(self.tables["rows_quarantined"].sum()),
            "notice_count": len(self.notices),
            "coverage_gaps": int((self.coverage["rows"] > 0).sum()),
        }

    def summary(self) -> pd.DataFrame:
        """:meth:`key_figures` as a frame: columns ``measure`` (label key) and ``value``."""
        figures = self.key_figures()
        return pd.DataFrame({"measure": list(figures), "value": list(figures.values())})


def data_health(
    data: KamData, *, as_of: str | pd.Timestamp | None = None, examples: int = 3
) -> DataHealth:
    """Run every data-health analysis on ``data`` (cut at ``as_of`` when given).

    ``examples`` caps the example values listed per quarantine reason and coverage check.
    """
    return DataHealth(
        snapshot=data.snapshot,
        as_of=None if as_of is None else as_day(as_of, owner="data_health"),
        tables=table_overview(data, as_of=as_of),
        batches=import_history(data),
        batch_tables=batch_rows(data),
        quarantine=quarantine_summary(data, examples=examples),
        notices=notice_summary(data),
        coverage=coverage_gaps(data, as_of=as_of, examples=examples),
        orphans=orphans(data, as_of=as_of, examples=examples),
    )


def orphans(
    data: KamData, *, as_of: str | pd.Timestamp | None = None, examples: int = 3
) -> pd.DataFrame:
    """Rows that refer to a record the data no longer has (an order whose account is gone),
    with what they are worth — e.g. left by an import accepted with ``--allow-shrink``.

    One row per (table, reference) with at least one orphan.  Columns: ``table``,
    ``column`` (the reference), ``missing_in`` (the table it should name), ``rows``, ``value``
    (sum of the orphans' ``amount`` — order amount, pipeline amount; NaN when the table has
    no amount), ``examples`` (up to ``examples`` missing keys, comma-separated).
    """
    view = data if as_of is None else data.as_of(as_of)
    out: list[dict[str, object]] = []
    for table, spec in TABLES.items():
        if not view.has(table):
            continue
        frame = getattr(view, table)
        for fk in spec.foreign_keys:
            if fk.table == table or not view.has(fk.table):
                continue
            parent = getattr(view, fk.table)
            refs = frame[fk.column]
            gap = refs.notna() & ~refs.isin(set(parent[fk.ref].dropna()))
            if not gap.any():
                continue
            value = frame.loc[gap, "amount"].sum() if "amount" in frame else float("nan")
            out.append({
                "table": table, "column": fk.column, "missing_in": fk.table, "rows": int(gap.sum()),
                "value": float(value), "examples": ", ".join(sorted(refs[gap].astype(str).unique())[:examples]),
            })  # fmt: skip
    return pd.DataFrame(out, columns=list(ORPHAN_COLUMNS)).astype({"rows": "int64", "value": "float64"})


def table_overview(data: KamData, *, as_of: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """One row per canonical table, in canonical order.

    Columns: ``table``, ``required`` (bool), ``present`` (bool), ``rows`` (int),
    ``first_date``, ``last_date`` (range of the table's as-of column, NaT when it has none),
    ``rows_quarantined`` (source rows of that table set aside by any import).
    """
    view = data if as_of is None else data.as_of(as_of)
    out = view.summary()
    quarantined = _quarantined_rows(data).groupby("table").size()
    out["rows_quarantined"] = out["table"].map(quarantined).fillna(0).astype("int64")
    out["rows"] = out["rows"].astype("int64")
    return out


def import_history(data: KamData) -> pd.DataFrame:
    """The import batches, newest first.

    Columns: ``batch_id``, ``source``, ``finished_at`` (when the data arrived), ``status``,
    ``tables`` (tables the batch loaded), ``rows_loaded``, ``rows_quarantined``,
    ``fingerprint``, ``kamlib_version``.  Row totals are 0 when the store kept no per-table
    counts.
    """
    batches = _frame(data.import_batches, BATCH_COLUMNS)
    per_table = _frame(_import_tables(data), BATCH_TABLE_COLUMNS)
    totals = per_table.groupby("batch_id").agg(
        tables=("table", "nunique"),
        rows_loaded=("rows_loaded", "sum"),
        rows_quarantined=("rows_quarantined", "sum"),
    )
    out = batches.copy()
    for col in ("tables", "rows_loaded", "rows_quarantined"):
        out[col] = out["batch_id"].map(totals[col]).fillna(0).astype("int64")
    out = out.sort_values(["started_at", "batch_id"], ascending=False, na_position="last")
    columns = ["batch_id", "source", "finished_at", "status", "tables", "rows_loaded",
               "rows_quarantined", "fingerprint", "kamlib_version"]  # fmt: skip
    return out[columns].reset_index(drop=True)


def batch_rows(data: KamData) -> pd.DataFrame:
    """Rows read, loaded and quarantined per import batch and table.

    Columns: ``batch_id``, ``table``, ``files``, ``rows_read``, ``rows_loaded``,
    ``rows_quarantined``; ordered by batch, then canonical table order.
    """
    out = _frame(_import_tables(data), BATCH_TABLE_COLUMNS).copy()
    for col in ("rows_read", "rows_loaded", "rows_quarantined"):
        out[col] = pd.to_numeric(out[col]).astype("Int64")
    order = {name: i for i, name in enumerate(TABLES)}
    out["_order"] = out["table"].map(order).fillna(len(order))
    out = out.sort_values(["batch_id", "_order", "table"]).drop(columns="_order")
    return out.reset_index(drop=True)


def quarantine_summary(data: KamData, *, examples: int = 3) -> pd.DataFrame:
    """Quarantined rows by table and kind of reason (the importer's ``check``), most frequent first.

    Columns: ``table``, ``reason``, ``rows`` (distinct source rows), ``failures`` (failed
    checks: a row can fail several), ``columns`` (the columns involved, comma-separated),
    ``examples`` (up to ``examples`` of ``file row N: column = 'value'``, ``; ``-separated).
    """
    q = _frame(data.quarantine, QUARANTINE_COLUMNS)
    if q.empty:
        return pd.DataFrame(
            {
                "table": pd.Series(dtype="str"),
                "reason": pd.Series(dtype="str"),
                "rows": pd.Series(dtype="int64"),
                "failures": pd.Series(dtype="int64"),
                "columns": pd.Series(dtype="str"),
                "examples": pd.Series(dtype="str"),
            }
        )
    # group by the reason's kind ("unknown account"), not its full text, which names the value
    kind = q["check"].where(q["check"].notna(), q["reason"])
    q = q.assign(reason=kind.fillna("").astype(str), _key=_row_key(q))
    rows = []
    for (table, reason), group in q.groupby(["table", "reason"], sort=False, dropna=False):
        group = group.sort_values(["batch_id", "file", "row"], na_position="last")
        rows.append(
            {
                "table": table,
                "reason": reason,
                "rows": int(group["_key"].nunique()),
                "failures": len(group),
                "columns": ", ".join(sorted({str(c) for c in group["column"].dropna()})),
                "examples": "; ".join(_example(r) for r in group.head(examples).itertuples()),
            }
        )
    out = pd.DataFrame(rows)
    out["rows"] = out["rows"].astype("int64")
    out["failures"] = out["failures"].astype("int64")
    return out.sort_values(["rows", "table", "reason"], ascending=[False, True, True]).reset_index(
        drop=True
    )


def notice_summary(data: KamData) -> pd.DataFrame:
    """The import notices (accepted, but worth knowing), newest batch first; first, when the
    data has no order lines, that its orders are the won deals (:mod:`kamlib.data.purchases`).

    Columns: ``batch_id``, ``table``, ``file``, ``column``, ``kind``, ``message``, ``rows``.
    """
    notices = _frame(data.notices, NOTICE_COLUMNS)
    out = notices.sort_values(["batch_id", "table", "kind"], ascending=[False, True, True])
    if data.revenue_statement:  # no order lines: the orders are the won deals (first row)
        made = {"table": "orders", "kind": "won_deals", "message": data.revenue_statement,
                "rows": len(data.orders)}  # fmt: skip
        out = pd.concat([_frame(pd.DataFrame([made]), NOTICE_COLUMNS), out], ignore_index=True)
    return out.reset_index(drop=True)


def coverage_gaps(
    data: KamData, *, as_of: str | pd.Timestamp | None = None, examples: int = 3
) -> pd.DataFrame:
    """Records that exist but miss something an analysis relies on.

    Every check whose tables were imported is listed, also when nothing is missing (that
    is good news worth showing).  Checks: accounts with no orders / contacts /
    opportunities / account manager, accounts whose parent is unknown, orders of an unknown
    account or with an unknown product, contacts of an unknown account, open opportunities
    without an account or without an expected close date.

    Columns: ``check`` (a label key, see :mod:`kamlib.methodology.labels`), ``table``, ``rows``
    (records with the gap), ``of_rows`` (records checked), ``share`` (``rows / of_rows``,
    0 when nothing was checked), ``examples`` (up to ``examples`` ids, comma-separated).
    """
    view = data if as_of is None else data.as_of(as_of)
    results: list[dict[str, object]] = []

    def add(check: str, table: str, ids: pd.Series, gap: pd.Series) -> None:
        hit = ids[gap.to_numpy(dtype=bool)]
        shown = sorted(hit.astype(str).unique())[:examples]
        results.append(
            {
                "check": check,
                "table": table,
                "rows": int(gap.sum()),
                "of_rows": len(gap),
                "examples": ", ".join(shown),
            }
        )

    accounts = view.accounts if view.has("accounts") else None
    known_accounts = set() if accounts is None else set(accounts["account_id"].dropna())
    if accounts is not None:
        ids = accounts["account_id"]
        if view.has("orders"):
            add("accounts_without_orders", "accounts", ids,
                ~ids.isin(set(view.orders["account_id"].dropna())))  # fmt: skip
        if view.has("contacts"):
            add("accounts_without_contacts", "accounts", ids,
                ~ids.isin(set(view.contacts["account_id"].dropna())))  # fmt: skip
        if view.has("opportunities"):
            add("accounts_without_opportunities", "accounts", ids,
                ~ids.isin(set(view.opportunities["account_id"].dropna())))  # fmt: skip
        add("accounts_without_owner", "accounts", ids, _blank(accounts["owner"]))
        parent = accounts["parent_account_id"]
        add("accounts_unknown_parent", "accounts", ids,
            parent.notna() & ~parent.isin(known_accounts))  # fmt: skip
    if view.has("orders"):
        orders = view.orders
        order_ids = orders["order_id"].astype(str) + "/" + orders["line_no"].astype(str)
        if accounts is not None:
            add("orders_unknown_account", "orders", order_ids,
                ~orders["account_id"].isin(known_accounts))  # fmt: skip
        if view.has("products"):  # known by its id, or (won deals) by its product line
            products = view.products
            unknown = (
                _blank(orders["product_id"])
                | ~orders["product_id"].isin(set(products["product_id"].dropna()))
            ) & (
                _blank(orders["product_line"])
                | ~orders["product_line"].isin(set(products["product_line"].dropna()))
            )
        else:  # without a product table, an order line needs at least a product line
            unknown = _blank(orders["product_id"]) & _blank(orders["product_line"])
        add("orders_unknown_product", "orders", order_ids, unknown)
    if view.has("contacts") and accounts is not None:
        contacts = view.contacts
        add("contacts_unknown_account", "contacts", contacts["contact_id"],
            ~contacts["account_id"].isin(known_accounts))  # fmt: skip
    if view.has("opportunities"):
        opps = view.opportunities
        open_opps = opps[opps["status"] == "open"]
        ids = open_opps["opportunity_id"]
        no_account = _blank(open_opps["account_id"])
        if accounts is not None:
            no_account = no_account | ~open_opps["account_id"].isin(known_accounts)
        add("open_opportunities_without_account", "opportunities", ids, no_account)
        add("open_opportunities_without_close_date", "opportunities", ids,
            open_opps["expected_close_date"].isna())  # fmt: skip
    out = pd.DataFrame(results, columns=[c for c in COVERAGE_COLUMNS if c != "share"])
    out["rows"] = out["rows"].astype("int64")
    out["of_rows"] = out["of_rows"].astype("int64")
    checked = out["of_rows"] > 0
    out["share"] = (out["rows"] / out["of_rows"].where(checked)).where(checked, 0.0).astype(float)
    return out[list(COVERAGE_COLUMNS)]


# -- helpers --------------------------------------------------------------------------------
def _import_tables(data: KamData) -> pd.DataFrame:
    # ``import_tables`` is filled by the importer; older containers may not carry it yet.
    frame = getattr(data, "import_tables", None)
    return frame if isinstance(frame, pd.DataFrame) else pd.DataFrame()


def _frame(frame: pd.DataFrame | None, columns: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with at least ``columns`` (missing ones all-null), never mutated."""
    if frame is None or (frame.empty and len(frame.columns) == 0):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    missing = [c for c in columns if c not in frame.columns]
    return frame.assign(**dict.fromkeys(missing, pd.NA)) if missing else frame


def _row_key(q: pd.DataFrame) -> pd.Series:
    """One key per quarantined source row (a line without a row number counts alone)."""
    parts = q["batch_id"].astype(str) + "|" + q["file"].astype(str) + "|" + q["row"].astype(str)
    return parts.where(
        q["row"].notna(), "line:" + pd.Series(range(len(q)), index=q.index).astype(str)
    )


def _quarantined_rows(data: KamData) -> pd.DataFrame:
    q = _frame(data.quarantine, QUARANTINE_COLUMNS)
    if q.empty:
        return pd.DataFrame({"table": pd.Series(dtype="str"), "_key": pd.Series(dtype="str")})
    return q.assign(_key=_row_key(q))[["table", "_key"]].drop_duplicates()


def _example(row: object) -> str:
    file = "" if pd.isna(row.file) else f"{row.file} "
    where = f"{file}row {row.row}" if pd.notna(row.row) else file.strip() or "?"
    if pd.notna(row.column):
        value = "" if pd.isna(row.value) else str(row.value)
        if len(value) > 40:
            value = value[:39] + "…"
        return f"{where}: {row.column} = {value!r}"
    return where


def _blank(values: pd.Series) -> pd.Series:
    """True where a text value is missing or only whitespace."""
    return values.isna() | (values.astype("string").str.strip() == "").fillna(True)
