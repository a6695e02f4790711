"""kamlib — the key-account management workbench.

Identify key accounts, forecast the opportunity funnel, research each account and
publish offline HTML reports.  Importing kamlib has one side effect, and only inside a
Jupyter kernel: Altair charts (kamlib's and your own) draw offline from the installed vega
bundle instead of a CDN, unless you chose another Altair renderer
(:func:`kamlib.reports.offline.enable_offline_in_kernel`).
"""

import sys
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kamlib")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

if "ipykernel" in sys.modules:  # a notebook: charts must not need the internet
    from kamlib.reports.offline import enable_offline_in_kernel

    enable_offline_in_kernel()

