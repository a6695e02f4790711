"""`kam enrich PATH...` and `kam enrich review`: registry exports matched to accounts.

``kam enrich`` reads the exports (天眼查 / 企查查 batch exports, D&B files, events files),
matches them to the store's accounts and loads the matched rows as a new import batch;
it prints the counts (read = matched + ambiguous + unmatched + quarantined) and the review
list.  ``kam enrich review`` prints the review list the last run kept in the store.
``kam enrich --provider tianyancha-api`` looks the store's accounts up in 天眼查's API instead
(key from ``KAMLIB_TIANYANCHA_TOKEN``; ``--cache``, ``--ttl-days``, ``--rate``, ``--retries``,
``--api-url``).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd

from kamlib.cli.data_commands import DEFAULT_STORE, _table, fail
from kamlib.errors import KamlibError

_REVIEW_SHOWN = [
    "record",
    "legal_name",
    "city",
    "account_id",
    "account_name",
    "account_city",
    "score",
    "reason",
]


@click.command("enrich")
@click.argument("paths", nargs=-1)
@click.option(
    "--provider", type=click.Choice(["file", "tianyancha-api"]), default="file", show_default=True,
    help="Where the registry data comes from (file: exports you downloaded; tianyancha-api: "
    "the store's accounts looked up in 天眼查's API, key in KAMLIB_TIANYANCHA_TOKEN).",
)  # fmt: skip
@click.option(
    "--preset", type=click.Choice(["tianyancha", "qichacha", "dnb"]),
    help="The export's layout (default: found from each file's headers).",
)  # fmt: skip
@click.option(
    "--overrides", type=click.Path(path_type=Path),
    help="CSV of reviewed decisions: account_id, company_id or legal_name, decision (accept/reject).",
)  # fmt: skip
@click.option("--encoding", help="CSV encoding when detection should not decide (e.g. gbk).")
@click.option(
    "--cache", type=click.Path(path_type=Path),
    help="API provider: folder of cached answers (default ~/.cache/kamlib/registry).",
)  # fmt: skip
@click.option(
    "--ttl-days", type=float, default=30.0, show_default=True,
    help="API provider: days a cached answer is used before it is asked again (0: always ask).",
)  # fmt: skip
@click.option(
    "--rate", type=float, default=2.0, show_default=True,
    help="API provider: requests per second at most.",
)  # fmt: skip
@click.option(
    "--retries", type=click.IntRange(0, 10), default=4, show_default=True,
    help="API provider: times a failed request (429, 5xx, timeout) is asked again.",
)  # fmt: skip
@click.option("--api-url", help="API provider: the API's base URL (default: the service's own).")
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The kamlib store.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def enrich_command(
    paths: tuple[str, ...], provider: str, preset: str | None, overrides: Path | None,
    encoding: str | None, cache: Path | None, ttl_days: float, rate: float, retries: int,
    api_url: str | None, store: str, as_json: bool,
) -> None:  # fmt: skip
    """Match registry exports (PATH...) — or, with --provider tianyancha-api, the store's
    accounts looked up in the API — to the store's accounts and load them as firmographics
    and company_events; `kam enrich review` shows the candidates kept for review."""
    from kamlib.enrich import FileProvider, enrich_store, read_overrides

    if paths == ("review",) and not Path("review").exists():
        _review(store, as_json)
        return
    if provider == "file" and not paths:
        _refuse(
            "give the export files to read (`kam enrich FILE... --store ...`), or look the "
            "accounts up in an API with --provider tianyancha-api.", as_json,
        )  # fmt: skip
    if provider != "file" and (paths or preset or encoding):
        _refuse(
            f"--provider {provider} looks the store's accounts up and reads no files; drop "
            f"{' '.join(paths) or '--preset/--encoding'} or use --provider file.", as_json,
        )  # fmt: skip
    if not Path(store).exists():
        _refuse(
            f"store {store} does not exist. Build one with `kam demo --store {store}` or "
            f"`kam import FILES --store {store}`, then enrich it.", as_json,
        )  # fmt: skip
    now = pd.Timestamp.now().floor("s")
    try:
        ov = read_overrides(overrides) if overrides else None
        if provider == "file":
            source = FileProvider(paths, retrieved_at=now, preset=preset, encoding=encoding)
        else:
            source = _api_provider(
                store, now, cache=cache, ttl_days=ttl_days, rate=rate, retries=retries,
                api_url=api_url,
            )  # fmt: skip
        report = enrich_store(store, source, overrides=ov)
    except KamlibError as exc:
        _refuse(f"enrich refused, nothing was written: {exc}", as_json)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
        return
    counts = report.summary()
    batch = report.import_report
    click.echo(
        f"Enriched {store} from {', '.join(Path(f).name for f in report.files)}: "
        + ("nothing matched, nothing loaded" if batch is None else f"import batch {batch.batch_id} ({batch.status})")
    )  # fmt: skip
    click.echo(
        "Records: {read:,} read = {matched:,} matched + {ambiguous:,} ambiguous + "
        "{unmatched:,} unmatched + {quarantined:,} quarantined".format(**counts)
    )
    click.echo(
        f"Events: {counts['events_read']:,} read, {counts['events_loaded']:,} loaded, "
        f"{counts['events_without_account']:,} of companies that matched no account"
    )
    if provider != "file":
        for note in report.notes:
            click.echo(note)
    methods = report.match.matched["match_method"].value_counts()
    if len(methods):
        click.echo("Matched by: " + ", ".join(f"{m} {n:,}" for m, n in methods.items()))
    if len(report.match.quarantine):
        click.echo("\nQuarantined records (fix the export):")
        click.echo(_table(report.match.quarantine.head(20)))
    _print_review(report.match.review)


def _api_provider(
    store: str, now: pd.Timestamp, *, cache: Path | None, ttl_days: float, rate: float,
    retries: int, api_url: str | None,
):  # fmt: skip
    """The API provider for the store's accounts (its key is checked when it fetches)."""
    from kamlib.data import load
    from kamlib.data.response_cache import ResponseCache
    from kamlib.enrich import TianyanchaProvider

    accounts = load(store).require("accounts", "Looking accounts up in the registry API")
    return TianyanchaProvider.for_accounts(
        accounts, retrieved_at=now, api_url=api_url, rate=rate, retries=retries,
        cache=ResponseCache(cache, ttl_days=ttl_days),
    )  # fmt: skip


def _print_review(review: pd.DataFrame) -> None:
    if review.empty:
        click.echo("\nReview list: empty (no ambiguous candidate).")
        return
    click.echo(
        f"\nReview list: {review['record'].nunique():,} records, {len(review):,} candidates. "
        "Decide each in an overrides file (account_id, company_id or legal_name, "
        "decision accept/reject) and run again with --overrides."
    )
    shown = review[[c for c in _REVIEW_SHOWN if c in review]].astype(object)
    click.echo(_table(shown.where(shown.notna(), "-")))


def _review(store: str, as_json: bool) -> None:
    from kamlib.data.enrich_review import saved_enrich_review

    try:
        review = saved_enrich_review(store)
    except KamlibError as exc:
        _refuse(str(exc), as_json)
    if as_json:
        click.echo(json.dumps(review.to_dict(orient="records"), ensure_ascii=False, default=str))
        return
    _print_review(review)


def _refuse(message: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"status": "refused", "error": message}, ensure_ascii=False))
    fail(message)


def register(group: click.Group) -> None:
    """Add `kam enrich` to the `kam` group."""
    group.add_command(enrich_command)
