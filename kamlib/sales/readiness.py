"""Bid readiness: how ready each open deal at the bid stage is, what is missing, what is next.

The methodology's ``playbooks`` section holds a weighted checklist for the bid stage
(``Playbooks.bid_stage``, e.g. quote / 报价投标) and the sales processes it applies to
(``Playbooks.bid_processes``, e.g. tenders only; a deal's process as in
:mod:`kamlib.sales.process_data`).  An item is satisfied when

- its ``task`` was done on the deal by the as-of date, or
- its ``condition`` holds on the deal's contacts:

  ``economic_buyer_supportive``
      a contact with ``buying_role`` economic has ``support`` ≥ 1;
  ``technical_buyer_not_opposed``
      no contact with ``buying_role`` technical has ``support`` ≤ −1.

  The deal's contacts are those linked to it (``opportunity_contacts``); a deal with no
  linked contact is read from its account's contacts.  Without a contacts table the
  conditions cannot be checked and count as not satisfied.  Contacts keep no history:
  their support is today's, even for a past as-of date.

``readiness`` is the sum of the weights of the satisfied items (0–1 when the weights sum to
1, as the methodology file requires); ``missing`` lists the unsatisfied items (in checklist
order) and ``next_tasks`` the required tasks of the deal's current stage not done yet (in
playbook order).

:func:`stage_gaps` gives the same ``next_tasks`` for every open deal, whatever its stage: the
required tasks (exit criteria) of the stage it is in at the as-of date that were not done by
then — done at any time before, in this stage or earlier, counts as done.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.methodology import Methodology
from kamlib.pipeline import pipeline_as_of
from kamlib.sales.process_data import SalesProcessData, resolve_process_data

#: Columns of :func:`bid_readiness`, in order.
READINESS_COLUMNS: tuple[str, ...] = (
    "opportunity_id", "account_id", "owner", "team", "process", "stage", "amount",
    "expected_close_date", "days_in_stage", "readiness", "satisfied", "missing", "next_tasks",
)  # fmt: skip

#: Columns of :func:`stage_gaps`, in order.
STAGE_GAP_COLUMNS: tuple[str, ...] = (
    "opportunity_id", "account_id", "owner", "team", "process", "stage", "amount",
    "expected_close_date", "days_in_stage", "required", "next_tasks",
)  # fmt: skip


def _deal_contacts(process: SalesProcessData, deals: pd.DataFrame) -> pd.DataFrame | None:
    """``opportunity_id``, ``buying_role``, ``support`` of each deal's contacts (module
    docstring); ``None`` without a contacts table."""
    contacts = process.contacts
    if contacts is None:
        return None
    contacts = contacts[["contact_id", "account_id", "buying_role", "support"]]
    links = process.opportunity_contacts
    linked = pd.DataFrame(columns=["opportunity_id", "contact_id"])
    if links is not None:
        linked = links[links["opportunity_id"].isin(deals["opportunity_id"])][
            ["opportunity_id", "contact_id"]
        ]
    by_link = linked.merge(contacts, on="contact_id", how="inner")
    unlinked = deals[~deals["opportunity_id"].isin(by_link["opportunity_id"])]
    by_account = unlinked[["opportunity_id", "account_id"]].merge(
        contacts, on="account_id", how="inner"
    )
    cols = ["opportunity_id", "buying_role", "support"]
    out = pd.concat([by_link[cols], by_account[cols]], ignore_index=True)
    out["buying_role"] = out["buying_role"].astype("string").str.lower()
    out["support"] = pd.to_numeric(out["support"], errors="coerce").astype("float64")
    return out


def _conditions(ids: pd.Series, contacts: pd.DataFrame | None) -> dict[str, np.ndarray]:
    if contacts is None:
        false = np.zeros(len(ids), dtype=bool)
        return {"economic_buyer_supportive": false, "technical_buyer_not_opposed": false}
    role, support = contacts["buying_role"], contacts["support"]
    supportive = set(contacts.loc[(role == "economic") & (support >= 1), "opportunity_id"])
    opposed = set(contacts.loc[(role == "technical") & (support <= -1), "opportunity_id"])
    return {
        "economic_buyer_supportive": ids.isin(supportive).to_numpy(),
        "technical_buyer_not_opposed": ~ids.isin(opposed).to_numpy(),
    }


def bid_readiness(
    data: KamData | SalesProcessData,
    *,
    as_of: object = None,
    methodology: Methodology | None = None,
) -> pd.DataFrame:
    """The bid readiness of every deal open at the bid stage at the end of ``as_of``.

    Parameters
    ----------
    data
        A KamData (needs ``opportunities``, ``stage_history`` and ``tasks``; ``contacts`` and
        ``opportunity_contacts`` for the contact conditions) or a
        :class:`~kamlib.sales.SalesProcessData`.
    as_of
        The date (required with a KamData).
    methodology
        Stages and playbooks (default: kamlib's methodology file).

    Returns
    -------
    pandas.DataFrame
        :data:`READINESS_COLUMNS`, one row per open deal at the bid stage (of the processes
        the checklist applies to), least ready
        first (then the largest amount): ``readiness`` (sum of satisfied weights, 0–1),
        ``satisfied`` and ``missing`` (checklist item keys, tuples), ``next_tasks`` (task
        codes, a tuple); ``days_in_stage`` as of the date.

    Examples
    --------
    >>> bid_readiness(load("data/demo.duckdb"), as_of="2026-06-30").head()  # doctest: +SKIP
    """
    process = resolve_process_data(
        data, as_of=as_of, methodology=methodology, owner="bid_readiness"
    )
    done = process.require_tasks("Bid readiness")
    at_bid = _open_deals(process)
    at_bid = at_bid[
        (at_bid["stage"] == process.bid_stage).to_numpy()
        & at_bid["process"].isin(process.bid_processes).to_numpy()
    ].reset_index(drop=True)
    ids = at_bid["opportunity_id"]
    done_pairs = set(zip(done["opportunity_id"], done["task"], strict=True))
    conditions = _conditions(ids, _deal_contacts(process, at_bid))
    checklist = process.checklist
    score = np.zeros(len(at_bid))
    met: list[list[str]] = [[] for _ in range(len(at_bid))]
    unmet: list[list[str]] = [[] for _ in range(len(at_bid))]
    for item in checklist.itertuples(index=False):
        ok = np.zeros(len(at_bid), dtype=bool)
        if isinstance(item.task, str) and item.task:
            ok |= np.array([(i, item.task) in done_pairs for i in ids], dtype=bool)
        if isinstance(item.condition, str) and item.condition:
            ok |= conditions[item.condition]
        score += np.where(ok, float(item.weight), 0.0)
        for i, hit in enumerate(ok):
            (met if hit else unmet)[i].append(str(item.item))
    at_bid["readiness"] = score
    at_bid["satisfied"] = [tuple(x) for x in met]
    at_bid["missing"] = [tuple(x) for x in unmet]
    at_bid["next_tasks"] = _next_tasks(process, at_bid, done_pairs)[1]
    out = at_bid.sort_values(
        ["readiness", "amount", "opportunity_id"], ascending=[True, False, True],
        kind="mergesort", na_position="last",
    )  # fmt: skip
    out = out[list(READINESS_COLUMNS)].reset_index(drop=True)
    out.attrs["as_of"] = process.as_of
    out.attrs["bid_stage"] = process.bid_stage
    return out


def stage_gaps(
    data: KamData | SalesProcessData,
    *,
    as_of: object = None,
    methodology: Methodology | None = None,
) -> pd.DataFrame:
    """What each open deal still owes its current stage's playbook at the end of ``as_of``.

    Parameters
    ----------
    data
        A KamData (needs ``opportunities`` and ``tasks``; ``stage_history`` for the stage as
        of a past date) or a :class:`~kamlib.sales.SalesProcessData`.
    as_of
        The date (required with a KamData).
    methodology
        Stages and playbooks (default: kamlib's methodology file).

    Returns
    -------
    pandas.DataFrame
        :data:`STAGE_GAP_COLUMNS`, one row per deal open at the date (every stage, every
        process), in pipeline order: ``required`` (the required task codes of the deal's
        stage in its process's playbook, a tuple) and ``next_tasks`` (those not done by the
        date, in playbook order).  Bid readiness (:func:`bid_readiness`) reports the same
        ``next_tasks`` for the deals at the bid stage.

    Examples
    --------
    >>> gaps = stage_gaps(load("data/demo.duckdb"), as_of="2026-06-30")  # doctest: +SKIP
    >>> gaps[gaps["next_tasks"].map(len) > 0]                            # doctest: +SKIP
    """
    process = resolve_process_data(data, as_of=as_of, methodology=methodology, owner="stage_gaps")
    done = process.require_tasks("The playbook gaps of open deals")
    deals = _open_deals(process)
    done_pairs = set(zip(done["opportunity_id"], done["task"], strict=True))
    deals["required"], deals["next_tasks"] = _next_tasks(process, deals, done_pairs)
    out = deals[list(STAGE_GAP_COLUMNS)].reset_index(drop=True)
    out.attrs["as_of"] = process.as_of
    return out


def _open_deals(process: SalesProcessData) -> pd.DataFrame:
    """The deals open at the end of the as-of date (:func:`kamlib.pipeline.pipeline_as_of`:
    the stage, amount and expected close recorded then) with their playbook process."""
    pipe = pipeline_as_of(process.events, process.as_of)
    deals = process.deals.set_index("opportunity_id")
    out = pd.DataFrame(
        {
            "opportunity_id": pipe["opportunity_id"].to_numpy(),
            "account_id": pipe["account_id"].to_numpy(),
            "owner": pipe["owner"].to_numpy(),
            "team": pipe["team"].to_numpy(),
            "process": pipe["opportunity_id"].map(deals["process"]).to_numpy(),
            "stage": pipe["stage"].to_numpy(),
            "amount": pipe["amount"].to_numpy(dtype="float64"),
            "expected_close_date": pipe["expected_close_date"].to_numpy(),
            "days_in_stage": pipe["days_in_stage"].to_numpy(dtype="int64"),
        }
    )
    out["expected_close_date"] = pd.to_datetime(out["expected_close_date"]).astype("datetime64[us]")
    return out


def _next_tasks(
    process: SalesProcessData, deals: pd.DataFrame, done_pairs: set[tuple[str, str]]
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """Per deal of ``deals`` (``opportunity_id``, ``process``, ``stage``): the required task
    codes of its stage in its process's playbook, and those not done (``done_pairs``)."""
    req = process.required_tasks()
    by_gate = {key: tuple(g["task"]) for key, g in req.groupby(["process", "stage"], sort=False)}
    required = [
        by_gate.get((p, s), ()) for p, s in zip(deals["process"], deals["stage"], strict=True)
    ]
    left = [
        tuple(t for t in codes if (i, t) not in done_pairs)
        for i, codes in zip(deals["opportunity_id"], required, strict=True)
    ]
    return required, left
