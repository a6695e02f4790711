"""Cohort conversion, the funnel and win rates (the history's text ids and stage labels are
mapped to integer keys by Arrow hashing, once per ``KamData``; the cohorts come from the first
and last entry time per stage and deal, scattered into one stage × deal table by numpy's
``minimum.at`` / ``maximum.at`` — no sort — see ``benchmarks/README.md``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.errors import ConfigError, DataValidationError
from kamlib.frames import arrow_text, require_columns
from kamlib.methodology import Methodology, normalise_label, resolve_methodology
from kamlib.periods import as_day
from kamlib.pipeline.events import _DAY

if TYPE_CHECKING:
    import pyarrow as pa

#: Cohort / close periods and their length in months.
_FREQ_MONTHS = {"monthly": 1, "quarterly": 3, "half-yearly": 6, "yearly": 12}


# -- funnel: cohort conversion, win rate, drop-off -------------------------------------------------
_OPP_GROUPS = ("product_line", "owner", "team", "source", "account_id")
NONE_GROUP = "(none)"

#: Columns of :func:`stage_conversion` after ``stage``, ``period`` and the ``by`` columns.
CONVERSION_COLUMNS: tuple[str, ...] = (
    "entered", "converted", "dropped", "still_open", "won", "lost", "conversion_rate",
    "drop_rate", "win_rate", "entered_amount", "won_amount",
)  # fmt: skip


def _by_list(
    by: str | list[str] | tuple[str, ...] | None, groups: pd.DataFrame | None
) -> list[str]:
    if by is None:
        return []
    cols = [by] if isinstance(by, str) else list(by)
    extra = [] if groups is None else [c for c in groups.columns if c != "account_id"]
    valid = [*_OPP_GROUPS, *extra]
    for c in cols:
        if c not in valid:
            raise ConfigError(
                f"The 'by' parameter names {c!r}, which is neither an opportunity column nor a "
                f"column of 'groups'. Valid: {', '.join(valid)} (pass tier or segment as a frame "
                "account_id → value in 'groups')."
            )
    if groups is not None:
        require_columns(
            groups, ["account_id"], "the 'groups' frame", why="account_id → tier, segment …",
            found=True,
        )  # fmt: skip
    if groups is not None and groups["account_id"].duplicated().any():
        dup = groups.loc[groups["account_id"].duplicated(), "account_id"].iloc[0]
        raise DataValidationError(
            f"The 'groups' frame has account_id {dup!r} more than once; give one row per account."
        )
    return cols


def _check_freq(freq: str | None, fn: str) -> None:
    if freq is not None and freq not in _FREQ_MONTHS:
        raise ConfigError(
            f"The 'freq' parameter of {fn} must be one of {', '.join(_FREQ_MONTHS)} or None. "
            f"Got {freq!r} instead."
        )


@dataclass(frozen=True)
class _Cohorts:
    """Per opportunity its final state by the as-of day; per first entry into an open stage
    the opportunity (row of ``opps``), stage, time and whether it converted."""

    opps: pd.DataFrame  # the opportunities (rows with a created_date), in table order
    started: np.ndarray  # bool per row: created (or first history row) by the as-of day
    final: np.ndarray  # per row: 0 open, 1 won, 2 lost
    closed_at: np.ndarray  # per row, datetime64[s] (NaT while open)
    deal: np.ndarray  # entry → row of opps
    k: np.ndarray  # stage order of the entry
    first: np.ndarray  # datetime64[s] of the first entry
    converted: np.ndarray  # bool
    source: str


_K_BITS = 6  # stage order packed into the low bits of the event key (up to 62 stages)


def _stage_orders(values: pd.Series, meth: Methodology) -> np.ndarray:
    """Stage order per label (-1 unknown), through the distinct labels only."""
    codes, uniq = pd.factorize(values)
    order = {s.key: s.order for s in meth.stages}
    lookup = meth.stage_lookup()
    table = np.array(
        [
            order[lookup[normalise_label(u)].key] if normalise_label(u) in lookup else -1
            for u in uniq
        ]
        + [-1],
        dtype=np.int64,
    )
    return table[codes]  # code -1 (missing) → the trailing -1


def _first_rows(keys: pa.Array, rows: np.ndarray) -> bool:
    """Whether each of ``rows`` holds the only occurrence of its id in ``keys``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    at = pc.index_in(keys, value_set=keys.take(pa.array(rows))).to_numpy(zero_copy_only=False)
    hit = np.flatnonzero(~np.isnan(at)) if at.dtype.kind == "f" else np.flatnonzero(at >= 0)
    return (
        len(hit) == len(rows)
        and np.array_equal(hit, rows)
        and np.array_equal(at[hit].astype(np.int64), np.arange(len(rows)))
    )


