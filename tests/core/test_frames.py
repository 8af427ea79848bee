"""``frames.inner_join`` stands in for pandas' inner merge: the same rows, order, names and dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_engine import frames
from credit_engine.frames import inner_join


@pytest.mark.parametrize("small", [frames.SMALL, 6, 0])  # numpy; numpy after dropping; pandas after dropping
@pytest.mark.parametrize("seed", range(60))
def test_inner_join_is_pandas_inner_merge(seed: int, small: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames, "SMALL", small)
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(0, 12)), int(rng.integers(0, 12))
    # repeated keys, missing ones (pandas matches them), and keys only one side holds
    keys = np.array(["a", "b", "c", None, *"defghij"[: int(rng.integers(0, 8))]], dtype=object)
    text = "str" if seed % 2 else object
    left = pd.DataFrame(
        {
            "k": pd.Series(rng.choice(keys, n), dtype=text),
            "x": rng.integers(0, 5, n),
            "s": pd.Series([f"l{i}" for i in range(n)], dtype="str"),
            "d": pd.to_datetime(rng.integers(0, 10**9, n), unit="s"),
        },
        index=rng.permutation(n) * 2,
    )  # an index out of order, as after a filter and a sort
    right = pd.DataFrame(
        {
            "s": pd.Series([f"r{i}" for i in range(m)], dtype="str"),
            "k": pd.Series(rng.choice(keys, m), dtype=text),
            "y": rng.random(m),
        }
    )
    pd.testing.assert_frame_equal(
        inner_join(left, right, "k", ("", "_r")), left.merge(right, on="k", suffixes=("", "_r"))
    )
    pd.testing.assert_frame_equal(inner_join(right, left, "k"), right.merge(left, on="k"))


@pytest.mark.parametrize("seed", range(40))
def test_large_keys_match_as_small_ones_do(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``SMALL`` rows the larger side's keys without a match are dropped first, and the rest
    are factorized as pandas text rather than as objects."""
    rng = np.random.default_rng(seed)
    keys = np.array(["a", "b", "c", None, "d", "e"], dtype=object)
    text = "str" if seed % 2 else object
    left, right = (
        pd.Series(rng.choice(keys[: int(rng.integers(1, 7))], int(rng.integers(0, 15))), dtype=text) for _ in range(2)
    )
    small = frames.matching_rows(left, right)
    monkeypatch.setattr(frames, "SMALL", 0)
    large = frames.matching_rows(left, right)
    assert all(np.array_equal(s, g) for s, g in zip(small, large, strict=True))
    i, j = large
    assert all(left[a] == right[b] or (pd.isna(left[a]) and pd.isna(right[b])) for a, b in zip(i, j))
