"""The data-health report (``notebooks/data_health.ipynb``) as one view.

:func:`data_health` resolves the data and the date once and returns a :class:`DataHealthView`
of the parts of :func:`kamlib.data.health.data_health` the report shows (its ``table`` and
``check`` columns are label keys, which :func:`kamlib.views.format.table` translates).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from kamlib.data import KamData
from kamlib.data.health import DataHealth
from kamlib.data.health import data_health as health_of
from kamlib.methodology.labels import check_lang
from kamlib.periods import as_day
from kamlib.views.notices import resolve_data


@dataclass(frozen=True)
class DataHealthView:
    """What the data-health report shows (see :func:`data_health`): ``key_figures`` (label
    key → count), ``tables``, ``batches``, ``batch_tables``, ``quarantine``, ``notices`` (the
    import notices), ``coverage``, ``orphans``; ``health`` is the analysis."""

    health: DataHealth
    lang: str
    key_figures: dict[str, int]
    tables: pd.DataFrame
    batches: pd.DataFrame
    batch_tables: pd.DataFrame
    quarantine: pd.DataFrame
    notices: pd.DataFrame
    coverage: pd.DataFrame
    orphans: pd.DataFrame


def data_health(data: KamData | str | Path, *, as_of: object, lang: str = "en") -> DataHealthView:
    """The data-health report of ``data`` (a KamData or a store path) cut at ``as_of``."""
    owner = "data_health"
    check_lang(lang)
    kam = resolve_data(data, owner=owner)
    day = as_day(as_of, owner=owner)
    health = health_of(kam, as_of=day)
    return DataHealthView(
        health=health,
        lang=lang,
        key_figures=health.key_figures(),
        tables=health.tables,
        batches=health.batches,
        batch_tables=health.batch_tables,
        quarantine=health.quarantine,
        notices=health.notices,
        coverage=health.coverage,
        orphans=health.orphans,
    )
