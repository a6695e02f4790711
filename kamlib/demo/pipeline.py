"""Opportunities: creation, the hidden win probability, stage progressions and slippage.

Every deal is simulated to its end (won, lost, or still running at the horizon) and then
cut at the end date, exactly like ``KamData.as_of`` cuts real data: what happened after
the end date is only in the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.demo import vocabulary as voc
from kamlib.demo._common import (
    DAY_SECONDS,
    NAT,
    YEAR_DAYS,
    Calendar,
    canonical_frame,
    choice_index,
    cumulative,
    dates,
    make_ids,
    office_seconds,
    sample_rows,
    take_text,
    timestamps,
)
from kamlib.demo.company import LINES, MEDIAN_VALUE, Contacts, Customers, SalesForce

N_STAGES = len(voc.OPEN_STAGES)
STAGE_KEYS = [*voc.OPEN_STAGES, "won", "lost"]
DEAL_ROLES = ["decision_maker", "evaluator", "user", "coach", "procurement", "influencer"]
STRONG_COMPETITORS = {"Siemens", "Keyence", "ABB", "Yaskawa", "Mitsubishi Electric"}


@dataclass
class Pipeline:
    """Every simulated opportunity (up to the horizon) and the visible tables."""

    account: np.ndarray
    line: np.ndarray
    owner: np.ndarray
    created: np.ndarray
    close: np.ndarray  # day the deal closes (may lie after end, or after the horizon)
    won: np.ndarray
    amount: np.ndarray  # final amount
    p_true: np.ndarray
    contacts_of: tuple[np.ndarray, np.ndarray]  # (opportunity index, contact index) pairs
    visible: np.ndarray  # created on or before end
    opportunity_id: np.ndarray  # for visible ones ("" otherwise)
    opportunities: pd.DataFrame
    stage_history: pd.DataFrame
    opportunity_contacts: pd.DataFrame
    truth: pd.DataFrame
    # what the sales-process tables (kamlib.demo.sales_process) build on; drawn above
    start_stage: np.ndarray  # first open stage of each deal
    recorded: np.ndarray  # (deals, open stages): the deal entered the stage (a history row)
    zombie: np.ndarray
    source: np.ndarray  # index into OPPORTUNITY_SOURCES
    amount0: np.ndarray  # amount when created
    competitor: np.ndarray  # drawn competitor (index into comp_names), -1 = none
    comp_names: list[str]  # the product lines' competitor lists, concatenated
    comp_offset: np.ndarray  # first index of each product line's list in comp_names
    shown_competitor: np.ndarray  # visible deals: the competitor the opportunity names
    lost_reason: np.ndarray  # visible deals: index into LOST_REASONS (used where lost)
    status: np.ndarray  # visible deals: 0 open, 1 won, 2 lost


def _trend_factor(cust: Customers, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.exp(cust.growth[rows] * np.maximum(t, cust.change_t[rows]))


def draw_pipeline(
    rng: np.random.Generator,
    cal: Calendar,
    cust: Customers,
    contacts: Contacts,
    sales: SalesForce,
) -> Pipeline:
    n = cust.n
    # -- creation: a Poisson process per account, thinned by the account's trend -------------
    rate = np.where(
        cust.is_prospect, 0.9, 0.25 + 0.9 * (np.maximum(cust.value, 1.0) / MEDIAN_VALUE) ** 0.35
    )
    rate = np.minimum(rate, 14.0)
    lo = np.maximum(cal.start, cust.created_day)
    hi = np.minimum(cal.horizon + 1, cust.churn_day - 30)
    span = np.maximum(hi - lo, 0)
    f_lo = _trend_factor(cust, np.arange(n), cal.years_to_end(lo))
    f_hi = _trend_factor(cust, np.arange(n), cal.years_to_end(hi))
    f_max = np.maximum(f_lo, f_hi)
    count = rng.poisson(rate * f_max * span / YEAR_DAYS)
    account = np.repeat(np.arange(n), count)
    created = lo[account] + np.floor(rng.random(len(account)) * span[account]).astype(np.int64)
    keep = rng.random(len(account)) * f_max[account] <= _trend_factor(
        cust, account, cal.years_to_end(created)
    )
    account, created = account[keep], created[keep]
    order = np.lexsort((account, created))
    account, created = account[order], created[order]
    m = len(account)

    # -- what the deal is about -------------------------------------------------------------
    line = np.where(
        rng.random(m) < 0.7,
        sample_rows(rng, cumulative(cust.line_mix), account),
        rng.integers(len(LINES), size=m),
    )
    cross_sell = cust.line_mix[account, line] < 0.05
    base = np.where(cust.is_prospect[account], 0.06 * cust.wallet[account], cust.value[account])
    base = base * _trend_factor(cust, account, cal.years_to_end(created))
    amount0 = 0.4 * base * np.exp(rng.normal(0.0, 0.8, m))
    amount0 *= np.where(line == LINES.index("Industrial Software & Services"), 1.6, 1.0)
    amount0 = np.maximum(15_000.0, np.round(amount0, -3))
    source = choice_index(rng, [0.25, 0.30, 0.12, 0.10, 0.13, 0.10], m)
    source[(source == 5) & ~cust.key[account]] = 1
    start_stage = np.where(rng.random(m) < 0.55, 0, 1)
    start_stage[source == 2] = 0
    start_stage[source == 4] = 2
    comp_names = [c for line_name in LINES for c in voc.COMPETITORS[line_name]]
    comp_offset = np.cumsum([0] + [len(voc.COMPETITORS[x]) for x in LINES])
    comp_n = np.diff(comp_offset)
    comp_w = 1.0 / (1.0 + 0.5 * rng.random(m))
    competitor = np.where(
        rng.random(m) < 0.6,
        comp_offset[line] + np.floor(rng.random(m) ** (1.0 + comp_w) * comp_n[line]).astype(int),
        -1,
    )
    strong = np.isin(np.array(comp_names, dtype=object)[np.maximum(competitor, 0)],
                     list(STRONG_COMPETITORS)) & (competitor >= 0)  # fmt: skip
    owner = cust.owner[account].copy()
    reassign = (owner < 0) | (rng.random(m) < 0.1)
    for t in range(len(sales.team_names)):
        rows = np.flatnonzero(reassign & (cust.team[account] == t))
        owner[rows] = rng.choice(np.flatnonzero(sales.team == t), size=len(rows))

    # -- who is involved: opportunity contacts ----------------------------------------------
    opp_idx, contact_idx, deal_role = _involve_contacts(rng, account, amount0, contacts)
    n_linked = np.bincount(opp_idx, minlength=m)
    mean_support = np.bincount(opp_idx, contacts.support[contact_idx], minlength=m) / np.maximum(
        n_linked, 1
    )
    econ = contacts.role[contact_idx] == 0
    econ_for = np.bincount(opp_idx[econ], (contacts.support[contact_idx] >= 1)[econ], minlength=m)
    econ_against = np.bincount(
        opp_idx[econ], (contacts.support[contact_idx] <= -1)[econ], minlength=m
    )

    # -- the hidden win probability ----------------------------------------------------------
    share = cust.share[account]
    incumbency = np.where(
        cust.is_prospect[account], -0.7, 0.45 * (np.log(np.maximum(share, 0.01)) - np.log(0.25))
    )
    source_effect = np.array([0.3, 0.0, -0.45, 0.1, -0.5, 0.7])[source]
    logit = (
        -0.75
        + incumbency
        + 0.5 * mean_support
        + 0.5 * (econ_for > 0)
        - 0.6 * (econ_against > 0)
        - 0.35 * (n_linked == 0)
        + source_effect
        - 0.25 * np.log(amount0 / np.median(amount0))
        - 0.35 * cross_sell
        - 0.35 * strong
        + 0.25 * cust.relationship[account]
        + rng.normal(0.0, 0.45, m)
    )
    p_true = 1.0 / (1.0 + np.exp(-logit))
    leaving = created > cust.churn_day[account] - 365  # a customer on its way out awards little
    p_true = np.where(leaving, 0.3 * p_true, p_true)
    zombie = rng.random(m) < 0.07
    p_true = np.where(zombie, 0.02, np.clip(p_true, 0.02, 0.92))

    # -- the path through the stages ----------------------------------------------------------
    k = np.arange(N_STAGES)
    weights = np.array(voc.STAGE_ATTRITION)
    remaining_w = np.cumsum(weights[::-1])[::-1]  # sum of weights from stage k on
    exponent = weights[None, :] / remaining_w[start_stage][:, None]
    passes = rng.random((m, N_STAGES)) < p_true[:, None] ** exponent
    passes |= k[None, :] < start_stage[:, None]
    won = passes.all(axis=1)
    final = np.where(won, N_STAGES - 1, np.argmin(passes, axis=1))
    size_factor = (amount0 / 100_000.0) ** 0.15
    slipper = rng.random(m) < 0.25
    pace = np.exp(rng.normal(0.0, 0.3, m)) * np.where(slipper, 1.7, 1.0)
    nominal = np.array(voc.STAGE_DAYS)[None, :] * size_factor[:, None]
    dur = nominal * pace[:, None] * rng.gamma(2.0, 0.5, (m, N_STAGES))
    in_path = (k[None, :] >= start_stage[:, None]) & (k[None, :] <= final[:, None])
    skip = (
        np.isin(k, [2, 3])[None, :]
        & (k[None, :] > start_stage[:, None])
        & (k[None, :] < final[:, None])
        & (rng.random((m, N_STAGES)) < 0.15)
    )
    recorded = in_path & ~skip
    stay_lost = nominal[np.arange(m), final] * rng.uniform(0.4, 1.3, m)
    stay_lost = np.where(zombie, rng.uniform(150, 420, m), stay_lost)
    dur[np.arange(m), final] = np.where(won, dur[np.arange(m), final], stay_lost)
    dur = np.where(recorded, np.maximum(1, np.round(dur)), 0).astype(np.int64)
    entry = created[:, None] + np.cumsum(dur, axis=1) - dur
    close = created + dur.sum(axis=1)

    # -- expected close dates: optimistic at first, pushed out when the date passes -------------
    optimism = rng.uniform(0.55, 0.95, m)
    rem_nominal = np.cumsum(nominal[:, ::-1], axis=1)[:, ::-1]
    ecd0 = created + np.round(optimism * rem_nominal[np.arange(m), start_stage]).astype(np.int64)
    current = ecd0.copy()
    entry_ecd = np.zeros((m, N_STAGES), dtype=np.int64)
    revisions: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []
    for s in range(N_STAGES):
        on = recorded[:, s]
        target = entry[:, s] + np.round(optimism * rem_nominal[:, s]).astype(np.int64)
        current = np.where(on, np.maximum(current, target), current)
        entry_ecd[:, s] = current
        next_event = entry[:, s] + dur[:, s]
        for _ in range(2):
            day = current + rng.integers(1, 11, m)
            ok = on & (next_event > current + 5) & (day > entry[:, s]) & (day < next_event)
            ok &= ~(zombie & (s == final))  # nobody touches a dead deal
            new_ecd = day + rng.integers(20, 76, m)
            revisions.append((np.flatnonzero(ok), day[ok], new_ecd[ok], s))
            current = np.where(ok, new_ecd, current)

    # -- amounts move at quote and negotiation -------------------------------------------------
    amount_q = np.round(amount0 * rng.uniform(0.85, 1.15, m), -3)
    amount_n = np.round(amount_q * rng.uniform(0.9, 1.0, m), -3)
    stage_amount = np.where(
        k[None, :] >= 5, amount_n[:, None], np.where(k[None, :] == 4, amount_q[:, None], amount0[:, None])
    )  # fmt: skip
    last_open = np.where(recorded, k[None, :], -1).max(axis=1)
    final_amount = stage_amount[np.arange(m), last_open]

    # -- stage history rows: entries, close-date revisions, the close -------------------------
    e_opp, e_stage = np.nonzero(recorded)
    rows_opp = [e_opp]
    rows_stage = [e_stage]
    rows_day = [entry[e_opp, e_stage]]
    rows_amount = [stage_amount[e_opp, e_stage]]
    rows_ecd = [entry_ecd[e_opp, e_stage]]
    for opp, day, ecd, s in revisions:
        rows_opp.append(opp)
        rows_stage.append(np.full(len(opp), s))
        rows_day.append(day)
        rows_amount.append(stage_amount[opp, s])
        rows_ecd.append(ecd)
    rows_opp.append(np.arange(m))
    rows_stage.append(np.where(won, N_STAGES, N_STAGES + 1))
    rows_day.append(close)
    rows_amount.append(final_amount)
    rows_ecd.append(close)
    h_opp = np.concatenate(rows_opp)
    h_stage = np.concatenate(rows_stage)
    h_day = np.concatenate(rows_day)
    h_amount = np.concatenate(rows_amount)
    h_ecd = np.concatenate(rows_ecd)

    # -- cut at the end date -----------------------------------------------------------------------
    visible = created <= cal.end
    n_vis = int(visible.sum())  # created is sorted: visible deals come first
    opportunity_id = np.full(m, "", dtype=object)
    opportunity_id[:n_vis] = make_ids("OPP-", np.arange(1, n_vis + 1), 6).to_numpy(dtype=object)
    shown = (h_day <= cal.end) & visible[h_opp]
    order = np.lexsort((h_day, h_opp))
    order = order[shown[order]]
    h_opp, h_stage, h_day, h_amount, h_ecd = (
        x[order] for x in (h_opp, h_stage, h_day, h_amount, h_ecd)
    )
    secs = office_seconds(rng, len(h_opp))
    stage_history = canonical_frame(
        "stage_history",
        {
            "opportunity_id": opportunity_id[h_opp],
            "stage": take_text(STAGE_KEYS, h_stage),
            "entered_at": timestamps(h_day * DAY_SECONDS + secs),
            "amount": h_amount,
            "expected_close_date": dates(h_ecd),
        },
    )
    last_row = np.r_[h_opp[1:] != h_opp[:-1], True]
    state = pd.DataFrame(
        {"stage": h_stage[last_row], "amount": h_amount[last_row]}, index=h_opp[last_row]
    )
    open_rows = h_stage < N_STAGES
    ecd_now = pd.Series(h_ecd[open_rows], index=h_opp[open_rows]).groupby(level=0).last()
    vis = np.arange(n_vis)
    closed = close[vis] <= cal.end
    status = np.where(closed, np.where(won[vis], 1, 2), 0)
    is_lost = status == 2
    lost_reason = _lost_reasons(rng, zombie[vis], competitor[vis] >= 0)
    shown_competitor = competitor[vis].copy()
    fill = is_lost & (shown_competitor < 0) & (lost_reason <= 3)  # lost to someone: name them
    pick = comp_offset[line[vis]] + np.floor(rng.random(n_vis) * comp_n[line[vis]]).astype(int)
    shown_competitor[fill] = pick[fill]
    brand = cust.brand[account[vis]]
    word_pick = rng.integers(0, 1000, n_vis)
    names = np.array(
        [
            f"{b} {LINES[ln]} project"
            if cust.english[a]
            else f"{b}{voc.OPPORTUNITY_NAME_WORDS[LINES[ln]][w % len(voc.OPPORTUNITY_NAME_WORDS[LINES[ln]])]}"
            for b, ln, w, a in zip(brand, line[vis], word_pick, account[vis], strict=True)
        ],
        dtype=object,
    )
    opportunities = canonical_frame(
        "opportunities",
        {
            "opportunity_id": opportunity_id[vis],
            "account_id": cust.account_id[account[vis]],
            "name": names,
            "product_line": take_text(LINES, line[vis]),
            "amount": state["amount"].reindex(vis).to_numpy(dtype=float),
            "owner": take_text(sales.names, owner[vis]),
            "team": take_text(sales.team_names, sales.team[owner[vis]]),
            "created_date": dates(created[vis]),
            "expected_close_date": dates(ecd_now.reindex(vis).to_numpy(dtype=np.int64)),
            "stage": take_text(STAGE_KEYS, state["stage"].reindex(vis).to_numpy(dtype=np.int64)),
            "status": take_text(["open", "won", "lost"], status),
            "closed_date": dates(np.where(closed, close[vis], NAT)),
            "lost_reason": take_text(voc.LOST_REASONS, np.where(is_lost, lost_reason, -1)),
            "competitor": take_text(comp_names, shown_competitor),
            "source": take_text(voc.OPPORTUNITY_SOURCES, source[vis]),
        },
    )
    link = visible[opp_idx]
    opportunity_contacts = canonical_frame(
        "opportunity_contacts",
        {
            "opportunity_id": opportunity_id[opp_idx[link]],
            "contact_id": contacts.contact_id[contact_idx[link]],
            "role": take_text(DEAL_ROLES, deal_role[link]),
        },
    )
    truth = pd.DataFrame(
        {
            "opportunity_id": pd.array(opportunity_id[vis], dtype="str"),
            "account_id": pd.array(cust.account_id[account[vis]], dtype="str"),
            "true_win_probability": p_true[vis],
            "true_outcome": pd.array(np.where(won[vis], "won", "lost"), dtype="str"),
            "true_close_date": dates(close[vis]),
            "initial_expected_close_date": dates(ecd0[vis]),
            "true_slip_days": pd.array(close[vis] - ecd0[vis], dtype="Int64"),
            "is_zombie": pd.array(zombie[vis], dtype="boolean"),
        }
    )
    return Pipeline(
        account=account,
        line=line,
        owner=owner,
        created=created,
        close=close,
        won=won,
        amount=final_amount,
        p_true=p_true,
        contacts_of=(opp_idx, contact_idx),
        visible=visible,
        opportunity_id=opportunity_id,
        opportunities=opportunities,
        stage_history=stage_history,
        opportunity_contacts=opportunity_contacts,
        truth=truth,
        start_stage=start_stage,
        recorded=recorded,
        zombie=zombie,
        source=source,
        amount0=amount0,
        competitor=competitor,
        comp_names=comp_names,
        comp_offset=comp_offset,
        shown_competitor=shown_competitor,
        lost_reason=lost_reason,
        status=status,
    )


def _involve_contacts(
    rng: np.random.Generator, account: np.ndarray, amount: np.ndarray, contacts: Contacts
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pick 1-4 distinct contacts of the deal's account; economic buyers on bigger deals."""
    m = len(account)
    n_acc = int(max(account.max(initial=-1), contacts.account.max(initial=-1))) + 1
    per_acc = np.bincount(contacts.account, minlength=n_acc)
    first = np.r_[0, np.cumsum(per_acc)[:-1]]
    avail = per_acc[account]
    want = np.minimum(avail, 1 + rng.poisson(1.3, m))
    opp_idx = np.repeat(np.arange(m), avail)
    offset = np.arange(len(opp_idx)) - np.repeat(np.cumsum(avail) - avail, avail)
    contact_idx = first[account][opp_idx] + offset
    big = amount > np.quantile(amount, 0.6) if m else np.zeros(0, dtype=bool)
    boost = np.where((contacts.role[contact_idx] == 0) & big[opp_idx], 1.0, 0.0)
    boost += np.where(contacts.role[contact_idx] == 1, 0.4, 0.0)
    score = rng.random(len(opp_idx)) + boost
    order = np.lexsort((-score, opp_idx))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = offset  # offsets run 0.. within each deal, and order keeps deals grouped
    keep = rank < want[opp_idx]
    opp_idx, contact_idx = opp_idx[keep], contact_idx[keep]
    deal_role = contacts.role[contact_idx]
    return opp_idx, contact_idx, deal_role


def _lost_reasons(rng: np.random.Generator, zombie: np.ndarray, has_comp: np.ndarray) -> np.ndarray:
    n = len(zombie)
    competitive = choice_index(rng, [0.40, 0.27, 0.18, 0.15], n)  # price … delivery_time
    other = 4 + choice_index(rng, [0.40, 0.33, 0.27], n)  # budget_cut … no_decision
    reason = np.where(has_comp, np.where(rng.random(n) < 0.85, competitive, other),
                      np.where(rng.random(n) < 0.35, 0, other))  # fmt: skip
    return np.where(zombie, voc.LOST_REASONS.index("no_decision"), reason)
