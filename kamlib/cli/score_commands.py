"""`kam score`: score and tier every account as of a date, one CSV row per account."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from kamlib.cli.data_commands import DEFAULT_STORE, fail
from kamlib.errors import KamlibError, KamlibWarning


@click.command("score")
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The kamlib store to read.")
@click.option("--as-of", "as_of", required=True, help="Score as of this date (YYYY-MM-DD).")
@click.option(
    "--methodology", type=click.Path(path_type=Path),
    help="Methodology file with a 'scoring' section (default: kamlib's).",
)  # fmt: skip
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
    help="CSV file to write (UTF-8).",
)  # fmt: skip
@click.option(
    "--lang", type=click.Choice(["en", "zh"]),
    help="Write tier labels in this language instead of tier keys.",
)  # fmt: skip
def score_command(store: str, as_of: str, methodology: Path | None, out: Path, lang: str | None):
    """Score and tier every account as of a date and write them to a CSV file.

    One row per account, best first: account_id, score (0–100), tier, then one column
    per indicator of the methodology holding its weighted contribution (the contributions
    of a row sum to its score).  Exit code 0 when the file was written, 2 for a mistake in
    the command or its input (date, methodology file, store, output path).
    """
    if not out.parent.exists():
        fail(f"cannot write {out}: folder {out.parent} does not exist.")
    with _warnings_to_stderr():
        result, day = _score(store, as_of, methodology)
    if result.scores.empty:
        fail(f"no account exists in {store} as of {day}; nothing was written. Check --as-of.")
    table = result.to_frame(lang=lang)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        # 12 significant digits: exact to far below a point, without float noise (5.6000000000000005)
        table.to_csv(tmp, index=False, encoding="utf-8", float_format="%.12g")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fail(f"cannot write {out}: {exc.strerror or exc}.")
    counts = Counter(result.scores["tier"])
    tiers = " · ".join(
        f"{t.label(lang or 'en')} {counts.get(t.key, 0)}" for t in result.model.tiers
    )
    click.echo(f"Scored {len(table):,} accounts as of {day} → {out}  ({tiers})")


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


def _score(store: str, as_of: str, methodology: Path | None):
    from kamlib.config import load_methodology
    from kamlib.periods import parse_date

    try:
        day = parse_date(as_of)
        meth = load_methodology(methodology)
        meth.require_scoring()
    except KamlibError as exc:
        fail(str(exc))
    if not Path(store).exists():
        fail(
            f"store {store} does not exist. Build one with `kam demo --store {store}` or "
            f"`kam import FILES --store {store}`."
        )
    try:
        from kamlib.features import account_features
    except ImportError as exc:
        fail(
            "account features are not available in this installation (kamlib.features could "
            f"not be imported: {exc}), so accounts cannot be scored."
        )
    from kamlib.scoring import score_accounts

    try:
        features = account_features(store, as_of=day)
        return score_accounts(features, meth), day
    except KamlibError as exc:
        fail(str(exc))


def register(group: click.Group) -> None:
    """Add `score` to the `kam` group."""
    group.add_command(score_command)
