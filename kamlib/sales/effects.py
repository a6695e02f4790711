"""What goes with winning: the win rate with and without each playbook task and resource.

**Association, not cause.**  Deals that get a reference visit may win more because the team
saw they were winnable; the numbers say which tasks go with winning, and by how much,
not that doing them would make a deal win.

Who is counted — without survivorship bias
------------------------------------------
For a task of stage S (per sales process, from the playbooks), the deals counted are those
that **entered S** and **closed (won or lost) by the as-of date**.  A deal lost before it
reached S never had the chance to do S's task; counting it "without" would credit the task
with simply surviving to S, so it is left out.  A deal that jumped past S never worked in it
and is left out too.  Deals whose process's playbook does not hold the task are left out;
deals still open are not counted (``n_open`` says how many entered S).

A deal counts **with** the task when the task was done (``done_date``) while the deal was in
S or before: on or before the deal left S (its first move forward, or its close when it
closed from S).  A task recorded after the deal had moved on, or after it was lost, is
*without*: counting it would let the outcome's paperwork (tasks filled in at the close) pass
for the work that led to it.  A task takes time: a deal lost soon after entering S had less
time to do it — part of the association, one more reason to read it as one.

What is reported per task (one row each, in playbook order)
-----------------------------------------------------------
- ``n_with`` / ``n_without`` (deals), ``won_with`` / ``won_without``, ``win_rate_with`` /
  ``win_rate_without`` (0–1);
- ``difference`` = win_rate_with − win_rate_without in **points** (× 100), with the
  Newcombe (1998) hybrid score 95 % interval ``ci_low`` … ``ci_high`` (method 10, from the
  two Wilson intervals: :func:`kamlib.proportions.newcombe_interval`).  Small samples give
  wide intervals, not missing ones; an interval is missing only when one side has no deal;
- ``cycle_days_with`` / ``cycle_days_without``: median days from reaching S to the close,
  ``cycle_difference`` (with − without);
- ``adjusted_difference`` with ``adjusted_ci_low`` … ``adjusted_ci_high``: the average
  marginal effect from a logistic model with deal size (log amount), sales process and owner
  (shrunk) as controls (:mod:`kamlib.sales.adjusted_effect`), in points.  Where tasks are
  done more often on big deals, this is the figure to read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.methodology import Methodology
from kamlib.proportions import newcombe_interval
from kamlib.sales.adjusted_effect import N_BOOT, OWNER_SD, PRIOR_SD, adjusted_difference
from kamlib.sales.process_data import SalesProcessData, resolve_process_data

#: What every reading of the table must keep in mind.
ASSOCIATION_NOTE = (
    "association, not cause: deals with a task done differ from the others in more than the task"
)

#: Columns of :func:`task_effects`, in order.
TASK_EFFECT_COLUMNS: tuple[str, ...] = (
    "task", "kind", "stage", "n_with", "n_without", "won_with", "won_without",
    "win_rate_with", "win_rate_without", "difference", "ci_low", "ci_high",
    "cycle_days_with", "cycle_days_without", "cycle_difference", "adjusted_difference",
    "adjusted_ci_low", "adjusted_ci_high", "adjusted_method", "n_open",
)  # fmt: skip


def task_population(process: SalesProcessData, task: str) -> pd.DataFrame:
    """The deals counted for ``task`` (module docstring): closed by the as-of date, entered
    the task's stage of their process.

    Returns one row per deal: ``opportunity_id``, ``owner``, ``process``, ``amount``,
    ``stage``, ``reached_at``, ``closed_at``, ``won`` (bool), ``done`` (bool: done on or
    before the deal left the stage), ``cycle_days`` (entry → close).  ``attrs["open"]``: the
    deals that entered the stage and are still open.
    """
    pb = process.playbook
    rows = pb[pb["task"].astype("str") == task]
    order = {s: i for i, s in enumerate(process.open_stages)}
    # the task's stage per process: the earliest where the process's playbook lists it
    rows = rows.assign(order=rows["stage"].map(order)).sort_values("order", kind="mergesort")
    stage_of = rows.groupby("sales_process", sort=False)["stage"].first()
    deals = process.deals
    deals = deals.assign(stage=deals["process"].map(stage_of))
    deals = deals[deals["stage"].notna()]
    reached = deals.merge(
        process.passages[["opportunity_id", "stage", "reached_at", "entered", "passed_at"]],
        on=["opportunity_id", "stage"],
        how="inner",
    )
    reached = reached[reached["entered"].astype(bool)]
    open_ = int((reached["status"] == "open").sum())
    pop = reached[reached["status"].isin(["won", "lost"])].copy()
    done = process.require_tasks("The task effects")
    done = done.loc[done["task"] == task, ["opportunity_id", "done_at"]]
    done_at = pop[["opportunity_id"]].merge(done, on="opportunity_id", how="left")["done_at"]
    pop["won"] = (pop["status"] == "won").to_numpy()
    left_at = pop["passed_at"].fillna(pop["closed_at"])  # moved on, or closed from S
    pop["done"] = (done_at.to_numpy() <= left_at.to_numpy()).astype(bool)
    pop["cycle_days"] = (pop["closed_at"] - pop["reached_at"]).dt.total_seconds() / 86400
    out = pop[
        ["opportunity_id", "owner", "process", "amount", "stage", "reached_at", "closed_at",
         "won", "done", "cycle_days"]
    ].reset_index(drop=True)  # fmt: skip
    out.attrs["open"] = open_
    return out


def task_effects(
    data: KamData | SalesProcessData,
    *,
    as_of: object = None,
    methodology: Methodology | None = None,
    adjust: bool = True,
    owner_sd: float = OWNER_SD,
    prior_sd: float = PRIOR_SD,
    interval: str = "delta",
    n_boot: int = N_BOOT,
    random_state: int | None = 0,
) -> pd.DataFrame:
    """Win rate with and without each playbook task / resource — an association, not a cause.

    Parameters
    ----------
    data
        A KamData (needs ``opportunities``, ``stage_history`` and ``tasks``) or a
        :class:`~kamlib.sales.SalesProcessData`.
    as_of
        The date (required with a KamData): only deals closed by then count.
    methodology
        Stages and playbooks (default: kamlib's methodology file).
    adjust
        Fit the adjusted difference (a logistic model per task; off: those columns NaN).
    owner_sd, prior_sd, interval, n_boot, random_state
        The adjusted model's settings (:func:`kamlib.sales.adjusted_effect.adjusted_difference`).

    Returns
    -------
    pandas.DataFrame
        :data:`TASK_EFFECT_COLUMNS`, one row per task code of the playbooks (module
        docstring): rates 0–1; ``difference``, ``ci_low``, ``ci_high`` and the adjusted
        columns in percentage points; cycle times in days.  ``attrs["note"]`` is
        :data:`ASSOCIATION_NOTE`; ``attrs["as_of"]`` the date.

    Examples
    --------
    >>> effects = task_effects(load("data/demo.duckdb"), as_of="2026-06-30")  # doctest: +SKIP
    >>> effects[["task", "difference", "ci_low", "ci_high", "adjusted_difference"]]  # doctest: +SKIP
    """
    process = resolve_process_data(data, as_of=as_of, methodology=methodology, owner="task_effects")
    process.require_history("The task effects")
    process.require_tasks("The task effects")
    pb = process.playbook
    order = {s: i for i, s in enumerate(process.open_stages)}
    codes = (
        pb.assign(order=pb["stage"].map(order))
        .sort_values("order", kind="mergesort")
        .drop_duplicates("task")
    )
    rows = []
    for code, kind in zip(codes["task"].astype("str"), codes["kind"], strict=True):
        pop = task_population(process, code)
        stages = list(dict.fromkeys(pb.loc[pb["task"].astype("str") == code, "stage"]))
        rows.append(
            _row(
                code, str(kind), " / ".join(map(str, stages)), pop, adjust=adjust,
                owner_sd=owner_sd, prior_sd=prior_sd, interval=interval, n_boot=n_boot,
                random_state=random_state,
            )
        )  # fmt: skip
    out = pd.DataFrame(rows, columns=list(TASK_EFFECT_COLUMNS))
    for col in ("n_with", "n_without", "won_with", "won_without", "n_open"):
        out[col] = out[col].astype("int64")
    out.attrs["note"] = ASSOCIATION_NOTE
    out.attrs["as_of"] = process.as_of
    return out


def _row(
    code: str, kind: str, stage: str, pop: pd.DataFrame, *, adjust: bool, **settings: object
) -> dict[str, object]:
    w, wo = pop[pop["done"]], pop[~pop["done"]]
    n1, n0 = len(w), len(wo)
    k1, k0 = int(w["won"].sum()), int(wo["won"].sum())
    d, lo, hi = newcombe_interval(k1, n1, k0, n0)
    cyc1 = float(w["cycle_days"].median()) if n1 else np.nan
    cyc0 = float(wo["cycle_days"].median()) if n0 else np.nan
    nan = float("nan")
    adj_d = adj_lo = adj_hi = nan
    method = ""
    if adjust and n1 and n0:
        adj = adjusted_difference(
            pop["won"].to_numpy(), pop["done"].to_numpy(), amount=pop["amount"].to_numpy(),
            process=pop["process"].to_numpy(), owner=pop["owner"].to_numpy(), **settings,
        )  # fmt: skip
        adj_d, adj_lo, adj_hi, method = adj.difference, adj.ci_low, adj.ci_high, adj.method
    return {
        "task": code,
        "kind": kind,
        "stage": stage,
        "n_with": n1,
        "n_without": n0,
        "won_with": k1,
        "won_without": k0,
        "win_rate_with": k1 / n1 if n1 else nan,
        "win_rate_without": k0 / n0 if n0 else nan,
        "difference": 100 * d,
        "ci_low": 100 * lo,
        "ci_high": 100 * hi,
        "cycle_days_with": cyc1,
        "cycle_days_without": cyc0,
        "cycle_difference": cyc1 - cyc0,
        "adjusted_difference": adj_d,
        "adjusted_ci_low": adj_lo,
        "adjusted_ci_high": adj_hi,
        "adjusted_method": method,
        "n_open": int(pop.attrs.get("open", 0)),
    }
