"""JSON text for whole columns at once: one string per row, built with vectorised string ops.

Serialising row by row (``json.dumps`` per row, or pandas' ``to_json(lines=True)``, whose line
splitting is pure Python) costs more than the rest of an ingest; concatenating escaped columns
does not.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_OTHER_CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_NEEDS_ESCAPE = '[\\\\"\n\r\t]'


def values(column: pd.Series) -> pd.Series:
    """Each cell as a JSON value: strings quoted and escaped, dates as ISO strings, NA as null.

    The text of a value must not depend on its neighbours, or a fact's content hash would change
    with the other rows of its file (or chunk): booleans in an object column (a bool column
    reindexed with gaps) stay JSON booleans, and whole floats print as integers, as the same
    numbers in an integer column do."""
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "boolean":
        column = column.astype("boolean")
    if pd.api.types.is_datetime64_any_dtype(column):
        out = '"' + column.dt.strftime("%Y-%m-%d") + '"'
    elif pd.api.types.is_bool_dtype(column):
        out = column.map({True: "true", False: "false"}).astype("string")
    elif pd.api.types.is_numeric_dtype(column):
        out = _numbers(column) if pd.api.types.is_float_dtype(column) else column.astype("string")
    else:
        text = column.astype("string")
        if text.str.contains(_NEEDS_ESCAPE, regex=True).fillna(False).any():
            for raw, escaped in _ESCAPES:
                text = text.str.replace(raw, escaped, regex=False)
        if text.str.contains(_OTHER_CONTROL, regex=True).fillna(False).any():
            for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]:
                text = text.str.replace(chr(code), f"\\u{code:04x}", regex=False)
        out = '"' + text + '"'
    return out.astype("string").fillna("null")


def _numbers(column: pd.Series) -> pd.Series:
    """Floats as JSON numbers: whole ones (exactly representable) without a fraction."""
    floats = column.astype("Float64")
    whole = ((floats.abs() < 2**53) & (floats % 1 == 0)).fillna(False)
    return floats.astype("string").mask(whole, floats.where(whole).astype("Int64").astype("string"))


def objects(frame: pd.DataFrame) -> pd.Series:
    """``{"column": value, ...}`` per row."""
    return _joined(
        "{",
        [json.dumps(str(name), ensure_ascii=False) + ":" for name in frame.columns],
        [values(frame[name]) for name in frame.columns],
        "}",
        frame.index,
    )


def arrays(frame: pd.DataFrame) -> pd.Series:
    """``[value, ...]`` per row, in column order (the header is kept once, elsewhere)."""
    return _joined("[", ["" for _ in frame.columns], [values(frame[name]) for name in frame.columns], "]", frame.index)


def _joined(opening: str, labels: list[str], cells: list[pd.Series], closing: str, index: pd.Index) -> pd.Series:
    """opening, each label followed by its cell, comma-separated, closing: one Arrow pass per
    row of text, not a new copy of every row's text per column."""
    text = pa.large_string()
    parts = [pa.scalar(opening, text)]
    for i, (label, cell) in enumerate(zip(labels, cells, strict=True)):
        parts += [pa.scalar(("," if i else "") + label, text), pa.array(cell.array).cast(text)]
    parts.append(pa.scalar(closing, text))
    if not cells:
        return pd.Series(opening + closing, index=index, dtype="string")
    joined = pc.binary_join_element_wise(*parts, pa.scalar("", text))
    return pd.Series(pd.arrays.ArrowStringArray(joined), index=index)


def number_arrays(frame: pd.DataFrame) -> pa.Array:
    """``[number, ...]`` per row of a frame of floats, NaN as null, and infinities and negative
    zero as Python's ``json`` writes them (Arrow's "-0" would read back as the integer 0). Arrow
    formats each number as the shortest text that reads back to the same double, seven times
    faster than ``arrays`` (a grade batch's feature vectors); all cells in one cast and one join,
    since a cast per column cost a single-entity re-grade 2.3 ms (now 0.1 ms)."""
    values = frame.to_numpy(dtype=float).ravel()  # row by row
    text = pc.cast(pa.array(values, from_pandas=True), pa.string())
    for special, word in (
        (values == np.inf, "Infinity"),
        (values == -np.inf, "-Infinity"),
        ((values == 0) & np.signbit(values), "-0.0"),
    ):
        if special.any():
            text = pc.if_else(pa.array(special), word, text)
    width = frame.shape[1]
    rows = pa.LargeListArray.from_arrays(
        pa.array(np.arange(len(frame) + 1, dtype=np.int64) * width), pc.fill_null(text, "null")
    )
    return pc.binary_join_element_wise("[", pc.binary_join(rows, ","), "]", "")
