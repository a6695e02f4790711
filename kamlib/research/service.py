"""Service responsiveness: response and resolution against SLA, stalls, deteriorating accounts.

Definitions (thresholds: ``research`` section of the methodology file)
----------------------------------------------------------------------
- ``response_hours`` = first_response_at − opened_at; ``resolution_hours`` = resolved_at −
  opened_at (both clocks run from opening, as the SLA columns do).
- A ticket **breached its response SLA** when it was answered later than
  ``sla_response_hours``, or is still unanswered at the end of ``as_of`` with more hours
  elapsed than the SLA; it is *not yet judged* (missing) while unanswered within the SLA or
  when it has no SLA.  The resolution SLA likewise.  ``breach_rate`` = breached ÷ judged.
- **Backlog**: tickets open (not resolved) at the end of ``as_of``; ``age_days`` since opening;
  *aged* when older than ``backlog_alert_days``.
- **Stalls** (where requests stall, 卡在哪个部门/区域): per department × region with at least
  ``service_stall_min_tickets`` resolved tickets, the median resolution time ÷ the median of
  all resolved tickets; a cell at ≥ ``service_stall_ratio`` is a stall.  The export has no
  hand-off log, so the department and region that own a ticket stand for its hand-offs.
- **Slowness** of a ticket: the mean of log(response hours ÷ response SLA) and
  log(resolution hours ÷ resolution SLA), each centred on the median of the ticket's
  department × region (so a stall that slows everyone is not blamed on the account).
- **Deteriorating service** of an account: tickets opened in the last
  ``service_recent_months`` (6) against the ``service_baseline_months`` (18) before them,
  each window with ≥ ``service_min_tickets`` (3) judged tickets; the recent mean slowness
  exceeds the baseline's by ≥ log(``service_slowdown_ratio``) (tickets take ≥ 1.5 × as long
  relative to their SLA) *and* by ≥ ``service_min_evidence`` (2) standard errors, the
  standard error from the pooled within-account variance of slowness.  Accounts with fewer
  tickets cannot be judged (``deteriorating`` is False; ``evidence`` NaN).
- Tickets resolved (or answered) **before they were opened** are impossible: they are
  listed in ``issues`` and their times left out (missing), never clipped to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.data.kamdata import KamData
from kamlib.methodology import Methodology, ResearchSettings
from kamlib.periods import as_day
from kamlib.research._common import months_back, settings_of

TICKET_COLUMNS = [
    "ticket_id", "account_id", "opened_at", "priority", "department", "region", "escalated",
    "response_hours", "resolution_hours", "response_breached", "resolution_breached",
    "is_open", "age_days", "satisfaction", "slowness",
]  # fmt: skip


@dataclass(frozen=True)
class ServiceResult:
    """Service responsiveness as of a date (see :func:`service_responsiveness`).

    Attributes
    ----------
    tickets
        One row per ticket opened on or before ``as_of``: :data:`TICKET_COLUMNS`.
    by_priority, by_department, by_region
        :func:`service_summary` grouped by that column.
    stalls
        ``department, region, tickets, median_resolution_hours, ratio, stall`` (largest
        ratio first).
    accounts
        Per account with tickets: ``account_id, tickets_recent, tickets_baseline,
        median_response_recent, median_response_baseline, breach_rate_recent,
        breach_rate_baseline, slowdown_ratio, evidence, deteriorating``.
    issues
        Impossible tickets: ``ticket_id, account_id, problem, opened_at, other_at``.
    as_of
        The date.
    """

    tickets: pd.DataFrame
    by_priority: pd.DataFrame
    by_department: pd.DataFrame
    by_region: pd.DataFrame
    stalls: pd.DataFrame
    accounts: pd.DataFrame
    issues: pd.DataFrame
    as_of: pd.Timestamp


def ticket_times(tickets: pd.DataFrame, *, cut: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-ticket clocks and SLA judgements as of the end of ``cut``, and impossible tickets."""
    end = cut + pd.Timedelta(days=1)
    opened = pd.to_datetime(tickets["opened_at"])
    first = pd.to_datetime(tickets["first_response_at"])
    resolved = pd.to_datetime(tickets["resolved_at"])
    bad_res = resolved.notna() & (resolved < opened)
    bad_resp = first.notna() & (first < opened)
    issue_rows = []
    for mask, problem, other in (
        (bad_res, "resolved_before_opened", resolved),
        (bad_resp, "answered_before_opened", first),
    ):
        if mask.any():
            issue_rows.append(
                pd.DataFrame(
                    {
                        "ticket_id": tickets.loc[mask, "ticket_id"].astype(str).to_numpy(),
                        "account_id": tickets.loc[mask, "account_id"].astype(str).to_numpy(),
                        "problem": problem,
                        "opened_at": opened[mask].to_numpy(),
                        "other_at": other[mask].to_numpy(),
                    }
                )
            )
    issues = (
        pd.concat(issue_rows, ignore_index=True)
        if issue_rows
        else pd.DataFrame(
            {
                "ticket_id": pd.Series(dtype="str"),
                "account_id": pd.Series(dtype="str"),
                "problem": pd.Series(dtype="str"),
                "opened_at": pd.Series(dtype="datetime64[ns]"),
                "other_at": pd.Series(dtype="datetime64[ns]"),
            }
        )  # fmt: skip
    )
    hour = pd.Timedelta(hours=1)
    resp_h = ((first - opened) / hour).where(~bad_resp & ~bad_res)
    res_h = ((resolved - opened) / hour).where(~bad_res & ~bad_resp)
    elapsed_h = (end - opened) / hour
    sla_resp = pd.to_numeric(tickets["sla_response_hours"], errors="coerce").astype("float64")
    sla_res = pd.to_numeric(tickets["sla_resolution_hours"], errors="coerce").astype("float64")
    invalid = bad_res | bad_resp

    def judged(hours: pd.Series, sla: pd.Series) -> pd.Series:
        out = pd.Series(np.nan, index=tickets.index, dtype="float64")
        done = hours.notna() & sla.notna()
        out[done] = (hours[done] > sla[done]).astype(float)
        waiting = hours.isna() & sla.notna() & ~invalid & (elapsed_h > sla)
        out[waiting] = 1.0
        return out

    is_open = resolved.isna() & ~invalid
    frame = pd.DataFrame(
        {
            "ticket_id": tickets["ticket_id"].astype(str).to_numpy(),
            "account_id": tickets["account_id"].astype(str).to_numpy(),
            "opened_at": opened.to_numpy(),
            "priority": tickets["priority"].astype("object").to_numpy(),
            "department": tickets["department"].astype("object").to_numpy(),
            "region": tickets["region"].astype("object").to_numpy(),
            "escalated": tickets["escalated"].astype("boolean").fillna(False).to_numpy(dtype=bool),
            "response_hours": resp_h.to_numpy(dtype="float64"),
            "resolution_hours": res_h.to_numpy(dtype="float64"),
            "response_breached": judged(resp_h, sla_resp).to_numpy(),
            "resolution_breached": judged(res_h, sla_res).to_numpy(),
            "is_open": is_open.to_numpy(dtype=bool),
            "age_days": np.where(is_open, (end - opened).dt.total_seconds() / 86400.0, np.nan),
            "satisfaction": pd.to_numeric(tickets["satisfaction"], errors="coerce")
            .astype("float64")
            .to_numpy(),
        }
    )
    frame["slowness"] = ticket_slowness(frame, tickets.reset_index(drop=True)).to_numpy()
    return frame, issues


