"""The ``kam`` command.  Only this package parses arguments and prints."""

from __future__ import annotations

import click

from kamlib import __version__
from kamlib.cli import (
    data_commands,
    forecast_commands,
    group_commands,
    report_commands,
    score_commands,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kam")
def main() -> None:
    """kamlib — the key-account management workbench."""


for _commands in (data_commands, score_commands, forecast_commands, group_commands, report_commands):
    _commands.register(main)
