"""The event log of the opportunities and the open pipeline at the end of a day.

Everything in :mod:`kamlib.pipeline` reads the cleaned log :func:`stage_events` builds.

Bad input and how it is handled (each counted in ``stage_events(...).notices`` and announced
with one :class:`~kamlib.errors.DataQualityWarning` per call that meets it)
------------------------------------------------------------------------------------------
- *Unknown stage* (not a key or alias of the methodology file; the importer already
  quarantines these, so only hand-built data meets it): a history row is ignored (the deal
  stays in the stage before it); an opportunity's current stage becomes ``"unknown"``.
- *History rows out of time order*: sorted by ``entered_at`` (ties keep file order).
- *Skipped stages* (solution → negotiation): kept; the deal counts as having passed the
  skipped stage for earlier cohorts but never enters the skipped stage's cohort (a notice
  only: many processes allow it, so it raises no warning).
- *A deal moved back* (quote → solution): kept; it re-enters the earlier stage.
- *Re-opened after lost / won*: open again from the re-opening row; its outcome is its last
  close.  A deal with a closing row and no later row stays closed.
- *No history rows for an opportunity* (while others have them): its events come from the
  opportunities table, as above.
- *Closed in the opportunities table, no closing history row*: closed on ``closed_date``.
- *Won without an amount*: counted in deal counts, left out of amount totals (NaN stays NaN).
- *Close date before creation*: history rows before ``created_date`` move the deal's start to
  the first row; a ``closed_date`` before ``created_date`` closes the deal on its creation day
  (it is never in a pipeline, its cycle time is not counted); an expected close date before
  creation is kept (it is a slip).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.errors import DataQualityWarning, DataValidationError
from kamlib.methodology import Methodology, normalise_label, resolve_methodology
from kamlib.periods import as_day

UNKNOWN_STAGE = "unknown"
_DAY = pd.Timedelta(days=1)

#: Columns of :func:`pipeline_as_of`, in order.
PIPELINE_COLUMNS: tuple[str, ...] = (
    "opportunity_id", "account_id", "name", "product_line", "owner", "team", "source",
    "created_date", "stage", "stage_order", "stage_entered_date", "amount",
    "expected_close_date", "age_days", "days_in_stage", "is_past_due",
)  # fmt: skip

_NOTICE_COLUMNS = ["check", "table", "rows", "example", "handling"]


# -- the event log -------------------------------------------------------------------------
@dataclass(frozen=True)
class StageEvents:
    """The cleaned event log of every opportunity, and what was done to get it.

    ``events`` has one row per event, sorted by ``opportunity_id`` then ``entered_at``:
    ``opportunity_id``, ``stage`` (canonical key, ``"unknown"`` where the data does not say),
    ``stage_order`` (position among the open stages, 0 first; won = number of open stages,
    lost = that + 1; ``-1`` for unknown), ``status`` (open / won / lost), ``entered_at``
    (timestamp), ``day`` (its date), ``amount`` and ``expected_close_date`` (as recorded on
    the row, carried forward from earlier rows of the deal where the row has none),
    ``is_entry`` (the row enters a new stage rather than revising amount / date),
    ``stage_entered_at`` (when the current stint in the stage began) and ``origin``
    (``"stage_history"`` or ``"opportunities"``: rows made up from the opportunities table).

    ``opportunities`` is the opportunities table with ``start_date`` (``created_date``, or the
    first event's day when history starts earlier) and ``stage`` canonical.  ``source`` is
    ``"stage_history"`` when the data has a stage_history table, else ``"opportunities"``.
    ``notices`` lists each data-quality finding: ``check``, ``table``, ``rows``, ``example``,
    ``handling``.
    """

    events: pd.DataFrame = field(repr=False)
    opportunities: pd.DataFrame = field(repr=False)
    source: str
    notices: pd.DataFrame = field(repr=False)
    open_stages: tuple[str, ...]

    @property
    def n_open(self) -> int:
        return len(self.open_stages)


class _QualityNotes:
    """The data-quality findings met while cleaning the event log: part of the analysis
    result (``StageEvents.notices``, ``attrs["notices"]`` of :func:`pipeline_as_of`), one
    row per check that found rows.  ``problems`` counts the findings that are data errors
    rather than facts of the process (skipped stages, no stage history), which
    :func:`stage_events` announces with one :class:`~kamlib.errors.DataQualityWarning`.
    Not report notices: translating and showing them is the views' job."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self.problems = 0
        self.problem_checks: list[str] = []

    def add(
        self,
        check: str,
        table: str,
        rows: int,
        example: object,
        handling: str,
        *,
        problem: bool = True,
    ) -> None:
        if rows:
            self.rows.append(
                {"check": check, "table": table, "rows": int(rows),
                 "example": "" if example is None else str(example), "handling": handling}
            )  # fmt: skip
            self.problems += int(problem)
            if problem:
                self.problem_checks.append(check)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=_NOTICE_COLUMNS)


