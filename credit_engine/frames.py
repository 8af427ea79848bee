"""Frame operations that pandas makes slow on the tiny frames of a single-entity re-grade.

pandas 3's ``merge`` costs 1.5-2.8 ms however small its frames; the related-enterprise
indicators of one entity near a listing joined three times (RULES.md §1's related group).
``inner_join`` gives the same rows in the same order from a sort and a few numpy calls
(0.5 ms), and leaves large frames to pandas, whose hash join is faster there (1.3 s against
1.7 s for 2 000 000 roles).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Rows (of both frames) up to which ``inner_join`` joins in numpy.
SMALL = 10_000


def matching_rows(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(i, j)`` with ``left[i] == right[j]`` (a missing key matches a missing key, as
    in pandas), ordered by ``i`` and then by ``j``: the order of pandas' inner merge. Of large
    keys, those of the larger side without a match are dropped first (``_shared``)."""
    if len(left) + len(right) <= SMALL:
        return _matches(left, right)
    if len(left) >= len(right):
        kept = _shared(left, right)
        i, j = _matches(left.iloc[kept], right)
        return kept[i], j
    kept = _shared(right, left)
    i, j = _matches(left, right.iloc[kept])
    return i, kept[j]


def _matches(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if len(left) + len(right) > SMALL:  # pandas' text factorizes in Arrow, four times faster than objects
        keys = pd.concat([left, right], ignore_index=True)
    else:  # but a concat alone costs a tiny join 0.14 ms
        keys = np.concatenate([left.to_numpy(dtype=object), right.to_numpy(dtype=object)])
    codes = pd.factorize(keys, use_na_sentinel=False)[0]
    lcodes, rcodes = codes[: len(left)], codes[len(left) :]
    order = np.argsort(rcodes, kind="stable")
    first = np.searchsorted(rcodes[order], lcodes, "left")
    counts = np.searchsorted(rcodes[order], lcodes, "right") - first
    i = np.repeat(np.arange(len(left)), counts)
    within = np.arange(len(i)) - np.repeat(np.cumsum(counts) - counts, counts)
    return i, order[np.repeat(first, counts) + within]


def _shared(keys: pd.Series, other: pd.Series) -> np.ndarray:
    """Positions of the ``keys`` that ``other`` holds too (a missing one if ``other`` has one), by
    Arrow's hash lookup. A span's 412 000 roles met its few thousand listings in a few percent of
    them: dropping the rest first took ``related_listed`` from 330 to 160 ms."""
    found = pc.is_in(pa.array(keys, type=pa.string()), value_set=pa.array(other, type=pa.string()), skip_nulls=False)
    return np.flatnonzero(found.to_numpy(zero_copy_only=False))


def positions(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """The position in ``keys`` (distinct texts, none missing) of each of ``values``, -1 where
    absent or missing. Arrow's hash lookup: ``pd.Index.get_indexer`` wants Python objects, and
    making them cost 130 ms of 142 for a span of 326 000 facts (Arrow: 12 ms; and 165 against
    259 µs for one entity's)."""
    found = pc.index_in(pa.array(values, type=pa.string()), value_set=pa.array(keys, type=pa.string()))
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def inner_join(
    left: pd.DataFrame, right: pd.DataFrame, on: str, suffixes: tuple[str, str] = ("_x", "_y")
) -> pd.DataFrame:
    """``left.merge(right, on=on, suffixes=suffixes)`` for text keys: the key once, then the other
    columns of both, a name both frames use taking its side's suffix; a fresh index. Of large
    frames, the larger loses its rows without a match first; what is still large goes to pandas."""
    if len(left) + len(right) > SMALL and len(left) >= len(right):
        left = left.iloc[_shared(left[on], right[on])]
    elif len(left) + len(right) > SMALL:
        right = right.iloc[_shared(right[on], left[on])]
    if len(left) + len(right) > SMALL:
        return left.merge(right, on=on, suffixes=suffixes)
    i, j = matching_rows(left[on], right[on])
    shared = (set(left.columns) & set(right.columns)) - {on}
    named = lambda name, suffix: name + suffix if name in shared else name  # noqa: E731
    columns = {named(name, suffixes[0]): taken(left[name], i) for name in left.columns}
    columns |= {named(name, suffixes[1]): taken(right[name], j) for name in right.columns if name != on}
    return pd.DataFrame(columns)


def taken(column: pd.Series, positions: np.ndarray) -> pd.Series | pd.api.extensions.ExtensionArray:
    """The values at ``positions``, keeping the dtype (a frame built from object values of text
    would infer pandas' string dtype)."""
    values = column.array.take(positions)
    return pd.Series(values, dtype=object, copy=False) if column.dtype == object else values
