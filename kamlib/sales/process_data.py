"""The sales process as known at a date: deals, their stage passages, tasks and competitors.

Every analysis of :mod:`kamlib.sales` reads one :class:`SalesProcessData`, built once per
as-of date by :func:`sales_process_data` (from a :class:`~kamlib.data.KamData` and the
methodology's ``playbooks`` section) or :func:`sales_process_frames` (from frames in the
canonical shapes, e.g. hand-made ones).

No look-ahead: everything is cut at the end of ``as_of``
-----------------------------------------------------------
- deals created after ``as_of`` do not exist; a deal closed after it is open, in the stage
  the stage history shows for that day (:meth:`KamData.as_of`); its ``lost_to`` and
  ``lost_reason`` are not known yet;
- stage entries after ``as_of`` are not seen, so a stage the deal was still in at ``as_of``
  has no exit time;
- a task created after ``as_of`` does not exist; a task done after it is not done
  (``done_at`` NaT); a task with status ``done`` but no ``done_date`` cannot be placed in time
  and counts as not done (a notice says how many);
- contacts' ``support`` and ``buying_role`` are today's values (the contacts table keeps no
  history): bid readiness of a past date reads them as they are now.

Stage passages (:attr:`SalesProcessData.passages`)
--------------------------------------------------
One row per deal and open stage the deal *reached*: it entered the stage, or jumped past it
(a skipped stage, e.g. solution → negotiation skips quote; a move from an open stage straight
to won skips every later open stage).  Stages before a deal's first recorded stage were not
reached (the data does not say).  A stage is *passed* when the deal first moved forward out of
it — to a later open stage or to won — or jumped over it; that moment is the gate its
required tasks are checked against.  A deal lost while in a stage did not pass it.  This
follows :func:`kamlib.pipeline.stage_events` (skipped stages and backward moves are kept).

Sales processes
---------------
A deal's ``sales_process`` names its playbook (``tender``, ``framework``, ``direct`` …).  A deal
without one, or with a process the playbooks do not know, is assessed against the default
process — the first of the playbooks' processes unless ``default_process`` says otherwise —
and ``process_assumed`` is true for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kamlib.data import KamData, Snapshot
from kamlib.data.schemas import TABLES, conform
from kamlib.errors import ConfigError, DataValidationError, MissingTableError
from kamlib.frames import isin, require_columns
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.methodology.playbooks import CHECKLIST_CONDITIONS
from kamlib.periods import as_day
from kamlib.pipeline import StageEvents, stage_events

_DAY = pd.Timedelta(days=1)

#: Columns of :attr:`SalesProcessData.deals`, in order.
DEAL_COLUMNS: tuple[str, ...] = (
    "opportunity_id", "account_id", "owner", "team", "amount", "sales_process", "process",
    "process_assumed", "status", "stage", "started_at", "closed_at", "lost_to", "lost_reason",
)  # fmt: skip

#: Columns of :attr:`SalesProcessData.passages`, in order.
PASSAGE_COLUMNS: tuple[str, ...] = (
    "opportunity_id", "stage", "stage_order", "reached_at", "entered", "skipped", "passed_at",
    "lost_here",
)  # fmt: skip

#: Columns of :attr:`SalesProcessData.moves`, in order.
MOVE_COLUMNS: tuple[str, ...] = ("opportunity_id", "kind", "stage", "to_stage", "at")

#: Columns of the playbook frame (``Playbooks.tasks_frame()``).
PLAYBOOK_COLUMNS: tuple[str, ...] = (
    "sales_process", "stage", "task", "kind", "required", "expected_days",
)  # fmt: skip

#: Columns of the checklist frame (``Playbooks.checklist_frame()``).
CHECKLIST_COLUMNS: tuple[str, ...] = ("item", "weight", "task", "condition")


_TASK_COLUMNS = ("opportunity_id", "task", "created_date", "done_date", "status")
_COMPETITOR_COLUMNS = ("opportunity_id", "competitor")


@dataclass(frozen=True)
class SalesProcessData:
    """What the sales-process analyses read, as known at the end of ``as_of``.

    Attributes
    ----------
    as_of
        The date (end of day).
    deals
        One row per opportunity created by ``as_of`` (:data:`DEAL_COLUMNS`): ``status`` and
        ``stage`` as of then (for a closed deal ``stage`` is the open stage it closed from),
        ``process`` the playbook used (``process_assumed`` when the deal did not name a
        known one), ``started_at`` its first event, ``closed_at`` the close (NaT while
        open), ``lost_to`` (a competitor, ``"no decision"`` or NA; only for lost deals).
    passages
        One row per deal and open stage it reached (:data:`PASSAGE_COLUMNS`; see the
        module docstring).
    moves
        The irregular moves (:data:`MOVE_COLUMNS`): ``kind`` ``"back"`` (from ``stage`` back
        to ``to_stage``) or ``"skip"`` (``stage`` jumped over on the way to ``to_stage``).
    done_tasks
        One row per deal and task code done by ``as_of``: ``opportunity_id``, ``task``,
        ``done_at`` (the earliest ``done_date``).  ``None`` without a tasks table.
    competitors
        The ``opportunity_competitors`` rows of the deals above (with ``our_price`` and
        ``competitor_price`` as numbers).  ``None`` without the table.
    contacts, opportunity_contacts
        As imported; ``None`` when absent.
    playbook
        The playbooks' tasks (:data:`PLAYBOOK_COLUMNS` and labels).
    checklist
        The bid-readiness checklist (:data:`CHECKLIST_COLUMNS` and labels).
    bid_stage, bid_processes
        The stage whose open deals are scored for bid readiness, and the sales processes it
        applies to (all of them unless the playbooks restrict it).
    processes
        The playbooks' sales processes; ``default_process`` the one assumed for deals
        without a known process.
    open_stages
        The methodology's open stages in funnel order.
    fiscal_year_start_month
        The methodology's (quarters are counted from it).
    events
        The stage event log of the data cut at ``as_of`` (for
        :func:`kamlib.pipeline.pipeline_as_of`).
    notices
        Data-quality findings: ``check``, ``rows``, ``handling``.
    """

    as_of: pd.Timestamp
    deals: pd.DataFrame = field(repr=False)
    passages: pd.DataFrame = field(repr=False)
    moves: pd.DataFrame = field(repr=False)
    done_tasks: pd.DataFrame | None = field(repr=False)
    competitors: pd.DataFrame | None = field(repr=False)
    contacts: pd.DataFrame | None = field(repr=False)
    opportunity_contacts: pd.DataFrame | None = field(repr=False)
    playbook: pd.DataFrame = field(repr=False)
    checklist: pd.DataFrame = field(repr=False)
    bid_stage: str
    bid_processes: tuple[str, ...]
    processes: tuple[str, ...]
    default_process: str
    open_stages: tuple[str, ...]
    fiscal_year_start_month: int
    events: StageEvents = field(repr=False)
    notices: pd.DataFrame = field(repr=False)

    def require_tasks(self, purpose: str) -> pd.DataFrame:
        """The done tasks, or ``MissingTableError`` naming ``tasks`` and ``purpose``."""
        if self.done_tasks is None:
            raise MissingTableError("tasks", purpose)
        return self.done_tasks

    def require_history(self, purpose: str) -> None:
        """``MissingTableError`` naming ``stage_history`` and ``purpose`` when the stages were
        read from the opportunities alone (no history: when a deal entered or left a stage
        is unknown, so neither compliance nor task effects can be measured)."""
        if self.events.source != "stage_history":
            raise MissingTableError("stage_history", purpose)

    def require_competitors(self, purpose: str) -> pd.DataFrame:
        """The competitor rows, or ``MissingTableError`` naming the table and ``purpose``."""
        if self.competitors is None:
            raise MissingTableError("opportunity_competitors", purpose)
        return self.competitors

    def stage_order(self, stage: str) -> int:
        """Position of an open stage in the funnel (0 first)."""
        return self.open_stages.index(stage)

    def required_tasks(self) -> pd.DataFrame:
        """The required tasks per process and stage: ``process``, ``stage``, ``task``."""
        pb = self.playbook
        req = pb[pb["required"].astype(bool)]
        return req.rename(columns={"sales_process": "process"})[["process", "stage", "task"]]


def sales_process_data(
    data: KamData,
    *,
    as_of: object,
    methodology: Methodology | str | Path | None = None,
    default_process: str | None = None,
) -> SalesProcessData:
    """The sales process of ``data`` as known at the end of ``as_of``.

    Parameters
    ----------
    data
        Needs ``opportunities`` (with ``sales_process`` and ``lost_to`` where known);
        ``stage_history``, ``tasks``, ``opportunity_competitors``, ``contacts`` and
        ``opportunity_contacts`` where present (each analysis says which it needs).
    as_of
        The date.
    methodology
        Stages and the ``playbooks`` section (default: kamlib's methodology file).
    default_process
        The playbook for deals without a known ``sales_process`` (default: the first).

    Returns
    -------
    SalesProcessData
    """
    meth = resolve_methodology(methodology, owner="sales_process_data", paths=False)
    day = as_day(as_of, parameter="as_of", owner="sales_process_data")
    playbooks = meth.require_playbooks()
    data.require("opportunities", "The sales-process analysis")
    cut = data.as_of(day)
    return _assemble(
        cut,
        day=day,
        meth=meth,
        tasks=cut.tasks if cut.has("tasks") else None,
        competitors=(cut.opportunity_competitors if cut.has("opportunity_competitors") else None),
        playbook=playbooks.tasks_frame(),
        checklist=playbooks.checklist_frame(),
        bid_stage=playbooks.bid_stage,
        bid_processes=tuple(playbooks.bid_processes),
        processes=tuple(playbooks.processes),
        default_process=default_process,
    )


def sales_process_frames(
    *,
    as_of: object,
    opportunities: pd.DataFrame,
    playbook: pd.DataFrame,
    checklist: pd.DataFrame,
    bid_stage: str,
    stage_history: pd.DataFrame | None = None,
    tasks: pd.DataFrame | None = None,
    opportunity_competitors: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    opportunity_contacts: pd.DataFrame | None = None,
    methodology: Methodology | str | Path | None = None,
    default_process: str | None = None,
    bid_processes: tuple[str, ...] | None = None,
) -> SalesProcessData:
    """:class:`SalesProcessData` from frames in the canonical shapes (DATA_MODEL.md).

    For data that is not in a store: hand-made frames, a notebook's own extracts.  Optional
    columns a frame lacks are missing values; ``playbook`` and ``checklist`` have the
    columns of ``Playbooks.tasks_frame()`` and ``Playbooks.checklist_frame()``; the
    processes are the playbook's, in order of first appearance; ``bid_processes`` (default:
    all) those whose deals get a bid-readiness score.

    Examples
    --------
    >>> process = sales_process_frames(as_of="2026-06-30", opportunities=opps,
    ...     stage_history=history, tasks=tasks, playbook=playbook, checklist=checklist,
    ...     bid_stage="quote")  # doctest: +SKIP
    """
    meth = resolve_methodology(methodology, owner="sales_process_frames", paths=False)
    day = as_day(as_of, parameter="as_of", owner="sales_process_frames")
    require_columns(
        playbook, PLAYBOOK_COLUMNS, "the playbook frame", why="Playbooks.tasks_frame()",
        found=True,
    )  # fmt: skip
    tables = {"opportunities": _canonical(opportunities, "opportunities")}
    for name, frame in (
        ("stage_history", stage_history),
        ("contacts", contacts),
        ("opportunity_contacts", opportunity_contacts),
    ):
        if frame is not None:
            tables[name] = _canonical(frame, name)
    data = KamData(tables, snapshot=Snapshot(None, "frames", None, "frames"))
    cut = data.as_of(day)
    processes = tuple(dict.fromkeys(playbook["sales_process"].astype("str")))
    return _assemble(
        cut,
        day=day,
        meth=meth,
        tasks=tasks,
        competitors=opportunity_competitors,
        playbook=playbook,
        checklist=checklist,
        bid_stage=bid_stage,
        bid_processes=processes if bid_processes is None else tuple(bid_processes),
        processes=processes,
        default_process=default_process,
    )


def _canonical(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The schema's columns and dtypes, plus the frame's own extra columns (kept as given)."""
    spec = TABLES[table]
    require_columns(frame, spec.required_columns, f"the '{table}' frame", found=True)
    out = conform(frame, spec)
    extra = [c for c in frame.columns if c not in spec.columns]
    for col in extra:
        out[col] = frame[col].to_numpy()
    return out


