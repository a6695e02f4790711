"""One retrieval into the store: fetch, match, and load as a new import batch.

:func:`enrich_store` runs the whole path: the provider's records and events, matched to the
store's accounts (:func:`kamlib.enrich.matching.match_records`), go into ``firmographics``
and ``company_events`` through :func:`kamlib.data.import_frames` — so the same validation,
quarantine, lock, single transaction, snapshot and undo apply as to any import.

A retrieval **adds** to the registry history: the import replaces a table with a new
snapshot, so the rows of earlier retrievals are carried over and the new rows added (a row
with the same key — account, source, retrieved_at — is the same retrieval read again and is
replaced).  Events are merged by ``event_id``.  Events get their account from the matched
record of the same company (code, or legal name); events of companies that matched no
account are left out and counted.  The review list is kept in the store
(``enrich_review``) for ``kam enrich review``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from kamlib.data import ImportReport, import_frames, load
from kamlib.data.enrich_review import save_enrich_review
from kamlib.data.readers import read_text_frame
from kamlib.enrich.matching import MatchResult, match_records
from kamlib.enrich.parsing import nfkc
from kamlib.enrich.providers import EVENT_COLUMNS, RECORD_COLUMNS, RegistryData, RegistryProvider
from kamlib.errors import DataValidationError

__all__ = [
    "EnrichReport",
    "attach_events",
    "enrich_store",
    "firmographics_rows",
    "read_overrides",
]

_MATCH_COLUMNS = ["account_id", "match_confidence", "match_method"]


@dataclass(frozen=True)
class EnrichReport:
    """What one retrieval did: the match counts, the review list, quarantined and
    unmatched records, events loaded / without an account, and the import report."""

    match: MatchResult
    events_read: int
    events_loaded: int
    events_without_account: int
    import_report: ImportReport | None
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, int]:
        """``read``, ``matched``, ``ambiguous``, ``unmatched``, ``quarantined`` and the events."""
        return {
            **self.match.summary(),
            "events_read": self.events_read,
            "events_loaded": self.events_loaded,
            "events_without_account": self.events_without_account,
        }

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready account of the run."""
        return {
            "counts": self.summary(),
            "batch_id": None if self.import_report is None else self.import_report.batch_id,
            "status": "nothing to load"
            if self.import_report is None
            else self.import_report.status,
            "files": list(self.files),
            "notes": list(self.notes),
            "review": self.match.review.to_dict(orient="records"),
            "quarantine": self.match.quarantine.to_dict(orient="records"),
        }


def firmographics_rows(match: MatchResult) -> pd.DataFrame:
    """The matched records as ``firmographics`` rows (record columns + match columns)."""
    return match.matched[[*_MATCH_COLUMNS, *RECORD_COLUMNS]].reset_index(drop=True)


def _exact(name: object) -> str | None:
    text = nfkc(name)
    return (
        None
        if text is None
        else text.replace("（", "(").replace("）", ")").replace(" ", "").lower()
    )


def attach_events(events: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Give each event the account of the matched company: by company code, else by the
    exact legal name (NFKC, brackets and spaces folded — not the normalised name, which two
    companies in different cities share); events of no matched company get ``account_id``
    missing."""
    by_code = {c: a for c, a in zip(rows["company_id"], rows["account_id"], strict=True) if nfkc(c)}
    by_name = {
        _exact(n): (a, nfkc(c))
        for n, a, c in zip(rows["legal_name"], rows["account_id"], rows["company_id"], strict=True)
        if nfkc(n)
    }
    out = events.copy()
    account = []
    for code, name in zip(out["company_id"], out["legal_name"], strict=True):
        code = nfkc(code)
        named, named_code = by_name.get(_exact(name), (None, None))
        # by code; else by name when the codes cannot disagree (one side has none)
        account.append(
            by_code.get(code) if code in by_code else (named if not (code and named_code) else None)
        )
    out["account_id"] = account
    # the table's company_id is the registry's code; an event known only by name takes the
    # matched record's code, else the legal name it was given
    code_of = {a: c for c, a in by_code.items()}
    out["company_id"] = [
        c if nfkc(c) else (code_of.get(a) or nfkc(n))
        for c, a, n in zip(out["company_id"], out["account_id"], out["legal_name"], strict=True)
    ]
    return out


def enrich_store(
    store: str | Path,
    provider: RegistryProvider,
    *,
    overrides: pd.DataFrame | None = None,
    now: str | pd.Timestamp | None = None,
) -> EnrichReport:
    """Fetch from ``provider``, match to the store's accounts and load a new import batch.

    Nothing is written when the provider refuses (unreadable file, missing key column) or
    the overrides are wrong; the import itself is all-or-nothing.
    """
    data = load(store)
    registry: RegistryData = provider.fetch()
    match = match_records(
        registry.records, data.require("accounts", "matching registry records"), overrides=overrides
    )
    rows = firmographics_rows(match)
    events = (
        attach_events(registry.events, rows)
        if len(registry.events)
        else registry.events.assign(account_id=None)
    )
    linked = events[events["account_id"].notna() & events["company_id"].notna()]
    frames: dict[str, pd.DataFrame] = {}
    old_rows = (
        data.firmographics if data.has("firmographics") else pd.DataFrame(columns=rows.columns)
    )
    if len(rows):
        key = ["account_id", "source", "retrieved_at"]
        stale = old_rows.set_index(key).index.isin(rows.set_index(key).index)
        frames["firmographics"] = pd.concat(
            [old_rows[~stale.astype(bool)], rows], ignore_index=True
        )
    if len(linked):
        old_ev = (
            data.company_events
            if data.has("company_events")
            else pd.DataFrame(columns=EVENT_COLUMNS)
        )
        new_ev = linked.drop(
            columns=["legal_name", "_file", "_row"], errors="ignore"
        ).drop_duplicates("event_id")
        keep = old_ev[~old_ev["event_id"].isin(new_ev["event_id"])]
        frames["company_events"] = pd.concat([keep, new_ev], ignore_index=True)
    files = registry.files
    report = None
    if frames:
        names = ", ".join(Path(f).name for f in files)
        report = import_frames(
            frames, store=store, source=f"enrich ({provider.name}): {names}", now=now
        )
    review = match.review.copy()
    review["source"] = [
        registry.records.at[r, "source"] if "source" in registry.records else None
        for r in review["record"]
    ]
    review["file"] = [
        registry.records.at[r, "_file"] if "_file" in registry.records else None
        for r in review["record"]
    ]
    save_enrich_review(store, review, batch_id=None if report is None else report.batch_id)
    return EnrichReport(
        match, len(events), len(linked), len(events) - len(linked), report, files, registry.notes
    )


def read_overrides(path: str | Path) -> pd.DataFrame:
    """The overrides file (CSV/XLSX/Parquet: ``account_id``, ``company_id`` or
    ``legal_name``, ``decision`` accept/reject) as a frame; a file without those columns is
    refused naming what it lacks."""
    frame = read_text_frame(path)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("account_id", "decision") if c not in frame.columns]
    if not ({"company_id", "legal_name"} & set(frame.columns)):
        missing.append("company_id or legal_name")
    if missing:
        raise DataValidationError(
            f"{path}: the overrides file lacks the column(s) {', '.join(missing)}; it needs "
            "account_id, company_id or legal_name, and decision (accept or reject)."
        )
    return frame.drop(columns=["_row"])