SUMMARY_COLUMNS = [
    "tickets", "median_response_hours", "median_resolution_hours", "response_breach_rate",
    "resolution_breach_rate", "escalation_rate", "open_tickets", "aged_open_tickets",
    "mean_satisfaction",
]  # fmt: skip


def _figures(t: pd.DataFrame, aged_days: int) -> dict[str, float | int]:
    def stat(col: str, fn) -> float:
        v = t[col].to_numpy(dtype="float64")
        v = v[~np.isnan(v)]
        return float(fn(v)) if len(v) else float("nan")

    is_open = t["is_open"].to_numpy(dtype=bool)
    age = t["age_days"].to_numpy(dtype="float64")
    return {
        "tickets": len(t),
        "median_response_hours": stat("response_hours", np.median),
        "median_resolution_hours": stat("resolution_hours", np.median),
        "response_breach_rate": stat("response_breached", np.mean),
        "resolution_breach_rate": stat("resolution_breached", np.mean),
        "escalation_rate": float(t["escalated"].to_numpy(dtype=bool).mean())
        if len(t)
        else float("nan"),
        "open_tickets": int(is_open.sum()),
        "aged_open_tickets": int((is_open & (np.nan_to_num(age) > aged_days)).sum()),
        "mean_satisfaction": stat("satisfaction", np.mean),
    }


