"""Point-in-time account features: the indicators every later analysis scores, tags and plots.

One row per account (or per top-level group with ``rollup=True``) as of a date, computed only
from data dated on or before that date.  The computation is defined once, as Ibis
expressions (:mod:`~kamlib.features.definitions`), and runs on whatever engine holds the
tables (:mod:`~kamlib.features.engines`): the embedded DuckDB store, in-memory frames
(executed by an in-memory DuckDB), or another Ibis backend such as Spark (the seam of the
"beyond one machine" issue).  Results come back as pandas (:mod:`~kamlib.features.compute`);
:mod:`~kamlib.features.catalogue` says what each feature means and :mod:`~kamlib.features.windows`
how its windows are bounded; :mod:`~kamlib.features.registry` reads the company-registry
features (capital, headcount, age, listing) from ``firmographics``.  On DuckDB the one-date
query is built and compiled once per source shape and reused with each call's dates written
in (:mod:`~kamlib.features.prepared`).

Public API
----------
- :func:`account_features` — features as of one date.
- :func:`account_features_history` — features as of many dates; month ends share one pass
  over the order lines (24 monthly snapshots cost a small multiple of one snapshot, not
  24×), any other date is computed on its own.
- :func:`feature_catalogue` — name, kind (static / dynamic), unit, description (en / zh),
  direction (``higher_is_better``) and when the value is missing, per feature.
- :func:`missing_reasons` — for every missing value of a features frame, why it is missing.
- :data:`ATTRS_KEY` — the ``DataFrame.attrs`` key under which a features frame records its
  source's tables and windows (the scoring reads it to switch off an indicator whose table
  is missing).
- :data:`FEATURE_SOURCE_TABLES` / :func:`feature_source_tables` — the canonical table each
  feature is computed from (also the catalogue's ``source_table``); :data:`SOURCE_TABLES`.
- :class:`FeatureWindows` — the window lengths (12 / 24 months, 8 quarters by default);
  :func:`months_before` — the calendar-month arithmetic of the window bounds.
- :func:`engine_options` — where a report computes its features (DuckDB or Spark).
- :func:`group_map` — account → top parent, the groups of ``rollup=True``.

Example
-------
>>> from kamlib.features import account_features
>>> features = account_features("data/demo.duckdb", as_of="2026-09-30")  # doctest: +SKIP
>>> features[["revenue_12m", "growth_12m", "share_of_wallet"]].describe()  # doctest: +SKIP
"""

from kamlib.features.catalogue import (
    ATTRS_KEY,
    FEATURE_SOURCE_TABLES,
    SOURCE_TABLES,
    feature_catalogue,
    feature_source_tables,
    missing_reasons,
)
from kamlib.features.compute import account_features, account_features_history
from kamlib.features.definitions import group_map
from kamlib.features.engines import engine_options
from kamlib.features.windows import FeatureWindows, months_before

__all__ = [
    "ATTRS_KEY",
    "FEATURE_SOURCE_TABLES",
    "SOURCE_TABLES",
    "FeatureWindows",
    "account_features",
    "account_features_history",
    "engine_options",
    "feature_catalogue",
    "feature_source_tables",
    "group_map",
    "missing_reasons",
    "months_before",
]
