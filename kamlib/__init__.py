"""kamlib — the key-account management workbench.

Identify key accounts, forecast the opportunity funnel, research each account and
publish offline HTML reports.  Importing kamlib has no side effects.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kamlib")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
