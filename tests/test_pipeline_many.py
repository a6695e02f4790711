"""kamlib.pipeline.pipeline_as_of_many: the pipeline at many dates in one pass.

The reference is the per-date path itself: ``pipeline_as_of`` at each date, stacked
(``pipeline_as_of_loop`` in ``pipeline_reference.py``, shared with the benchmark).  Every
test checks the one-pass result against it, frame for frame (values, types, order), on the
demo, on hand-made edge cases and on random histories (hypothesis).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pipeline_reference import pipeline_as_of_loop, with_sql_keys

from kamlib.data import KamData, Snapshot
from kamlib.data.schemas import TABLES, conform
from kamlib.errors import ConfigError
from kamlib.forecast import pipeline_snapshots
from kamlib.forecast import win_probability as wp
from kamlib.pipeline import PIPELINE_COLUMNS, pipeline_as_of, pipeline_as_of_many, stage_events

pytestmark = pytest.mark.filterwarnings(
    "ignore:Pipeline data quality:kamlib.errors.DataQualityWarning"
)

OPP_COLUMNS = ["opportunity_id", "created_date", "status", "stage", "closed_date", "amount",
               "expected_close_date"]  # fmt: skip
HIST_COLUMNS = ["opportunity_id", "stage", "entered_at", "amount", "expected_close_date"]


def make_kamdata(opps: list[tuple], history: list[tuple] | None) -> KamData:
    o = pd.DataFrame(opps, columns=OPP_COLUMNS)
    o["account_id"] = o["opportunity_id"].map(lambda s: f"X{ord(s[-1]) % 3}")
    o["owner"] = "Li"
    o["team"] = "East"
    o["product_line"] = "PLC"
    frames = {"opportunities": o}
    if history is not None:
        frames["stage_history"] = pd.DataFrame(history, columns=HIST_COLUMNS)
    return KamData(
        {n: conform(f, TABLES[n]) for n, f in frames.items()},
        snapshot=Snapshot(None, "test", None, "test"),
    )


def assert_same(data, dates) -> pd.DataFrame:
    events = stage_events(data)
    many = pipeline_as_of_many(events, dates)
    expected = pipeline_as_of_loop(events, dates)
    pd.testing.assert_frame_equal(many, expected, check_exact=True)
    # and "frame-equal after sorting", the form callers rely on
    key = ["as_of", "opportunity_id"]
    pd.testing.assert_frame_equal(
        many.sort_values(key, kind="mergesort").reset_index(drop=True),
        expected.sort_values(key, kind="mergesort").reset_index(drop=True),
        check_exact=True,
    )
    return many


# -- the demo ---------------------------------------------------------------------------------
def test_equal_to_pipeline_as_of_on_the_demo(small_data):
    month_ends = list(pd.date_range("2019-01-31", "2027-01-31", freq="ME"))
    odd = ["2000-01-01", "2023-02-14", "2024-07-01", "2026-09-30", "2030-12-31"]
    many = assert_same(small_data, [*month_ends, *odd])
    assert len(many) > 1000  # the demo has an open pipeline at most of these dates
    assert many["as_of"].nunique() > 50


def test_demo_by_date_and_as_of_many_agree_with_the_raw_data(small_data):
    """Passing the data (not the event log) gives the same frame."""
    dates = ["2025-12-31", "2026-06-30"]
    pd.testing.assert_frame_equal(
        pipeline_as_of_many(small_data, dates),
        pipeline_as_of_many(stage_events(small_data), dates),
    )


def reference_snapshots(data, dates, events) -> pd.DataFrame:
    """``pipeline_snapshots`` as it was before the one-pass path: a loop over the dates."""
    meth, _ = wp.forecast_settings(None)
    frames = []
    for day in dates:
        snap = pipeline_as_of(events, day, methodology=meth)
        snap.attrs = {}  # (a repeated date's frames in attrs would trip concat)
        if len(snap) and events.source == "opportunities":
            snap = snap.assign(amount=np.nan)
        if len(snap):
            frames.append(snap.assign(snapshot_date=pd.Timestamp(day)))
    if not frames:
        return wp._empty_snapshots()
    panel = pd.concat(frames, ignore_index=True)
    return wp._with_outcome(wp.deal_features(panel, data), data)


def test_win_model_snapshots_unchanged_on_the_demo(small_data):
    events = stage_events(small_data)
    view = small_data.as_of("2026-06-30")
    dates = wp.snapshot_dates("2026-06-30", months=24, step=1)
    pd.testing.assert_frame_equal(
        pipeline_snapshots(view, dates, events=events),
        reference_snapshots(view, dates, events),
        check_exact=True,
    )
    # repeated, unsorted dates, one before any deal, one with a time of day
    odd = [dates[5], "2026-01-31", dates[0], dates[5], "1990-01-01", "2026-03-31 15:00"]
    pd.testing.assert_frame_equal(
        pipeline_snapshots(view, odd, events=events),
        reference_snapshots(view, odd, events),
        check_exact=True,
    )
    empty = pipeline_snapshots(view, ["1990-01-01"], events=events)
    pd.testing.assert_frame_equal(empty, reference_snapshots(view, ["1990-01-01"], events))


# -- hand-made edge cases -------------------------------------------------------------------
# A: qualified and quote entered at the same timestamp, won later.
# B: lost and re-opened on the same day, lost again; closed in the table.
# C: created after most dates; D: created 01-01, first history row 01-10 (open before it in
#    that stage); E: history before created_date; F: no history rows (open in the table);
#    G: no history, closed (lost) in the table; H: closed in the table, no closing row.
HISTORY = [
    ("A", "lead", "2024-01-01 09:00", 100.0, "2024-03-31"),
    ("A", "qualified", "2024-01-20 10:00", 120.0, None),
    ("A", "quote", "2024-01-20 10:00", 130.0, "2024-04-30"),
    ("A", "won", "2024-03-10 16:00", None, None),
    ("B", "lead", "2024-01-10 09:00", 50.0, "2024-02-01"),
    ("B", "lost", "2024-02-01 09:00", 50.0, None),
    ("B", "qualified", "2024-02-01 17:00", 55.0, "2024-03-15"),
    ("B", "qualified", "2024-02-20 08:00", None, "2024-04-15"),
    ("B", "lost", "2024-04-01 09:00", 55.0, None),
    ("C", "lead", "2024-05-20 09:00", 70.0, "2024-06-30"),
    ("D", "qualified", "2024-01-10 09:00", 30.0, "2024-02-28"),
    ("E", "lead", "2023-12-15 09:00", 10.0, None),
    ("E", "solution", "2024-01-15 00:00", None, "2024-05-31"),
    ("H", "lead", "2024-01-02 09:00", 40.0, "2024-02-15"),
]
OPPS = [
    ("A", "2024-01-01", "won", "won", "2024-03-10", 130.0, "2024-04-30"),
    ("B", "2024-01-10", "lost", "lost", "2024-04-01", 55.0, "2024-04-15"),
    ("C", "2024-05-20", "open", "lead", None, 70.0, "2024-06-30"),
    ("D", "2024-01-01", "open", "qualified", None, 30.0, "2024-02-28"),
    ("E", "2024-01-05", "open", "solution", None, None, "2024-05-31"),
    ("F", "2024-02-03", "open", "quote", None, 90.0, "2024-01-31"),
    ("G", "2024-01-03", "lost", "lost", "2024-02-10", 20.0, None),
    ("H", "2024-01-02", "won", "won", "2024-03-01", 45.0, "2024-02-15"),
]
EDGE_DATES = [
    "2023-06-30",  # before any event or creation
    "2023-12-20",  # E open from its history, before its created_date
    "2024-01-01", "2024-01-05", "2024-01-20", "2024-02-01", "2024-02-02", "2024-02-10",
    "2024-03-01", "2024-03-10", "2024-04-01", "2024-05-19", "2024-05-20", "2025-01-01",
]  # fmt: skip


@pytest.fixture(scope="module")
def edge() -> KamData:
    return make_kamdata(OPPS, HISTORY)


def test_equal_on_hand_made_edge_cases(edge):
    many = assert_same(edge, EDGE_DATES)
    at = many.set_index(["as_of", "opportunity_id"])
    # a date before any event: empty
    assert not (many["as_of"] == pd.Timestamp("2023-06-30")).any()
    # same-timestamp entries: the later row (quote) is the state
    assert at.loc[(pd.Timestamp("2024-01-20"), "A"), "stage"] == "quote"
    # lost and re-opened on the same day: open at the end of it
    assert at.loc[(pd.Timestamp("2024-02-01"), "B"), "stage"] == "qualified"
    assert (
        "B" in many.loc[many["as_of"] == pd.Timestamp("2024-04-01"), "opportunity_id"].values
    ) is False
    # created after the date: absent; created the day: present
    assert "C" not in many.loc[many["as_of"] == pd.Timestamp("2024-05-19"), "opportunity_id"].values
    assert "C" in many.loc[many["as_of"] == pd.Timestamp("2024-05-20"), "opportunity_id"].values
    # created before its first history row: open in that row's stage
    assert at.loc[(pd.Timestamp("2024-01-05"), "D"), "stage"] == "qualified"
    # history before created_date: open from its first row
    assert at.loc[(pd.Timestamp("2023-12-20"), "E"), "stage"] == "lead"


def test_unsorted_history_and_unsorted_dates(edge):
    rng = np.random.default_rng(3)
    shuffled = [HISTORY[i] for i in rng.permutation(len(HISTORY))]
    data = make_kamdata(OPPS[::-1], shuffled)
    dates = [EDGE_DATES[i] for i in rng.permutation(len(EDGE_DATES))]
    many = assert_same(data, [*dates, dates[0], dates[3]])

    # the same pipelines as from the sorted input, but for A, whose two rows at one timestamp
    # keep file order (shuffled here)
    def without_a(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[frame["opportunity_id"] != "A"].drop_duplicates()
        return frame.sort_values(["as_of", "opportunity_id"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(without_a(many), without_a(pipeline_as_of_many(edge, EDGE_DATES)))


def test_without_stage_history(edge):
    data = make_kamdata(OPPS, None)
    many = assert_same(data, EDGE_DATES)
    assert many.attrs["source"] == "opportunities"
    assert set(many["stage"]) <= {"lead", "qualified", "solution", "quote", "unknown"}


def test_no_dates_and_bad_dates(edge):
    empty = pipeline_as_of_many(edge, [])
    assert list(empty.columns) == ["as_of", *PIPELINE_COLUMNS]
    assert len(empty) == 0
    expected = pipeline_as_of_loop(stage_events(edge), ["2024-02-01"]).dtypes
    pd.testing.assert_series_equal(empty.dtypes, expected)
    with pytest.raises(ConfigError, match="dates"):
        pipeline_as_of_many(edge, ["2024-02-01", "end of June"])


def test_duplicate_opportunity_ids_take_the_per_date_path(edge):
    events = stage_events(edge)
    # G twice (the importer refuses this; hand-built data may not): positions no longer name
    # a deal, so the one-pass path steps aside; G is closed by these dates, so the per-date
    # path (which needs unique ids for open deals) has an answer to compare with
    dup = events.opportunities[events.opportunities["opportunity_id"] == "G"]
    doubled = type(events)(
        events=events.events,
        opportunities=pd.concat([events.opportunities, dup], ignore_index=True)
        .sort_values("opportunity_id", kind="mergesort")
        .reset_index(drop=True),
        source=events.source,
        notices=events.notices,
        open_stages=events.open_stages,
    )
    dates = ["2024-02-20", "2024-03-05"]
    many = pipeline_as_of_many(doubled, dates)
    pd.testing.assert_frame_equal(many, pipeline_as_of_loop(doubled, dates))
    pd.testing.assert_frame_equal(many, pipeline_as_of_many(events, dates))


# -- random histories (hypothesis) -------------------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

STAGES = ["lead", "qualified", "solution", "quote", "negotiation", "won", "lost", "Lead "]
DAY0 = pd.Timestamp("2024-01-01")


@st.composite
def histories(draw):
    n = draw(st.integers(1, 6))
    opps, rows = [], []
    for i in range(n):
        oid = f"O{draw(st.integers(0, 40)):02d}-{i}"
        created = DAY0 + pd.Timedelta(days=draw(st.integers(0, 30)))
        events = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(STAGES),
                    st.integers(-5, 40),  # day offset (before creation too)
                    st.sampled_from([0, 9, 9, 17]),  # hour: same-timestamp rows are common
                    st.one_of(st.none(), st.floats(1, 1000)),
                    st.one_of(st.none(), st.integers(0, 60)),
                ),
                max_size=6,
            )
        )
        for stage, day, hour, amount, ecd in events:
            at = DAY0 + pd.Timedelta(days=day, hours=hour)
            rows.append((oid, stage, str(at), amount,
                         None if ecd is None else str((DAY0 + pd.Timedelta(days=ecd)).date())))  # fmt: skip
        status = draw(st.sampled_from(["open", "won", "lost"]))
        stage = status if status != "open" else draw(st.sampled_from(STAGES[:5]))
        closed = (
            str((created + pd.Timedelta(days=draw(st.integers(-3, 30)))).date())
            if status != "open" and draw(st.booleans())
            else None
        )
        opps.append((oid, str(created.date()), status, stage, closed,
                     draw(st.one_of(st.none(), st.floats(1, 1000))), None))  # fmt: skip
    return opps, rows


@hypothesis.settings(max_examples=60, deadline=None, derandomize=True)
@hypothesis.given(
    histories(),
    st.lists(st.integers(-10, 50), min_size=1, max_size=8),
    st.booleans(),
)
def test_equal_on_random_histories(history, offsets, with_history):
    opps, rows = history
    if len({o[0] for o in opps}) < len(opps):
        opps = list({o[0]: o for o in opps}.values())
    data = make_kamdata(opps, rows if with_history else None)
    dates = [str((DAY0 + pd.Timedelta(days=k)).date()) for k in offsets]
    assert_same(data, dates)


# -- the funnel with integer keys against the SQL join on the text id ----------------------------
FUNNEL_CALLS = [
    ("stage_conversion", {"freq": "quarterly"}),
    ("stage_conversion", {"freq": "monthly", "by": ["owner", "product_line"]}),
    ("stage_conversion", {"freq": None, "since": "2024-01-15"}),
    ("funnel", {}),
    ("win_rates", {"freq": "monthly", "by": "team"}),
]


def assert_funnel_same(data, as_of) -> None:
    import kamlib.pipeline as pipeline
    from kamlib.pipeline import conversion

    for name, kw in FUNNEL_CALLS:
        fn = getattr(pipeline, name)
        conversion._KEYED.pop(id(data), None)  # cold: the integer keys computed in the call
        cold = fn(data, as_of=as_of, **kw)
        assert id(data) in conversion._KEYED
        pd.testing.assert_frame_equal(
            cold, with_sql_keys(fn, data, as_of=as_of, **kw), check_exact=True
        )
        # warm: again, from the integer keys kept for this data
        pd.testing.assert_frame_equal(fn(data, as_of=as_of, **kw), cold, check_exact=True)


def test_funnel_equal_to_the_sql_join_on_the_demo(small_data):
    for as_of in ("2023-06-30", "2026-09-30"):
        assert_funnel_same(small_data, as_of)


def test_funnel_equal_on_hand_made_edge_cases(edge):
    for as_of in ("2023-12-31", "2024-02-01", "2024-06-30"):
        assert_funnel_same(edge, as_of)
    # unsorted rows, ids the opportunities do not know, labels in other spellings, a label
    # that is no stage, the same id on two opportunity rows
    rng = np.random.default_rng(5)
    rows = [HISTORY[i] for i in rng.permutation(len(HISTORY))]
    rows += [("ZZ", "lead", "2024-01-03 09:00", 1.0, None),
             ("A", " Qualified ", "2024-01-25 09:00", 1.0, None),
             ("C", "no such stage", "2024-05-21 09:00", 1.0, None)]  # fmt: skip
    assert_funnel_same(make_kamdata(OPPS + [OPPS[3]], rows), "2024-06-30")


def join_pairs(hist_ids: list, ids: list) -> list[tuple[int, int]]:
    """(history row, opportunity row) of every equal id: what a join on the text gives."""
    h = pd.DataFrame({"id": hist_ids, "row": range(len(hist_ids))})
    o = pd.DataFrame({"id": ids, "pos": range(len(ids))})
    m = h.merge(o, on="id")
    return sorted(zip(m["row"].tolist(), m["pos"].tolist(), strict=True))


@pytest.mark.parametrize(
    ("hist_ids", "ids"),
    [
        (["A", "A", "B", "C", "C"], ["A", "B", "C"]),  # grouped, every id found
        (["C", "A", "B", "A", "C"], ["A", "B", "C", "D"]),  # unsorted; D has no history
        (["A", "A", "Z", "B"], ["B", "A"]),  # an id the opportunities do not know
        (["A", "A", "B"], ["A", "B", "A"]),  # the same id twice, with history
        (["A", "A", "B"], ["A", "B", "D", "D"]),  # the same id twice, no probe finds either
        (["A", "B"], ["A", "D", "B", "D", "E"]),  # ... among other unfound ids
        (["A"] * 5, ["B", "C"]),  # nothing known
        ([], ["A"]),
        (["A"], []),
    ],
)
def test_funnel_keys_are_the_join_on_the_text_id(hist_ids, ids):
    from kamlib.pipeline import conversion

    rows, pos = conversion._positions(pd.Series(hist_ids, dtype="str"), pd.Series(ids, dtype="str"))
    assert sorted(zip(rows.tolist(), pos.tolist(), strict=True)) == join_pairs(hist_ids, ids)


def test_funnel_keys_are_the_join_on_random_ids():
    from kamlib.pipeline import conversion

    rng = np.random.default_rng(17)
    for _ in range(200):
        pool = [f"O{i}" for i in range(int(rng.integers(1, 12)))]
        twice = bool(rng.integers(0, 2))  # ids unique or not
        size = int(rng.integers(0, 10 if twice else len(pool) + 1))
        ids = [str(x) for x in rng.choice(pool, size, replace=twice)]
        runs = [str(x) for x in rng.choice([*pool, "X"], int(rng.integers(0, 15)))]
        hist_ids = [h for h in runs for _ in range(int(rng.integers(1, 4)))]  # runs of one id
        if rng.integers(0, 2):
            hist_ids = [hist_ids[i] for i in rng.permutation(len(hist_ids))]
        rows, pos = conversion._positions(
            pd.Series(hist_ids, dtype="str"), pd.Series(ids, dtype="str")
        )
        assert sorted(zip(rows.tolist(), pos.tolist(), strict=True)) == join_pairs(hist_ids, ids)


def test_funnel_keys_are_kept_per_data_and_dropped_with_it(edge):
    import gc

    from kamlib.pipeline import conversion, funnel

    data = make_kamdata(OPPS, HISTORY)
    before = len(conversion._KEYED)
    funnel(data, as_of="2024-06-30")
    funnel(data, as_of="2024-03-01")
    view = data.as_of("2024-03-01")
    funnel(view, as_of="2024-03-01")  # another KamData: its own keys
    assert len(conversion._KEYED) == before + 2
    del data, view
    gc.collect()
    assert len(conversion._KEYED) == before
