"""Writing tables in the formats exporters produce: CSV (UTF-8, UTF-8 with BOM, GB18030;
minimal or quote-all quoting; LF or CRLF) and the 信用中国 API's JSON Lines."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .defects import Table


def write_table(t: Table, out_dir: Path) -> int:
    """Write one table under ``out_dir``; returns the number of data rows written."""
    path = out_dir / t.path
    path.parent.mkdir(parents=True, exist_ok=True)
    if t.jsonl:
        _write_jsonl(t, path)
    else:
        _write_csv(t, path)
    return len(t)


def _write_csv(t: Table, path: Path) -> None:
    """CSV through pandas; rows listed in ``bad_lines`` get one field too many or too few."""
    frame = pd.DataFrame(t.columns)
    options = {
        "index": False,
        "quoting": csv.QUOTE_ALL if t.quote_all else csv.QUOTE_MINIMAL,
        "lineterminator": "\r\n" if t.crlf else "\n",
    }
    with path.open("w", encoding=t.encoding, newline="") as fh:
        start = 0
        for k, row in enumerate(t.bad_lines):
            frame.iloc[start:row].to_csv(fh, header=start == 0, **options)
            line = frame.iloc[[row]].to_csv(header=False, **options).rstrip("\r\n")
            line = line + ",多余字段" if k % 2 == 0 else line.rsplit(",", 1)[0]
            fh.write(line + options["lineterminator"])
            start = row + 1
        frame.iloc[start:].to_csv(fh, header=start == 0, **options)


def _write_jsonl(t: Table, path: Path) -> None:
    """One JSON object per line, lower-case code keys; epoch-millisecond dates as numbers."""
    keys = [c.lower() for c in t.columns]
    epoch = [t.dates.get(c) == "epoch_ms" for c in t.columns]
    columns = [_json_values(v, is_epoch) for v, is_epoch in zip(t.columns.values(), epoch)]
    with path.open("w", encoding=t.encoding, newline="") as fh:
        for row in zip(*columns):
            fh.write(json.dumps(dict(zip(keys, row)), ensure_ascii=False) + "\n")


def _json_values(values: np.ndarray, is_epoch: bool) -> list[object]:
    if not is_epoch:
        return list(values)
    return [int(v) if isinstance(v, str) and v.isdigit() and len(v) >= 12 else v for v in values]