# -- assembly ---------------------------------------------------------------------------------------
class _Notes:
    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def add(self, check: str, rows: int, handling: str) -> None:
        if rows:
            self.rows.append({"check": check, "rows": int(rows), "handling": handling})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["check", "rows", "handling"])


def _assemble(
    cut: KamData,
    *,
    day: pd.Timestamp,
    meth: Methodology,
    tasks: pd.DataFrame | None,
    competitors: pd.DataFrame | None,
    playbook: pd.DataFrame,
    checklist: pd.DataFrame,
    bid_stage: str,
    bid_processes: tuple[str, ...],
    processes: tuple[str, ...],
    default_process: str | None,
) -> SalesProcessData:
    notes = _Notes()
    open_stages = tuple(s.key for s in meth.open_stages)
    _check_playbook(playbook, checklist, bid_stage, bid_processes, processes, open_stages)
    if default_process is None:
        default_process = processes[0]
    elif default_process not in processes:
        raise ConfigError(
            f"The 'default_process' parameter names {default_process!r}, which is not a "
            f"process of the playbooks. Valid: {', '.join(processes)}."
        )
    if cut.opportunities.empty:
        raise DataValidationError(
            f"No opportunity had been created by {day:%Y-%m-%d}: there is no sales process to "
            "review as of that date. Choose a later as-of date."
        )
    se = stage_events(cut, methodology=meth)
    passages = stage_passages(se)
    moves = passages.attrs.pop("moves")
    deals = _deals(se, processes, default_process, notes)
    done = None if tasks is None else _done_tasks(tasks, deals, day, notes)
    comp = None if competitors is None else _competitor_rows(competitors, deals)
    return SalesProcessData(
        as_of=day,
        deals=deals,
        passages=passages,
        moves=moves,
        done_tasks=done,
        competitors=comp,
        contacts=cut.contacts if cut.has("contacts") else None,
        opportunity_contacts=(
            cut.opportunity_contacts if cut.has("opportunity_contacts") else None
        ),
        playbook=playbook.reset_index(drop=True),
        checklist=checklist.reset_index(drop=True),
        bid_stage=bid_stage,
        bid_processes=bid_processes,
        processes=processes,
        default_process=default_process,
        open_stages=open_stages,
        fiscal_year_start_month=meth.fiscal_year_start_month,
        events=se,
        notices=notes.frame(),
    )