def service_summary(
    times: pd.DataFrame, by: str | None = None, *, aged_days: int = 14
) -> pd.DataFrame:
    """Responsiveness figures of a ticket frame (from :func:`ticket_times`), optionally grouped.

    Columns: ``[by], tickets, median_response_hours, median_resolution_hours,
    response_breach_rate, resolution_breach_rate, escalation_rate, open_tickets,
    aged_open_tickets, mean_satisfaction``.  Rates are NaN when nothing could be judged;
    ``aged_open_tickets`` counts open tickets older than ``aged_days``.
    """
    if not by:
        return pd.DataFrame([_figures(times, aged_days)], columns=SUMMARY_COLUMNS).astype(
            {"tickets": "int64", "open_tickets": "int64", "aged_open_tickets": "int64"}
        )
    keys = times[by].astype("object").where(times[by].notna(), "unknown")
    rows = [
        {by: key, **_figures(times.iloc[idx], aged_days)}
        for key, idx in keys.groupby(keys, sort=True).indices.items()
    ]
    out = pd.DataFrame(rows, columns=[by, *SUMMARY_COLUMNS]).astype(
        {"tickets": "int64", "open_tickets": "int64", "aged_open_tickets": "int64"}
    )
    return out.sort_values(["tickets", by], ascending=[False, True]).reset_index(drop=True)


def service_stalls(times: pd.DataFrame, settings: ResearchSettings) -> pd.DataFrame:
    """Department × region cells by median resolution time against the overall median."""
    done = times[times["resolution_hours"].notna()]
    columns = ["department", "region", "tickets", "median_resolution_hours", "ratio", "stall"]
    if done.empty:
        return pd.DataFrame({c: [] for c in columns})
    overall = float(done["resolution_hours"].median())
    cells = (
        done.assign(department=done["department"].fillna("unknown"),
                    region=done["region"].fillna("unknown"))
        .groupby(["department", "region"])
        .agg(tickets=("ticket_id", "size"), median_resolution_hours=("resolution_hours", "median"))
        .reset_index()
    )  # fmt: skip
    cells = cells[cells["tickets"] >= settings.service_stall_min_tickets].copy()
    cells["ratio"] = cells["median_resolution_hours"] / overall if overall > 0 else np.nan
    cells["stall"] = cells["ratio"] >= settings.service_stall_ratio
    cells["tickets"] = cells["tickets"].astype("int64")
    return cells.sort_values(["ratio", "department", "region"], ascending=[False, True, True])[
        columns
    ].reset_index(drop=True)


def ticket_slowness(times: pd.DataFrame, tickets_sla: pd.DataFrame) -> pd.Series:
    """Each ticket's slowness: mean of log(hours ÷ SLA) for response and resolution, centred.

    Centred on the median of the ticket's department × region cell, so a department that is
    slow for everyone (a stall) does not make its accounts look deteriorating.  NaN when
    neither clock is known (unanswered, no SLA, impossible times).
    """
    parts = []
    for hours, sla in (
        ("response_hours", "sla_response_hours"),
        ("resolution_hours", "sla_resolution_hours"),
    ):
        h = times[hours].to_numpy(dtype="float64")
        limit = pd.to_numeric(tickets_sla[sla], errors="coerce").to_numpy(dtype="float64")
        ok = (h > 0) & (limit > 0)
        value = pd.Series(np.nan, index=times.index, dtype="float64")
        value[ok] = np.log(h[ok] / limit[ok])
        cells = [times["department"].fillna("unknown"), times["region"].fillna("unknown")]
        parts.append(value - value.groupby(cells).transform("median"))
    return pd.concat(parts, axis=1).mean(axis=1, skipna=True)


