"""Dates as integer day numbers, and the textual shapes real exports write them in.

Events are kept as int64 days since 1970-01-01 (``NA_DAY`` for none) so that whole columns are
shifted and compared with numpy; they become text only when a file is written, in the shape
that file uses (DATA_CONTRACT defect 6).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

NA_DAY = np.iinfo(np.int64).min
_EPOCH = date(1970, 1, 1)
_BEIJING_OFFSET_MS = 8 * 3600 * 1000

#: shape name -> example, for the shapes the contract lists.
SHAPES = {
    "iso": "2019-07-09",
    "cn_pad": "2019年07月13日",
    "cn": "2015年7月10日",
    "compact": "20190709",
    "dash": "2017-7-7",
    "dash_time": "2019-6-25 0:00:00",
    "epoch_ms": "1568180781000",
}
#: Values that mean "no date" in end-date columns.
SENTINELS = ("1900-1-1 0:00:00", "9999-9-9", "2099-12-31 00:00:00")
NO_PERIOD = "无处罚期限"


def day(d: date) -> int:
    """A date as a day number."""
    return (d - _EPOCH).days


def to_date(n: int) -> date:
    """A day number as a date."""
    return _EPOCH + timedelta(days=int(n))


def _one(d: date, shape: str) -> str:
    if shape == "iso":
        return d.isoformat()
    if shape == "cn_pad":
        return f"{d.year}年{d.month:02d}月{d.day:02d}日"
    if shape == "cn":
        return f"{d.year}年{d.month}月{d.day}日"
    if shape == "compact":
        return f"{d.year}{d.month:02d}{d.day:02d}"
    if shape == "dash":
        return f"{d.year}-{d.month}-{d.day}"
    if shape == "dash_time":
        return f"{d.year}-{d.month}-{d.day} 0:00:00"
    raise ValueError(f"unknown date shape {shape!r}")


def epoch_ms(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Epoch milliseconds at a random office-hour instant of each Beijing-time day."""
    seconds = rng.integers(8 * 3600, 18 * 3600, size=len(days))
    return days * 86_400_000 - _BEIJING_OFFSET_MS + seconds * 1000


def format_days(days: np.ndarray, shape: str, rng: np.random.Generator) -> np.ndarray:
    """Day numbers -> object array of text in ``shape`` (None where NA_DAY).

    Each distinct day is formatted once, so the cost does not grow with the row count.
    """
    out = np.full(len(days), None, dtype=object)
    present = days != NA_DAY
    if not present.any():
        return out
    if shape == "epoch_ms":
        out[present] = epoch_ms(days[present], rng).astype(str).astype(object)
        return out
    uniq, inv = np.unique(days[present], return_inverse=True)
    text = np.array([_one(to_date(n), shape) for n in uniq], dtype=object)
    out[present] = text[inv.ravel()]
    return out


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
