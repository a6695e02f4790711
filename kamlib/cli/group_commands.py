"""`kam group save | list | show`: target groups kept in the store with their membership."""

from __future__ import annotations

from pathlib import Path

import click

from kamlib.cli.data_commands import DEFAULT_STORE, _table, fail
from kamlib.cli.score_commands import _warnings_to_stderr
from kamlib.errors import KamlibError


@click.group("group")
def group_command() -> None:
    """Target groups: form one as of a date and keep its members in the store.

    A saved group is what `kam report NAME --for GROUP` renders for that date and data
    snapshot, so a batch can be re-rendered with exactly the accounts it had.
    """


@group_command.command("save")
@click.argument("name")
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The kamlib store.")
@click.option("--as-of", "as_of", required=True, help="Form the group as of this date.")
@click.option(
    "--methodology", type=click.Path(path_type=Path),
    help="Methodology file (tiers, tags, named groups; default: kamlib's).",
)  # fmt: skip
def save_command(name: str, store: str, as_of: str, methodology: Path | None) -> None:
    """Form target group NAME as of a date and save it (all, top<N>, strategic, ids:A,B,
    or a group of the methodology file's segments.groups)."""
    from kamlib.data import load, save_target_group
    from kamlib.methodology import load_methodology
    from kamlib.segmentation import resolve_target_group

    _require_store(store)
    with _warnings_to_stderr():
        try:
            meth = load_methodology(methodology)
            group = resolve_target_group(load(store), name, as_of=as_of, methodology=meth)
            save_target_group(store, group.record(), group.to_frame())
        except KamlibError as exc:
            fail(str(exc))
    click.echo(
        f"Saved target group {group.name!r} as of {group.as_of}: {len(group):,} accounts "
        f"({group.basis}; data {group.snapshot}, methodology {group.methodology})."
    )


@group_command.command("list")
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The kamlib store.")
def list_command(store: str) -> None:
    """The saved formations, newest first."""
    from kamlib.data import saved_target_groups

    _require_store(store)
    try:
        saved = saved_target_groups(store)
    except KamlibError as exc:
        fail(str(exc))
    if saved.empty:
        click.echo(f"No target group saved in {store}. Save one with `kam group save NAME`.")
        return
    columns = ["group", "as_of", "members", "basis", "snapshot", "methodology", "saved_at"]
    click.echo(_table(saved[columns]))


@group_command.command("show")
@click.argument("name")
@click.option("--store", default=DEFAULT_STORE, show_default=True, help="The kamlib store.")
@click.option("--as-of", "as_of", help="The formation of this date (default: the newest).")
def show_command(name: str, store: str, as_of: str | None) -> None:
    """The members of a saved group, in order."""
    from kamlib.data import saved_target_group

    _require_store(store)
    try:
        members = saved_target_group(store, name, as_of=as_of)
    except KamlibError as exc:
        fail(str(exc))
    rec = members.attrs["record"]
    click.echo(
        f"{rec['group']} as of {rec['as_of']:%Y-%m-%d}: {len(members):,} accounts ({rec['basis']})"
    )
    click.echo(_table(members))


def _require_store(store: str) -> None:
    if not Path(store).exists():
        fail(
            f"store {store} does not exist. Build one with `kam demo --store {store}` or "
            f"`kam import FILES --store {store}`."
        )


def register(group: click.Group) -> None:
    """Add `group` to the `kam` group."""
    group.add_command(group_command)