def service_trend(
    times: pd.DataFrame, *, cut: pd.Timestamp, settings: ResearchSettings
) -> pd.DataFrame:
    """Per account: the recent window against the baseline and the deteriorating flag.

    Needs a ``slowness`` column (:func:`ticket_slowness`).  The standard error of the
    difference uses the pooled within-account variance of slowness over every account in
    ``times`` (one account alone has too few tickets to estimate its own).
    """
    recent_start = months_back(cut, settings.service_recent_months)
    base_start = months_back(recent_start, settings.service_baseline_months)
    day = pd.Timedelta(days=1)
    opened = times["opened_at"]
    window = np.where(
        (opened >= recent_start + day) & (opened < cut + day),
        "recent",
        np.where((opened >= base_start + day) & (opened < recent_start + day), "baseline", ""),
    )
    columns = [
        "account_id", "tickets_recent", "tickets_baseline", "median_response_recent",
        "median_response_baseline", "breach_rate_recent", "breach_rate_baseline",
        "slowdown_ratio", "evidence", "deteriorating",
    ]  # fmt: skip
    t = times.assign(_window=window)
    t = t[t["_window"] != ""]
    if t.empty:
        return pd.DataFrame({c: [] for c in columns})
    agg = (
        t.groupby(["account_id", "_window"])
        .agg(
            tickets=("ticket_id", "size"),
            median_response=("response_hours", "median"),
            breach_rate=("response_breached", "mean"),
            slow=("slowness", "mean"),
            judged=("slowness", "count"),
        )
        .unstack("_window")
    )
    agg.columns = [f"{a}_{b}" for a, b in agg.columns]
    out = pd.DataFrame(index=agg.index)
    for name in ("recent", "baseline"):
        for col in ("tickets", "median_response", "breach_rate", "slow", "judged"):
            out[f"{col}_{name}"] = agg.get(f"{col}_{name}", np.nan)
    for col in ("tickets_recent", "tickets_baseline", "judged_recent", "judged_baseline"):
        out[col] = out[col].fillna(0).astype("int64")
    within = times["slowness"] - times.groupby("account_id")["slowness"].transform("mean")
    pooled = (
        float(np.nanvar(within.to_numpy(dtype="float64"), ddof=1))
        if within.notna().sum() > 2
        else np.nan
    )
    if not pooled > 0:
        pooled = np.nan
    diff = out["slow_recent"] - out["slow_baseline"]
    n1 = out["judged_recent"].where(out["judged_recent"] > 0)
    n0 = out["judged_baseline"].where(out["judged_baseline"] > 0)
    out["slowdown_ratio"] = np.exp(diff)
    out["evidence"] = diff / np.sqrt(pooled * (1.0 / n1 + 1.0 / n0))
    enough = (out["judged_recent"] >= settings.service_min_tickets) & (
        out["judged_baseline"] >= settings.service_min_tickets
    )
    worse = (out["slowdown_ratio"] >= settings.service_slowdown_ratio) & (
        out["evidence"] >= settings.service_min_evidence
    )
    out["deteriorating"] = (enough & worse).astype(bool)
    out = out.rename(
        columns={"median_response_recent": "median_response_recent",
                 "median_response_baseline": "median_response_baseline"}
    )  # fmt: skip
    return out.reset_index()[columns].sort_values("account_id").reset_index(drop=True)


def service_responsiveness(
    data: KamData,
    *,
    as_of: str | pd.Timestamp,
    methodology: Methodology | str | None = None,
    account_id: str | None = None,
) -> ServiceResult:
    """Service responsiveness of all accounts (or one) as of a date.

    Parameters
    ----------
    data
        Needs ``service_tickets`` (``MissingTableError`` otherwise).
    as_of
        Tickets opened on or before it; answers and resolutions after it are unknown.
    methodology
        For the thresholds (``research`` section); kamlib's default when ``None``.
    account_id
        Restrict to one account.

    Returns
    -------
    ServiceResult

    Examples
    --------
    >>> s = service_responsiveness(data, as_of="2026-09-30")  # doctest: +SKIP
    >>> s.accounts[s.accounts["deteriorating"]]  # doctest: +SKIP
    """
    cut = as_day(as_of, owner="service_responsiveness")
    settings = settings_of(methodology, owner="service_responsiveness")
    view = data.as_of(cut)
    tickets = view.require("service_tickets", "Service responsiveness")
    if account_id is not None:
        tickets = tickets[tickets["account_id"] == account_id]
    times, issues = ticket_times(tickets, cut=cut)
    return summarise_service(times, issues, cut=cut, settings=settings)


def summarise_service(
    times: pd.DataFrame, issues: pd.DataFrame, *, cut: pd.Timestamp, settings: ResearchSettings
) -> ServiceResult:
    """Build a :class:`ServiceResult` from ticket times (used for one account's slice too)."""
    aged = settings.backlog_alert_days
    return ServiceResult(
        tickets=times,
        by_priority=service_summary(times, "priority", aged_days=aged),
        by_department=service_summary(times, "department", aged_days=aged),
        by_region=service_summary(times, "region", aged_days=aged),
        stalls=service_stalls(times, settings),
        accounts=service_trend(times, cut=cut, settings=settings),
        issues=issues,
        as_of=cut,
    )
