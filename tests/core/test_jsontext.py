"""Vectorised JSON must parse back to exactly what was encoded, whatever the text holds."""

from __future__ import annotations

import json
import math

import pandas as pd
from hypothesis import example, given
from hypothesis import strategies as st

from credit_engine.sources.jsontext import arrays, number_arrays, objects

cells = st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8"), max_size=12))


@given(st.lists(st.tuples(cells, cells), min_size=1, max_size=20))
def test_arrays_and_objects_round_trip(rows: list[tuple[str | None, str | None]]) -> None:
    frame = pd.DataFrame(rows, columns=["名称", 'odd "key"\\']).astype("string")
    expected = [[v if v is not None else None for v in row] for row in rows]
    assert [json.loads(line) for line in arrays(frame)] == expected
    assert [json.loads(line) for line in objects(frame)] == [dict(zip(frame.columns, row)) for row in expected]


def test_typed_columns() -> None:
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2024-03-01", None]).astype("datetime64[s]"),
            "yuan": [2000.5, float("nan")],
            "n": pd.array([3, None], dtype="Int64"),
            "flag": pd.array([True, None], dtype="boolean"),
        }
    )
    assert [json.loads(line) for line in objects(frame)] == [
        {"day": "2024-03-01", "yuan": 2000.5, "n": 3, "flag": True},
        {"day": None, "yuan": None, "n": None, "flag": None},
    ]


def test_booleans_reindexed_with_gaps_stay_booleans() -> None:
    """A bool column aligned on more rows turns object; its text must not change with that."""
    flags = pd.Series([True, False], index=[1, 2])
    whole = objects(pd.DataFrame({"flag": flags}))
    gapped = objects(pd.DataFrame({"flag": flags, "other": pd.Series(["x"], index=[3])}).drop(columns="other"))
    assert gapped.loc[[1, 2]].tolist() == whole.tolist() == ['{"flag":true}', '{"flag":false}']
    assert json.loads(gapped.loc[3]) == {"flag": None}


def test_whole_floats_print_as_the_same_integers_do() -> None:
    """One chunk of a file may hold a share as int64 and another as float64 beside a blank."""
    ints = objects(pd.DataFrame({"share": [100, 30]}))
    floats = objects(pd.DataFrame({"share": [100.0, 30.0, None, 2.5, 1e300]}))
    assert floats.tolist()[:2] == ints.tolist() == ['{"share":100}', '{"share":30}']
    assert [json.loads(v)["share"] for v in floats[2:]] == [None, 2.5, 1e300]


@given(st.lists(st.lists(st.floats(), min_size=3, max_size=3), min_size=1, max_size=20))
@example([[-0.0, float("-inf"), float("nan")], [0.0, float("inf"), 5e-324]])
def test_number_arrays_read_back_to_the_same_doubles(rows: list[list[float]]) -> None:
    """Feature vectors are stored as this text and explained from it: every double, infinities
    included, must come back bit for bit, and NaN as null."""
    frame = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=float)
    back = [json.loads(line) for line in number_arrays(frame).to_pylist()]
    assert back == [[None if math.isnan(v) else v for v in row] for row in rows]
    assert all(
        math.copysign(1, b) == math.copysign(1, v)
        for got, row in zip(back, rows)
        for b, v in zip(got, row)
        if b is not None
    )
