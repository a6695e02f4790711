"""`kam score`: score and tier every account as of a date (or every period end of a range):
one CSV row per account and date, and/or the store's score history."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import pandas as pd

from kamlib.cli.data_commands import DEFAULT_STORE, fail
from kamlib.errors import KamlibError, KamlibWarning
from kamlib.frames import escape_formulas


@click.command("score")
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The kamlib store to read.")
@click.option("--as-of", "as_of", required=True, help="Score as of this date (YYYY-MM-DD).")
@click.option(
    "--methodology", type=click.Path(path_type=Path),
    help="Methodology file with a 'scoring' section (default: kamlib's).",
)  # fmt: skip
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False),
    help="CSV file to write (UTF-8).",
)  # fmt: skip
@click.option(
    "--lang", type=click.Choice(["en", "zh"]),
    help="Write tier labels in this language instead of tier keys.",
)  # fmt: skip
@click.option(
    "--save", is_flag=True,
    help="Keep the scores in the store's score history (kamlib.data.saved_score_history).",
)  # fmt: skip
@click.option(
    "--since", help="Score every period end from this date to --as-of (score history).",
)  # fmt: skip
@click.option(
    "--freq", type=click.Choice(["monthly", "quarterly", "yearly"]), default="quarterly",
    show_default=True, help="Period ends scored with --since.",
)  # fmt: skip
@click.option(
    "--raw-csv", is_flag=True,
    help="Write text cells as they are. By default a cell starting with = + - @ (a formula "
    "to Excel) gets a leading ' so that opening the CSV cannot run it.",
)  # fmt: skip
def score_command(
    store: str,
    as_of: str,
    methodology: Path | None,
    out: Path | None,
    lang: str | None,
    save: bool,
    since: str | None,
    freq: str,
    raw_csv: bool,
):
    """Score and tier every account as of a date; write a CSV file and/or keep the scores.

    One row per account, best first: account_id, score (0–100), tier, then one column
    per indicator of the methodology holding its weighted contribution (the contributions
    of a row sum to its score).  With --since, every period end from that date to --as-of
    (and --as-of itself) is scored and the CSV has an as_of column first.  --save keeps
    the scores in the store, keyed by data snapshot and methodology (saving the same dates
    again replaces them).  Exit code 0 when done, 2 for a mistake in the command or its
    input (date, methodology file, store, output path).

    Text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a
    carriage return, e.g. an account id "=HYPERLINK(...)") are written with a leading single
    quote; numbers are never changed.  --raw-csv writes them as they are.
    """
    if out is None and not save:
        fail("nothing to do: give --out FILE.csv, --save, or both.")
    if out is not None and not out.parent.exists():
        fail(f"cannot write {out}: folder {out.parent} does not exist.")
    with _warnings_to_stderr():
        days = _dates(as_of, since, freq)
        history, model, meth, snapshot, notes = _score(store, days, methodology)
    last = history[history["as_of"] == pd.Timestamp(days[-1])]
    if last.empty:
        fail(f"no account exists in {store} as of {days[-1]}; nothing was written. Check --as-of.")
    if out is not None:
        table = _table(history if since else last, model, lang, with_date=bool(since))
        _write_csv(table if raw_csv else escape_formulas(table), out)
    if save:
        from kamlib.data import save_score_history

        try:
            n = save_score_history(store, history, snapshot=snapshot, methodology=meth.fingerprint)
        except KamlibError as exc:
            fail(str(exc))
        click.echo(f"Saved {n:,} scores for {len(days)} date(s) in {store}.")
    counts = Counter(last["tier"])
    tiers = " · ".join(f"{t.label(lang or 'en')} {counts.get(t.key, 0)}" for t in model.tiers)
    where = f" → {out}" if out is not None else ""
    dates = f"{days[0]} … {days[-1]} ({len(days)} dates)" if since else str(days[-1])
    click.echo(f"Scored {len(last):,} accounts as of {dates}{where}  ({tiers})")
    for note in notes:  # indicators off for lack of their table
        click.echo(f"Note: {note}.")


def _dates(as_of: str, since: str | None, freq: str) -> list:
    from kamlib.periods import parse_date, period_of

    try:
        day = parse_date(as_of)
        if since is None:
            return [day]
        start = parse_date(since)
    except KamlibError as exc:
        fail(str(exc))
    if start > day:
        fail(f"--since {start} is after --as-of {day}; give an earlier --since.")
    days, period = [], period_of(start, freq)
    while period.end < day:
        if period.end >= start:
            days.append(period.end)
        period = period.next()
    return [*days, day]


def _table(history: pd.DataFrame, model, lang: str | None, *, with_date: bool) -> pd.DataFrame:
    table = history.drop(columns=["rank"])
    if lang is not None:
        labels = {t.key: t.label(lang) for t in model.tiers}
        table["tier"] = table["tier"].map(lambda k: labels.get(k, k))
    if with_date:
        table["as_of"] = table["as_of"].dt.strftime("%Y-%m-%d")
    else:
        table = table.drop(columns=["as_of"])
    return table


def _write_csv(table: pd.DataFrame, out: Path) -> None:
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        # 12 significant digits: exact to far below a point, without float noise (5.6000000000000005)
        table.to_csv(tmp, index=False, encoding="utf-8", float_format="%.12g")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"cannot write {out}: {exc.strerror or exc}.")


@contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show kamlib's warnings (weights normalised, data quality) as `kam: warning:` lines."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", KamlibWarning)
        try:
            yield
        finally:
            for w in caught:
                if issubclass(w.category, KamlibWarning):
                    click.echo(f"kam: warning: {w.message}", err=True)


def _score(store: str, days: list, methodology: Path | None):
    """Score history over ``days``: (history frame, scoring model, methodology, snapshot,
    notes on the indicators that were off)."""
    from kamlib.methodology import load_methodology

    try:
        meth = load_methodology(methodology)
        meth.require_scoring()
    except KamlibError as exc:
        fail(str(exc))
    if not Path(store).exists():
        fail(
            f"store {store} does not exist. Build one with `kam demo --store {store}` or "
            f"`kam import FILES --store {store}`."
        )
    from kamlib.data import load
    from kamlib.features import account_features_history
    from kamlib.scoring import indicators_off, off_notes, score_history

    try:
        data = load(store)
        features = account_features_history(data, as_of_dates=days)
        if features.empty:
            fail(
                f"no account exists in {store} as of {days[-1]}; nothing was written. Check --as-of."
            )
        history = score_history(features, meth)
        notes = off_notes(indicators_off(features, meth.require_scoring()))
        return history, meth.require_scoring(), meth, data.snapshot.fingerprint, notes
    except KamlibError as exc:
        fail(str(exc))


def register(group: click.Group) -> None:
    """Add `score` to the `kam` group."""
    group.add_command(score_command)
