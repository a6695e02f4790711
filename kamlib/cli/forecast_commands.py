"""`kam forecast`: the period's bookings forecast; `kam forecast backtest`: its track record."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from kamlib.cli.data_commands import DEFAULT_STORE, fail
from kamlib.cli.score_commands import _warnings_to_stderr
from kamlib.errors import KamlibError


def _load(store: str) -> Any:
    if not Path(store).exists():
        fail(
            f"store {store} does not exist. Build one with `kam demo --store {store}` or "
            f"`kam import FILES --store {store}`."
        )
    from kamlib.data import load

    try:
        data = load(store)
    except KamlibError as exc:
        fail(str(exc))
    if not data.has("opportunities"):
        fail(
            f"store {store} has no opportunities table, so there is no pipeline to forecast. "
            "Import an opportunities file first."
        )
    return data


def _methodology(path: Path | None) -> Any:
    from kamlib.methodology import load_methodology

    try:
        return load_methodology(path)
    except KamlibError as exc:
        fail(str(exc))


def _money(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:,.0f}"


def _none_if_nan(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@click.group("forecast", invoke_without_command=True)
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The kamlib store to read.")
@click.option(
    "--as-of", "as_of", help="Forecast as of this date (YYYY-MM-DD). Required without a subcommand."
)
@click.option(
    "--period",
    help="The period to forecast, e.g. 2026-Q4 or 2026-11. Required without a subcommand.",
)
@click.option(
    "--simulations",
    type=click.IntRange(min=100),
    help="Monte Carlo trials (default: the methodology's, 10,000).",
)
@click.option(
    "--seed", type=click.IntRange(min=0), help="Random seed (default: the methodology's)."
)
@click.option("--team", help="Also show this team's forecast and gap.")
@click.option(
    "--methodology", type=click.Path(path_type=Path), help="Methodology file (default: kamlib's)."
)
@click.option(
    "--track-periods",
    default=8,
    show_default=True,
    type=click.IntRange(min=0, max=40),
    help="Past periods back-tested to choose the headline method and calibrate P10–P90 "
    "(0: the deal-level Monte Carlo alone).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.pass_context
def forecast_command(
    ctx: click.Context,
    store: str,
    as_of: str | None,
    period: str | None,
    simulations: int | None,
    seed: int | None,
    team: str | None,
    methodology: Path | None,
    track_periods: int,
    as_json: bool,
) -> None:
    """Forecast the bookings of a period: P10 / P50 / P90, closed to date, target and gap.

    Bookings are won opportunity amounts dated at the close.  The open pipeline is simulated
    (win probability × close-date slippage), plus deals not yet created, learnt from past
    periods.  Run-rate order revenue is shown next to it, never added.  The headline P50 is
    the method with the best back-test record at the as-of date (the deal model, the weighted
    pipeline, last period, same period last year, the mean of earlier periods, a Theta model)
    and P10–P90 are calibrated on that record's errors.  Exit code 0 when the forecast was
    made, 2 for a mistake in the command or its input.

    `kam forecast backtest` shows how accurate the forecast was in past periods.
    """
    if ctx.invoked_subcommand is not None:
        ctx.ensure_object(dict)
        ctx.obj.update(store=store, methodology=methodology, as_json=as_json, seed=seed)
        return
    if not as_of or not period:
        fail("give --as-of DATE and --period PERIOD (e.g. --as-of 2026-09-30 --period 2026-Q4).")
    from kamlib.forecast import forecast_period, forecast_with_track_record, gap_to_target
    from kamlib.periods import parse_date, parse_period

    meth = _methodology(methodology)
    try:
        day = parse_date(as_of)
        per = parse_period(period, fiscal_year_start_month=meth.fiscal_year_start_month)
    except KamlibError as exc:
        fail(str(exc))
    data = _load(store)
    with _warnings_to_stderr():
        try:
            fc = forecast_period(
                data, as_of=str(day), period=per, simulations=simulations, seed=seed,
                methodology=meth,
            )  # fmt: skip
            targets = data.targets if data.has("targets") else None
            gap = gap_to_target(fc, targets)
            tr = forecast_with_track_record(
                data, as_of=fc.as_of, period=per, forecast=fc, track_periods=track_periods,
                seed=seed, methodology=meth,
            )  # fmt: skip
        except KamlibError as exc:
            fail(str(exc))
    out = tr.summary()
    company = gap[gap["level"] == "company"].iloc[0]
    out["target"] = _none_if_nan(float(company["target"]))
    out["gap"] = (
        None if out["target"] is None else round(float(out["target"]) - float(out["p50"]), 2)
    )
    out["p_reach_target"] = _none_if_nan(float(company["p_reach"]))
    out["coverage"] = _none_if_nan(float(company["coverage"]))
    out["target_status"] = company["status"]
    teams = gap[gap["level"] == "team"]
    out["teams"] = [
        {k: _none_if_nan(v) for k, v in row.items() if k != "level"}
        for row in teams.to_dict("records")
    ]
    if team is not None:
        row = teams[teams["name"] == team]
        if row.empty:
            valid = ", ".join(sorted(teams["name"])) or "(none)"
            fail(f"team {team!r} has no deals or bookings in {per.label}. Teams: {valid}.")
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(
        f"Bookings forecast {out['period']} as of {out['as_of']} ({out['simulations']:,} trials, seed {out['seed']})"
    )
    click.echo(f"  closed to date      {_money(out['closed_to_date'])}")
    click.echo(
        f"  open pipeline       {_money(out['pipeline_expected'])} expected from {out['open_deals']:,} deals"
    )
    click.echo(f"  not yet created     {_money(out['new_deals_expected'])} expected")
    click.echo(
        f"  P10 / P50 / P90     {_money(out['p10'])} / {_money(out['p50'])} / {_money(out['p90'])}"
    )
    click.echo(
        f"  weighted pipeline   {_money(out['weighted_pipeline'])} (amount × stage probability)"
    )
    click.echo(
        f"  headline method     {out['method']} ({out['method_reason']}); P10–P90 "
        f"{out['interval_method']}; deal model P50 {_money(out['model_p50'])}"
    )
    if out.get("zombie_deals"):
        click.echo(
            f"  zombie pipeline     {out['zombie_deals']:,} deals, {_money(out['zombie_amount'])}"
        )
    if out["target"] is None:
        click.echo("  target              — (no company bookings target for this period)")
    else:
        click.echo(
            f"  target              {_money(out['target'])}  gap to P50 {_money(out['gap'])}  "
            f"P(reach) {out['p_reach_target']:.0%}  ({out['target_status']})"
        )
    rr = out.get("run_rate_revenue")
    if rr:
        click.echo(
            f"Run-rate order revenue (not added): P10 / P50 / P90 {_money(rr['p10'])} / "
            f"{_money(rr['p50'])} / {_money(rr['p90'])} ({rr['method']})"
        )
    click.echo(f"Win probability: {out['win_model']} — {out['win_model_reason']}")
    for note in out["notes"]:
        click.echo(f"  note: {note}")
    shown = teams if team is None else teams[teams["name"] == team]
    if len(shown):
        click.echo("Teams (deal-level Monte Carlo):")
    for row in shown.to_dict("records"):
        target = (
            "no target"
            if not math.isfinite(row["target"])
            else f"target {_money(row['target'])}, P(reach) {row['p_reach']:.0%}"
        )
        click.echo(
            f"  {row['name']}: P50 {_money(row['p50'])} (P10 {_money(row['p10'])}, P90 {_money(row['p90'])}); {target}"
        )


@forecast_command.command("backtest")
@click.option(
    "--store", help="The kamlib store to read (default: the one given to `kam forecast`)."
)
@click.option(
    "--periods",
    default=8,
    show_default=True,
    type=click.IntRange(min=1, max=40),
    help="How many past periods.",
)
@click.option(
    "--freq",
    default="quarterly",
    show_default=True,
    type=click.Choice(["monthly", "quarterly", "half-yearly", "yearly"]),
    help="Period length.",
)
@click.option(
    "--simulations",
    default=2000,
    show_default=True,
    type=click.IntRange(min=100),
    help="Monte Carlo trials per forecast.",
)
@click.option(
    "--origins",
    default="rolling",
    show_default=True,
    type=click.Choice(["rolling", "start"]),
    help="rolling: forecast each period the day before it starts and a third and two thirds "
    "of the way in; start: only the day before.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.pass_context
def backtest_command(
    ctx: click.Context,
    store: str | None,
    periods: int,
    freq: str,
    simulations: int,
    origins: str,
    as_json: bool,
) -> None:
    """Forecast each past period as of its start and compare with the bookings won.

    Prints per period P10 / P50 / P90, the actual bookings and the weighted-pipeline
    baseline, then MAPE, bias and the share of actuals inside P10–P90 (about 80% is right,
    with its Wilson 95% interval).  P50 is the method the track record chose at the time and
    P10–P90 are calibrated only on periods that had ended (no look-ahead).  Every method of
    the tournament is scored; on a demo store the oracle (the generator's true win
    probabilities and close dates) gives the irreducible error.
    """
    parent = ctx.obj or {}
    store = store or parent.get("store") or DEFAULT_STORE
    as_json = as_json or bool(parent.get("as_json"))
    meth = _methodology(parent.get("methodology"))
    data = _load(store)
    from kamlib.data import load_truth
    from kamlib.forecast import backtest_forecast
    from kamlib.forecast.tournament import ROLLING_ORIGINS

    truth = load_truth(store).get("opportunities")
    with _warnings_to_stderr():
        try:
            result = backtest_forecast(
                data, periods=periods, freq=freq, simulations=simulations,
                seed=parent.get("seed"), methodology=meth,
                origins=ROLLING_ORIGINS if origins == "rolling" else (0.0,), truth=truth,
            )  # fmt: skip
        except KamlibError as exc:
            fail(str(exc))
    company = result.periods[result.periods["team"] == "all"]

    def row(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "period": r["period"],
            "origin": round(float(r["origin"]), 4),
            "as_of": r["as_of"].date().isoformat(),
            "method": r["method"],
            "interval_method": r["interval_method"],
            "p10": round(float(r["p10"]), 2),
            "p50": round(float(r["p50"]), 2),
            "p90": round(float(r["p90"]), 2),
            "actual": round(float(r["actual"]), 2),
            "weighted_pipeline": round(float(r["weighted_pipeline"]), 2),
            "model_p50": round(float(r["model_p50"]), 2),
            "oracle_p50": _none_if_nan(round(float(r["oracle_p50"]), 2)),
            "in_interval": bool(r["in_interval"]),
        }

    first = company[company["origin"] == result.origins[0]]
    rows = [row(r) for r in first.to_dict("records")]
    summary = result.summary()
    if as_json:
        click.echo(json.dumps({"periods": rows, "summary": summary,
                               "origins": [row(r) for r in company.to_dict("records")]},
                              ensure_ascii=False))  # fmt: skip
        return
    click.echo(
        f"Bookings forecast back-test, {len(rows)} {freq} periods (forecast the day before each starts)"
    )
    click.echo(f"  {'period':<10}{'P10':>16}{'P50':>16}{'P90':>16}{'actual':>16}{'weighted':>16}")
    for r in rows:
        mark = "" if r["in_interval"] else "  outside P10–P90"
        click.echo(
            f"  {r['period']:<10}{_money(r['p10']):>16}{_money(r['p50']):>16}{_money(r['p90']):>16}"
            f"{_money(r['actual']):>16}{_money(r['weighted_pipeline']):>16}{mark}"
        )

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:.1%}"

    ci = summary.get("coverage_interval") or [None, None]
    click.echo(
        f"Headline MAPE of P50 {pct(summary.get('mape'))} (weighted pipeline {pct(summary.get('baseline_mape'))}); "
        f"bias {pct(summary.get('bias'))}; P10–P90 coverage {summary.get('inside', 0)} of "
        f"{len(rows)} ({pct(summary.get('interval_coverage'))}, Wilson 95% {pct(ci[0])}–{pct(ci[1])})"
    )
    click.echo("Methods (the day before each period):")
    for name, m in summary.get("methods", {}).items():
        mci = m.get("coverage_interval") or [None, None]
        click.echo(
            f"  {name:<18} MAPE {pct(m['mape']):>7}  bias {pct(m['bias']):>7}  coverage "
            f"{pct(m['coverage'])} ({pct(mci[0])}–{pct(mci[1])})  scored {m['scored']}"
        )
    click.echo(f"Chosen now: {summary.get('chosen_method')} — {summary.get('chosen_reason')}")
    if "oracle_mape" in summary:
        click.echo(
            f"Oracle (true win probabilities and close dates) MAPE {pct(summary['oracle_mape'])}"
        )


def register(group: click.Group) -> None:
    """Add `forecast` (and `forecast backtest`) to the `kam` group."""
    group.add_command(forecast_command)
