"""kamlib — the key-account management workbench.

Identify key accounts, forecast the opportunity funnel, research each account and
publish offline HTML reports.  Importing kamlib has two side effects.  Inside a Jupyter
kernel, Altair charts (kamlib's and your own) draw offline from the installed vega bundle
instead of a CDN, unless you chose another Altair renderer
(:func:`kamlib.reports.offline.enable_offline_in_kernel`).  Everywhere, the slow import of
``rfc3987_syntax`` (pulled in by ``jsonschema``, seconds per start, for a format check no
notebook or chart schema uses) is deferred to its first use, unless
``KAMLIB_EAGER_IMPORTS=1`` (:mod:`kamlib.startup`).
"""

import sys
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kamlib")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

from kamlib.startup import defer_slow_imports

defer_slow_imports()  # before anything below imports jsonschema (Altair, nbformat)

if "ipykernel" in sys.modules:  # a notebook: charts must not need the internet
    from kamlib.reports.offline import enable_offline_in_kernel

    enable_offline_in_kernel()
