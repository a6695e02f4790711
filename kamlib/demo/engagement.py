"""Activities (visits, calls, meetings, QBRs, joint business meetings) and service tickets."""

from __future__ import annotations

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
    dates,
    make_ids,
    office_seconds,
    take_text,
    timestamps,
    to_workday,
)
from kamlib.demo.company import MEDIAN_VALUE, Contacts, Customers, SalesForce
from kamlib.demo.pipeline import Pipeline

ACTIVITY_TYPES = list(
    voc.ACTIVITY_NOTES
)  # visit, call, meeting, joint_business_meeting, qbr, email


def draw_activities(
    rng: np.random.Generator,
    cal: Calendar,
    cust: Customers,
    contacts: Contacts,
    pipe: Pipeline,
    sales: SalesForce,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The ``activities`` table and each contact's last contact day (``NAT`` = never)."""
    n = cust.n
    per_acc = np.bincount(contacts.account, minlength=n)
    first_contact = np.r_[0, np.cumsum(per_acc)[:-1]]

    # account-level touches: more for bigger accounts, fewer once service or trend sours
    rate = np.where(cust.is_prospect, 2.5, 1.5 + 10.0 * cust.size_rank**2)
    rate = rate * np.where(cust.trend == 2, 0.7, 1.0)
    lo = np.maximum(cal.start, cust.created_day)
    hi = np.minimum(cal.end + 1, cust.churn_day + 30)
    span = np.maximum(hi - lo, 0)
    count = rng.poisson(rate * span / YEAR_DAYS)
    a_acct = np.repeat(np.arange(n), count)
    a_day = lo[a_acct] + np.floor(rng.random(len(a_acct)) * span[a_acct]).astype(np.int64)
    a_type = np.array([0, 1, 2, 5])[choice_index(rng, [0.35, 0.30, 0.15, 0.20], len(a_acct))]
    a_opp = np.full(len(a_acct), -1)

    # rituals of key accounts: quarterly business reviews, yearly joint business meetings
    quarters = pd.date_range(
        pd.Timestamp(dates(np.array([cal.end - 730]))[0]).to_period("Q").to_timestamp(),
        periods=9,
        freq="QS",
    )
    q_days = ((quarters - pd.Timestamp("1970-01-01")).days).to_numpy(dtype=np.int64)
    qbr_acc = np.flatnonzero(cust.key & (rng.random(n) < 0.6))
    qa = np.repeat(qbr_acc, len(q_days))
    qd = np.tile(q_days, len(qbr_acc)) + rng.integers(10, 46, len(qa))
    jbm_acc = np.flatnonzero(cust.key & (rng.random(n) < 0.5))
    years = np.arange(5)
    ja = np.repeat(jbm_acc, len(years))
    jd = cal.end - 365 * np.tile(years, len(jbm_acc)) - rng.integers(20, 300, len(ja))

    # deal work: meetings, visits, calls and e-mails while the deal is open
    vis = np.flatnonzero(pipe.visible)
    until = np.minimum(pipe.close[vis], cal.end)
    o_count = 1 + rng.poisson((until - pipe.created[vis]) / 25.0)
    o_opp = np.repeat(vis, o_count)
    o_day = pipe.created[o_opp] + np.floor(
        rng.random(len(o_opp)) * (np.minimum(pipe.close[o_opp], cal.end) - pipe.created[o_opp] + 1)
    ).astype(np.int64)
    o_type = np.array([2, 0, 1, 5])[choice_index(rng, [0.30, 0.30, 0.25, 0.15], len(o_opp))]

    acct = np.concatenate([a_acct, qa, ja, pipe.account[o_opp]])
    day = np.concatenate([a_day, qd, jd, o_day])
    kind = np.concatenate([a_type, np.full(len(qa), 4), np.full(len(ja), 3), o_type])
    opp = np.concatenate([a_opp, np.full(len(qa) + len(ja), -1), o_opp])
    day = to_workday(day, cal.end)
    keep = (day >= np.maximum(cal.start, cust.created_day[acct])) & (day <= cal.end)
    keep &= day < cust.churn_day[acct] + 30
    acct, day, kind, opp = acct[keep], day[keep], kind[keep], opp[keep]

    # who was met: a linked contact of the deal, else any contact of the account
    m = len(acct)
    contact = np.full(m, -1)
    has = per_acc[acct] > 0
    pick = first_contact[acct] + np.floor(rng.random(m) * per_acc[acct]).astype(np.int64)
    contact[has] = pick[has]
    link_opp, link_contact = pipe.contacts_of
    per_opp = np.bincount(link_opp, minlength=len(pipe.account))
    first_link = np.r_[0, np.cumsum(per_opp)[:-1]]
    on_deal = (opp >= 0) & (per_opp[np.maximum(opp, 0)] > 0)
    deal_pick = first_link[opp[on_deal]] + np.floor(
        rng.random(on_deal.sum()) * per_opp[opp[on_deal]]
    ).astype(np.int64)
    contact[on_deal] = link_contact[deal_pick]
    contact[(kind == 5) & (rng.random(m) < 0.1) | (rng.random(m) < 0.12)] = -1

    owner = np.where(opp >= 0, pipe.owner[np.maximum(opp, 0)], cust.owner[acct])
    unowned = owner < 0
    owner[unowned] = rng.choice(len(sales.names), size=unowned.sum())
    order = np.lexsort((acct, day))
    acct, day, kind, opp, contact, owner = (
        x[order] for x in (acct, day, kind, opp, contact, owner)
    )
    notes_flat = [note for t in ACTIVITY_TYPES for note in voc.ACTIVITY_NOTES[t]]
    note_offset = np.cumsum([0] + [len(voc.ACTIVITY_NOTES[t]) for t in ACTIVITY_TYPES])
    note_n = np.diff(note_offset)
    note = note_offset[kind] + np.floor(rng.random(m) * note_n[kind]).astype(int)
    note[rng.random(m) < 0.2] = -1
    frame = canonical_frame(
        "activities",
        {
            "activity_id": make_ids("ACT-", np.arange(1, m + 1), 8),
            "account_id": take_text(cust.account_id, acct),
            "contact_id": take_text(contacts.contact_id, contact),
            "opportunity_id": take_text(pipe.opportunity_id, opp),
            "type": take_text(ACTIVITY_TYPES, kind),
            "date": dates(day),
            "owner": take_text(sales.names, owner),
            "notes": take_text(notes_flat, note),
        },
    )
    last = np.full(len(contacts.account), NAT, dtype=np.int64)
    touched = contact >= 0
    np.maximum.at(last, contact[touched], day[touched])
    return frame, last


# (department, region) pairs where requests stall, and how much slower they run
STALLS = {
    ("质量部", "西南"): 2.6,
    ("物流部", "西北"): 2.2,
    ("财务部", None): 1.5,
    (None, "海外"): 1.6,
}


def draw_service_tickets(rng: np.random.Generator, cal: Calendar, cust: Customers) -> pd.DataFrame:
    """Service requests with SLA clocks; stalls in some departments and regions; open ones at the end."""
    n = cust.n
    rate = np.where(
        cust.is_prospect,
        0.0,
        np.minimum(0.4 + 2.0 * (np.maximum(cust.value, 1.0) / MEDIAN_VALUE) ** 0.35, 30.0),
    )
    lo = np.maximum(cal.start, cust.acquired_day)
    hi = np.minimum(cal.end + 1, cust.churn_day + 45)
    span = np.maximum(hi - lo, 0)
    count = rng.poisson(rate * span / YEAR_DAYS)
    acct = np.repeat(np.arange(n), count)
    day = lo[acct] + np.floor(rng.random(len(acct)) * span[acct]).astype(np.int64)
    # a deteriorating account raises more tickets after the turn
    det = np.flatnonzero(cust.deteriorating)
    d_lo = np.maximum(cust.det_start_day[det], lo[det])
    d_hi = np.minimum(hi[det], cal.end + 1)
    d_count = rng.poisson(1.5 * rate[det] * np.maximum(d_hi - d_lo, 0) / YEAR_DAYS)
    extra = np.repeat(det, d_count)
    extra_day = np.repeat(d_lo, d_count) + np.floor(
        rng.random(len(extra)) * np.repeat(np.maximum(d_hi - d_lo, 0), d_count)
    ).astype(np.int64)
    acct = np.concatenate([acct, extra])
    day = np.concatenate([day, extra_day])
    m = len(acct)

    priorities = list(voc.PRIORITY_SLA)
    prio = choice_index(rng, [v[0] for v in voc.PRIORITY_SLA.values()], m)
    sla_resp = np.array([v[1] for v in voc.PRIORITY_SLA.values()])[prio]
    sla_res = np.array([v[2] for v in voc.PRIORITY_SLA.values()])[prio]
    premium = cust.key[acct]
    sla_resp = np.where(premium, sla_resp / 2.0, sla_resp)
    sla_res = np.where(premium, sla_res * 0.75, sla_res)
    categories = list(voc.TICKET_CATEGORIES)
    category = choice_index(rng, [v[1] for v in voc.TICKET_CATEGORIES.values()], m)
    departments = list(dict.fromkeys(v[0] for v in voc.TICKET_CATEGORIES.values()))
    dept = np.array([departments.index(v[0]) for v in voc.TICKET_CATEGORIES.values()])[category]
    region_names = np.unique(cust.region)
    region = np.searchsorted(region_names, cust.region[acct])
    slow = np.exp(rng.normal(0.0, 0.2, (len(departments), len(region_names))))
    for (d, r), factor in STALLS.items():
        rows = slice(None) if d is None else departments.index(d)
        cols = slice(None) if r is None else int(np.searchsorted(region_names, r))
        slow[rows, cols] *= factor
    stall = slow[dept, region]
    worse = cust.deteriorating[acct] & (day >= cust.det_start_day[acct])
    stall = stall * np.where(worse, 3.0, 1.0)

    night = (prio == 0) & (rng.random(m) < 0.3)
    secs = np.where(night, rng.integers(0, DAY_SECONDS, m), office_seconds(rng, m))
    opened = day * DAY_SECONDS + secs
    resp_h = sla_resp * np.exp(rng.normal(np.log(0.45), 0.7, m)) * stall
    res_h = sla_res * np.exp(rng.normal(np.log(0.45), 0.8, m)) * stall
    res_h *= np.where(rng.random(m) < 0.06, rng.uniform(4.0, 15.0, m), 1.0)  # waits for parts
    first_response = opened + (resp_h * 3600).astype(np.int64)
    resolved = first_response + (res_h * 3600).astype(np.int64)
    breach_resp = resp_h > sla_resp
    breach_res = (resp_h + res_h) > sla_res
    p_escalate = 0.02 + 0.28 * breach_res + 0.12 * (prio == 0) + 0.2 * worse
    escalated = rng.random(m) < p_escalate

    cutoff = (cal.end + 1) * DAY_SECONDS
    responded = first_response < cutoff
    done = resolved < cutoff
    status = np.where(done, 0, np.where(responded, 1, 2))
    score = (
        4.4
        - 1.0 * breach_resp
        - 1.1 * breach_res
        - 0.7 * escalated
        - 0.6 * worse
        + rng.normal(0.0, 0.6, m)
    )
    surveyed = done & (rng.random(m) < 0.6)
    satisfaction = np.where(surveyed, np.clip(np.round(score), 1, 5), np.nan)

    order = np.argsort(opened, kind="stable")
    return canonical_frame(
        "service_tickets",
        {
            "ticket_id": make_ids("TK-", np.arange(1, m + 1), 8),
            "account_id": take_text(cust.account_id, acct[order]),
            "opened_at": timestamps(opened[order]),
            "first_response_at": timestamps(np.where(responded, first_response, NAT)[order]),
            "resolved_at": timestamps(np.where(done, resolved, NAT)[order]),
            "priority": take_text(priorities, prio[order]),
            "category": take_text(categories, category[order]),
            "department": take_text(departments, dept[order]),
            "region": take_text(region_names, region[order]),
            "escalated": escalated[order].astype(float),
            "status": take_text(["closed", "in_progress", "open"], status[order]),
            "sla_response_hours": sla_resp[order],
            "sla_resolution_hours": sla_res[order],
            "satisfaction": satisfaction[order],
        },
    )
