"""Compliance with the stage playbooks: were the required tasks done before the deal moved on?

A stage's required tasks are its exit criteria (the methodology's ``playbooks``, per sales
process).  A deal *passes* a stage when it first moves forward out of it, or jumps over it
(:mod:`kamlib.sales.process_data`); a required task is **done in time** when its
``done_date`` is on or before that moment, **done late** when it was done afterwards (by the
as-of date), and **missing** otherwise.  A stage the deal has not passed yet (it is still in
it, or was lost there) is not assessed: its gate was never crossed.  Skipped stages are
assessed at the moment the deal jumped over them — their exit criteria still apply — and
counted; backward moves (quote → solution) are counted per stage the deal moved back from.

Everything is read from timestamps as known at the end of ``as_of``: a task done after the
stage was left does not make the passage compliant, and a task done after ``as_of`` is not
done at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.methodology import Methodology
from kamlib.sales.process_data import SalesProcessData, resolve_process_data

#: Columns of :attr:`Compliance.deal_stages`, in order.
DEAL_STAGE_COLUMNS: tuple[str, ...] = (
    "opportunity_id", "owner", "team", "process", "process_assumed", "stage", "stage_order",
    "passed_at", "skipped", "required", "done_in_time", "done_late", "compliant", "missing",
)  # fmt: skip

#: Columns of the aggregates (:attr:`Compliance.by_stage`, ``by_owner``, ``by_team``) after
#: the group column.
AGGREGATE_COLUMNS: tuple[str, ...] = (
    "deals", "passages", "required", "done_in_time", "share_done_in_time", "compliant",
    "share_compliant", "skipped", "backward_moves",
)  # fmt: skip


@dataclass(frozen=True)
class Compliance:
    """Playbook compliance as of a date (see the module docstring for the rules).

    Attributes
    ----------
    as_of
        The date (end of day).
    deal_stages
        One row per deal and assessed stage (:data:`DEAL_STAGE_COLUMNS`): ``passed_at``,
        ``skipped`` (jumped over), ``required`` (count of required tasks), ``done_in_time``,
        ``done_late``, ``compliant`` (every required task done in time), ``missing`` (the
        codes not done in time, a tuple).
    deals
        One row per deal with an assessed stage: ``opportunity_id``, ``owner``, ``team``,
        ``process``, ``status``, ``stages`` (assessed), ``required``, ``done_in_time``,
        ``share_done_in_time``, ``compliant`` (every assessed stage compliant),
        ``skipped_stages``, ``backward_moves``.
    by_stage, by_owner, by_team
        The group column (``stage`` with ``stage_order``; ``owner``; ``team``) then
        :data:`AGGREGATE_COLUMNS`: ``deals`` (distinct deals), ``passages`` (deal-stages
        assessed), ``required`` and ``done_in_time`` (task counts) and their share,
        ``compliant`` (per stage: compliant passages; per owner / team: fully compliant
        deals) and its share, ``skipped`` (skipped stages among the passages),
        ``backward_moves`` (moves back out of the stage; per owner / team: of their deals).
    """

    as_of: pd.Timestamp
    deal_stages: pd.DataFrame = field(repr=False)
    deals: pd.DataFrame = field(repr=False)
    by_stage: pd.DataFrame = field(repr=False)
    by_owner: pd.DataFrame = field(repr=False)
    by_team: pd.DataFrame = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """The headline figures: deals and passages assessed, required tasks done in time,
        fully compliant deals, skipped stages and backward moves (plain Python values)."""
        ds, deals = self.deal_stages, self.deals
        required = int(ds["required"].sum())
        done = int(ds["done_in_time"].sum())
        compliant = int(deals["compliant"].sum())
        return {
            "as_of": f"{self.as_of:%Y-%m-%d}",
            "deals": len(deals),
            "passages": len(ds),
            "required": required,
            "done_in_time": done,
            "share_done_in_time": _share(done, required),
            "deals_compliant": compliant,
            "share_deals_compliant": _share(compliant, len(deals)),
            "skipped_stages": int(deals["skipped_stages"].sum()),
            "backward_moves": int(deals["backward_moves"].sum()),
        }

    def to_frame(self) -> pd.DataFrame:
        """The per-stage table."""
        return self.by_stage.copy()


def _share(k: float, n: float) -> float | None:
    return round(float(k) / float(n), 6) if n else None


def compliance(
    data: KamData | SalesProcessData,
    *,
    as_of: object = None,
    methodology: Methodology | None = None,
) -> Compliance:
    """Were each stage's required tasks done before the deal left the stage?

    Parameters
    ----------
    data
        A KamData (needs ``opportunities``, ``stage_history`` and ``tasks``) or the
        :class:`~kamlib.sales.SalesProcessData` of :func:`~kamlib.sales.sales_process_data`.
    as_of
        The date (required with a KamData).
    methodology
        Stages and playbooks (default: kamlib's methodology file).

    Returns
    -------
    Compliance
        Per deal and stage, per deal, and aggregated per stage, owner and team.

    Examples
    --------
    >>> c = compliance(load("data/demo.duckdb"), as_of="2026-06-30")  # doctest: +SKIP
    >>> c.by_stage[["stage", "share_done_in_time", "share_compliant"]]  # doctest: +SKIP
    """
    process = resolve_process_data(data, as_of=as_of, methodology=methodology, owner="compliance")
    process.require_history("Playbook compliance")
    done = process.require_tasks("Playbook compliance")
    deal_stages = _deal_stages(process, done)
    deals = _per_deal(process, deal_stages)
    by_stage = _by_stage(process, deal_stages)
    by_owner = _by_group(deal_stages, deals, "owner")
    by_team = _by_group(deal_stages, deals, "team")
    return Compliance(
        as_of=process.as_of,
        deal_stages=deal_stages,
        deals=deals,
        by_stage=by_stage,
        by_owner=by_owner,
        by_team=by_team,
    )


def _deal_stages(process: SalesProcessData, done: pd.DataFrame) -> pd.DataFrame:
    passed = process.passages[process.passages["passed_at"].notna()]
    deals = process.deals.set_index("opportunity_id")
    passed = passed.assign(process=passed["opportunity_id"].map(deals["process"]))
    req = process.required_tasks()
    rows = passed.merge(req, on=["process", "stage"], how="inner")
    rows = rows.merge(done, on=["opportunity_id", "task"], how="left")
    rows["in_time"] = (rows["done_at"] <= rows["passed_at"]).fillna(False)
    rows["late"] = (rows["done_at"] > rows["passed_at"]).fillna(False)
    key = ["opportunity_id", "stage"]
    rows = rows.sort_values([*key, "task"], kind="mergesort").reset_index(drop=True)
    g = rows.groupby(key, sort=False)
    agg = g.agg(
        stage_order=("stage_order", "first"),
        process=("process", "first"),
        passed_at=("passed_at", "first"),
        skipped=("skipped", "first"),
        required=("task", "size"),
        done_in_time=("in_time", "sum"),
        done_late=("late", "sum"),
    ).reset_index()
    agg["missing"] = _missing_codes(rows, len(agg))
    agg["compliant"] = agg["done_in_time"] == agg["required"]
    agg["owner"] = agg["opportunity_id"].map(deals["owner"])
    agg["team"] = agg["opportunity_id"].map(deals["team"])
    agg["process_assumed"] = agg["opportunity_id"].map(deals["process_assumed"]).astype(bool)
    for col in ("required", "done_in_time", "done_late"):
        agg[col] = agg[col].astype("int64")
    agg["skipped"] = agg["skipped"].astype(bool)
    agg["passed_at"] = agg["passed_at"].astype("datetime64[us]")
    out = agg[list(DEAL_STAGE_COLUMNS)]
    return out.sort_values(["opportunity_id", "stage_order"], kind="mergesort").reset_index(
        drop=True
    )


def _missing_codes(rows: pd.DataFrame, groups: int) -> list[tuple[str, ...]]:
    """Per (deal, stage) group of ``rows`` (sorted, in order), the task codes not done in
    time — one pass over the rows instead of a Python function per group."""
    out: list[list[str]] = [[] for _ in range(groups)]
    start = np.r_[True, (rows["opportunity_id"].to_numpy()[1:] != rows["opportunity_id"].to_numpy()[:-1])
                  | (rows["stage"].to_numpy()[1:] != rows["stage"].to_numpy()[:-1])]  # fmt: skip
    group = np.cumsum(start) - 1
    late = ~rows["in_time"].to_numpy(dtype=bool)
    for i, code in zip(group[late], rows["task"].to_numpy(dtype=object)[late], strict=True):
        out[i].append(code)
    return [tuple(codes) for codes in out]


def _moves_per_deal(process: SalesProcessData, kind: str) -> pd.Series:
    m = process.moves
    return m[m["kind"] == kind].groupby("opportunity_id").size()


def _per_deal(process: SalesProcessData, ds: pd.DataFrame) -> pd.DataFrame:
    g = ds.groupby("opportunity_id", sort=True)
    out = g.agg(
        owner=("owner", "first"),
        team=("team", "first"),
        process=("process", "first"),
        stages=("stage", "size"),
        required=("required", "sum"),
        done_in_time=("done_in_time", "sum"),
        compliant=("compliant", "all"),
    ).reset_index()
    status = process.deals.set_index("opportunity_id")["status"]
    out.insert(4, "status", out["opportunity_id"].map(status))
    out["share_done_in_time"] = out["done_in_time"] / out["required"]
    ids = out["opportunity_id"]
    out["skipped_stages"] = ids.map(_moves_per_deal(process, "skip")).fillna(0).astype("int64")
    out["backward_moves"] = ids.map(_moves_per_deal(process, "back")).fillna(0).astype("int64")
    out["compliant"] = out["compliant"].astype(bool)
    return out[
        ["opportunity_id", "owner", "team", "process", "status", "stages", "required",
         "done_in_time", "share_done_in_time", "compliant", "skipped_stages", "backward_moves"]
    ]  # fmt: skip


def _aggregate(ds: pd.DataFrame, by: str) -> pd.DataFrame:
    g = ds.groupby(by, sort=False, dropna=False)
    out = g.agg(
        deals=("opportunity_id", "nunique"),
        passages=("opportunity_id", "size"),
        required=("required", "sum"),
        done_in_time=("done_in_time", "sum"),
        compliant=("compliant", "sum"),
        skipped=("skipped", "sum"),
    ).reset_index()
    out["share_done_in_time"] = _ratio(out["done_in_time"], out["required"])
    return out


def _ratio(k: pd.Series, n: pd.Series) -> pd.Series:
    return (k / n.where(n > 0)).astype("float64")


def _by_stage(process: SalesProcessData, ds: pd.DataFrame) -> pd.DataFrame:
    out = _aggregate(ds, "stage")
    out["share_compliant"] = _ratio(out["compliant"], out["passages"])
    back = process.moves[process.moves["kind"] == "back"].groupby("stage").size()
    out["backward_moves"] = out["stage"].map(back).fillna(0).astype("int64")
    out.insert(1, "stage_order", out["stage"].map(process.stage_order).astype("int64"))
    out = out.sort_values("stage_order", kind="mergesort").reset_index(drop=True)
    return _finish(out, ["stage", "stage_order"])


def _by_group(ds: pd.DataFrame, deals: pd.DataFrame, by: str) -> pd.DataFrame:
    out = _aggregate(ds, by)
    per = deals.groupby(by, sort=False, dropna=False).agg(
        compliant=("compliant", "sum"), backward_moves=("backward_moves", "sum")
    )
    per = per.reindex(pd.Index(out[by])).fillna(0)  # same groups, same order
    out["compliant"] = per["compliant"].to_numpy()
    out["backward_moves"] = per["backward_moves"].to_numpy()
    out["share_compliant"] = _ratio(out["compliant"], out["deals"])
    out = out.sort_values(by, kind="mergesort", na_position="last").reset_index(drop=True)
    return _finish(out, [by])


def _finish(out: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    for col in ("deals", "passages", "required", "done_in_time", "compliant", "skipped",
                "backward_moves"):  # fmt: skip
        out[col] = out[col].astype("int64")
    out["share_done_in_time"] = out["share_done_in_time"].astype("float64")
    out["share_compliant"] = out["share_compliant"].astype("float64")
    return out[[*keys, *AGGREGATE_COLUMNS]].reset_index(drop=True)