def _isin(values: pd.Series | pd.Index | np.ndarray, candidates: object) -> np.ndarray:
    """``values.isin(candidates)`` for text ids, hashed by Arrow (pandas 3 checks an Arrow
    string column against a long candidate list element by element in Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(x: object) -> pa.Array:
        arr = x.array if isinstance(x, pd.Series | pd.Index) else np.asarray(x, dtype=object)
        out = pa.array(arr, from_pandas=True)
        if isinstance(out, pa.ChunkedArray):
            out = out.combine_chunks()
        return out.cast(pa.string()) if out.type != pa.string() else out

    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    hit = pc.is_in(arrow(values), value_set=arrow(candidates))
    return hit.to_numpy(zero_copy_only=False).astype(bool)


def _first(ids: pd.Series, mask: pd.Series | np.ndarray) -> object:
    hit = ids[np.asarray(mask)]
    return hit.iloc[0] if len(hit) else None


def _canonical(values: pd.Series, meth: Methodology) -> pd.Series:
    """Stage labels → canonical keys (NA where unknown)."""
    lookup = meth.stage_lookup()
    uniq = values.dropna().unique()
    mapping = {}
    for u in uniq:
        stage = lookup.get(normalise_label(u))
        mapping[u] = stage.key if stage is not None else None
    return values.map(mapping)


def stage_events(
    data: KamData, *, methodology: Methodology | str | Path | None = None
) -> StageEvents:
    """The cleaned event log of the opportunities (see :class:`StageEvents`).

    Parameters
    ----------
    data
        Needs ``opportunities``; ``stage_history`` where present.
    methodology
        Stages and their aliases (default: kamlib's methodology file).

    Returns
    -------
    StageEvents
        Events, opportunities, the source used and the data-quality notices.
    """
    meth = resolve_methodology(methodology, owner="stage_events")
    opps = data.require("opportunities", "The pipeline analysis")
    notes = _QualityNotes()
    open_keys = tuple(s.key for s in meth.open_stages)
    order = {s.key: s.order for s in meth.stages}
    status_of = {s.key: s.status for s in meth.stages}
    n_open = len(open_keys)

    opps = opps.sort_values("opportunity_id", kind="mergesort").reset_index(drop=True)
    raw_stage = opps["stage"]
    stage = _canonical(raw_stage, meth)
    bad = (
        stage.isna() & raw_stage.notna() & (raw_stage != UNKNOWN_STAGE).to_numpy()
    )  # as_of()'s own
    notes.add("unknown stage", "opportunities", bad.sum(), _first(raw_stage, bad),
              "current stage shown as 'unknown'; add the label to the stage aliases of the "
              "methodology file")  # fmt: skip
    opps["stage"] = stage.fillna(UNKNOWN_STAGE)
    for col in ("created_date", "closed_date", "expected_close_date"):
        opps[col] = pd.to_datetime(opps[col]).dt.normalize().astype("datetime64[us]")
    opps["amount"] = opps["amount"].astype("float64")
    ids = opps["opportunity_id"]

    has_history = data.has("stage_history")
    source = "stage_history" if has_history else "opportunities"
    if has_history:
        hist = data.stage_history
        known = pd.Series(_isin(hist["opportunity_id"], ids), index=hist.index)
        notes.add("history of an unknown opportunity", "stage_history", (~known).sum(),
                  _first(hist["opportunity_id"], ~known), "rows ignored")  # fmt: skip
        hist = hist[known]
        hstage = _canonical(hist["stage"], meth)
        unknown = hstage.isna()
        notes.add("unknown stage", "stage_history", unknown.sum(),
                  _first(hist["stage"], unknown),
                  "row ignored: the deal stays in the stage before it; add the label to the "
                  "stage aliases of the methodology file")  # fmt: skip
        hist = hist.assign(stage=hstage)[~unknown.to_numpy()]
        hist = pd.DataFrame(
            {
                "opportunity_id": hist["opportunity_id"].astype("str"),
                "stage": hist["stage"].astype("str"),
                "entered_at": pd.to_datetime(hist["entered_at"]).astype("datetime64[us]"),
                "amount": hist["amount"].astype("float64"),
                "expected_close_date": pd.to_datetime(hist["expected_close_date"])
                .dt.normalize()
                .astype("datetime64[us]"),
                "origin": "stage_history",
            }
        )
        if len(hist):
            same = hist["opportunity_id"].to_numpy()[1:] == hist["opportunity_id"].to_numpy()[:-1]
            back = same & (hist["entered_at"].to_numpy()[1:] < hist["entered_at"].to_numpy()[:-1])
            grouped = hist["opportunity_id"].is_monotonic_increasing
            n_out = int(back.sum()) if grouped else int(
                (hist.groupby("opportunity_id", sort=False)["entered_at"]
                 .apply(lambda s: (s.diff() < pd.Timedelta(0)).sum())).sum()
            )  # fmt: skip
            notes.add("history out of time order", "stage_history", n_out,
                      _first(hist["opportunity_id"].iloc[1:].reset_index(drop=True),
                             back) if grouped else None,
                      "rows sorted by entered_at")  # fmt: skip
    else:
        hist = pd.DataFrame(
            {"opportunity_id": pd.Series(dtype="str"), "stage": pd.Series(dtype="str"),
             "entered_at": pd.Series(dtype="datetime64[us]"),
             "amount": pd.Series(dtype="float64"),
             "expected_close_date": pd.Series(dtype="datetime64[us]"),
             "origin": pd.Series(dtype="str")}
        )  # fmt: skip
        notes.add("no stage history", "stage_history", len(opps), None,
                  "events taken from the opportunities table: a deal is open in its current "
                  "stage from created_date ('unknown' stage for closed deals) until "
                  "closed_date; amounts and expected close dates are today's", problem=False)  # fmt: skip

    # closed_date before created_date
    before = opps["closed_date"].notna() & (opps["closed_date"] < opps["created_date"])
    notes.add("closed before created", "opportunities", before.sum(), _first(ids, before),
              "closed on its creation day: never in a pipeline, no cycle time")  # fmt: skip
    ecd_before = opps["expected_close_date"].notna() & (
        opps["expected_close_date"] < opps["created_date"]
    )
    notes.add("expected close before created", "opportunities", ecd_before.sum(),
              _first(ids, ecd_before), "kept (counted as slip)")  # fmt: skip
    closed_at = opps["closed_date"].where(~before, opps["created_date"])
    is_closed = opps["status"].isin(["won", "lost"])
    undated = is_closed & closed_at.isna()
    notes.add("closed without closed_date", "opportunities", undated.sum(), _first(ids, undated),
              "closed from its creation day when the history does not say otherwise")  # fmt: skip
    closed_at = closed_at.where(~undated, opps["created_date"])
    won_no_amount = (opps["status"] == "won") & opps["amount"].isna()
    notes.add("won without amount", "opportunities", won_no_amount.sum(),
              _first(ids, won_no_amount),
              "counted in deal counts, left out of amount totals")  # fmt: skip

    # rows made up from the opportunities table for deals without history
    with_hist = pd.Series(_isin(ids, hist["opportunity_id"]), index=ids.index)
    if has_history:
        notes.add("no history rows", "stage_history", (~with_hist).sum(), _first(ids, ~with_hist),
                  "events taken from the opportunities table")  # fmt: skip
    bare = opps[~with_hist.to_numpy()]
    open_stage = bare["stage"].where(bare["status"] == "open", UNKNOWN_STAGE)
    open_stage = open_stage.where(~bare["stage"].isin(["won", "lost"]) | (bare["status"] != "open"),
                                  UNKNOWN_STAGE)  # fmt: skip
    made = [
        pd.DataFrame(
            {
                "opportunity_id": bare["opportunity_id"],
                "stage": open_stage,
                "entered_at": bare["created_date"],
                "amount": bare["amount"],
                "expected_close_date": bare["expected_close_date"],
                "origin": "opportunities",
            }
        )  # fmt: skip
    ]
    closing = is_closed & closed_at.notna()
    # deals with history but no closing row after the last open row: close them
    if len(hist):
        last = (
            hist.sort_values(["opportunity_id", "entered_at"], kind="mergesort")
            .groupby("opportunity_id", sort=False)
            .tail(1)
            .set_index("opportunity_id")
        )
        last_stage = ids.map(last["stage"])
        last_time = ids.map(last["entered_at"])
        needs_close = with_hist & closing & ~last_stage.isin(["won", "lost"])
        notes.add("closed without a closing history row", "stage_history", needs_close.sum(),
                  _first(ids, needs_close), "closed on the opportunity's closed_date")  # fmt: skip
        late = needs_close & (closed_at < last_time.dt.normalize())
        closed_at = closed_at.where(~late, last_time)
        close_rows = ~with_hist & closing | needs_close
    else:
        close_rows = closing
    c = opps[close_rows.to_numpy()]
    made.append(
        pd.DataFrame(
            {
                "opportunity_id": c["opportunity_id"],
                "stage": c["status"],
                "entered_at": closed_at[close_rows.to_numpy()],
                "amount": c["amount"],
                "expected_close_date": pd.Series(pd.NaT, index=c.index, dtype="datetime64[us]"),
                "origin": "opportunities",
            }
        )  # fmt: skip
    )
    ev = pd.concat([hist, *made], ignore_index=True)
    ev["entered_at"] = ev["entered_at"].astype("datetime64[us]")
    ev["expected_close_date"] = ev["expected_close_date"].astype("datetime64[us]")
    ev = ev.sort_values(["opportunity_id", "entered_at"], kind="mergesort").reset_index(drop=True)
    ev["stage_order"] = ev["stage"].map(order).fillna(-1).astype("int64")
    ev["status"] = ev["stage"].map(status_of).fillna("open").astype("str")
    ev["day"] = ev["entered_at"].dt.normalize()
    opp_arr = ev["opportunity_id"].to_numpy()
    new_opp = np.r_[True, opp_arr[1:] != opp_arr[:-1]]
    st = ev["stage"].to_numpy()
    changed = new_opp | np.r_[True, st[1:] != st[:-1]]
    ev["is_entry"] = changed
    run = np.cumsum(changed)
    ev["stage_entered_at"] = ev.groupby(run)["entered_at"].transform("first")
    g = ev.groupby("opportunity_id", sort=False)
    ev["amount"] = g["amount"].ffill()
    ev["expected_close_date"] = g["expected_close_date"].ffill()

    # quality of the history itself
    if has_history and len(ev):
        prev_status = np.concatenate([[""], ev["status"].to_numpy(dtype=object)[:-1]])
        prev_order = np.r_[-1, ev["stage_order"].to_numpy()[:-1]]
        status = ev["status"].to_numpy(dtype=object)
        so = ev["stage_order"].to_numpy()
        cont = ~new_opp & changed
        reopened = cont & np.isin(prev_status, ["won", "lost"]) & (status == "open")
        notes.add("re-opened after closing", "stage_history", reopened.sum(),
                  _first(ev["opportunity_id"], reopened),
                  "open again from the re-opening row; the outcome is the last close")  # fmt: skip
        both_open = (
            cont & (prev_status == "open") & (status == "open") & (prev_order >= 0) & (so >= 0)
        )
        back = both_open & (so < prev_order)
        notes.add("moved back a stage", "stage_history", back.sum(),
                  _first(ev["opportunity_id"], back), "kept: the deal re-enters the earlier stage")  # fmt: skip
        skip = (both_open & (so > prev_order + 1)) | (
            cont & (prev_status == "open") & (status == "won") & (prev_order >= 0)
            & (prev_order < n_open - 1)
        )  # fmt: skip
        notes.add("skipped stages", "stage_history", skip.sum(), _first(ev["opportunity_id"], skip),
                  "kept: counts as passing the skipped stages, never enters their cohorts",
                  problem=False)  # fmt: skip
    start = opps["created_date"]
    first_of = ids.map(ev.groupby("opportunity_id", sort=False)["day"].min())
    early = first_of.notna() & (first_of < start)
    notes.add("history before created_date", "stage_history", early.sum(), _first(ids, early),
              "the deal starts at its first history row")  # fmt: skip
    opps["start_date"] = start.where(~early, first_of).astype("datetime64[us]")
    won_hist = (ev["status"] == "won") & ev["amount"].isna() & (ev["origin"] == "stage_history")
    won_hist_ids = set(ev.loc[won_hist, "opportunity_id"]) - set(ids[won_no_amount])
    notes.add("won without amount", "stage_history", len(won_hist_ids),
              next(iter(sorted(won_hist_ids)), None),
              "counted in deal counts, left out of amount totals")  # fmt: skip

    frame = notes.frame()
    if notes.problems:
        shown = frame[frame["check"].isin(notes.problem_checks)]
        text = "; ".join(
            f"{r.check} ({r.table}): {r.rows:,} rows, {r.handling}" for r in shown.itertuples()
        )
        warnings.warn(f"Pipeline data quality: {text}.", DataQualityWarning, stacklevel=3)
    return StageEvents(
        events=ev, opportunities=opps, source=source, notices=frame, open_stages=open_keys
    )


def _events(
    data: KamData | StageEvents,
    methodology: Methodology | str | Path | None,
    *,
    owner: str,
) -> StageEvents:
    """The event log of ``data`` (as given when it is one already) for the public function
    ``owner``, which names itself in the errors."""
    if isinstance(data, StageEvents):
        return data
    if not isinstance(data, KamData):
        raise DataValidationError(
            f"Expected a KamData (kamlib.data.load) or StageEvents. Got {type(data).__name__} "
            "instead."
        )
    return stage_events(data, methodology=resolve_methodology(methodology, owner=owner))


# -- the pipeline as of a date --------------------------------------------------------------------
def _state_at(se: StageEvents, as_of: pd.Timestamp) -> pd.DataFrame:
    """The last event of every deal started by ``as_of`` (its state at the end of the day)."""
    ev = se.events
    seen = ev[ev["entered_at"] < as_of + _DAY]
    state = seen.groupby("opportunity_id", sort=False).tail(1)
    started = se.opportunities.loc[se.opportunities["start_date"] <= as_of, "opportunity_id"]
    # created by as_of but its first event comes later: the first event's stage
    missing = started[~_isin(started, state["opportunity_id"])]
    if len(missing):
        first = (
            ev[_isin(ev["opportunity_id"], missing)].groupby("opportunity_id", sort=False).head(1)
        )
        first = first[first["status"] == "open"]
        state = pd.concat([state, first], ignore_index=True)
    state = state[_isin(state["opportunity_id"], started)]
    return state.sort_values("opportunity_id", kind="mergesort").reset_index(drop=True)


def pipeline_as_of(
    data: KamData | StageEvents,
    as_of: object,
    *,
    methodology: Methodology | str | Path | None = None,
) -> pd.DataFrame:
    """The open pipeline at the end of day ``as_of``, without look-ahead.

    A deal is open when it was created on or before ``as_of`` and its last event by the end of
    that day is an open stage: a deal closed later is open again, in the stage, with the amount
    and expected close date it had then.

    Parameters
    ----------
    data
        The data (needs ``opportunities``; ``stage_history`` where present), or the
        :class:`StageEvents` of :func:`stage_events` to save rebuilding them.
    as_of
        The date (end of day).
    methodology
        Stages (default: kamlib's methodology file).

    Returns
    -------
    pandas.DataFrame
        One row per open opportunity, sorted by ``opportunity_id``: ``opportunity_id``,
        ``account_id``, ``name``, ``product_line``, ``owner``, ``team``, ``source`` (the lead
        source), ``created_date``, ``stage`` (canonical key; ``"unknown"`` where the data does
        not say), ``stage_order`` (position among the open stages, 0 first; -1 unknown),
        ``stage_entered_date``, ``amount`` (as recorded by ``as_of``, else the opportunity's
        amount; NaN when unknown), ``expected_close_date`` (as recorded by ``as_of``),
        ``age_days``, ``days_in_stage``, ``is_past_due`` (expected close before ``as_of``).
        ``attrs["source"]`` is ``"stage_history"`` or ``"opportunities"`` (no history: stages,
        amounts and dates are today's); ``attrs["notices"]`` lists the data-quality notices,
        including the count of open deals without an amount or expected close date.

    Examples
    --------
    >>> pipe = pipeline_as_of(load("data/demo.duckdb"), "2026-06-30")  # doctest: +SKIP
    >>> pipe.groupby("stage")["amount"].sum()  # doctest: +SKIP
    """
    se = _events(data, methodology, owner="pipeline_as_of")
    day = as_day(as_of, parameter="as_of", owner="pipeline_as_of")
    state = _state_at(se, day)
    state = state[state["status"] == "open"]
    opps = se.opportunities.set_index("opportunity_id")
    ids = state["opportunity_id"]
    o = opps.loc[ids.to_numpy()]
    amount = state["amount"].to_numpy()
    amount = np.where(np.isnan(amount), o["amount"].to_numpy(dtype=float), amount)
    ecd = state["expected_close_date"].to_numpy()
    ecd_now = o["expected_close_date"].to_numpy()
    ecd = np.where(pd.isna(ecd), ecd_now, ecd)
    stage_entered = state["stage_entered_at"].dt.normalize().to_numpy()
    start = o["start_date"].to_numpy()
    out = pd.DataFrame(
        {
            "opportunity_id": ids.to_numpy(),
            "account_id": o["account_id"].to_numpy(),
            "name": o["name"].to_numpy(),
            "product_line": o["product_line"].to_numpy(),
            "owner": o["owner"].to_numpy(),
            "team": o["team"].to_numpy(),
            "source": o["source"].to_numpy(),
            "created_date": o["created_date"].to_numpy(),
            "stage": state["stage"].to_numpy(),
            "stage_order": state["stage_order"].to_numpy(dtype="int64"),
            "stage_entered_date": stage_entered,
            "amount": amount.astype("float64"),
            "expected_close_date": ecd,
        }
    )
    for col in (
        "account_id",
        "name",
        "product_line",
        "owner",
        "team",
        "source",
        "opportunity_id",
        "stage",
    ):
        out[col] = out[col].astype("str").where(out[col].notna(), None)
    for col in ("created_date", "stage_entered_date", "expected_close_date"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    out["age_days"] = (
        ((day - pd.to_datetime(start)).days).astype("int64")
        if len(out)
        else pd.Series(dtype="int64")
    )
    out["days_in_stage"] = (day - out["stage_entered_date"]).dt.days.astype("int64")
    out["is_past_due"] = (out["expected_close_date"] < day).fillna(False).astype(bool)
    notes = _QualityNotes()
    notes.rows = list(se.notices.to_dict("records"))
    notes.add("open deal without amount", "opportunities", int(out["amount"].isna().sum()),
              _first(out["opportunity_id"], out["amount"].isna()),
              "amount left missing (NaN): not in amount totals", problem=False)  # fmt: skip
    no_ecd = out["expected_close_date"].isna()
    notes.add("open deal without expected close date", "opportunities", int(no_ecd.sum()),
              _first(out["opportunity_id"], no_ecd), "is_past_due False", problem=False)  # fmt: skip
    unknown = out["stage"] == UNKNOWN_STAGE
    notes.add("open deal in an unknown stage", "opportunities", int(unknown.sum()),
              _first(out["opportunity_id"], unknown),
              "stage 'unknown', stage_order -1 (no history for that date)", problem=False)  # fmt: skip
    out.attrs["source"] = se.source
    out.attrs["as_of"] = day
    out.attrs["notices"] = notes.frame()
    return out
