"""Read a source file into a frame of strings, whatever its encoding and format.

Malformed rows (wrong number of fields, undecodable JSON) are returned apart with their row
numbers, so they reach quarantine instead of vanishing or stopping the file.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ENCODINGS = ("utf-8-sig", "gb18030")


class UnreadableFile(ValueError):
    """The file is in no encoding or format the contract allows."""


@dataclass
class RawTable:
    header: list[str]
    frame: pd.DataFrame  # all values str; index = 1-based data row number
    encoding: str
    file_format: str  # csv | jsonl
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (row, text, reason)


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM) first, then GB18030."""
    for encoding in ENCODINGS:
        try:
            body = data[3:] if encoding == "gb18030" and data.startswith(b"\xef\xbb\xbf") else data
            return body.decode(encoding), encoding.replace("-sig", "")
        except UnicodeDecodeError as exc:
            last = exc
    raise UnreadableFile(
        f"{path.name}: neither UTF-8 nor GB18030 (byte {last.start}: {data[last.start:last.start + 4]!r})"
    )


def read_table(path: Path, data: bytes) -> RawTable:
    text, encoding = decode(data, path)
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"} or text.lstrip().startswith("{"):
        return _read_jsonl(text, encoding)
    return _read_csv(text, encoding, path)


def read_header(path: Path, data: bytes) -> list[str]:
    """Only the header (first line), to order files by kind before reading them whole."""
    end = data.find(b"\n")
    text, _ = decode(data if end < 0 else data[:end], path)
    if text.lstrip().startswith("{"):
        return list(json.loads(text.strip()).keys())
    return _csv_header(text)


def _csv_header(text: str) -> list[str]:
    line = next(csv.reader(io.StringIO(text)), None)
    if not line:
        raise UnreadableFile("empty file: no header row")
    return [cell.strip() for cell in line]


def _read_csv(text: str, encoding: str, path: Path) -> RawTable:
    header = _csv_header(text)
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise UnreadableFile(f"{path.name}: duplicate header column(s): {', '.join(dupes)}")
    bad: list[tuple[int, str, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append((row.number - 1, row.text, f"expected {row.expected_columns} fields, found {row.actual_columns}"))
        return "skip"

    encoded = text.encode("utf-8")
    if not encoded.partition(b"\n")[2].strip():
        return RawTable(header, pd.DataFrame(columns=header, dtype="str").rename_axis("row"), encoding, "csv", bad)
    types = {name: pa.string() for name in header}
    try:
        table = pacsv.read_csv(
            io.BytesIO(encoded),
            # one block for the whole file: a cell larger than a block would otherwise fail
            read_options=pacsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1,
                                           block_size=min(max(len(encoded) + 1, 1 << 20), (1 << 31) - 1)),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[]
            ),
        )
    except pa.ArrowInvalid as exc:
        raise UnreadableFile(f"{path.name}: not a readable CSV file: {exc}") from exc
    frame = table.to_pandas()
    frame.index = _good_row_numbers(len(frame), {n for n, _, _ in bad})
    return RawTable(header, frame, encoding, "csv", bad)


def _good_row_numbers(count: int, bad: set[int]) -> pd.Index:
    numbers, n = [], 0
    while len(numbers) < count:
        n += 1
        if n not in bad:
            numbers.append(n)
    return pd.Index(numbers, name="row")


def _cell(value: object) -> str:
    """A JSON value as the text a CSV cell would hold (nested values stay JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _read_jsonl(text: str, encoding: str) -> RawTable:
    records: list[dict] = []
    numbers: list[int] = []
    bad: list[tuple[int, str, str]] = []
    header: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            bad.append((number, line, f"not a JSON object: {exc}"))
            continue
        for key in record:
            if key not in seen:
                seen.add(key)
                header.append(key)
        records.append({k: _cell(v) for k, v in record.items()})
        numbers.append(number)
    frame = pd.DataFrame.from_records(records, columns=header).fillna("").astype("str")
    frame.index = pd.Index(numbers, name="row")
    return RawTable(header, frame, encoding, "jsonl", bad)
