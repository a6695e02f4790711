"""Registry data from an HTTP API: the key from the environment, a cache, a rate limit, retries.

:class:`HttpProvider` is the base a concrete API provider builds on (one is shipped:
:class:`kamlib.enrich.tianyancha.TianyanchaProvider`).  It follows the
:class:`~kamlib.enrich.providers.RegistryProvider` protocol — ``fetch()`` returns
:class:`~kamlib.enrich.providers.RegistryData` in the ``firmographics`` column names — so the
records go through the same matching, review list and import batch as a file export.

What the base does for every request:

- **API key** from one environment variable (:attr:`HttpProvider.token_variable`), never
  from the command line or a file in the project; missing → :class:`~kamlib.errors.ProviderError`
  naming the variable and how to set it, before any request.
- **Cache** (:class:`kamlib.data.response_cache.ResponseCache`): each answer (a company, or
  "no result") is kept on disk by provider + request with a time-to-live in days; a cached
  answer is used without a request, an expired one asked again.  Records read from the cache
  carry the time they were retrieved, not the time of the run.
- **Rate limit**: a token bucket (:class:`RateLimit`) of ``rate`` requests per second; its
  clock and sleep are injectable, so tests record the waits instead of waiting.
- **Retries** with exponential backoff (``backoff × 2^attempt`` seconds) on HTTP 429 and 5xx,
  timeouts and refused connections, honouring a ``Retry-After`` header (seconds or an HTTP
  date); after ``retries`` retries the run stops with one ProviderError saying the API is
  unreachable and what to try.

Requests use ``urllib`` from the standard library: the optional extra ``registry-api`` needs
nothing more.  The key goes only into the request header the subclass names; it is never
part of a cache key, a cached file or a message.
"""

from __future__ import annotations

import email.utils
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from kamlib.data.response_cache import ResponseCache
from kamlib.enrich.parsing import nfkc
from kamlib.enrich.providers import EVENT_COLUMNS, RECORD_COLUMNS, RegistryData
from kamlib.enrich.uscc import clean_uscc, is_valid_uscc
from kamlib.errors import ConfigError, ProviderError

__all__ = [
    "RETRY_STATUSES",
    "ApiAnswer",
    "HttpProvider",
    "Lookup",
    "RateLimit",
    "lookups_from_accounts",
]

#: HTTP statuses worth asking again (after a wait).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: A Retry-After longer than this (seconds) is not waited for: the run stops and says so.
MAX_RETRY_AFTER = 300.0


@dataclass(frozen=True)
class Lookup:
    """One account to look up: its name and, when it has a valid one, its USCC."""

    name: str | None
    code: str | None = None


def lookups_from_accounts(accounts: pd.DataFrame) -> list[Lookup]:
    """One :class:`Lookup` per account (``name``, ``uscc`` when the table keeps it and the
    code passes the check character); accounts with neither are left out; duplicates once."""
    names = accounts["name"] if "name" in accounts else pd.Series(None, index=accounts.index)
    codes = accounts["uscc"] if "uscc" in accounts else pd.Series(None, index=accounts.index)
    out: dict[Lookup, None] = {}
    for name, code in zip(names, codes, strict=True):
        uscc = clean_uscc(code)
        lookup = Lookup(nfkc(name), uscc if uscc and is_valid_uscc(uscc) else None)
        if lookup.name or lookup.code:
            out[lookup] = None
    return list(out)


class RateLimit:
    """A token bucket: ``rate`` requests per second on average, at most ``burst`` at once.

    ``clock`` (seconds, monotonic) and ``sleep`` are injectable: a test passes a fake clock
    whose sleep records the wait and moves the clock on, and asserts on the recorded waits.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ConfigError(
                f"The 'rate' parameter (requests per second) must be more than 0. Got {rate!r} instead."
            )
        self.rate, self.burst = float(rate), max(1.0, float(burst))
        self.clock, self.sleep = clock, sleep
        self.tokens = self.burst
        self.last: float | None = None

    def acquire(self) -> float:
        """Take one token, sleeping until there is one; returns the seconds waited."""
        now = self.clock()
        if self.last is not None:
            self.tokens = min(self.burst, self.tokens + max(0.0, now - self.last) * self.rate)
        self.last = now
        waited = 0.0
        if self.tokens < 1.0:
            waited = (1.0 - self.tokens) / self.rate
            self.sleep(waited)
            self.tokens = 1.0
            self.last = now + waited
        self.tokens -= 1.0
        return waited


@dataclass(frozen=True)
class ApiAnswer:
    """A decoded answer: ``payload`` (the JSON), ``retrieved_at`` (when the API gave it) and
    whether it came from the cache."""

    payload: object
    retrieved_at: pd.Timestamp
    cached: bool


class _Retry(Exception):
    """An answer worth asking again (internal: never leaves this module)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


