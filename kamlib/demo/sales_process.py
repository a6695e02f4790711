"""The demo company's sales process: each deal's sales process, the playbook tasks and
resources done on it, the competitors met, whom a lost deal went to — with known effects.

Everything here is drawn from a random stream of its own (``default_rng([seed, 1301])``)
after the rest of the company is drawn, so every other table and truth is exactly what the
generator gives without this module.  The outcomes of the deals are already drawn
(:mod:`kamlib.demo.pipeline`), so tasks are drawn *given* the outcome, from the joint
distribution of a model in which a task changes the chance to win:

For a deal that entered stage ``s`` of its process, with win probability ``π`` from that
stage's entry (exact: ``p_true ** (R_s / R_start)``, the generator's pass probabilities),
a task of the stage is done with probability ``t = σ(logit(done_rate) + size_bias · z +
owner diligence)`` (``z``: the deal's standardised log amount when created; the owner's
diligence is the same for every code), and the win probability is ``p1`` when it is done and
``p0`` when not, with ``logit p1 = logit p0 + log_odds`` and ``t·p1 + (1 − t)·p0 = π``.  The
task is then drawn from ``P(done | won) = t·p1 / π``, ``P(done | lost) = t·(1 − p1) / (1 − π)``
— the same joint law of (done, won) given the deal as the model's.  "Done" means done
*before the deal left the stage*; a task done later counts as not done (it shows with its
late ``done_date``).  How often a code is done does not depend on the sales process.

Truth, from these generating probabilities (not from the drawn tasks), over the visible
deals closed by the end date that entered the code's stage in a process that lists the
code — in percentage points:

- ``true_difference`` = mean of ``p1 − p0``: the difference in win probability the task
  makes, for the deal's size and owner (what an analysis adjusted for size and owner should
  find; with ``size_bias`` 0 it is also the plain difference);
- ``raw_difference`` = ``Σ t·p1 / Σ t − Σ (1 − t)·p0 / Σ (1 − t)``: the plain difference
  "won with the task − won without it" the generator implies.  Big deals win less often in
  this company (``-0.25 · log amount`` in the hidden win model) and get more of the
  size-biased tasks, so for those the plain difference understates the effect.

Competitors: the primary competitor is the one the opportunity already names (drawn by the
pipeline: strong competitors lower the win chance; a lost deal that named none but was lost
on price names one afterwards).  Each other competitor of the product line is present as
well with probability ``q = clip(0.10 + 0.06 · z, 0.02, 0.35)``, whatever the outcome.
``true_win_rate`` of a competitor = ``Σ presence · P(won) / Σ presence`` over the visible
deals closed by the end date, with the presence probabilities above and the hidden win
probability (``p_true``; the named-after-the-loss competitor is present only on deals lost,
with probability ``(1 − p_true) · 0.35`` — the generator's share of price losses among
deals without a competitor — times ``1 / (line's competitors)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.data.schemas import NO_DECISION
from kamlib.demo import vocabulary as voc
from kamlib.demo._common import (
    DAY_SECONDS,
    Calendar,
    canonical_frame,
    make_ids,
    office_seconds,
    timestamps,
)
from kamlib.demo.company import Customers, SalesForce
from kamlib.demo.pipeline import STRONG_COMPETITORS, Pipeline
from kamlib.methodology import Playbooks

#: Second seed of the sales-process stream: ``default_rng([seed, SALES_PROCESS_STREAM])``.
SALES_PROCESS_STREAM = 1301
PROCESSES = ("tender", "framework", "direct")
#: Share of price losses among lost deals without a named competitor (pipeline._lost_reasons).
PRICE_LOSS_WITHOUT_COMPETITOR = 0.35


@dataclass(frozen=True)
class TaskEffect:
    """How one code behaves in the demo company (the hidden truth)."""

    done_rate: float  # P(done) on a deal of average log size, average owner
    log_odds: float  # change of the log-odds of winning from the stage's entry when done
    size_bias: float  # log-odds of doing it per standard deviation of log deal size


#: Per code: no effect (qualification_call, site_survey, commercial_proposal,
#: negotiation_approval), small, and above 10 points (trial_sample, bid_technical,
#: executive_visit …); size-biased (confounded): decision_map, site_survey,
#: presales_engineer, reference_visit, executive_visit.
TASK_EFFECTS: dict[str, TaskEffect] = {
    "qualification_call": TaskEffect(0.85, 0.0, 0.0),
    "needs_analysis": TaskEffect(0.75, 0.35, 0.0),
    "decision_map": TaskEffect(0.55, 0.6, 0.8),
    "site_survey": TaskEffect(0.6, 0.0, 0.9),
    "technical_solution": TaskEffect(0.8, 0.45, 0.0),
    "commercial_proposal": TaskEffect(0.9, 0.0, 0.0),
    "prequalification": TaskEffect(0.85, 0.25, 0.0),
    "bid_technical": TaskEffect(0.8, 0.8, 0.0),
    "bid_commercial": TaskEffect(0.85, 0.5, 0.0),
    "negotiation_approval": TaskEffect(0.75, 0.0, 0.0),
    "presales_engineer": TaskEffect(0.4, 0.6, 1.0),
    "trial_sample": TaskEffect(0.3, 1.0, 0.0),
    "reference_visit": TaskEffect(0.25, 0.8, 0.7),
    "executive_visit": TaskEffect(0.3, 0.9, 1.2),
}
#: A code of the playbooks without an entry above: done 60% of the time, no effect.
DEFAULT_EFFECT = TaskEffect(0.6, 0.0, 0.0)


@dataclass(frozen=True)
class SalesProcessTables:
    """The drawn tables (``sales_process`` and ``lost_to`` aligned with the visible
    opportunities) and the two truth frames."""

    sales_process: np.ndarray
    lost_to: np.ndarray
    tasks: pd.DataFrame
    opportunity_competitors: pd.DataFrame
    task_effects: pd.DataFrame
    competitor_win_rates: pd.DataFrame


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def split_win_probability(pi: np.ndarray, t: np.ndarray, log_odds: np.ndarray) -> np.ndarray:
    """``p0`` with ``t·σ(logit p0 + log_odds) + (1 − t)·p0 = pi`` (bisection on the logit;
    the left side rises with ``p0``), elementwise."""
    lo = np.full(len(pi), -40.0)
    hi = np.full(len(pi), 40.0)
    for _ in range(45):  # the bracket shrinks to 80 / 2**45 on the logit scale
        mid = (lo + hi) / 2
        above = t * _sigmoid(mid + log_odds) + (1 - t) * _sigmoid(mid) > pi
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
    return _sigmoid((lo + hi) / 2)


def draw_sales_process(
    seed: int,
    cal: Calendar,
    cust: Customers,
    pipe: Pipeline,
    sales: SalesForce,
    playbooks: Playbooks,
) -> SalesProcessTables:
    """Draw the sales-process tables of the visible opportunities (see the module doc)."""
    rng = np.random.default_rng([seed, SALES_PROCESS_STREAM])
    opps = pipe.opportunities
    n = len(opps)
    acc = pipe.account[:n]
    log_amount = np.log(pipe.amount0[:n])
    z = (log_amount - log_amount.mean()) / max(float(log_amount.std()), 1e-9)

    # -- the sales process: tenders for big deals and tender sources -------------------------
    missing = [p for p in PROCESSES if p not in playbooks.processes]
    if missing:  # the shipped methodology names them; a generator bug otherwise
        raise KeyError(f"the playbooks lack the demo's sales processes {missing}")
    tender = (pipe.source[:n] == voc.OPPORTUNITY_SOURCES.index("tender")) | (
        rng.random(n) < _sigmoid(-1.6 + 1.0 * z)
    )
    framework_p = np.where(cust.is_prospect[acc], 0.05, np.where(cust.key[acc], 0.5, 0.2))
    framework = ~tender & (rng.random(n) < framework_p)
    process = np.where(tender, 0, np.where(framework, 1, 2))
    diligence = rng.normal(0.0, 0.5, len(sales.names))

    entered, top = _stage_times(pipe)
    tasks, task_truth = _draw_tasks(
        rng, cal, pipe, (entered, top), process, z, diligence[pipe.owner[:n]], playbooks
    )
    competitors, secondary = _draw_competitors(rng, pipe, z)
    lost_to = _lost_to(rng, pipe, secondary)
    competitors = _prices_and_notes(rng, pipe, competitors, top)
    return SalesProcessTables(
        sales_process=np.array(PROCESSES, dtype=object)[process],
        lost_to=lost_to,
        tasks=tasks,
        opportunity_competitors=competitors,
        task_effects=task_truth,
        competitor_win_rates=_competitor_truth(pipe, z),
    )


# -- tasks ------------------------------------------------------------------------------------
def _stage_times(pipe: Pipeline) -> tuple[pd.DataFrame, np.ndarray]:
    """Per (deal, open stage) entered by the end date: the entry timestamp and the time the
    deal left the stage (NaT while it is still in it); and per deal the highest open stage
    entered."""
    history = pipe.stage_history
    stage_index = {s: i for i, s in enumerate([*voc.OPEN_STAGES, "won", "lost"])}
    deal = pd.Index(pipe.opportunities["opportunity_id"]).get_indexer(history["opportunity_id"])
    h = pd.DataFrame(
        {
            "deal": deal,
            "stage": history["stage"].map(stage_index).to_numpy(dtype=np.int64),
            "at": history["entered_at"].to_numpy(dtype="datetime64[us]").astype(np.int64),
        }
    )
    first = h.groupby(["deal", "stage"], sort=True)["at"].min().reset_index()
    # the stage is left when the next stage (or the close) is entered: stages only move forward
    first["left"] = first.groupby("deal")["at"].shift(-1)
    entered = first[first["stage"] < len(voc.OPEN_STAGES)].reset_index(drop=True)
    top = np.full(len(pipe.opportunities), -1)
    top[entered["deal"].to_numpy()] = 0
    np.maximum.at(top, entered["deal"].to_numpy(), entered["stage"].to_numpy())
    return entered, top


def _draw_tasks(
    rng: np.random.Generator,
    cal: Calendar,
    pipe: Pipeline,
    stage_times: tuple[pd.DataFrame, np.ndarray],
    process: np.ndarray,
    z: np.ndarray,
    diligence: np.ndarray,
    playbooks: Playbooks,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    entered, top = stage_times
    plan = playbooks.tasks_frame()
    plan = plan[plan["sales_process"].isin(PROCESSES)].copy()
    plan["process"] = plan["sales_process"].map({p: i for i, p in enumerate(PROCESSES)})
    plan["stage_i"] = plan["stage"].map({s: i for i, s in enumerate(voc.OPEN_STAGES)})
    plan["order"] = np.arange(len(plan))
    entered = entered.assign(process=process[entered["deal"].to_numpy()])
    cand = entered.merge(
        plan[["process", "stage_i", "task", "kind", "required", "expected_days", "order"]],
        left_on=["process", "stage"],
        right_on=["process", "stage_i"],
    ).sort_values(["deal", "order"], kind="stable", ignore_index=True)
    deal = cand["deal"].to_numpy()
    stage = cand["stage"].to_numpy()
    codes, code_of = np.unique(cand["task"].to_numpy(dtype=object), return_inverse=True)
    effects = [TASK_EFFECTS.get(code, DEFAULT_EFFECT) for code in codes]
    done_rate = np.array([e.done_rate for e in effects])[code_of]
    log_odds = np.array([e.log_odds for e in effects])[code_of]
    size_bias = np.array([e.size_bias for e in effects])[code_of]

    # -- the joint law of (done, won) given the deal ----------------------------------------------
    remaining = np.cumsum(np.array(voc.STAGE_ATTRITION)[::-1])[::-1]
    start = pipe.start_stage[deal]
    pi = pipe.p_true[deal] ** (remaining[stage] / remaining[start])
    pi = np.clip(pi, 1e-6, 1 - 1e-6)
    t = _sigmoid(_logit(done_rate) + size_bias * z[deal] + diligence[deal])
    p0 = split_win_probability(pi, t, log_odds)
    p1 = _sigmoid(_logit(p0) + log_odds)
    won = pipe.won[deal]
    p_done = np.where(won, t * p1 / pi, t * (1 - p1) / (1 - pi))
    done = rng.random(len(cand)) < np.clip(p_done, 0.0, 1.0)

    # -- when: inside the stage when done, after it when late ---------------------------------------
    end_s = (cal.end + 1) * DAY_SECONDS  # timestamps before the next midnight are visible
    at = cand["at"].to_numpy() // 1_000_000  # seconds
    left_raw = cand["left"].to_numpy()
    still_in = np.isnan(left_raw)
    left = np.where(still_in, 0, np.nan_to_num(left_raw)).astype(np.int64) // 1_000_000
    days = np.nan_to_num(cand["expected_days"].to_numpy(), nan=14.0)
    # a working hour of a day inside the stage (kept strictly between entry and exit)
    share = rng.uniform(0.1, 0.95, len(cand))
    day = (at + (share * (left - at)).astype(np.int64)) // DAY_SECONDS
    hour = office_seconds(rng, len(cand))
    inside = np.clip(day * DAY_SECONDS + hour, at + 60, np.maximum(left - 60, at + 60))
    wait_days = np.floor(rng.exponential(0.5, len(cand)) * days).astype(np.int64)
    pending = np.maximum((at // DAY_SECONDS + wait_days) * DAY_SECONDS + hour, at + 60)
    done_at = np.where(still_in, pending, inside)
    # left by closing the deal (its last open stage), not by moving on: no "late" task
    closing = (pipe.status[deal] != 0) & (stage == top[deal])
    late = ~done & ~still_in & ~closing & (rng.random(len(cand)) < 0.2)
    late_at = (left // DAY_SECONDS + rng.integers(1, 11, len(cand))) * DAY_SECONDS + hour
    required = cand["required"].to_numpy()
    u_row = rng.random(len(cand))
    # a required task is on the deal (the CRM creates it); a recommended one only when used,
    # and sometimes as a skipped reminder
    has_row = done | late | required | (u_row < 0.15)
    when = np.where(done, done_at, np.where(late, late_at, 0))
    visible_done = (done | late) & (when < end_s)
    pending_row = done | late | still_in
    status = np.where(
        visible_done,
        "done",
        np.where(pending_row | (required & (u_row >= 0.5)), "open", "skipped"),
    )
    created = at // DAY_SECONDS
    due = created + np.ceil(0.8 * days).astype(np.int64)
    keep = has_row
    owners = pipe.opportunities["owner"].to_numpy(dtype=object)
    tasks = canonical_frame(
        "tasks",
        {
            "task_id": make_ids("TSK-", np.arange(1, int(keep.sum()) + 1), 7),
            "opportunity_id": pipe.opportunities["opportunity_id"].to_numpy(dtype=object)[
                deal[keep]
            ],
            "stage": np.array(voc.OPEN_STAGES, dtype=object)[stage[keep]],
            "task": cand["task"].to_numpy(dtype=object)[keep],
            "owner": owners[deal[keep]],
            "created_date": timestamps(created[keep] * DAY_SECONDS),
            "due_date": timestamps(due[keep] * DAY_SECONDS),
            "done_date": timestamps(np.where(visible_done, when, np.iinfo(np.int64).min)[keep]),
            "status": status[keep],
        },
    )

    # -- truth over the deals closed by the end date ---------------------------------------------------
    closed = pipe.status[deal] != 0
    frame = pd.DataFrame(
        {
            "task": cand["task"].to_numpy(dtype=object)[closed],
            "stage": np.array(voc.OPEN_STAGES, dtype=object)[stage[closed]],
            "t": t[closed],
            "p0": p0[closed],
            "p1": p1[closed],
        }
    )
    frame["gap"] = frame["p1"] - frame["p0"]
    frame["t_p1"] = frame["t"] * frame["p1"]
    frame["u_p0"] = (1 - frame["t"]) * frame["p0"]
    frame["u"] = 1 - frame["t"]
    g = frame.groupby("task", sort=False)
    sums = g[["t", "t_p1", "u", "u_p0"]].sum()
    kinds = {entry.code: entry.kind for entry in playbooks.tasks}
    codes = list(sums.index)
    stages = g["stage"].unique().loc[codes]
    truth = pd.DataFrame(
        {
            "task": pd.array(codes, dtype="str"),
            "stage": pd.array([",".join(sorted(set(s))) for s in stages], dtype="str"),
            "kind": pd.array([kinds[c] for c in codes], dtype="str"),
            "true_difference": 100 * g["gap"].mean().loc[codes].to_numpy(),
            "raw_difference": 100
            * (sums["t_p1"] / sums["t"] - sums["u_p0"] / sums["u"]).to_numpy(),
            "deals": g.size().loc[codes].to_numpy().astype("int64"),
            "done_share": g["t"].mean().loc[codes].to_numpy(),
            "log_odds": [TASK_EFFECTS.get(c, DEFAULT_EFFECT).log_odds for c in codes],
            "confounded": pd.array(
                [TASK_EFFECTS.get(c, DEFAULT_EFFECT).size_bias != 0 for c in codes],
                dtype="boolean",
            ),
        }
    )
    return tasks, truth


# -- competitors --------------------------------------------------------------------------------
def _line_slots(pipe: Pipeline) -> tuple[np.ndarray, np.ndarray]:
    """Per visible deal, the comp_names index of each competitor of its product line (-1 past
    the line's list), and the size of that list."""
    n = len(pipe.opportunities)
    offsets = np.append(pipe.comp_offset, len(pipe.comp_names))
    sizes = np.diff(offsets)
    line = pipe.line[:n]
    width = int(sizes.max())
    k = np.arange(width)[None, :]
    slots = np.where(k < sizes[line][:, None], pipe.comp_offset[line][:, None] + k, -1)
    return slots, sizes[line]


def _presence_probability(z: np.ndarray) -> np.ndarray:
    return np.clip(0.10 + 0.06 * z, 0.02, 0.35)


def _draw_competitors(
    rng: np.random.Generator, pipe: Pipeline, z: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of opportunity_competitors (primary first) and the secondary rows alone."""
    shown = pipe.shown_competitor
    slots, _ = _line_slots(pipe)
    q = _presence_probability(z)
    pick = (
        (slots >= 0)
        & (slots != shown[:, None])
        & (shown[:, None] >= 0)
        & (rng.random(slots.shape) < q[:, None])
    )
    deal_s, slot_s = np.nonzero(pick)
    primary = np.flatnonzero(shown >= 0)
    rows = pd.DataFrame(
        {
            "deal": np.concatenate([primary, deal_s]),
            "name": np.concatenate([shown[primary], slots[deal_s, slot_s]]),
            "primary": np.concatenate([np.ones(len(primary), bool), np.zeros(len(deal_s), bool)]),
        }
    ).sort_values(["deal", "primary", "name"], ascending=[True, False, True], ignore_index=True)
    return rows, rows[~rows["primary"]]


def _lost_to(rng: np.random.Generator, pipe: Pipeline, secondary: pd.DataFrame) -> np.ndarray:
    """Lost deals: the competitor that won (the primary; a fifth of the time another
    competitor of the deal), or "no decision" when lost for budget, cancellation or none."""
    n = len(pipe.opportunities)
    names = np.array(pipe.comp_names, dtype=object)
    lost = pipe.status == 2
    competitive = pipe.lost_reason <= voc.LOST_REASONS.index("delivery_time")
    other = np.full(n, -1)
    if len(secondary):
        keyed = secondary.assign(key=rng.random(len(secondary)))
        first = keyed.sort_values(["deal", "key"]).groupby("deal").head(1)
        other[first["deal"].to_numpy()] = first["name"].to_numpy()
    switch = (other >= 0) & (rng.random(n) < 0.2)
    winner = np.where(switch, other, pipe.shown_competitor)
    out = np.full(n, None, dtype=object)
    to_competitor = lost & competitive & (winner >= 0)
    out[to_competitor] = names[winner[to_competitor]]
    out[lost & ~to_competitor] = NO_DECISION
    return out


def _prices_and_notes(
    rng: np.random.Generator, pipe: Pipeline, rows: pd.DataFrame, top: np.ndarray
) -> pd.DataFrame:
    """Our price where the deal reached the quote (70% of them), the competitor's on a half of
    the primary and a fifth of the other rows of those; a note on some rows."""
    n = len(pipe.opportunities)
    quoted = (top >= voc.OPEN_STAGES.index("quote")) | (pipe.status == 1)
    our_known = quoted & (rng.random(n) < 0.7)
    amount = pipe.opportunities["amount"].to_numpy(dtype=float)
    deal = rows["deal"].to_numpy()
    primary = rows["primary"].to_numpy()
    our = np.where(our_known[deal], amount[deal], np.nan)
    theirs_known = our_known[deal] & (rng.random(len(rows)) < np.where(primary, 0.5, 0.2))
    price_loss = (pipe.status[deal] == 2) & (pipe.lost_reason[deal] == 0)
    shift = np.where(price_loss, -0.10, np.where(pipe.status[deal] == 1, 0.03, -0.03))
    theirs = np.round(our * np.exp(rng.normal(shift, 0.07)), -3)
    note = rng.integers(0, len(voc.COMPETITOR_NOTES), len(rows))
    with_note = rng.random(len(rows)) < 0.12
    return canonical_frame(
        "opportunity_competitors",
        {
            "opportunity_id": pipe.opportunities["opportunity_id"].to_numpy(dtype=object)[deal],
            "competitor": np.array(pipe.comp_names, dtype=object)[rows["name"].to_numpy()],
            "primary": primary.astype(float),
            "our_price": our,
            "competitor_price": np.where(theirs_known, theirs, np.nan),
            "notes": np.where(with_note, np.array(voc.COMPETITOR_NOTES, dtype=object)[note], None),
        },
    )


def _competitor_truth(pipe: Pipeline, z: np.ndarray) -> pd.DataFrame:
    """Each competitor's true win rate against us (see the module doc)."""
    n = len(pipe.opportunities)
    names = np.array(pipe.comp_names, dtype=object)
    unique, code = np.unique(names, return_inverse=True)
    slots, size = _line_slots(pipe)
    q = _presence_probability(z)
    p = pipe.p_true[:n]
    closed = pipe.status != 0
    drawn = pipe.competitor[:n]
    valid = slots >= 0
    slot_code = np.where(valid, code[np.maximum(slots, 0)], -1)
    named = drawn >= 0
    # drawn competitor: present for sure; the line's others with probability q
    is_drawn = valid & (slots == drawn[:, None])
    presence = np.where(is_drawn, 1.0, np.where(valid, q[:, None], 0.0)) * named[:, None]
    # no competitor drawn: one is named only when the deal is lost on price
    fill = (1 - p) * PRICE_LOSS_WITHOUT_COMPETITOR * ~pipe.zombie[:n] * ~named
    fill_presence = np.where(valid, (1 / size[:, None]) + (1 - 1 / size[:, None]) * q[:, None], 0.0)
    weight = (presence + fill[:, None] * fill_presence) * closed[:, None]
    winning = presence * p[:, None] * closed[:, None]
    flat = slot_code.ravel()
    ok = flat >= 0
    deals = np.bincount(flat[ok], weight.ravel()[ok], minlength=len(unique))
    wins = np.bincount(flat[ok], winning.ravel()[ok], minlength=len(unique))
    return pd.DataFrame(
        {
            "competitor": pd.array(unique.astype(object), dtype="str"),
            "true_win_rate": wins / np.maximum(deals, 1e-12),
            "expected_deals": deals,
            "strong": pd.array(np.isin(unique, list(STRONG_COMPETITORS)), dtype="boolean"),
        }
    )
