"""Runs *inside* a report kernel: put a reused kernel back into a fresh state.

The report engine keeps kernels warm between reports (see :mod:`kamlib.reports.kernels`).
Right after a kernel starts it calls :func:`remember`; before every report it calls
:func:`restore`, which clears everything a notebook can leave behind in the interpreter
that matters to the next notebook:

- the user namespace, the ``In`` / ``Out`` history and the execution counter
  (``InteractiveShell.reset(new_session=True)``);
- the working directory, environment variables, ``sys.path`` and warnings filters;
- pandas display / styler options, matplotlib's rc settings and open figures (when those
  are imported).

Imported modules stay imported: that is what makes a warm kernel fast.  Notebooks therefore
must not rely on module-level state they change themselves (STYLE.md: no side effects on
import, analysis modules never set global pandas / warnings state).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings
from typing import Any

_saved: dict[str, Any] | None = None


def remember() -> None:
    """Record the kernel's state right after start-up (called once per kernel)."""
    global _saved
    _saved = {
        "cwd": os.getcwd(),
        "environ": dict(os.environ),
        "path": list(sys.path),
        "warnings": list(warnings.filters),
    }


def import_modules(modules: list[str] | tuple[str, ...]) -> None:
    """Import ``modules`` (those the report notebooks import) so reports start warm.

    A module that fails to import is skipped: the notebook itself will then fail with the
    real error, in the cell that imports it.
    """
    for name in modules:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the notebook's own import cell shows the real error
            continue


def restore(preload: list[str] | tuple[str, ...] = ()) -> None:
    """Return the kernel to the state :func:`remember` recorded (called before each report).

    ``preload``: modules the coming notebooks import, imported after the reset
    (:func:`import_modules`).
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.reset(new_session=True)
    if _saved is not None:
        _restore_saved(_saved)
    import_modules(preload)


def _restore_saved(saved: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        os.chdir(saved["cwd"])
    if dict(os.environ) != saved["environ"]:
        os.environ.clear()
        os.environ.update(saved["environ"])
    sys.path[:] = saved["path"]
    warnings.filters[:] = saved["warnings"]
    mutated = getattr(warnings, "_filters_mutated", None)  # invalidate the warn-once caches
    if mutated is not None:
        mutated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Best effort: a library that cannot reset must not stop the next report.
        # (Not reset_option("all"): it re-validates plotting.backend, which needs matplotlib.)
        if "pandas" in sys.modules:
            with contextlib.suppress(Exception):
                sys.modules["pandas"].reset_option(r"^(display|styler)\.")
        if "matplotlib.pyplot" in sys.modules:
            with contextlib.suppress(Exception):
                sys.modules["matplotlib.pyplot"].close("all")
        if "matplotlib" in sys.modules:
            with contextlib.suppress(Exception):
                sys.modules["matplotlib"].rcdefaults()
