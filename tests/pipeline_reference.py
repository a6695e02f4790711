"""Slow reference paths of the pipeline, kept to check the fast ones against.

- :func:`pipeline_as_of_loop`: ``pipeline_as_of`` at each date, stacked — what
  ``pipeline_as_of_many`` must give, frame for frame.
- :func:`history_keys_sql`: the funnel's mapping step as it was before integer keys (stage
  labels mapped and rows joined to the opportunities on the text id, in DuckDB through
  Ibis); :func:`with_sql_keys` runs ``stage_conversion`` / ``funnel`` / ``win_rates`` with it.

The one copy, used by ``tests/test_pipeline_many.py`` and by
``benchmarks/bench_pipeline.py`` (equality before timing; it puts ``tests/`` on its path, as
the other benchmarks that share test helpers do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from kamlib.methodology import Methodology, normalise_label
from kamlib.periods import as_day
from kamlib.pipeline import PIPELINE_COLUMNS, conversion, pipeline_as_of

K_BITS = 6  # as in kamlib.pipeline.conversion


def pipeline_as_of_loop(events: Any, dates: Iterable[object]) -> pd.DataFrame:
    """``pipeline_as_of`` at each date, stacked in the order given, with ``as_of`` first."""
    frames = []
    for d in dates:
        f = pipeline_as_of(events, d)
        f.attrs = {}  # per-date notices (frames) cannot be compared by concat
        f["as_of"] = np.full(len(f), as_day(d).to_datetime64()).astype("datetime64[us]")
        frames.append(f)
    return pd.concat(frames, ignore_index=True)[["as_of", *PIPELINE_COLUMNS]]


def history_keys_sql(
    hist: pd.DataFrame, ids: pd.Series, meth: Methodology
) -> tuple[np.ndarray, np.ndarray]:
    """Every history row in a known stage of an opportunity in ``ids``, as (row of ``ids``,
    event key = epoch seconds × 64 + stage order), in one DuckDB pass (Ibis): the funnel's
    step before integer keys — stage labels mapped in SQL, rows joined to the opportunities
    on the text id.  (DuckDB rounds sub-second times to the nearest second here; kamlib now
    floors them.  The benchmark's and the demo's times are whole seconds.)"""
    import ibis
    import pyarrow as pa

    order = {s.key: s.order for s in meth.stages}
    lookup = meth.stage_lookup()
    labels = [str(x) for x in pd.unique(hist["stage"].dropna())]
    mapping = {
        x: order[lookup[normalise_label(x)].key] for x in labels if normalise_label(x) in lookup
    }
    h = ibis.memtable(
        pa.Table.from_pandas(hist[["opportunity_id", "stage", "entered_at"]], preserve_index=False)
    )
    o = ibis.memtable(
        pa.table({"opportunity_id": pa.array(ids.array).cast(pa.string()),
                  "pos": pa.array(np.arange(len(ids), dtype=np.int64))})
    )  # fmt: skip
    k = h.stage.substitute(mapping, else_=-1) if mapping else ibis.literal(-1)
    h = h.mutate(k=k)
    h = h.filter(h.k >= 0).join(o, "opportunity_id")
    expr = h.select(
        pos=h.pos,
        key=h.entered_at.epoch_seconds().cast("int64") * (1 << K_BITS) + h.k.cast("int64"),
    )
    con = ibis.duckdb.connect()
    try:
        con.raw_sql("SET enable_progress_bar = false")
        table = con.to_pyarrow(expr)
    finally:
        con.disconnect()
    return (
        table.column("pos").to_numpy().astype(np.int64),
        table.column("key").to_numpy().astype(np.int64),
    )


def with_sql_keys(fn: Callable[..., pd.DataFrame], *args: Any, **kwargs: Any) -> pd.DataFrame:
    """Call a funnel function of :mod:`kamlib.pipeline` with the SQL mapping step (no
    integer keys, nothing cached)."""
    fast = conversion._history_keys_of
    conversion._history_keys_of = lambda data, ids, meth: history_keys_sql(
        data.stage_history, ids, meth
    )
    try:
        return fn(*args, **kwargs)
    finally:
        conversion._history_keys_of = fast
