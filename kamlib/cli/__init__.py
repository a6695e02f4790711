"""The ``kam`` command: demo, import, enrich, status, score, group, forecast, process, report, schedule.

The top of the one-way flow and the only package that parses arguments and prints: each
command module turns its options into one call of the layers below (``kamlib.data`` for
imports, ``kamlib.enrich`` for registry data, ``kamlib.scoring`` and ``kamlib.segmentation``
for scores and groups, ``kamlib.forecast`` for forecasts and back-tests, ``kamlib.sales`` for the sales-process
review, ``kamlib.reports`` for reports and schedules) and a user mistake into one line on
stderr with exit code 2, never a traceback.
"""

from __future__ import annotations

import click

from kamlib import __version__
from kamlib.cli import (
    data_commands,
    enrich_commands,
    forecast_commands,
    group_commands,
    process_commands,
    report_commands,
    score_commands,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kam")
def main() -> None:
    """kamlib — the key-account management workbench."""


for _commands in (
    data_commands,
    enrich_commands,
    score_commands,
    forecast_commands,
    group_commands,
    process_commands,
    report_commands,
):
    _commands.register(main)
