"""Start-up cost: modules imported only to be ready for a check kamlib never makes.

``import nbformat`` and ``import altair`` import ``jsonschema``, whose format checkers
import ``rfc3987_syntax`` if it is installed; that module builds a Lark grammar for RFC 3987
IRIs when imported, which takes 1–4 s on a loaded machine — in every kernel that imports
kamlib (the offline chart renderer imports Altair) and in every ``kam report`` run
(nbformat).  Neither notebook validation (nbformat's schemas) nor chart validation
(Vega-Lite's schema) uses the ``iri`` / ``iri-reference`` formats that need it.

:func:`defer_slow_imports` registers a small stand-in module under that name, only if
the real module is installed and not yet imported.  ``jsonschema`` imports its
``is_valid_syntax`` from the stand-in as usual and registers the same format checks; the
first call (or any other attribute read) imports the real module and hands over to it, so
an ``iri`` check anywhere still gets the real answer, only later.  ``import kamlib`` calls
it; ``KAMLIB_EAGER_IMPORTS=1`` in the environment turns it off (the real module is then
imported whenever ``jsonschema`` is, as without kamlib).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from importlib.machinery import ModuleSpec
from typing import Any

#: Environment variable that turns the deferral off (``1``, ``true`` or ``yes``).
EAGER_ENV = "KAMLIB_EAGER_IMPORTS"

#: Modules replaced by a stand-in until first used.
DEFERRED = ("rfc3987_syntax",)


class DeferredModule(types.ModuleType):
    """A stand-in for a module whose import is slow: the real one is imported on first use.

    ``is_valid_syntax`` (what ``jsonschema`` imports from ``rfc3987_syntax``) is a function
    here that imports the real module when called; any other attribute imports it when read.
    """

    def __init__(self, name: str, spec: ModuleSpec) -> None:
        super().__init__(name)
        self.__spec__ = spec
        self.__file__ = spec.origin
        if spec.submodule_search_locations is not None:
            self.__path__ = list(spec.submodule_search_locations)
        self.__dict__["_kamlib_real"] = None

        def is_valid_syntax(*args: Any, **kwargs: Any) -> Any:
            return self.load().is_valid_syntax(*args, **kwargs)

        self.__dict__["is_valid_syntax"] = is_valid_syntax

    def load(self) -> types.ModuleType:
        """Import the real module (once) and put it in ``sys.modules`` in place of this one."""
        real = self.__dict__["_kamlib_real"]
        if real is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
            self.__dict__["_kamlib_real"] = real
        return real

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self.load(), attr)


def eager_imports() -> bool:
    """Whether ``KAMLIB_EAGER_IMPORTS`` asks for the slow modules to be imported as usual."""
    return os.environ.get(EAGER_ENV, "").strip().lower() in {"1", "true", "yes"}


def defer_slow_imports() -> list[str]:
    """Register the stand-ins of :data:`DEFERRED`; returns the names registered now.

    Nothing is registered for a module already imported, not installed, or when
    ``KAMLIB_EAGER_IMPORTS`` is set.  Safe to call more than once.
    """
    if eager_imports():
        return []
    done = []
    for name in DEFERRED:
        if name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # a broken install: leave the import to its owner
            spec = None
        if spec is None:
            continue
        sys.modules[name] = DeferredModule(name, spec)
        done.append(name)
    return done
