"""Which registry record holds for an account on a date: one rule for the score and the reports.

``firmographics`` keeps every retrieval (one row per account, source and ``retrieved_at``: the
registry's history is itself a record).  For an account and an as-of date the record that
counts is

1. the newest retrieval on or before the as-of date (compared by the retrieval's day, so a
   record fetched during the as-of day counts);
2. when every retrieval is later, the **earliest** one.  Registry facts such as the founding
   date do not change with the day they were looked up, and a registry export is usually taken
   once, after the history it is scored over; without the fall-back a back-test as of last year
   would have no registry data at all.  The capital and headcount of that record may be newer
   than the as-of date: that is the price, and every report shows the retrieval date beside the
   record;
3. two retrievals on the same day: the higher ``match_confidence`` wins (missing counts as
   lowest), then the source name (alphabetical), then the later ``retrieved_at``, so the choice
   never depends on row order.

The rule is written once, as an Ibis expression (:func:`chosen_records`), which the account
features run on every engine (:mod:`kamlib.features.registry`); :func:`record_as_of` runs the
same expression on a pandas frame for the reports (the portfolio review's company size, the
dossier's registry profile), so the score and the reports always read the same record.
:meth:`kamlib.data.KamData.as_of` keeps the rows the rule can still choose
(:func:`kept_at_cut`), so a cut ``KamData`` gives the same answer as the whole table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from kamlib.periods import as_day

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["chosen_records", "kept_at_cut", "record_as_of"]


def chosen_records(firmographics: ir.Table, dates: ir.Table) -> ir.Table:
    """Per (``k``, account): the ``firmographics`` row the rule picks for date ``k``.

    Parameters
    ----------
    firmographics
        Needs ``account_id``, ``source``, ``retrieved_at`` (timestamp or date) and
        ``match_confidence`` (may be NULL).
    dates
        Needs ``k`` (any key) and ``as_of`` (date).

    Returns
    -------
    ibis.Table
        ``firmographics``' columns plus ``k`` and ``as_of``, one row per (k, account) that has
        any retrieval.
    """
    import ibis

    f = firmographics.mutate(
        _retrieved=firmographics.retrieved_at.cast("date"),
        _records=firmographics.count().over(group_by=firmographics.account_id),
    )
    when = dates.select("k", "as_of")
    # an account with one record has it at every date: no ranking (most accounts)
    one = f.filter(f._records == 1).cross_join(when)
    j = f.filter(f._records > 1).cross_join(when)
    before = j._retrieved <= j.as_of
    age = j.as_of.delta(j._retrieved, unit="day")  # ≥ 0 on or before, < 0 after
    rank = ibis.row_number().over(
        group_by=[j.k, j.account_id],
        order_by=[
            before.desc(),
            ibis.ifelse(before, age, -age).asc(),  # newest before, else earliest after
            j.match_confidence.cast("float64").coalesce(-1.0).desc(),
            j.source.asc(),
            j.retrieved_at.desc(),
        ],
    )
    ranked = j.mutate(_rank=rank)
    many = ranked.filter(ranked._rank == 0).drop("_rank")
    return one.union(many.select(*one.columns)).drop("_retrieved", "_records")


def record_as_of(firmographics: pd.DataFrame, *, as_of: Any = None) -> pd.DataFrame:
    """One row per account: the ``firmographics`` row the rule picks for ``as_of``.

    Parameters
    ----------
    firmographics
        Rows of the ``firmographics`` table (any number of retrievals and sources per
        account); needs ``account_id``, ``source`` and ``retrieved_at``.
    as_of
        The date (``None``: the newest retrieval of each account).

    Returns
    -------
    pandas.DataFrame
        The same columns and types, one row per account, sorted by ``account_id``.

    Examples
    --------
    >>> record_as_of(data.firmographics, as_of="2026-09-30")  # doctest: +SKIP
    """
    if firmographics.empty:
        return firmographics.iloc[0:0].reset_index(drop=True)
    import ibis

    retrieved = pd.to_datetime(firmographics["retrieved_at"])
    day = (
        retrieved.max().normalize()
        if as_of is None
        else as_day(as_of, parameter="as_of", owner="record_as_of")
    )
    confidence = (
        pd.to_numeric(firmographics["match_confidence"], errors="coerce")
        if "match_confidence" in firmographics
        else pd.Series(np.nan, index=firmographics.index)
    )
    keys = pa.table(
        {
            "row": np.arange(len(firmographics), dtype="int64"),
            "account_id": pa.array(firmographics["account_id"].astype(str).tolist(), pa.string()),
            "source": pa.array(firmographics["source"].astype(str).tolist(), pa.string()),
            "retrieved_at": retrieved.to_numpy(dtype="datetime64[us]"),
            "match_confidence": confidence.astype("float64").to_numpy(),
        }
    )
    dates = ibis.memtable(pa.table({"k": [0], "as_of": pa.array([day.date()], pa.date32())}))
    chosen = chosen_records(ibis.memtable(keys), dates).select("account_id", "row")
    rows = chosen.to_pyarrow().sort_by("account_id")["row"].to_numpy()
    return firmographics.iloc[rows].reset_index(drop=True)


def kept_at_cut(firmographics: pd.DataFrame, cut: pd.Timestamp) -> pd.Series:
    """Which rows a ``KamData`` cut at the end of ``cut`` keeps: every retrieval on or before
    the day, and for an account with none, its earliest day's retrievals — the rows
    :func:`chosen_records` can still pick for a date up to ``cut``."""
    day = pd.to_datetime(firmographics["retrieved_at"]).dt.normalize()
    before = day <= cut
    earliest = day.groupby(firmographics["account_id"]).transform("min")
    any_before = before.groupby(firmographics["account_id"]).transform("any")
    return before | (~any_before & (day == earliest))
