"""Company registry data: read registry exports, match them to accounts, keep them as snapshots.

Registry exports (天眼查 / 企查查 batch exports, D&B) are read by a provider into frames in the
``firmographics`` and ``company_events`` column names, matched to the store's accounts (USCC,
D-U-N-S, then normalised names with the place) and loaded as a new import batch.

Public API
----------
- :func:`enrich_store` — provider → match → new import batch; returns an :class:`EnrichReport`.
- :class:`FileProvider` / :class:`RegistryProvider` — CSV/XLSX/Parquet exports (presets
  ``tianyancha``, ``qichacha``, ``dnb``; events files); the protocol an API provider follows.
- :class:`HttpProvider` — the base of registry API providers (key from the environment,
  on-disk cache with a time-to-live, rate limit, retries); :class:`TianyanchaProvider` —
  天眼查's company-info API on it; :func:`lookups_from_accounts` — what to look up.
- :func:`match_records` / :class:`MatchResult` — matching alone, on frames.
- :func:`normalise_name`, :func:`is_valid_uscc`, :func:`uscc_check_char`, :func:`parse_capital`,
  :func:`headcount_lower_bound` — the pieces, for notebooks and tests.
"""

from __future__ import annotations

from kamlib.enrich.http import HttpProvider, Lookup, RateLimit, lookups_from_accounts
from kamlib.enrich.matching import MatchResult, match_records
from kamlib.enrich.names import normalise_name
from kamlib.enrich.parsing import headcount_lower_bound, parse_capital, parse_date
from kamlib.enrich.providers import FileProvider, RegistryData, RegistryProvider
from kamlib.enrich.retrieval import EnrichReport, enrich_store, read_overrides
from kamlib.enrich.tianyancha import TianyanchaProvider
from kamlib.enrich.uscc import is_valid_duns, is_valid_uscc, uscc_check_char

__all__ = [
    "EnrichReport",
    "FileProvider",
    "HttpProvider",
    "Lookup",
    "MatchResult",
    "RateLimit",
    "RegistryData",
    "RegistryProvider",
    "TianyanchaProvider",
    "enrich_store",
    "headcount_lower_bound",
    "is_valid_duns",
    "is_valid_uscc",
    "lookups_from_accounts",
    "match_records",
    "normalise_name",
    "parse_capital",
    "parse_date",
    "read_overrides",
    "uscc_check_char",
]