def _check_playbook(
    playbook: pd.DataFrame,
    checklist: pd.DataFrame,
    bid_stage: str,
    bid_processes: tuple[str, ...],
    processes: tuple[str, ...],
    open_stages: tuple[str, ...],
) -> None:
    if not processes:
        raise ConfigError("The playbooks name no sales process; give at least one.")
    unknown = sorted(set(playbook["stage"].astype("str")) - set(open_stages))
    if unknown:
        raise ConfigError(
            f"The playbooks name stage {unknown[0]!r}, which is not an open stage of the "
            f"methodology. Valid: {', '.join(open_stages)}."
        )
    unknown = sorted(set(bid_processes) - set(processes))
    if unknown:
        raise ConfigError(
            f"The bid-readiness processes name {unknown[0]!r}, which is not a process of the "
            f"playbooks. Valid: {', '.join(processes)}."
        )
    if bid_stage not in open_stages:
        raise ConfigError(
            f"The playbooks' bid stage is {bid_stage!r}, which is not an open stage of the "
            f"methodology. Valid: {', '.join(open_stages)}."
        )
    require_columns(
        checklist, CHECKLIST_COLUMNS, "the bid-readiness checklist frame",
        why="Playbooks.checklist_frame()", found=True,
    )  # fmt: skip
    bad = checklist["condition"].dropna()
    bad = bad[~bad.isin(CHECKLIST_CONDITIONS)]
    if len(bad):
        raise ConfigError(
            f"The bid-readiness checklist names condition {bad.iloc[0]!r}. Valid: "
            f"{', '.join(CHECKLIST_CONDITIONS)}."
        )


