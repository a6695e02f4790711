"""Analysis results kept in the store beside the data they were made from.

Two kinds of result are worth keeping, because later runs and reports refer back to them:

**Target groups** (``target_groups``, ``target_group_members``): a named group as formed on a
date — its definition, the data snapshot and methodology it was formed from, how its members
were chosen, and the members in order.  A quarterly batch that renders one report per account
of ``strategic`` can then say, a year later, exactly which accounts the group held.

**Score history** (``score_history``, ``score_contributions``): scores, tiers and ranks per
account and date, with each indicator's weighted contribution (long format, so a
methodology with other indicators fits the same tables).

Every row carries ``snapshot`` (the data fingerprint, ``KamData.snapshot.fingerprint``) and
``methodology`` (the methodology file's fingerprint).  Saving the same formation again
(same group or dates, snapshot and methodology) replaces it; everything is written in one
transaction, so a failure leaves the store as it was.  The frames come from
``kamlib.segmentation.TargetGroup.record()`` / ``.to_frame()`` and
``kamlib.scoring.score_history``; this module only stores and reads them (only
``kamlib.data`` writes the store).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from kamlib.data.store import connect
from kamlib.errors import DataValidationError
from kamlib.periods import parse_date

__all__ = [
    "save_score_history",
    "save_target_group",
    "saved_score_history",
    "saved_target_group",
    "saved_target_groups",
]

_GROUPS_DDL = """
CREATE TABLE IF NOT EXISTS target_groups (
    "group" VARCHAR NOT NULL, kind VARCHAR, definition VARCHAR, rule VARCHAR,
    label_en VARCHAR, label_zh VARCHAR, description VARCHAR, as_of DATE NOT NULL,
    snapshot VARCHAR, methodology VARCHAR NOT NULL, basis VARCHAR, members BIGINT,
    saved_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS target_group_members (
    "group" VARCHAR NOT NULL, as_of DATE NOT NULL, snapshot VARCHAR,
    methodology VARCHAR NOT NULL, account_id VARCHAR NOT NULL, position BIGINT NOT NULL
);
"""
_SCORES_DDL = """
CREATE TABLE IF NOT EXISTS score_history (
    as_of DATE NOT NULL, snapshot VARCHAR NOT NULL, methodology VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL, score DOUBLE, tier VARCHAR, rank BIGINT,
    saved_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS score_contributions (
    as_of DATE NOT NULL, snapshot VARCHAR NOT NULL, methodology VARCHAR NOT NULL,
    account_id VARCHAR NOT NULL, indicator VARCHAR NOT NULL, contribution DOUBLE
);
"""
_RECORD = [
    "group", "kind", "definition", "rule", "label_en", "label_zh", "description", "as_of",
    "snapshot", "methodology", "basis", "members",
]  # fmt: skip
_MEMBERS = ["group", "as_of", "snapshot", "methodology", "account_id", "position"]
_SCORE = ["as_of", "account_id", "score", "tier", "rank"]
# a formation is identified by these; NULL snapshots compare equal
_SAME_GROUP = '"group" = ? AND as_of = ? AND snapshot IS NOT DISTINCT FROM ? AND methodology = ?'


# -- target groups -----------------------------------------------------------------------------
def save_target_group(store: str | Path, record: pd.DataFrame, members: pd.DataFrame) -> None:
    """Keep one formation of a target group (replacing the same formation saved before).

    Parameters
    ----------
    store
        The kamlib store (created by an import or ``kam demo``).
    record
        One row: ``TargetGroup.record()``.
    members
        ``TargetGroup.to_frame()``: one row per member (none for an empty group).

    Raises
    ------
    DataValidationError
        The store does not exist, or the frames lack columns / disagree on the formation.
    """
    _require_store(store)
    _require_columns(record, _RECORD, "the target group record")
    _require_columns(members, _MEMBERS, "the target group members")
    if len(record) != 1:
        raise DataValidationError(
            f"A target group record is one row (TargetGroup.record()); got {len(record)}."
        )
    rec = record[_RECORD].iloc[0]
    key = (str(rec["group"]), _day(rec["as_of"]), _text(rec["snapshot"]), str(rec["methodology"]))
    if len(members):
        other = members[["group", "as_of", "snapshot", "methodology"]].drop_duplicates()
        keys = {(str(g), _day(d), _text(s), str(m)) for g, d, s, m in other.itertuples(index=False)}
        if keys != {key}:
            raise DataValidationError(
                f"The members belong to another formation than the record {key}: {sorted(keys)}."
            )
    rows = record[_RECORD].copy()
    rows["as_of"] = pd.to_datetime(rows["as_of"]).dt.date
    rows["saved_at"] = pd.Timestamp.now().floor("s")
    mem = members[_MEMBERS].copy()
    mem["as_of"] = pd.to_datetime(mem["as_of"]).dt.date
    mem["position"] = mem["position"].astype("int64")
    with connect(store) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(_GROUPS_DDL)
            for table in ("target_groups", "target_group_members"):
                con.execute(f"DELETE FROM {table} WHERE {_SAME_GROUP}", list(key))
            con.register("_record", rows)
            con.execute(f"INSERT INTO target_groups SELECT {_cols(_RECORD)}, saved_at FROM _record")
            con.register("_members", mem)
            con.execute(f"INSERT INTO target_group_members SELECT {_cols(_MEMBERS)} FROM _members")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def saved_target_groups(store: str | Path) -> pd.DataFrame:
    """Every saved formation (one row each): the record columns plus ``saved_at``; newest
    ``as_of`` first, then by group name.  Empty when nothing was saved."""
    _require_store(store)
    with connect(store, read_only=True) as con:
        if not _has(con, "target_groups"):
            return pd.DataFrame(columns=[*_RECORD, "saved_at"])
        return con.execute(
            f"SELECT {_cols(_RECORD)}, saved_at FROM target_groups "
            'ORDER BY as_of DESC, "group", saved_at DESC'
        ).df()


def saved_target_group(
    store: str | Path,
    group: str,
    *,
    as_of: date | str | None = None,
    snapshot: str | None = None,
    methodology: str | None = None,
) -> pd.DataFrame:
    """The members of a saved group: ``account_id``, ``position``, in group order.

    The newest formation matching the filters is returned (``as_of`` exact date; ``None``:
    the latest date saved); its record is in ``frame.attrs["record"]`` (a dict).

    Raises
    ------
    DataValidationError
        No such formation saved; the message lists what is saved for that group.
    """
    _require_store(store)
    where, params = ['"group" = ?'], [group]
    for column, value in (("snapshot", snapshot), ("methodology", methodology)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if as_of is not None:
        where.append("as_of = ?")
        params.append(parse_date(as_of))
    with connect(store, read_only=True) as con:
        found = None
        if _has(con, "target_groups"):
            found = con.execute(
                f"SELECT {_cols(_RECORD)}, saved_at FROM target_groups WHERE "
                f"{' AND '.join(where)} ORDER BY as_of DESC, saved_at DESC LIMIT 1",
                params,
            ).df()
        if found is None or found.empty:
            saved = (
                con.execute(
                    'SELECT DISTINCT as_of FROM target_groups WHERE "group" = ? ORDER BY 1',
                    [group],
                ).fetchall()
                if _has(con, "target_groups")
                else []
            )
            dates = ", ".join(str(d[0]) for d in saved) or "none"
            raise DataValidationError(
                f"No saved formation of target group {group!r} in {store} matches "
                f"(as_of={as_of}, snapshot={snapshot}, methodology={methodology}). Saved dates "
                f"of this group: {dates}. Save one with `kam group save {group} --as-of DATE`."
            )
        rec = found.iloc[0].to_dict()
        members = con.execute(
            f"SELECT account_id, position FROM target_group_members WHERE {_SAME_GROUP} "
            "ORDER BY position",
            [rec["group"], _day(rec["as_of"]), _text(rec["snapshot"]), rec["methodology"]],
        ).df()
    members.attrs["record"] = rec
    return members


# -- score history -----------------------------------------------------------------------------
def save_score_history(
    store: str | Path, history: pd.DataFrame, *, snapshot: str, methodology: str
) -> int:
    """Keep scores and tiers per account and date (replacing those saved before for the
    same dates, snapshot and methodology).  Returns the number of score rows written.

    Parameters
    ----------
    store
        The kamlib store.
    history
        ``kamlib.scoring.score_history(...)`` (or one date's ``ScoreResult.scores`` with an
        ``as_of`` column): ``as_of, account_id, score, tier, rank``; every further numeric
        column is an indicator's weighted contribution.
    snapshot, methodology
        Fingerprints of the data and of the methodology file the scores came from.
    """
    _require_store(store)
    _require_columns(history, _SCORE, "the score history")
    frame = history.copy()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    if frame[["as_of", "account_id"]].duplicated().any():
        dup = frame.loc[frame[["as_of", "account_id"]].duplicated(), ["as_of", "account_id"]]
        first = dup.iloc[0]
        raise DataValidationError(
            f"The score history has {len(dup)} duplicate (as_of, account_id) rows, e.g. "
            f"{first['account_id']} on {first['as_of']}; score each account once per date."
        )
    contrib_cols = [
        c for c in frame.columns
        if c not in _SCORE and pd.api.types.is_numeric_dtype(frame[c])
    ]  # fmt: skip
    scores = frame[_SCORE].assign(snapshot=snapshot, methodology=methodology)
    scores["rank"] = scores["rank"].astype("Int64")
    scores["saved_at"] = pd.Timestamp.now().floor("s")
    contributions = frame.melt(
        id_vars=["as_of", "account_id"], value_vars=contrib_cols,
        var_name="indicator", value_name="contribution",
    ).assign(snapshot=snapshot, methodology=methodology)  # fmt: skip
    dates = sorted(set(frame["as_of"]))
    with connect(store) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(_SCORES_DDL)
            con.register("_dates", pd.DataFrame({"as_of": dates}))
            for table in ("score_history", "score_contributions"):
                con.execute(
                    f"DELETE FROM {table} WHERE snapshot = ? AND methodology = ? "
                    "AND as_of IN (SELECT as_of FROM _dates)",
                    [snapshot, methodology],
                )
            con.register("_scores", scores)
            con.execute(
                "INSERT INTO score_history SELECT as_of, snapshot, methodology, account_id, "
                "score, tier, rank, saved_at FROM _scores"
            )
            con.register("_contrib", contributions)
            con.execute(
                "INSERT INTO score_contributions SELECT as_of, snapshot, methodology, "
                "account_id, indicator, contribution FROM _contrib"
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return len(scores)


def saved_score_history(
    store: str | Path, *, snapshot: str | None = None, methodology: str | None = None
) -> pd.DataFrame:
    """Saved scores in the shape of ``kamlib.scoring.score_history``: ``as_of``
    (datetime64), ``account_id, score, tier, rank``, one column per indicator's
    contribution, plus ``snapshot`` and ``methodology``; sorted by date then rank.

    Without filters every saved row is returned; when one date was saved from several
    snapshots or methodologies, filter (the rows would otherwise mix).
    """
    _require_store(store)
    where, params = ["TRUE"], []
    for column, value in (("snapshot", snapshot), ("methodology", methodology)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = " AND ".join(where)
    with connect(store, read_only=True) as con:
        if not _has(con, "score_history"):
            return pd.DataFrame(columns=[*_SCORE, "snapshot", "methodology"])
        scores = con.execute(
            f"SELECT as_of, account_id, score, tier, rank, snapshot, methodology "
            f"FROM score_history WHERE {clause} ORDER BY as_of, rank, account_id",
            params,
        ).df()
        contrib = con.execute(
            f"SELECT as_of, account_id, snapshot, methodology, indicator, contribution "
            f"FROM score_contributions WHERE {clause}",
            params,
        ).df()
    keys = ["as_of", "account_id", "snapshot", "methodology"]
    if not contrib.empty:
        order = list(dict.fromkeys(contrib["indicator"]))
        wide = contrib.pivot_table(
            index=keys, columns="indicator", values="contribution", aggfunc="first", dropna=False
        )[order].reset_index()
        wide.columns.name = None
        scores = scores.merge(wide, on=keys, how="left")
    scores["as_of"] = pd.to_datetime(scores["as_of"])
    scores["rank"] = scores["rank"].astype("Int64")
    return scores


# -- helpers -----------------------------------------------------------------------------------
def _require_store(store: str | Path) -> None:
    if not Path(store).exists():
        raise DataValidationError(
            f"Store {store} does not exist. Build it with `kam demo --store {store}` or "
            f"`kam import FILES --store {store}`."
        )


def _require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{what} lacks column(s) {', '.join(missing)}.")


def _has(con, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()[0]
    )


def _cols(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _day(value: object) -> date:
    return parse_date(value, parameter="as_of")


def _text(value: object) -> str | None:
    return (
        None if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)
    )