def _positions(hist_ids: pd.Series, ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys for the text ids: per history row the row(s) of ``ids`` it belongs to, as
    (history row, row of ``ids``) pairs — hashed once by Arrow, no join on the text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = np.arange(len(hist_ids), dtype=np.int64)
    if not len(hist_ids) or not len(ids):
        return rows[:0], rows[:0]
    values = arrow_text(hist_ids)
    keys = arrow_text(ids).cast(values.type)
    # one hash table of the ids, probed by every history row (probing only the first row of
    # each run of one id was slower: the comparison of neighbours and the repeat cost more
    # than the probes they save, even on a history sorted by id); index_in gives the first
    # row of an id, so the ids are unique when every row is some probe's answer — the rows
    # no probe found are checked by a second, small lookup
    pos = pc.index_in(values, value_set=keys).fill_null(-1).to_numpy(zero_copy_only=False)
    pos = pos.astype(np.int64)
    found = np.zeros(len(keys) + 1, bool)
    found[pos] = True  # -1 (unknown id) marks the spare last slot
    rest = np.flatnonzero(~found[:-1])
    if not len(rest) or _first_rows(keys, rest):
        known = pos >= 0
        return (rows, pos) if known.all() else (rows[known], pos[known])
    # the same id on several opportunity rows (hand-built data): every row gets the history
    # rows of its id, as a join would give them
    codes, uniq = pd.factorize(pd.Series(pa.chunked_array([values]).to_pandas()))
    id_codes = pd.Index(uniq).get_indexer(ids.astype("str"))
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(len(uniq)), side="left")
    ends = np.searchsorted(codes[order], np.arange(len(uniq)), side="right")
    hit = np.flatnonzero(id_codes >= 0)
    size = ends[id_codes[hit]] - starts[id_codes[hit]]
    pos = np.repeat(hit, size)
    first = np.repeat(starts[id_codes[hit]] - np.cumsum(size) + size, size)
    return order[first + np.arange(len(pos))], pos


@dataclass(frozen=True)
class _KeyedHistory:
    """The stage history with integer keys (methodology-free, so shared by every call on
    the same data): per history row of a known opportunity its opportunity row, the index
    of its stage label in ``labels`` (``len(labels)`` when missing) and its time in whole
    seconds (floor; an event at 23:59:59.6 stays on its day)."""

    pos: np.ndarray
    label: np.ndarray
    labels: list[str]
    seconds: np.ndarray
    timed: np.ndarray  # bool: entered_at present


def _keyed_history(hist: pd.DataFrame, ids: pd.Series) -> _KeyedHistory:
    """Integer keys for the history's text columns: the opportunity ids hashed once by Arrow
    into rows of ``ids`` (no join on the text), the stage labels dictionary-encoded."""
    import pyarrow.compute as pc

    labels = arrow_text(hist["stage"])
    # Arrow lets go of the GIL: the labels are encoded while the ids are hashed
    with ThreadPoolExecutor(max_workers=1) as pool:
        encoding = pool.submit(pc.dictionary_encode, labels) if len(labels) else None
        rows, pos = _positions(hist["opportunity_id"], ids)
        coded = encoding.result() if encoding is not None else None
    names = coded.dictionary.to_pylist() if coded is not None else []
    label = (
        coded.indices.fill_null(len(names)).to_numpy(zero_copy_only=False).astype(np.int64)
        if coded is not None
        else np.zeros(0, np.int64)
    )
    at = hist["entered_at"].to_numpy("datetime64[s]")
    if len(rows) != len(hist) or not np.array_equal(rows, np.arange(len(hist))):
        # history rows of ids the opportunities do not know, or of an id on several rows
        label, at = label[rows], at[rows]
    return _KeyedHistory(
        pos=pos, label=label, labels=names, seconds=at.astype(np.int64), timed=~np.isnat(at)
    )