def stage_passages(events: StageEvents) -> pd.DataFrame:
    """Which open stages each deal reached, entered, skipped, passed or was lost in.

    Parameters
    ----------
    events
        The stage event log (:func:`kamlib.pipeline.stage_events`), cut at the as-of date.

    Returns
    -------
    pandas.DataFrame
        :data:`PASSAGE_COLUMNS`, one row per deal and reached open stage, sorted by deal
        and stage order: ``reached_at`` (first entry or first jump past it), ``entered``,
        ``skipped`` (first reached by jumping past it), ``passed_at`` (first forward exit or
        jump over it; NaT while the deal has not passed it), ``lost_here`` (the deal's last
        close is a loss from this stage).  ``attrs["moves"]``: the backward moves and
        skipped stages (:data:`MOVE_COLUMNS`).
    """
    n_open = events.n_open
    ev = events.events
    ent = ev[ev["is_entry"].to_numpy()].reset_index(drop=True)
    opp = ent["opportunity_id"].to_numpy(dtype=object)
    order = ent["stage_order"].to_numpy()
    status = ent["status"].to_numpy(dtype=object)
    at = ent["entered_at"].to_numpy()
    # each entry and the next one of the same deal
    same = np.r_[opp[1:] == opp[:-1], False] if len(ent) else np.zeros(0, dtype=bool)
    nxt = np.minimum(np.arange(len(ent)) + 1, max(len(ent) - 1, 0))
    a, b, b_status, t = order, order[nxt], status[nxt], at[nxt]
    a_open = same & (status == "open") & (a >= 0)
    to_open = b_status == "open"
    forward = a_open & ((to_open & (b > a)) | (b_status == "won"))
    back = a_open & to_open & (b >= 0) & (b < a)
    lost = a_open & (b_status == "lost")
    # the stages jumped over by each forward move
    top = np.where(b_status == "won", n_open, b)
    gap = np.where(forward, top - a - 1, 0).clip(min=0)
    src = np.repeat(np.arange(len(ent)), gap)
    offset = np.arange(gap.sum()) - np.repeat(np.cumsum(gap) - gap, gap)
    skips = pd.DataFrame(
        {"opportunity_id": opp[src], "stage_order": a[src] + 1 + offset, "at": t[src]}
    )
    entries = pd.DataFrame({"opportunity_id": opp, "stage_order": order, "at": at})[
        (status == "open") & (order >= 0)
    ]
    passes = pd.DataFrame({"opportunity_id": opp, "stage_order": a, "at": t})[forward]
    passes = pd.concat([passes, skips], ignore_index=True)
    losses = pd.DataFrame({"opportunity_id": opp, "stage_order": a, "at": t})[lost]

    key = ["opportunity_id", "stage_order"]
    first_entry = entries.groupby(key, sort=False)["at"].min().rename("entered_at")
    first_skip = skips.groupby(key, sort=False)["at"].min().rename("skip_at")
    first_pass = passes.groupby(key, sort=False)["at"].min().rename("passed_at")
    out = pd.concat([first_entry, first_skip, first_pass], axis=1).reset_index()
    out["reached_at"] = out[["entered_at", "skip_at"]].min(axis=1)
    out["entered"] = out["entered_at"].notna()
    out["skipped"] = out["skip_at"].notna() & ~(out["entered_at"] <= out["skip_at"])
    # lost here: the deal's final outcome is lost and its last open stage is this one
    final = ev.groupby("opportunity_id", sort=False).tail(1).set_index("opportunity_id")
    lost_final = set(final.index[final["status"] == "lost"])
    last_loss = losses.groupby("opportunity_id", sort=False).tail(1)
    last_loss = last_loss[isin(last_loss["opportunity_id"], lost_final)]
    lost_keys = set(zip(last_loss["opportunity_id"], last_loss["stage_order"], strict=True))
    out["lost_here"] = [
        (o, s) in lost_keys for o, s in zip(out["opportunity_id"], out["stage_order"], strict=True)
    ]
    out["stage"] = np.asarray(events.open_stages, dtype=object)[out["stage_order"].to_numpy(int)]
    out["stage_order"] = out["stage_order"].astype("int64")
    out = out.sort_values(key, kind="mergesort").reset_index(drop=True)
    for col in ("reached_at", "passed_at"):
        out[col] = out[col].astype("datetime64[us]")
    out = out[list(PASSAGE_COLUMNS)]
    stages = np.asarray(events.open_stages, dtype=object)
    b_name = np.where(b_status == "open", stages[b.clip(0, n_open - 1)], b_status)
    moves = pd.concat(
        [
            pd.DataFrame(
                {"opportunity_id": opp[back], "kind": "back", "stage": stages[a[back]],
                 "to_stage": b_name[back], "at": t[back]}
            ),
            pd.DataFrame(
                {"opportunity_id": opp[src], "kind": "skip",
                 "stage": stages[skips["stage_order"].to_numpy(dtype=int)],
                 "to_stage": b_name[src], "at": t[src]}
            ),
        ],
        ignore_index=True,
    )  # fmt: skip
    moves["at"] = moves["at"].astype("datetime64[us]")
    out.attrs["moves"] = moves.sort_values(["opportunity_id", "at"], kind="mergesort").reset_index(
        drop=True
    )
    return out


