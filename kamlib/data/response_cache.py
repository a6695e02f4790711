"""Registry API responses kept on disk, so a run asks the API only for what it lacks.

A registry API is licensed per call and slow; a second run over the same accounts (a
notebook re-run, a retried batch after a failure half-way) should cost nothing.  Each
response is one JSON file under ``<folder>/<provider>/``, named by a hash of the request
(provider + query), holding the payload, when it was stored (for the time-to-live) and the
retrieval time a record read from it carries as provenance.  An entry older than
``ttl_days`` is treated as absent (the provider asks again and replaces it); an unreadable
entry (a half-written file, someone's edit) likewise.  Files are written atomically (a
temporary file renamed), so an interrupted run never leaves a broken entry behind.

The default folder is ``~/.cache/kamlib/registry`` (``$XDG_CACHE_HOME/kamlib/registry`` when
that is set).  The cache holds what the API said about companies, never the API key.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kamlib.errors import ConfigError, ProviderError

__all__ = ["CachedResponse", "ResponseCache", "default_cache_folder"]

_DAY = 86_400.0


def default_cache_folder() -> Path:
    """``$XDG_CACHE_HOME/kamlib/registry``, else ``~/.cache/kamlib/registry``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "kamlib" / "registry"


@dataclass(frozen=True)
class CachedResponse:
    """A stored payload, when it was stored (epoch seconds) and the retrieval time it
    carries (ISO text, as the provider gave it)."""

    payload: object
    stored_at: float
    retrieved_at: str | None


class ResponseCache:
    """JSON responses on disk, keyed by provider and query, with a time-to-live.

    Parameters
    ----------
    folder : where the entries live (created on first write); ``None`` → the default folder
    ttl_days : how long an entry is good for; 0 means every entry is stale (always ask)
    now : the clock for the time-to-live, epoch seconds (tests pass a fake one)
    """

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        ttl_days: float = 30.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not ttl_days >= 0:
            raise ConfigError(
                f"The 'ttl_days' parameter of ResponseCache must be 0 or more. Got {ttl_days!r} instead."
            )
        self.folder = Path(folder).expanduser() if folder is not None else default_cache_folder()
        self.ttl_days = float(ttl_days)
        self.now = now

    def path_for(self, provider: str, query: str) -> Path:
        """The file of one (provider, query) entry."""
        digest = hashlib.sha256(f"{provider}\x1f{query}".encode()).hexdigest()[:40]
        return self.folder / provider / f"{digest}.json"

    def get(self, provider: str, query: str) -> CachedResponse | None:
        """The entry when present, readable, for this very query and younger than the TTL."""
        path = self.path_for(provider, query)
        try:
            entry = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("query") != query:
            return None
        stored = entry.get("stored_at")
        if not isinstance(stored, int | float):
            return None
        if self.now() - float(stored) >= self.ttl_days * _DAY:
            return None
        return CachedResponse(entry.get("payload"), float(stored), entry.get("retrieved_at"))

    def put(
        self, provider: str, query: str, payload: object, *, retrieved_at: str | None = None
    ) -> None:
        """Store ``payload`` (JSON-ready) for (provider, query), replacing any older entry."""
        path = self.path_for(provider, query)
        entry = {
            "provider": provider,
            "query": query,
            "stored_at": self.now(),
            "retrieved_at": retrieved_at,
            "payload": payload,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle, ensure_ascii=False)
            os.replace(tmp, path)
        except OSError as exc:
            raise ProviderError(
                f"The registry cache folder {path.parent} cannot be written ({exc.strerror or exc}). "
                "Give a writable folder with --cache DIR."
            ) from exc
