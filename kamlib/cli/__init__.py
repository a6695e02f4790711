"""The ``kam`` command.  Only this package parses arguments and prints."""

from __future__ import annotations

import click

from kamlib import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kam")
def main() -> None:
    """kamlib — the key-account management workbench."""


def _register() -> None:
    from kamlib.cli import data_commands, group_commands, score_commands

    data_commands.register(main)
    score_commands.register(main)
    from kamlib.cli import forecast_commands

    forecast_commands.register(main)
    group_commands.register(main)
    try:
        from kamlib.cli import report_commands
    except ImportError:  # pragma: no cover - report engine not installed yet
        return
    report_commands.register(main)


_register()