def _deals(
    se: StageEvents,
    processes: tuple[str, ...],
    default_process: str,
    notes: _Notes,
) -> pd.DataFrame:
    opps = se.opportunities
    ev = se.events
    final = ev.groupby("opportunity_id", sort=False).tail(1).set_index("opportunity_id")
    ids = opps["opportunity_id"].astype("str")
    status = ids.map(final["status"]).fillna("open").astype("str")
    closed_at = ids.map(final["entered_at"]).where(status != "open")
    first = ev.groupby("opportunity_id", sort=False)["entered_at"].min()
    # the open stage the deal is in, or closed from
    open_ev = ev[(ev["status"] == "open").to_numpy()]
    last_open = open_ev.groupby("opportunity_id", sort=False)["stage"].last()
    stage = ids.map(last_open).fillna("unknown").astype("str")
    raw = (
        opps["sales_process"]
        if "sales_process" in opps
        else pd.Series(pd.NA, index=opps.index, dtype="object")
    )
    known = raw.isin(processes)
    process = raw.where(known, default_process).astype("str")
    notes.add(
        "deal without a known sales process",
        int((~known).sum()),
        f"assessed against the default process {default_process!r}",
    )
    lost_to = (
        opps["lost_to"] if "lost_to" in opps else pd.Series(pd.NA, index=opps.index, dtype="object")
    )
    lost_to = lost_to.where((status == "lost").to_numpy())
    lost_reason = opps["lost_reason"].where((status == "lost").to_numpy())
    out = pd.DataFrame(
        {
            "opportunity_id": ids.to_numpy(),
            "account_id": opps["account_id"].to_numpy(),
            "owner": opps["owner"].to_numpy(),
            "team": opps["team"].to_numpy(),
            "amount": opps["amount"].to_numpy(dtype="float64"),
            "sales_process": raw.to_numpy(),
            "process": process.to_numpy(),
            "process_assumed": (~known).to_numpy(),
            "status": status.to_numpy(),
            "stage": stage.to_numpy(),
            "started_at": ids.map(first).to_numpy(),
            "closed_at": closed_at.to_numpy(),
            "lost_to": lost_to.to_numpy(),
            "lost_reason": lost_reason.to_numpy(),
        }
    )
    for col in ("started_at", "closed_at"):
        out[col] = pd.to_datetime(out[col]).astype("datetime64[us]")
    return out


