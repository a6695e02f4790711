"""What moved in the pipeline between two dates (history) or two imports (snapshots), and the bridge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.errors import DataValidationError
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.periods import as_day
from kamlib.pipeline.events import (
    _DAY,
    UNKNOWN_STAGE,
    StageEvents,
    _canonical,
    _events,
    _isin,
    _state_at,
    pipeline_as_of,
)

# -- pipeline changes between two dates ------------------------------------------------------------
#: Steps of :func:`changes_reconciliation`, in order.
BRIDGE_STEPS: tuple[str, ...] = (
    "open_start", "new", "reopened", "won", "lost", "amount_up", "amount_down", "open_end",
)  # fmt: skip


def _compare(
    sp: pd.DataFrame,
    ep: pd.DataFrame,
    end_status: pd.Series,
    known_at_start: pd.Index,
    extra_closed: pd.DataFrame,
) -> pd.DataFrame:
    """Per deal what changed between two pipelines (see :func:`pipeline_changes`)."""
    keep = ["opportunity_id", "account_id", "name", "product_line", "owner", "team", "stage",
            "stage_order", "amount", "expected_close_date"]  # fmt: skip
    a = sp[keep].set_index("opportunity_id")
    b = ep[keep].set_index("opportunity_id")
    ids = a.index.union(b.index)
    m = pd.DataFrame(index=ids)
    info = pd.concat([b[keep[1:6]], a.loc[a.index.difference(b.index), keep[1:6]]])
    m = m.join(info)
    m["stage_start"] = a["stage"]
    m["stage_end"] = b["stage"]
    m["amount_start"] = a["amount"]
    m["amount_end"] = b["amount"]
    m["expected_close_start"] = a["expected_close_date"]
    m["expected_close_end"] = b["expected_close_date"]
    in_a = _isin(m.index, a.index)
    in_b = _isin(m.index, b.index)
    status = end_status.reindex(m.index)
    change = np.select(
        [in_a & in_b, in_a & ~in_b & (status == "won").to_numpy(), in_a & ~in_b,
         ~in_a & in_b & ~_isin(m.index, known_at_start)],
        ["open", "won", "lost", "new"], "reopened",
    )  # fmt: skip
    m["change"] = change
    both = in_a & in_b
    oa = a["stage_order"].reindex(m.index).to_numpy(float)
    ob = b["stage_order"].reindex(m.index).to_numpy(float)
    m["stage_move"] = np.where(
        both & (oa >= 0) & (ob >= 0),
        np.select([ob > oa, ob < oa], ["advanced", "regressed"], "unchanged"),
        None,
    )
    ea, eb = m["expected_close_start"], m["expected_close_end"]
    m["close_date_move"] = np.where(
        both & ea.notna().to_numpy() & eb.notna().to_numpy(),
        np.select([(eb > ea).to_numpy(), (eb < ea).to_numpy()], ["pushed_out", "pulled_in"],
                  "unchanged"),
        None,
    )  # fmt: skip
    m["close_date_move_days"] = np.where(both, (eb - ea).dt.days.to_numpy(float), np.nan)
    m["amount_change"] = np.where(
        both, (m["amount_end"] - m["amount_start"]).to_numpy(float), np.nan
    )
    out = m.reset_index(names="opportunity_id")
    if len(extra_closed):
        out = pd.concat([out, extra_closed], ignore_index=True)
    cols = ["opportunity_id", "change", "account_id", "name", "product_line", "owner", "team",
            "stage_start", "stage_end", "stage_move", "amount_start", "amount_end",
            "amount_change", "expected_close_start", "expected_close_end", "close_date_move",
            "close_date_move_days"]  # fmt: skip
    out = out.reindex(columns=cols)
    for c in ("opportunity_id", "change", "account_id", "name", "product_line", "owner", "team",
              "stage_start", "stage_end", "stage_move", "close_date_move"):  # fmt: skip
        out[c] = out[c].astype("str").where(out[c].notna(), None)
    for c in ("amount_start", "amount_end", "amount_change", "close_date_move_days"):
        out[c] = out[c].astype("float64")
    for c in ("expected_close_start", "expected_close_end"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[us]")
    return out.sort_values("opportunity_id", kind="mergesort").reset_index(drop=True)


def pipeline_changes(
    data: KamData | StageEvents,
    start: object,
    end: object,
    *,
    methodology: Methodology | str | Path | None = None,
) -> pd.DataFrame:
    """What moved in the pipeline between the end of ``start`` and the end of ``end``.

    Rebuilt from the stage history (:func:`pipeline_as_of` at both dates).  Without stage
    history use :func:`snapshot_changes` on two imports instead (this function then compares
    the opportunities table's dates, with today's stages and amounts: ``attrs["source"]``).

    Returns
    -------
    pandas.DataFrame
        One row per deal open at either date, or created and closed in between:
        ``opportunity_id``, ``change`` — ``open`` (open at both), ``new`` (created in between,
        open at the end), ``reopened`` (closed at the start, open at the end), ``won`` / ``lost``
        (open at the start, closed by the end), ``created_won`` / ``created_lost`` (created and
        closed in between: not in either pipeline) — then ``account_id``, ``name``,
        ``product_line``, ``owner``, ``team``, ``stage_start``, ``stage_end``, ``stage_move``
        (advanced / regressed / unchanged, for ``open``), ``amount_start``, ``amount_end``,
        ``amount_change``, ``expected_close_start``, ``expected_close_end``,
        ``close_date_move`` (pushed_out / pulled_in / unchanged) and
        ``close_date_move_days``.  :func:`changes_reconciliation` turns it into the bridge
        open at start + new + reopened − won − lost ± amount changes = open at end.
    """
    se = _events(data, methodology, owner="pipeline_changes")
    d0, d1 = (
        as_day(start, parameter="start", owner="pipeline_changes"),
        as_day(end, parameter="end", owner="pipeline_changes"),
    )
    if d1 < d0:
        raise DataValidationError(
            f"The 'end' date {d1.date()} lies before the 'start' date {d0.date()}; swap them."
        )
    sp = pipeline_as_of(se, d0, methodology=methodology)
    ep = pipeline_as_of(se, d1, methodology=methodology)
    state = _state_at(se, d1).set_index("opportunity_id")
    opps = se.opportunities.set_index("opportunity_id")
    known = opps.index[opps["start_date"] <= d0]
    created_in = opps.index[(opps["start_date"] > d0) & (opps["start_date"] <= d1)]
    closed_in = state.index[state["status"].isin(["won", "lost"])]
    cc = created_in.intersection(closed_in)
    o = opps.loc[cc]
    ev = se.events
    closing = ev[_isin(ev["opportunity_id"], cc) & (ev["entered_at"] < d1 + _DAY).to_numpy()]
    amount_then = closing.groupby("opportunity_id")["amount"].last().reindex(cc)
    extra = pd.DataFrame(
        {"opportunity_id": cc, "change": "created_" + state.loc[cc, "status"].astype(str).to_numpy(),
         "account_id": o["account_id"].to_numpy(), "name": o["name"].to_numpy(),
         "product_line": o["product_line"].to_numpy(), "owner": o["owner"].to_numpy(),
         "team": o["team"].to_numpy(), "stage_end": state.loc[cc, "status"].to_numpy(),
         "amount_end": amount_then.fillna(o["amount"]).to_numpy(float)}
    )  # fmt: skip
    out = _compare(sp, ep, state["status"], known, extra)
    out.attrs.update({"start": d0, "end": d1, "source": se.source})
    return out


def snapshot_changes(
    before: KamData, after: KamData, *, methodology: Methodology | str | Path | None = None
) -> pd.DataFrame:
    """:func:`pipeline_changes` between two imports of the opportunities table.

    For exports without stage history: keep the import of each month (the store keeps every
    batch: ``load(store, snapshot=batch_id)``) and compare two.  The open deals of ``before``
    and of ``after`` (status open) are the two pipelines; a deal open in ``before`` and closed
    in ``after`` is won / lost, one unknown to ``before`` and open in ``after`` is new.
    Deals created and closed between the imports appear as ``created_won`` /
    ``created_lost``.  Same columns as :func:`pipeline_changes`.
    """
    meth = resolve_methodology(methodology, owner="snapshot_changes")
    order = {s.key: s.order for s in meth.open_stages}

    def pipe(data: KamData) -> pd.DataFrame:
        o = data.require("opportunities", "Comparing pipeline snapshots")
        o = o[o["status"] == "open"].copy()
        o["stage"] = _canonical(o["stage"], meth).fillna(UNKNOWN_STAGE)
        o["stage_order"] = o["stage"].map(order).fillna(-1).astype("int64")
        return o

    b_all = before.require("opportunities", "Comparing pipeline snapshots")
    a_all = after.require("opportunities", "Comparing pipeline snapshots")
    status = a_all.set_index("opportunity_id")["status"]
    fresh = a_all[
        ~_isin(a_all["opportunity_id"], b_all["opportunity_id"])
        & a_all["status"].isin(["won", "lost"])
    ]
    extra = pd.DataFrame(
        {"opportunity_id": fresh["opportunity_id"].to_numpy(),
         "change": ("created_" + fresh["status"].astype(str)).to_numpy(),
         "account_id": fresh["account_id"].to_numpy(), "name": fresh["name"].to_numpy(),
         "product_line": fresh["product_line"].to_numpy(), "owner": fresh["owner"].to_numpy(),
         "team": fresh["team"].to_numpy(), "stage_end": fresh["status"].to_numpy(),
         "amount_end": fresh["amount"].to_numpy(float)}
    )  # fmt: skip
    out = _compare(pipe(before), pipe(after), status, pd.Index(b_all["opportunity_id"]), extra)
    out.attrs.update({"source": "snapshots"})
    return out


def changes_reconciliation(changes: pd.DataFrame) -> pd.DataFrame:
    """The bridge from the open pipeline at the start to the one at the end.

    Returns ``step`` (:data:`BRIDGE_STEPS`: open_start, new, reopened, won, lost, amount_up,
    amount_down, open_end), ``deals`` and ``amount`` (signed: won, lost and amount_down are
    negative), and ``check``: the running total, whose last value equals ``open_end`` — the
    reconciliation open at start + new + reopened − won − lost ± amount changes = open at end.
    Deals without an amount count as 0 in the amounts (``attrs["deals_without_amount"]``).
    """
    c = changes
    a0 = c["amount_start"].fillna(0.0)
    a1 = c["amount_end"].fillna(0.0)
    at_start = c["change"].isin(["open", "won", "lost"])
    at_end = c["change"].isin(["open", "new", "reopened"])
    delta = (a1 - a0).where(c["change"] == "open", 0.0)
    rows = [
        ("open_start", int(at_start.sum()), float(a0[at_start].sum())),
        ("new", int((c["change"] == "new").sum()), float(a1[c["change"] == "new"].sum())),
        (
            "reopened",
            int((c["change"] == "reopened").sum()),
            float(a1[c["change"] == "reopened"].sum()),
        ),
        ("won", int((c["change"] == "won").sum()), -float(a0[c["change"] == "won"].sum())),
        ("lost", int((c["change"] == "lost").sum()), -float(a0[c["change"] == "lost"].sum())),
        ("amount_up", int((delta > 0).sum()), float(delta[delta > 0].sum())),
        ("amount_down", int((delta < 0).sum()), float(delta[delta < 0].sum())),
        ("open_end", int(at_end.sum()), float(a1[at_end].sum())),
    ]
    out = pd.DataFrame(rows, columns=["step", "deals", "amount"])
    out["check"] = (
        out["amount"].iloc[:-1].cumsum().reindex(out.index).fillna(out["amount"].iloc[:-1].sum())
    )
    missing = (at_start & c["amount_start"].isna()) | (at_end & c["amount_end"].isna())
    out.attrs["deals_without_amount"] = int(missing.sum())
    return out
