"""`kam process`: the sales-process review — playbook compliance, task effects, competitors,
bid readiness — as of a date."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pandas as pd

from kamlib.cli.data_commands import DEFAULT_STORE, _table, fail
from kamlib.cli.score_commands import _warnings_to_stderr
from kamlib.errors import KamlibError

if TYPE_CHECKING:
    from kamlib.sales import CompetitiveWinLoss, Compliance

#: the tables `kam process` cannot do without
NEEDED_TABLES = ("opportunities", "tasks", "opportunity_competitors")


def _plain(value: Any) -> Any:
    """A JSON-ready value: NaN / NaT → None, dates → ISO text, tuples → lists."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}" if value == value.normalize() else value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _pct(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.0%}"


def _pts(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{x:+.0f}"


def _interval(lo: float, hi: float) -> str:
    return "—" if not (math.isfinite(lo) and math.isfinite(hi)) else f"[{lo:+.0f}, {hi:+.0f}]"


def _codes(values: tuple[str, ...]) -> str:
    return ", ".join(values) if values else "—"


@click.command("process")
@click.option("--as-of", "as_of", required=True, help="Review the process as of this date.")
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The kamlib store to read.")
@click.option(
    "--methodology", type=click.Path(path_type=Path),
    help="Methodology file (stages and playbooks; default: kamlib's).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def process_command(as_of: str, store: str, methodology: Path | None, as_json: bool) -> None:
    """The sales-process review as of a date: playbook compliance, what goes with winning,
    competitive win/loss and bid readiness.

    Compliance: were each stage's required tasks done before the deal left the stage.  Task
    effects: win rate with and without each task or resource over the deals that reached
    its stage and closed — an association, not a cause — with Newcombe's 95 % interval and
    one adjusted for deal size, process and owner.  Competitors: win rate against each, with
    Wilson intervals and partial pooling.  Bid readiness: the open deals at the bid stage.
    Needs the tasks and opportunity_competitors tables.  Exit code 0 when the review was
    made, 2 for a mistake in the command or its input (e.g. a missing table).
    """
    if not Path(store).exists():
        fail(
            f"store {store} does not exist. Build one with `kam demo --store {store}` or "
            f"`kam import FILES --store {store}`."
        )
    from kamlib.data import load
    from kamlib.errors import MissingTableError
    from kamlib.methodology import load_methodology
    from kamlib.periods import parse_date
    from kamlib.sales import (
        ASSOCIATION_NOTE,
        bid_readiness,
        competitive_win_loss,
        compliance,
        sales_process_data,
        task_effects,
    )

    with _warnings_to_stderr():
        try:
            meth = load_methodology(methodology)
            day = pd.Timestamp(parse_date(as_of))
            data = load(store)
            missing = [t for t in NEEDED_TABLES if not data.has(t)]
            if missing:
                raise MissingTableError(missing, "The sales-process review (`kam process`)")
            process = sales_process_data(data, as_of=day, methodology=meth)
            comp = compliance(process)
            effects = task_effects(process)
            competition = competitive_win_loss(process)
            readiness = bid_readiness(process)
        except KamlibError as exc:
            fail(" ".join(str(exc).split()))
    out = {
        "as_of": f"{day:%Y-%m-%d}",
        "note": ASSOCIATION_NOTE,
        "compliance": {
            "summary": comp.summary(),
            "by_stage": _records(comp.by_stage),
            "by_owner": _records(comp.by_owner),
            "by_team": _records(comp.by_team),
        },
        "task_effects": _records(effects),
        "competitors": _records(competition.competitors),
        "competition": {k: _plain(v) for k, v in competition.summary().items() if k != "prior"}
        | {"prior": {k: _plain(v) for k, v in competition.prior.items()}},
        "bid_readiness": _records(readiness),
    }
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    _print(out, comp, effects, competition, readiness, process.bid_stage)


def _print(
    out: dict[str, Any],
    comp: Compliance,
    effects: pd.DataFrame,
    competition: CompetitiveWinLoss,
    readiness: pd.DataFrame,
    bid_stage: str,
) -> None:
    s = out["compliance"]["summary"]
    click.echo(f"Sales process as of {out['as_of']}")
    click.echo(
        f"\nCompliance: {s['deals']:,} deals, {s['passages']:,} stage passages assessed; "
        f"required tasks done before leaving the stage {_pct(s['share_done_in_time'])}; "
        f"fully compliant deals {_pct(s['share_deals_compliant'])}; "
        f"{s['skipped_stages']:,} skipped stages, {s['backward_moves']:,} backward moves"
    )
    by_stage = comp.by_stage.assign(
        share_done_in_time=comp.by_stage["share_done_in_time"].map(_pct),
        share_compliant=comp.by_stage["share_compliant"].map(_pct),
    )
    click.echo(_table(by_stage.drop(columns="stage_order")))
    click.echo(f"\nTask effects, win-rate points with 95 % intervals ({out['note']}):")
    shown = pd.DataFrame(
        {
            "task": effects["task"],
            "stage": effects["stage"],
            "with": effects["n_with"],
            "without": effects["n_without"],
            "win_with": effects["win_rate_with"].map(_pct),
            "win_without": effects["win_rate_without"].map(_pct),
            "difference": effects["difference"].map(_pts),
            "interval": [
                _interval(lo, hi)
                for lo, hi in zip(effects["ci_low"], effects["ci_high"], strict=True)
            ],
            "adjusted": effects["adjusted_difference"].map(_pts),
            "adj_interval": [
                _interval(lo, hi)
                for lo, hi in zip(
                    effects["adjusted_ci_low"], effects["adjusted_ci_high"], strict=True
                )
            ],
            "cycle_days": effects["cycle_difference"].map(_pts),
        }
    )
    click.echo(_table(shown))
    c = competition.competitors
    o = competition.overall
    click.echo(
        f"\nCompetitors: {o['deals']:,} closed deals with a competitor, win rate "
        f"{_pct(o['win_rate'])}; pooled rates shrink small samples ({competition.prior['method']})"
    )
    click.echo(
        _table(
            pd.DataFrame(
                {
                    "competitor": c["competitor"],
                    "deals": c["deals"],
                    "won": c["won"],
                    "win_rate": c["win_rate"].map(_pct),
                    "95%": [
                        f"{_pct(lo)}–{_pct(hi)}"
                        for lo, hi in zip(c["ci_low"], c["ci_high"], strict=True)
                    ],
                    "pooled": c["shrunk_win_rate"].map(_pct),
                    "lost_to_them": c["lost_to_them"],
                    "no_decision": c["no_decision"],
                    "price_delta": c["price_delta_median"].map(_pct),
                }
            )
        )
    )
    n = len(readiness)
    click.echo(
        f"\nBid readiness at stage {bid_stage}: {n:,} open deal{'' if n == 1 else 's'}, "
        "least ready first"
    )
    click.echo(
        _table(
            pd.DataFrame(
                {
                    "opportunity_id": readiness["opportunity_id"],
                    "owner": readiness["owner"],
                    "amount": readiness["amount"].map(
                        lambda x: "—" if not math.isfinite(x) else f"{x:,.0f}"
                    ),
                    "readiness": readiness["readiness"].map(_pct),
                    "missing": readiness["missing"].map(_codes),
                    "next_tasks": readiness["next_tasks"].map(_codes),
                }
            )
        )
    )


def register(group: click.Group) -> None:
    """Add `process` to the `kam` group."""
    group.add_command(process_command)
