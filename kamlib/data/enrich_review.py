"""The registry matching's review list, kept in the store between runs (``enrich_review``).

``kam enrich`` leaves the candidates it would not accept on its own (a record that fits two
accounts, an account that fits two records equally well) here, so ``kam enrich review``
can show them later and a person can write the decisions into an overrides file.  Like the
import bookkeeping (``import_batches``, ``quarantine``) it is a plain table beside the
snapshots; each run replaces the list (one transaction) and records the batch it belongs
to (``NULL`` when the run loaded nothing new).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kamlib.data.store import connect
from kamlib.errors import DataValidationError

__all__ = ["ENRICH_REVIEW_COLUMNS", "save_enrich_review", "saved_enrich_review"]

ENRICH_REVIEW_COLUMNS = [
    "record", "legal_name", "company_id", "province", "city", "account_id", "account_name",
    "account_city", "score", "method", "reason", "source", "file",
]  # fmt: skip
_DDL = """
CREATE TABLE IF NOT EXISTS enrich_review (
    batch_id BIGINT, record BIGINT, legal_name VARCHAR, company_id VARCHAR, province VARCHAR,
    city VARCHAR, account_id VARCHAR, account_name VARCHAR, account_city VARCHAR,
    score DOUBLE, method VARCHAR, reason VARCHAR, source VARCHAR, file VARCHAR,
    saved_at TIMESTAMP NOT NULL
)
"""


def save_enrich_review(store: str | Path, review: pd.DataFrame, *, batch_id: int | None) -> None:
    """Replace the kept review list with ``review`` (:data:`ENRICH_REVIEW_COLUMNS`)."""
    if not Path(store).exists():
        raise DataValidationError(
            f"Store {store} does not exist. Build it with `kam demo --store {store}` or "
            f"`kam import FILES --store {store}`."
        )
    missing = [c for c in ENRICH_REVIEW_COLUMNS if c not in review.columns]
    if missing:
        raise DataValidationError(f"The review list lacks column(s) {', '.join(missing)}.")
    frame = review[ENRICH_REVIEW_COLUMNS].copy()
    frame.insert(0, "batch_id", batch_id)
    frame["saved_at"] = pd.Timestamp.now().floor("s")
    frame = frame.astype({"batch_id": "Int64", "record": "Int64", "score": "float64"})
    with connect(store) as con:
        con.execute(_DDL)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM enrich_review")
        con.register("_review", frame)
        con.execute("INSERT INTO enrich_review SELECT * FROM _review")
        con.unregister("_review")
        con.execute("COMMIT")


def saved_enrich_review(store: str | Path) -> pd.DataFrame:
    """The review list kept by the last ``kam enrich`` (empty when none was kept)."""
    if not Path(store).exists():
        raise DataValidationError(
            f"Store {store} does not exist. Build it with `kam demo --store {store}` or "
            f"`kam import FILES --store {store}`."
        )
    with connect(store, read_only=True) as con:
        has = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'enrich_review'"
        ).fetchone()[0]
        if not has:
            return pd.DataFrame(columns=["batch_id", *ENRICH_REVIEW_COLUMNS, "saved_at"])
        return con.execute("SELECT * FROM enrich_review ORDER BY record, account_id").df()
