"""The registry record that holds for each account on a date: the newest retrieval.

``firmographics`` keeps every retrieval (one row per account, source and ``retrieved_at``:
the registry's history is itself a record).  What the reports show of an account on a date
is the newest retrieval on or before that date (:func:`current_firmographics`); the portfolio
review's company size and the dossier's company profile both read it through here, so they
agree on which record counts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from kamlib.periods import as_day

__all__ = ["current_firmographics"]


def current_firmographics(firmographics: pd.DataFrame, *, as_of: Any = None) -> pd.DataFrame:
    """One row per account: its newest ``firmographics`` retrieval on or before ``as_of``.

    Parameters
    ----------
    firmographics
        Rows of the ``firmographics`` table (any number of retrievals and sources per
        account); needs ``account_id``, ``source`` and ``retrieved_at``.
    as_of
        Retrievals after this day are ignored (``None``: every row counts, as for a frame
        already cut by :meth:`kamlib.data.KamData.as_of`).

    Returns
    -------
    pandas.DataFrame
        The same columns, one row per account, sorted by ``account_id``.  Two sources
        retrieved on the same day: the higher ``match_confidence`` wins, then the source name
        (alphabetical), so the choice never depends on row order.

    Examples
    --------
    >>> current_firmographics(data.firmographics, as_of="2026-09-30")  # doctest: +SKIP
    """
    frame = firmographics
    if as_of is not None:
        day = as_day(as_of, owner="current_firmographics")
        frame = frame[pd.to_datetime(frame["retrieved_at"]) <= day]
    if frame.empty:
        return frame.iloc[0:0].reset_index(drop=True)
    confidence = (
        pd.to_numeric(frame["match_confidence"], errors="coerce")
        if "match_confidence" in frame
        else pd.Series(0.0, index=frame.index)
    )
    ranked = frame.assign(_confidence=confidence.fillna(-1.0)).sort_values(
        ["account_id", "retrieved_at", "_confidence", "source"],
        ascending=[True, False, False, True],
        kind="mergesort",
    )
    newest = ranked.drop_duplicates("account_id", keep="first")
    return newest.drop(columns="_confidence").reset_index(drop=True)
