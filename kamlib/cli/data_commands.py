"""`kam demo` and `kam import`."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add the data commands to the `kam` group."""