def _done_tasks(
    tasks: pd.DataFrame, deals: pd.DataFrame, day: pd.Timestamp, notes: _Notes
) -> pd.DataFrame:
    """The earliest time each task code was done on each deal, by the end of ``day``."""
    require_columns(tasks, _TASK_COLUMNS, "the tasks table", found=True)
    created = pd.to_datetime(tasks["created_date"])
    done_at = pd.to_datetime(tasks["done_date"]).astype("datetime64[us]")
    status = tasks["status"].astype("string").str.lower()
    known = isin(tasks["opportunity_id"].astype("str"), deals["opportunity_id"])
    exists = known & ~(created >= day + _DAY).fillna(False)
    skipped = (status == "skipped").fillna(False)
    undated = exists & (status == "done").fillna(False) & done_at.isna()
    notes.add(
        "task done without a done_date", int(undated.sum()),
        "cannot be placed in time: counted as not done",
    )  # fmt: skip
    done = exists & ~skipped & done_at.notna() & (done_at < day + _DAY)
    out = pd.DataFrame(
        {
            "opportunity_id": tasks["opportunity_id"].astype("str")[done].to_numpy(),
            "task": tasks["task"].astype("str")[done].to_numpy(),
            "done_at": done_at[done].to_numpy(),
        }
    )
    out = (
        out.sort_values(["opportunity_id", "task", "done_at"], kind="mergesort")
        .groupby(["opportunity_id", "task"], sort=False, as_index=False)
        .first()
    )
    out["done_at"] = out["done_at"].astype("datetime64[us]")
    return out.reset_index(drop=True)