def _keys(keyed: _KeyedHistory, meth: Methodology) -> tuple[np.ndarray, np.ndarray]:
    """(row of the opportunities, event key = epoch seconds × 64 + stage order) of every
    keyed history row in a known stage with a time."""
    order = {s.key: s.order for s in meth.stages}
    lookup = meth.stage_lookup()
    table = np.array(
        [
            order[lookup[normalise_label(u)].key] if normalise_label(u) in lookup else -1
            for u in keyed.labels
        ]
        + [-1],
        dtype=np.int64,
    )
    k = table[keyed.label]
    if len(k) and k.min() >= 0 and keyed.timed.all():  # every row kept: no copies
        return keyed.pos, keyed.seconds * (1 << _K_BITS) + k
    keep = (k >= 0) & keyed.timed
    return keyed.pos[keep], keyed.seconds[keep] * (1 << _K_BITS) + k[keep]


def _history_keys(
    hist: pd.DataFrame, ids: pd.Series, meth: Methodology
) -> tuple[np.ndarray, np.ndarray]:
    """Every history row in a known stage of an opportunity in ``ids``, as (row of ``ids``,
    event key = epoch seconds × 64 + stage order), with integer keys throughout (see
    :func:`_keyed_history`)."""
    return _keys(_keyed_history(hist, ids), meth)


#: The keyed history of each live KamData (by id; dropped when the KamData is collected).
#: KamData is immutable, so its integer keys are computed once, as an import would store
#: them beside the text ids, and every funnel / conversion / win-rate call reuses them.
_KEYED: dict[int, _KeyedHistory] = {}


