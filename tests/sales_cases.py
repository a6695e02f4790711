"""Hand-made sales-process data in the canonical shapes (issue #13's contract), for the
tests of :mod:`kamlib.sales`: a few deals whose every number can be worked out by hand."""

from __future__ import annotations

import pandas as pd

#: the default methodology's open stages: lead, qualified, requirement_confirmed, solution,
#: quote, negotiation
PLAYBOOK = pd.DataFrame(
    [
        # sales_process, stage, task, kind, required, expected_days
        ("tender", "qualified", "qualification", "task", True, 20.0),
        ("tender", "solution", "technical_bid", "task", True, 30.0),
        ("tender", "solution", "presales_engineer", "resource", False, 30.0),
        ("tender", "quote", "commercial_bid", "task", True, 15.0),
        ("tender", "quote", "reference_visit", "resource", False, 15.0),
        ("direct", "qualified", "qualification", "task", True, 10.0),
        ("direct", "quote", "commercial_bid", "task", True, 10.0),
    ],
    columns=["sales_process", "stage", "task", "kind", "required", "expected_days"],
).assign(label_en=lambda f: f["task"], label_zh=lambda f: f["task"])

CHECKLIST = pd.DataFrame(
    [
        ("qualification_answered", 0.2, "qualification", None),
        ("technical_bid_done", 0.3, "technical_bid", None),
        ("commercial_bid_done", 0.2, "commercial_bid", None),
        ("economic_buyer_supportive", 0.2, None, "economic_buyer_supportive"),
        ("technical_buyer_not_opposed", 0.1, None, "technical_buyer_not_opposed"),
    ],
    columns=["item", "weight", "task", "condition"],
).assign(label_en=lambda f: f["item"], label_zh=lambda f: f["item"])


def deals(*specs: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Opportunities and their stage history from compact specs.

    Each spec: ``id``, ``path`` (list of (stage, "YYYY-MM-DD")) — the last may be ("won" |
    "lost", date) — and optional ``owner``, ``team``, ``amount``, ``process``, ``lost_to``,
    ``lost_reason``, ``account``.
    """
    opps, hist = [], []
    for s in specs:
        path = [(st, pd.Timestamp(d)) for st, d in s["path"]]
        last_stage, last_at = path[-1]
        closed = last_stage in ("won", "lost")
        opps.append(
            {
                "opportunity_id": s["id"],
                "account_id": s.get("account", "A1"),
                "name": s["id"],
                "amount": float(s.get("amount", 100_000.0)),
                "owner": s.get("owner", "Ann"),
                "team": s.get("team", "East"),
                "created_date": path[0][1].normalize(),
                "expected_close_date": pd.Timestamp("2026-12-31"),
                "stage": last_stage,
                "status": last_stage if closed else "open",
                "closed_date": last_at.normalize() if closed else pd.NaT,
                "lost_reason": s.get("lost_reason"),
                "sales_process": s.get("process", "tender"),
                "lost_to": s.get("lost_to"),
            }
        )
        for st, at in path:
            hist.append(
                {
                    "opportunity_id": s["id"],
                    "stage": st,
                    "entered_at": at,
                    "amount": float(s.get("amount", 100_000.0)),
                }
            )
    return pd.DataFrame(opps), pd.DataFrame(hist)


def tasks(*rows: tuple) -> pd.DataFrame:
    """Tasks from (opportunity_id, task, done_date or None[, status[, created_date]])."""
    out = []
    for i, row in enumerate(rows):
        opp, code, done = row[:3]
        status = row[3] if len(row) > 3 else ("done" if done else "open")
        created = row[4] if len(row) > 4 else "2026-01-01"
        out.append(
            {
                "task_id": f"T{i}",
                "opportunity_id": opp,
                "stage": None,
                "task": code,
                "owner": None,
                "created_date": pd.Timestamp(created),
                "due_date": pd.NaT,
                "done_date": pd.Timestamp(done) if done else pd.NaT,
                "status": status,
            }
        )
    return pd.DataFrame(out)
