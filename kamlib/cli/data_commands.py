"""`kam demo`, `kam import` and `kam status`: build and fill the store, show what it holds."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

import click
import pandas as pd

from kamlib.data.import_report import DATE_FLOOR, MAX_SHRINK
from kamlib.data.readers import ReadLimits
from kamlib.errors import KamlibError

DEFAULT_STORE = "data/demo.duckdb"
_LIMITS = ReadLimits()
EXIT_REFUSED = 2


def fail(message: str, code: int = EXIT_REFUSED) -> None:
    """Print a user mistake as one clear message (no traceback) and exit."""
    click.echo(f"kam: error: {message}", err=True)
    sys.exit(code)


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "  (none)"
    return "\n".join("  " + line for line in frame.to_string(index=False).splitlines())


def _print_report(report, *, problems: int = 10) -> None:
    click.echo(f"Import batch {report.batch_id} into {report.store}: {report.status}")
    counts = report.to_frame().drop(columns=["files"])
    for col in ("read", "loaded", "quarantined"):
        counts[col] = counts[col].map("{:,}".format)
    click.echo(_table(counts))
    click.echo(f"Reconciles (read = loaded + quarantined): {'yes' if report.reconciles else 'NO'}")
    summary = report.problem_summary()
    if len(summary):
        click.echo(f"\nQuarantined rows by reason ({len(report.problems):,} problems):")
        click.echo(_table(summary.head(problems)[["table", "column", "check", "rows", "example"]]))
    notices = report.notices
    if len(notices):
        click.echo("\nNotices:")
        for msg in notices["message"]:
            click.echo(f"  - {msg}")


def _print_health(store: str) -> None:
    from kamlib.data import load

    data = load(store)
    click.echo(f"\nData health of {store} (snapshot {data.snapshot.fingerprint}):")
    summary = data.summary()
    summary = summary[summary["present"] | summary["required"]]
    for col in ("first_date", "last_date"):
        summary[col] = summary[col].dt.strftime("%Y-%m-%d").fillna("")
    summary["rows"] = summary["rows"].map("{:,}".format)
    click.echo(_table(summary.drop(columns=["present"])))
    missing = [t for t in ("accounts", "orders") if not data.has(t)]
    if missing:
        click.echo(f"Required table(s) missing: {', '.join(missing)} — import them.")


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--preset", help="Mapping preset for a known export: maven-crm, online-retail.")
@click.option(
    "--mapping", type=click.Path(path_type=Path), help="Mapping file (YAML) for your export."
)
@click.option(
    "--store", default=DEFAULT_STORE, show_default=True, help="The kamlib store to write."
)
@click.option(
    "--encoding", help="Force the CSV encoding (utf-8, gbk, gb18030, …); default: detect."
)
@click.option("--methodology", type=click.Path(path_type=Path), help="Methodology file (stages).")
@click.option(
    "--allow-shrink", is_flag=True,
    help="Accept an import that empties a table, shrinks it by more than --max-shrink, or "
    "orphans rows of tables it does not replace (refused by default).",
)  # fmt: skip
@click.option(
    "--max-shrink", type=click.FloatRange(0, 1), default=MAX_SHRINK, show_default=True,
    help="The share of a table's rows a re-import may drop without --allow-shrink.",
)  # fmt: skip
@click.option(
    "--date-floor", default=DATE_FLOOR, show_default=True,
    help="Dates before this day are quarantined (accounts.created_date exempt).",
)  # fmt: skip
@click.option(
    "--max-xlsx-mb",
    type=float,
    default=_LIMITS.xlsx_max_mb,
    show_default=True,
    help="Largest decompressed size of an .xlsx workbook, MB.",
)
@click.option(
    "--max-xlsx-ratio",
    type=float,
    default=_LIMITS.xlsx_max_ratio,
    show_default=True,
    help="Highest compression ratio of an .xlsx workbook (over 10 MB decompressed).",
)
@click.option(
    "--max-rows",
    type=int,
    default=_LIMITS.max_rows,
    show_default=True,
    help="Most rows read from one spreadsheet.",
)
@click.option(
    "--max-columns",
    type=int,
    default=_LIMITS.max_columns,
    show_default=True,
    help="Most columns read from one spreadsheet.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def import_command(
    paths, preset, mapping, store, encoding, methodology, allow_shrink, max_shrink, date_floor,
    max_xlsx_mb, max_xlsx_ratio, max_rows, max_columns, as_json,
) -> None:  # fmt: skip
    """Import exports (files or folders) into the store as one validated batch.

    Without --preset/--mapping, files named after canonical tables (accounts.csv,
    orders.xlsx, …) with canonical or aliased headers import directly.  Rows with problems
    go to quarantine with a reason; the counts always reconcile.  An import that would
    empty or shrink a table, or orphan rows of another, is refused unless --allow-shrink.
    Exit code 0 when the import ran (even with quarantined rows), 2 when it was refused
    (nothing written).
    """
    from kamlib.data import import_files
    from kamlib.data.readers import ReadLimits

    try:
        report = import_files(
            paths, store=store, preset=preset, mapping=mapping, encoding=encoding,
            methodology=methodology, allow_shrink=allow_shrink, max_shrink=max_shrink,
            date_floor=date_floor,
            limits=ReadLimits(
                xlsx_max_mb=max_xlsx_mb, xlsx_max_ratio=max_xlsx_ratio, max_rows=max_rows,
                max_columns=max_columns,
            ),
        )  # fmt: skip
    except KamlibError as exc:
        if as_json:
            click.echo(json.dumps({"status": "refused", "error": str(exc)}, ensure_ascii=False))
        fail(f"import refused, nothing was written.\n{exc}")
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        _print_report(report)


@click.command("demo")
@click.option(
    "--scale", type=click.Choice(["small", "default", "large"]), default="default",
    show_default=True, help="small ≈300 accounts (tests), default ≈2,000, large ≈20,000 / 10M lines.",
)  # fmt: skip
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed.")
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The store to (re)build.")
def demo_command(scale: str, seed: int, store: str) -> None:
    """Build the synthetic demo company into a fresh store (replacing it)."""
    from kamlib.data import import_frames, write_truth
    from kamlib.demo import generate_demo

    target = Path(store)
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        company = generate_demo(scale=scale, seed=seed)
        report = import_frames(
            company.tables, store=tmp, source=f"demo scale={scale} seed={seed}",
            now=company.end_date + pd.Timedelta(days=1),
        )  # fmt: skip
        write_truth(tmp, company.truth)
        enriched = _enrich_demo(company, tmp, target.parent / "registry")
        os.replace(tmp, target)
    except KamlibError as exc:
        fail(str(exc))
    finally:
        tmp.unlink(missing_ok=True)
    _print_report(dataclasses.replace(report, store=str(target)))
    click.echo(
        "Registry export {files} matched: {read:,} read = {matched:,} matched + {ambiguous:,} "
        "ambiguous + {unmatched:,} unmatched + {quarantined:,} quarantined "
        "(`kam enrich review` lists the ambiguous).".format(
            files=", ".join(str(f) for f in enriched.files), **enriched.summary()
        )
    )
    _print_health(str(target))


def _enrich_demo(company, store: Path, folder: Path):
    """Write the demo's registry export next to the store and enrich the store from it."""
    from kamlib.enrich import FileProvider, enrich_store

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in (("tianyancha_companies", company.registry["companies"]),
                        ("tianyancha_events", company.registry["events"])):  # fmt: skip
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    provider = FileProvider(paths, retrieved_at=company.end_date)
    return enrich_store(store, provider, now=company.end_date + pd.Timedelta(days=1))


@click.command("status")
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The store to describe.")
def status_command(store: str) -> None:
    """Show what the store holds: tables, rows, date ranges, import batches."""
    from kamlib.data import load

    try:
        data = load(store)
    except KamlibError as exc:
        fail(str(exc))
    _print_health(store)
    batches = data.import_batches
    if len(batches):
        click.echo("\nImport batches:")
        click.echo(_table(batches[["batch_id", "source", "finished_at", "status"]]))
    if len(data.quarantine):
        click.echo(f"\nQuarantine: {len(data.quarantine):,} entries in all batches.")


def register(group: click.Group) -> None:
    """Add the data commands to the `kam` group."""
    group.add_command(demo_command)
    group.add_command(import_command)
    group.add_command(status_command)