def _competitor_rows(competitors: pd.DataFrame, deals: pd.DataFrame) -> pd.DataFrame:
    require_columns(competitors, _COMPETITOR_COLUMNS, "the opportunity_competitors table")
    out = competitors.copy()
    out["opportunity_id"] = out["opportunity_id"].astype("str")
    out = out[isin(out["opportunity_id"], deals["opportunity_id"]) & out["competitor"].notna()]
    for col in ("our_price", "competitor_price"):
        if col in out:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
        else:
            out[col] = np.nan
    if "primary" not in out:
        out["primary"] = pd.NA
    out["competitor"] = out["competitor"].astype("str").str.strip()
    out = out.drop_duplicates(["opportunity_id", "competitor"])
    return out.reset_index(drop=True)


def resolve_process_data(
    data: KamData | SalesProcessData,
    *,
    as_of: object,
    methodology: Methodology | str | Path | None,
    owner: str,
) -> SalesProcessData:
    """The :class:`SalesProcessData` of ``data`` for the public function ``owner``: built
    from a KamData, or used as it is (its ``as_of`` must then match, when one is given)."""
    if isinstance(data, SalesProcessData):
        if as_of is not None:
            day = as_day(as_of, parameter="as_of", owner=owner)
            if day != data.as_of:
                raise DataValidationError(
                    f"The 'as_of' parameter of {owner} is {day:%Y-%m-%d}, but the "
                    f"SalesProcessData given was built as of {data.as_of:%Y-%m-%d}. Leave "
                    "as_of out, or build the data for that date."
                )
        return data
    if not isinstance(data, KamData):
        raise DataValidationError(
            f"The 'data' parameter of {owner} must be a KamData (kamlib.data.load) or a "
            f"SalesProcessData (kamlib.sales.sales_process_data). Got {type(data).__name__} "
            "instead."
        )
    if as_of is None:
        raise DataValidationError(
            f"{owner} needs an 'as_of' date with a KamData: the analysis uses only what was "
            "known then."
        )
    return sales_process_data(data, as_of=as_of, methodology=methodology)