class HttpProvider:
    """The base of registry API providers (see the module docstring).

    A subclass sets :attr:`name`, :attr:`token_variable`, :attr:`default_url` and
    :attr:`token_help`, and implements :meth:`records_for` (one lookup → record dicts in the
    ``firmographics`` names, using :meth:`get_json`), :meth:`headers` (where the key goes)
    and :meth:`check_payload` (the API's own error codes).

    Parameters
    ----------
    lookups : the accounts to look up (:func:`lookups_from_accounts`)
    retrieved_at : the time of this run (records fetched now carry it)
    api_url : the API's base URL (default :attr:`default_url`; tests pass a local fake)
    cache : a :class:`ResponseCache`; ``None`` → the default folder with ``ttl_days``;
        ``False`` → no cache
    ttl_days : the cache's time-to-live when ``cache`` is ``None``
    rate : requests per second (token bucket)
    retries : how many times one request is asked again before the run stops
    backoff : the first wait in seconds (doubled each retry) when the API gives no Retry-After
    timeout : seconds one request may take
    environ : where the key is read from (default ``os.environ``)
    clock, sleep : the rate limit's and the backoff's clock and sleep (tests inject fakes)
    opener : the ``urllib`` opener (default: ``urllib.request.build_opener()``)
    """

    name = "http"
    token_variable = "KAMLIB_API_TOKEN"
    default_url = ""
    token_help = "the API key of your subscription"

    def __init__(
        self,
        lookups: Sequence[Lookup],
        *,
        retrieved_at: str | pd.Timestamp,
        api_url: str | None = None,
        cache: ResponseCache | None | bool = None,
        ttl_days: float = 30.0,
        rate: float = 2.0,
        retries: int = 4,
        backoff: float = 1.0,
        timeout: float = 20.0,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> None:
        if retries < 0 or backoff < 0 or timeout <= 0:
            raise ConfigError(
                "The 'retries' and 'backoff' parameters must be 0 or more and 'timeout' more "
                f"than 0. Got retries={retries!r}, backoff={backoff!r}, timeout={timeout!r} instead."
            )
        url = (api_url or self.default_url).rstrip("/")
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(
                f"The API URL must start with http:// or https://. Got {url!r} instead."
            )
        self.lookups = list(lookups)
        self.retrieved_at = pd.Timestamp(retrieved_at).floor("s")
        self.api_url = url
        if cache is None or cache is True:
            cache = ResponseCache(ttl_days=ttl_days)
        self.cache: ResponseCache | None = cache or None
        self.limit = RateLimit(rate, clock=clock, sleep=sleep)
        self.retries, self.backoff, self.timeout = int(retries), float(backoff), float(timeout)
        self.environ = os.environ if environ is None else environ
        self.sleep = sleep
        self.opener = opener or urllib.request.build_opener()
        self.requests_made = 0
        self.cache_hits = 0

    # -- what a subclass provides -----------------------------------------------------
    def records_for(self, lookup: Lookup) -> list[dict[str, object]]:
        """The records (``firmographics`` names) the API has for one lookup."""
        raise NotImplementedError

    def headers(self, token: str) -> dict[str, str]:
        """The request headers carrying the key."""
        return {"Authorization": token}

    def should_retry(self, payload: object) -> str | None:
        """Why a decoded answer is worth asking again (an API's own "too fast" code), else
        ``None``."""
        return None

    def check_payload(self, payload: object) -> bool:
        """``True`` for an answer with data, ``False`` for "no result" (both cached); raise
        :class:`~kamlib.errors.ProviderError` for a refusal (bad key, no quota)."""
        return True

    # -- the machinery ----------------------------------------------------------------
    def token(self) -> str:
        """The API key from :attr:`token_variable`; a ProviderError saying how to set it."""
        value = (self.environ.get(self.token_variable) or "").strip()
        if not value:
            raise ProviderError(
                f"{self.name}: no API key — the environment variable {self.token_variable} is "
                f"not set. Set it to {self.token_help} (e.g. `export {self.token_variable}=...` "
                "in your shell, not in a file in the project) and run again."
            )
        return value

    @property
    def host(self) -> str:
        """The API's host (and port), as reports name the source."""
        return urllib.parse.urlsplit(self.api_url).netloc

    def get_json(self, path: str, params: Mapping[str, object]) -> ApiAnswer | None:
        """GET ``api_url + path`` with ``params``: the cached answer when fresh, else asked
        (rate-limited, retried); ``None`` when the API has no result (also cached)."""
        query = path + "?" + urllib.parse.urlencode(sorted((k, str(v)) for k, v in params.items()))
        if self.cache is not None:
            hit = self.cache.get(self.name, query)
            if hit is not None:
                self.cache_hits += 1
                when = pd.Timestamp(hit.retrieved_at) if hit.retrieved_at else self.retrieved_at
                payload = hit.payload
                return ApiAnswer(payload, when, True) if self.check_payload(payload) else None
        payload = self._ask(self.api_url + query)
        found = self.check_payload(payload)  # a refusal raises here, before caching
        if self.cache is not None:
            self.cache.put(self.name, query, payload, retrieved_at=self.retrieved_at.isoformat())
        return ApiAnswer(payload, self.retrieved_at, False) if found else None

    def _ask(self, url: str) -> object:
        token = self.token()
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", **self.headers(token)}
        )
        last = ""
        for attempt in range(self.retries + 1):
            self.limit.acquire()
            self.requests_made += 1
            try:
                return self._once(request)
            except _Retry as retry:
                last = retry.reason
                if attempt == self.retries:
                    break
                wait = self.backoff * 2**attempt
                if retry.retry_after is not None:
                    if retry.retry_after > MAX_RETRY_AFTER:
                        raise ProviderError(
                            f"{self.name}: the API at {self.host} asks to wait "
                            f"{retry.retry_after:.0f} s ({last}). Run again later; answers "
                            "already received are cached."
                        ) from None
                    wait = retry.retry_after
                self.sleep(wait)
        raise ProviderError(
            f"{self.name}: the API at {self.host} did not answer after {self.retries + 1} "
            f"attempts ({last}). Check the network and --api-url, or run again later; answers "
            "already received are cached."
        )

    def _once(self, request: urllib.request.Request) -> object:
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            if status in RETRY_STATUSES:
                raise _Retry(
                    f"HTTP {status}", _retry_after(exc.headers.get("Retry-After"))
                ) from None
            if status in (401, 403):
                raise ProviderError(
                    f"{self.name}: the API at {self.host} refused the key (HTTP {status}). "
                    f"Check {self.token_variable}: it must be {self.token_help}."
                ) from None
            raise ProviderError(
                f"{self.name}: the API at {self.host} answered HTTP {status} for "
                f"{_without_query(request.full_url)}. Check --api-url."
            ) from None
        except TimeoutError as exc:
            raise _Retry(f"timed out after {self.timeout:g} s") from exc
        except urllib.error.URLError as exc:
            raise _Retry(f"cannot connect: {exc.reason}") from exc
        except OSError as exc:
            raise _Retry(f"connection failed: {exc}") from exc
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProviderError(
                f"{self.name}: the API at {self.host} answered something that is not JSON "
                f"({body[:60]!r}…). Check --api-url."
            ) from exc
        reason = self.should_retry(payload)
        if reason:
            raise _Retry(reason)
        return payload

    def fetch(self) -> RegistryData:
        """Look up every account; the records (duplicates once) in the ``firmographics``
        names, plus ``_file`` (the provider), ``_row`` (the lookup's position) and ``_id``
        (the API's own id of the company, when it gives one)."""
        self.token()  # fail before anything else when there is no key
        rows: list[dict[str, object]] = []
        seen: set[object] = set()
        for position, lookup in enumerate(self.lookups):
            for record in self.records_for(lookup):
                own = record.get("_id")
                key = ("id", own) if own else (record.get("company_id"), record.get("legal_name"))
                if key in seen:
                    continue
                seen.add(key)
                rows.append({**record, "_file": self.name, "_row": position})
        records = _record_frame(rows)
        events = pd.DataFrame(columns=[*EVENT_COLUMNS, "_file", "_row"])
        notes = (
            f"{self.name}: {len(self.lookups):,} lookups, {self.requests_made:,} requests, "
            f"{self.cache_hits:,} answers from the cache, {len(records):,} records",
        )
        return RegistryData(records, events, (self.host,), notes)


def _record_frame(rows: Iterable[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=[*RECORD_COLUMNS, "_file", "_row", "_id"])
    frame["established"] = pd.to_datetime(frame["established"])
    frame["retrieved_at"] = pd.to_datetime(frame["retrieved_at"])
    frame["insured_headcount"] = pd.array(frame["insured_headcount"], dtype="Int64")
    frame["listed"] = pd.array(frame["listed"], dtype="boolean")
    for column in ("reg_capital", "paid_in_capital"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (seconds from now)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _without_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
