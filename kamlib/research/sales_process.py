"""The dossier's sales-process sections: whom the account's deals met, what its open deals owe.

Both read the :class:`~kamlib.sales.SalesProcessData` the research context built once for the
batch, as of the dossier date (nothing later is seen: a deal lost after the date is open, a
task done after it is not done).

- **Competitors** (:func:`account_competitors`): every competitor present on a deal of the
  account created by the date (``opportunity_competitors``), with the deals met (closed and
  open), won, lost to them, lost otherwise (to another competitor, no decision, not
  recorded), the day last met and our price against theirs where both are given —
  :func:`kamlib.sales.competitors_met` on the account's deals.
- **Playbook gaps** (:func:`playbook_gaps`): every open deal of the account that owes its
  current stage something — the stage's required tasks (the methodology's ``playbooks``, per
  sales process) not done by the date (:func:`kamlib.sales.stage_gaps`) and, at the bid stage,
  the bid-readiness checklist's missing items with the score
  (:func:`kamlib.sales.bid_readiness`).  Deals that owe nothing are left out.  The finding
  ``deal_playbook_gaps`` (:mod:`kamlib.research.findings`) turns them into next actions.

A store without ``opportunity_competitors`` or ``tasks`` leaves the section empty and names the
table in :attr:`AccountDossier.missing` (``why`` "table not imported"); the rest of the dossier
stands.  Without opportunities neither section is shown (the pipeline section says so).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamlib.research.sections import DossierAccount
from kamlib.sales import MET_COLUMNS, competitors_met

#: Columns of :attr:`AccountDossier.competitors`, in order.
COMPETITOR_COLUMNS: tuple[str, ...] = MET_COLUMNS

#: Columns of :attr:`AccountDossier.playbook_gaps`, in order.
GAP_COLUMNS: tuple[str, ...] = (
    "opportunity_id", "name", "stage", "process", "amount", "next_tasks", "readiness", "missing",
)  # fmt: skip


def account_competitors(a: DossierAccount) -> pd.DataFrame:
    """Dossier section: the competitors met on the account's deals (module docstring)."""
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in COMPETITOR_COLUMNS})
    process = a.ctx.sales_process
    if not a.view.has("opportunities") or process is None:
        return empty
    if a.lacks("opportunity_competitors", "competitors"):
        return empty
    return competitors_met(process, account_id=a.account_id)


def playbook_gaps(a: DossierAccount) -> pd.DataFrame:
    """Dossier section: the account's open deals that owe their stage required tasks or, at
    the bid stage, bid-readiness items (module docstring); the largest deal first."""
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in GAP_COLUMNS})
    ctx = a.ctx
    if not a.view.has("opportunities") or ctx.sales_process is None:
        return empty
    if a.lacks("tasks", "playbook_gaps") or ctx.stage_gaps is None:
        return empty
    gaps = ctx.stage_gaps[ctx.stage_gaps["account_id"].astype("str") == a.account_id]
    ready = ctx.bid_readiness.set_index("opportunity_id")
    ids = gaps["opportunity_id"]
    names = ctx.rows("opportunities", a.account_id)
    names = names.set_index("opportunity_id")["name"] if len(names) else pd.Series(dtype=object)
    out = pd.DataFrame(
        {
            "opportunity_id": ids.to_numpy(),
            "name": ids.map(names).to_numpy(dtype=object),
            "stage": gaps["stage"].to_numpy(),
            "process": gaps["process"].to_numpy(),
            "amount": gaps["amount"].to_numpy(dtype="float64"),
            "next_tasks": gaps["next_tasks"].to_numpy(),
            "readiness": ids.map(ready["readiness"]).to_numpy(dtype="float64"),
            "missing": [ready.at[i, "missing"] if i in ready.index else () for i in ids],
        }
    )
    owes = np.array(
        [bool(t) or bool(m) for t, m in zip(out["next_tasks"], out["missing"], strict=True)],
        dtype=bool,
    )
    out = out[owes].sort_values(
        ["amount", "opportunity_id"], ascending=[False, True], kind="mergesort",
        na_position="last",
    )  # fmt: skip
    return out[list(GAP_COLUMNS)].reset_index(drop=True)