def _history_keys_of(
    data: KamData, ids: pd.Series, meth: Methodology
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_history_keys` of ``data``'s stage history, the integer keys computed once per
    KamData (``ids`` are always its dated opportunities, in table order)."""
    import weakref

    key = id(data)
    keyed = _KEYED.get(key)
    if keyed is None:
        keyed = _keyed_history(data.stage_history, ids)
        _KEYED[key] = keyed
        weakref.finalize(data, _KEYED.pop, key, None)
    return _keys(keyed, meth)


def _cohorts(data: KamData, day: pd.Timestamp, meth: Methodology) -> _Cohorts:
    """Cohort entries and final states, without look-ahead (see :func:`stage_conversion`)."""
    opps = data.require("opportunities", "The funnel analysis")
    opps = opps[opps["created_date"].notna()].reset_index(drop=True)
    n_open = len(meth.open_stages)
    won_k, lost_k = n_open, n_open + 1
    n = len(opps)
    created = opps["created_date"].to_numpy("datetime64[s]")
    created = created.astype("datetime64[D]").astype("datetime64[s]")
    closed_date = opps["closed_date"].to_numpy("datetime64[s]").astype("datetime64[D]")
    closed_date = closed_date.astype("datetime64[s]")
    day_s = np.datetime64(day, "s")
    source = "stage_history" if data.has("stage_history") else "opportunities"
    final_k = np.full(n, -1)
    final_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    has_h = np.zeros(n, bool)
    any_h = np.zeros(n, bool)
    e_deal = [np.zeros(0, np.int64)]
    e_k = [np.zeros(0, np.int64)]
    e_first = [np.zeros(0, "datetime64[s]")]
    e_conv = [np.zeros(0, bool)]
    if source == "stage_history":
        seg, keys = _history_keys_of(data, opps["opportunity_id"], meth)
        any_h[seg] = True  # has history rows at all (maybe only after the day)
        # per (stage, deal) the first and last entry time by the day, by scatter-min/max into
        # a stage-major table (no sort; later rows and unknown stages go to a spare slot)
        e, k = keys >> _K_BITS, keys & ((1 << _K_BITS) - 1)
        nk = n_open + 2
        spare = nk * n
        slot = k * n
        slot += seg
        late = keys >= (int((day + _DAY).timestamp()) << _K_BITS)
        if late.any():
            slot[late] = spare
        if len(k) and k.max() >= nk:  # not a stage of this funnel (never from _keys)
            slot[k >= nk] = spare
        first_t = np.full(spare + 1, np.iinfo(np.int64).max)
        last_t = np.full(spare + 1, np.iinfo(np.int64).min)
        np.minimum.at(first_t, slot, e)
        np.maximum.at(last_t, slot, e)
        first_t, last_t = first_t[:spare], last_t[:spare]
        table = last_t.reshape(nk, n)
        # reach: per stage and deal the last entry into it or a later stage up to won
        reach = table[: won_k + 1].copy()
        for stage in range(won_k - 1, -1, -1):
            np.maximum(reach[stage], reach[stage + 1], out=reach[stage])
        entry = np.flatnonzero(table[:n_open].ravel() != np.iinfo(np.int64).min)
        stage_of, deal_of = np.divmod(entry, n)
        e_deal.append(deal_of)
        e_k.append(stage_of)
        e_first.append(first_t[entry].astype("datetime64[s]"))
        e_conv.append(reach.ravel()[entry + n] >= first_t[entry])
        # final state: the latest event (a tie in time: the later stage)
        latest = np.maximum(reach[0], table[lost_k])
        has_h = latest != np.iinfo(np.int64).min
        for stage in range(nk):
            final_k[table[stage] == latest] = stage
        final_k[~has_h] = -1
        final_at = latest.astype("datetime64[s]")  # int64 min is NaT
    # deals without history rows: open in their current stage from created_date
    stage_k = _stage_orders(opps["stage"], meth)
    is_won = (opps["status"] == "won").to_numpy(dtype=bool, na_value=False)
    is_lost = (opps["status"] == "lost").to_numpy(dtype=bool, na_value=False)
    is_open = (opps["status"] == "open").to_numpy(dtype=bool, na_value=False)
    bare_open = ~any_h & (created <= day_s) & is_open & (stage_k >= 0) & (stage_k < n_open)
    idx = np.flatnonzero(bare_open)
    e_deal.append(idx)
    e_k.append(stage_k[idx])
    e_first.append(created[idx])
    e_conv.append(np.zeros(len(idx), bool))
    # final state: the history's last event; the opportunities table closes deals whose history
    # has no closing row (on closed_date, not before creation)
    closes = (is_won | is_lost) & ~np.isnat(closed_date) & (closed_date <= day_s)
    add = closes & ~np.isin(final_k, [won_k, lost_k])
    final_k = np.where(add, np.where(is_won, won_k, lost_k), final_k)
    final_at = np.where(add, np.maximum(closed_date, created), final_at)
    final = np.select([final_k == won_k, final_k == lost_k], [1, 2], 0)
    return _Cohorts(
        opps=opps,
        started=has_h | (created <= day_s),
        final=final,
        closed_at=np.where(final == 0, np.datetime64("NaT"), final_at),
        deal=np.concatenate(e_deal),
        k=np.concatenate(e_k),
        first=np.concatenate(e_first),
        converted=np.concatenate(e_conv),
        source=source,
    )


def _group_codes(
    opps: pd.DataFrame, col: str, groups: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (per opportunity row) and labels of a ``by`` column; missing → ``"(none)"``."""
    if col in _OPP_GROUPS and (groups is None or col not in groups.columns):
        values = opps[col]
    else:
        values = opps["account_id"].map(groups.set_index("account_id")[col])
    codes, uniq = pd.factorize(values, sort=True)
    labels = np.asarray([str(u) for u in uniq] + [NONE_GROUP], dtype=object)
    return np.where(codes < 0, len(uniq), codes), labels


def stage_conversion(
    data: KamData,
    *,
    as_of: object,
    freq: str | None = "quarterly",
    by: str | list[str] | None = None,
    groups: pd.DataFrame | None = None,
    since: object = None,
    methodology: Methodology | str | Path | None = None,
) -> pd.DataFrame:
    """Cohort-based stage-to-stage conversion, drop-off and win rate.

    The cohort of stage S in a period is the deals that first entered S in that period (by the
    end of ``as_of``).  A cohort deal has *converted* when it entered a later open stage or was
    won at or after that first entry (a skipped stage counts as passed); *dropped* when it did
    not and is lost; *still_open* otherwise.  ``won`` / ``lost`` are the cohort deals' final
    outcomes by ``as_of`` (so ``win_rate`` = won ÷ (won + lost) is the cohort's win rate).
    Rates are guarded: a cohort with no deal has no row.

    Parameters
    ----------
    data
        Needs ``opportunities``; ``stage_history`` for stage cohorts.  Without stage history
        (the Maven export) the only cohort is ``"created"`` — deals created in the period,
        converted = won — and ``attrs["note"]`` says so.
    as_of
        Nothing entered after the end of this day counts.
    freq
        Cohort period: ``"monthly"``, ``"quarterly"`` (fiscal, from the methodology file),
        ``"half-yearly"``, ``"yearly"``, or ``None`` for one cohort over all time.
    by
        Group columns: any of ``product_line``, ``owner``, ``team``, ``source``,
        ``account_id``, or a column of ``groups``.
    groups
        Optional frame ``account_id`` → tier / segment / … (one row per account), so the
        funnel can be split by what the caller's scoring or segmentation says.  Deals whose
        account is not in it (or has no account) are grouped as ``"(none)"``.
    since
        Only cohorts entered on or after this date.
    methodology
        Stages and fiscal year (default: kamlib's methodology file).

    Returns
    -------
    pandas.DataFrame
        ``stage`` (open stages in funnel order, or ``"created"``), ``period``, the ``by``
        columns, then :data:`CONVERSION_COLUMNS`: ``entered``, ``converted``, ``dropped``,
        ``still_open``, ``won``, ``lost`` (deal counts), ``conversion_rate`` (converted ÷
        entered), ``drop_rate`` (dropped ÷ entered), ``win_rate`` (won ÷ (won + lost); NaN when
        no cohort deal is closed yet — ``won + lost`` is 0, shown), ``entered_amount`` and
        ``won_amount`` (opportunity amounts; deals without an amount left out).
        ``attrs["source"]`` says what it was rebuilt from.

    Examples
    --------
    >>> stage_conversion(data, as_of="2026-09-30", freq=None)  # doctest: +SKIP
    """
    meth = resolve_methodology(methodology, owner="stage_conversion")
    _check_freq(freq, "stage_conversion")
    day = as_day(as_of, parameter="as_of", owner="stage_conversion")
    cols = _by_list(by, groups)
    co = _cohorts(data, day, meth)
    amount = co.opps["amount"].to_numpy("float64")
    if co.source == "stage_history":
        deal, k, first, conv = co.deal, co.k, co.first, co.converted
        names = [s.key for s in meth.open_stages]
        note = "cohorts of first entry into each stage, from stage_history"
    else:
        deal = np.flatnonzero(co.started)
        k = np.zeros(len(deal), np.int64)
        first = co.opps["created_date"].to_numpy("datetime64[s]")[deal]
        conv = co.final[deal] == 1
        names = ["created"]
        note = ("no stage history: the stages a deal passed are not recorded, so the only cohort "
                "is 'created' (deals created in the period; converted = won)")  # fmt: skip
    if since is not None:
        sel = first >= np.datetime64(
            as_day(since, parameter="since", owner="stage_conversion"), "s"
        )
        deal, k, first, conv = deal[sel], k[sel], first[sel], conv[sel]
    pcode, plabels = _period_codes(first, freq, meth.fiscal_year_start_month)
    gcodes, glabels = [], []
    for c in cols:
        codes, labels = _group_codes(co.opps, c, groups)
        gcodes.append(codes[deal])
        glabels.append(labels)
    code = k.astype(np.int64)
    for codes, size in (
        (pcode, len(plabels)),
        *((g, len(lab)) for g, lab in zip(gcodes, glabels, strict=True)),
    ):
        code = code * max(size, 1) + codes
    uniq, inv = _dense_unique(code)
    fin = co.final[deal]  # 0 open, 1 won, 2 lost (integers: no object-array comparisons)
    amt = amount[deal]
    known = ~np.isnan(amt)

    def total(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(inv, weights=weights, minlength=len(uniq))

    out = {}
    rest = uniq
    parts = []
    for size in reversed([len(plabels), *map(len, glabels)]):
        parts.append(rest % max(size, 1))
        rest = rest // max(size, 1)
    parts = parts[::-1]
    out["stage"] = np.asarray(names, dtype=object)[rest] if len(uniq) else np.zeros(0, object)
    out["period"] = plabels[parts[0]] if len(uniq) else np.zeros(0, object)
    for c, lab, part in zip(cols, glabels, parts[1:], strict=True):
        out[c] = lab[part]
    # the six counts from one count per (cohort, converted, final state): column 3 × converted
    # + final (0 open, 1 won, 2 lost)
    counts = np.bincount(
        inv * 6 + conv.astype(np.int64) * 3 + fin, minlength=6 * len(uniq)
    ).reshape(len(uniq), 6)
    out["entered"] = counts.sum(axis=1)
    out["converted"] = counts[:, 3:].sum(axis=1)
    out["dropped"] = counts[:, 2]
    out["still_open"] = counts[:, 0]
    out["won"] = counts[:, 1] + counts[:, 4]
    out["lost"] = counts[:, 2] + counts[:, 5]
    out["entered_amount"] = total(np.where(known, amt, 0.0))
    out["won_amount"] = total(np.where(known & (fin == 1), amt, 0.0))
    res = pd.DataFrame(out)
    ent = res["entered"].astype(float)
    closed = (res["won"] + res["lost"]).astype(float)
    res["conversion_rate"] = res["converted"] / ent
    res["drop_rate"] = res["dropped"] / ent
    res["win_rate"] = res["won"] / closed.where(closed > 0)
    res = res[["stage", "period", *cols, *CONVERSION_COLUMNS]]
    for c in ("stage", "period", *cols):
        res[c] = res[c].astype("str")
    res.attrs["source"] = co.source
    res.attrs["note"] = note
    res.attrs["as_of"] = day
    res.attrs["deals_without_amount"] = int((~known).sum())
    return res


def _dense_unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for integers, without sorting when their
    range is modest (a presence table instead)."""
    if len(values) == 0:
        return values[:0], np.zeros(0, np.int64)
    lo, hi = int(values.min()), int(values.max())
    if hi - lo > 4 * len(values) + 1_000_000:
        uniq, inv = np.unique(values, return_inverse=True)
        return uniq, inv.astype(np.int64)
    offset = values - lo
    present = np.zeros(hi - lo + 1, dtype=bool)
    present[offset] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present) + lo, rank[offset]


def _period_codes(
    first: np.ndarray, freq: str | None, fy_start: int
) -> tuple[np.ndarray, np.ndarray]:
    """Period index (0, 1, … in time order) and label of each date."""
    if freq is None:
        return np.zeros(len(first), np.int64), np.array(["all"], dtype=object)
    from kamlib.periods import period_of

    months = _FREQ_MONTHS[freq]
    fy = fy_start if months > 1 else 1
    # months since 1970-01 through the distinct days (a calendar conversion per day, not per row)
    day = np.floor_divide(first.astype("datetime64[s]").astype(np.int64), 86_400)
    udays, day_inv = _dense_unique(day)
    m = udays.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    raw = ((m - (fy - 1)) // months)[day_inv]
    uniq, inv = _dense_unique(raw)
    labels = []
    for u in uniq:
        start = np.datetime64(int(u * months + fy - 1), "M").astype("datetime64[D]").item()
        labels.append(period_of(start, freq, fiscal_year_start_month=fy_start).label)
    return inv.astype(np.int64), np.asarray(labels, dtype=object)


def funnel(
    data: KamData,
    *,
    as_of: object,
    since: object = None,
    by: str | list[str] | None = None,
    groups: pd.DataFrame | None = None,
    methodology: Methodology | str | Path | None = None,
) -> pd.DataFrame:
    """The funnel with drop-off: :func:`stage_conversion` over all cohorts since ``since``.

    Returns the columns of :func:`stage_conversion` without ``period``, one row per open stage
    (and ``by`` group), plus ``reach_rate``: the share of the first stage's deals that entered
    this stage (deals created in a later stage count from that stage on, so it can exceed 1
    when many start late; it is the funnel's width, not a probability).
    """
    out = stage_conversion(data, as_of=as_of, freq=None, by=by, groups=groups, since=since,
                           methodology=methodology).drop(columns="period")  # fmt: skip
    cols = _by_list(by, groups)
    if len(out):
        top = (
            out.groupby(cols, sort=False)["entered"].transform("first")
            if cols
            else out["entered"].iloc[0]
        )
        out["reach_rate"] = out["entered"] / pd.Series(top, index=out.index).astype(float)
    else:
        out["reach_rate"] = pd.Series(dtype="float64")
    return out


def win_rates(
    data: KamData,
    *,
    as_of: object,
    freq: str | None = "quarterly",
    by: str | list[str] | None = None,
    groups: pd.DataFrame | None = None,
    methodology: Methodology | str | Path | None = None,
) -> pd.DataFrame:
    """Win rate (won ÷ closed) of the deals closed in each period by ``as_of``.

    Returns ``period`` (of the close), the ``by`` columns, ``closed``, ``won``, ``lost``,
    ``win_rate``, ``won_amount``, ``lost_amount`` (amounts where known), ``win_rate_amount``
    (won ÷ closed amount; NaN when no closed deal has an amount).
    """
    meth = resolve_methodology(methodology, owner="win_rates")
    _check_freq(freq, "win_rates")
    day = as_day(as_of, parameter="as_of", owner="win_rates")
    cols = _by_list(by, groups)
    co = _cohorts(data, day, meth)
    rows = np.flatnonzero(co.final > 0)
    at = co.closed_at[rows]
    won = co.final[rows] == 1
    amt = co.opps["amount"].to_numpy("float64")[rows]
    pcode, plabels = _period_codes(at, freq, meth.fiscal_year_start_month)
    by_cols = {}
    for c in cols:
        codes, labels = _group_codes(co.opps, c, groups)
        by_cols[c] = labels[codes[rows]]
    f = pd.DataFrame(
        {"period": plabels[pcode], **by_cols, "closed": 1, "won": won.astype(int),
         "lost": (~won).astype(int), "won_amount": np.where(won, amt, np.nan),
         "lost_amount": np.where(~won, amt, np.nan)}
    )  # fmt: skip
    out = f.groupby(["period", *cols], sort=True).agg(
        closed=("closed", "sum"), won=("won", "sum"), lost=("lost", "sum"),
        won_amount=("won_amount", "sum"), lost_amount=("lost_amount", "sum"),
    ).reset_index()  # fmt: skip
    out["win_rate"] = out["won"] / out["closed"].astype(float)
    tot = out["won_amount"] + out["lost_amount"]
    out["win_rate_amount"] = out["won_amount"] / tot.where(tot > 0)
    out = out[["period", *cols, "closed", "won", "lost", "win_rate", "won_amount", "lost_amount",
               "win_rate_amount"]]  # fmt: skip
    out.attrs["source"] = co.source
    return out
