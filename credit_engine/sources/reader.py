"""Read a source file as frames of strings, whatever its encoding and format, a chunk at a time.

A file is never held whole: one streaming pass hashes it and settles its encoding, then its rows
are read in chunks of bounded size. Malformed rows (wrong number of fields, undecodable JSON) are
returned apart with their row numbers, so they reach quarantine instead of vanishing or stopping
the file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ENCODINGS = ("utf-8-sig", "gb18030")
#: More fields than this in one record is no source row: the widest kind has 31 columns (the
#: v2 penalty), and real exports add a few of their own. Such a record is refused alone, before
#: its keys can swell the file's header (20 000 keys took 96 s and 481 MB).
MAX_FIELDS = 200
#: Stands in for each byte of a UTF-8 file that is not UTF-8 (a noncharacter: never in data),
#: so that its row alone is refused (``Scan.bad_bytes``).
UNDECODABLE = "\uffff"
#: A file is read as UTF-8 with some bad bytes when it has at least this many well-formed
#: non-ASCII characters per bad byte; a GB18030 file read as UTF-8 has far fewer.
CLEARLY_UTF8 = 100
#: Characters of a refused line kept as its text in quarantine.
KEPT_TEXT = 4000
BOM = b"\xef\xbb\xbf"
#: Bytes read at a time: hashing, checking the encoding, and the CSV parser's blocks (a row
#: longer than this cannot be parsed; no source row comes near).
BLOCK = 16 << 20
HEAD = 1 << 16


class UnreadableFile(ValueError):
    """The file is in no encoding or format the contract allows."""


@dataclass
class Scan:
    """What one streaming pass over the bytes learns: content hash and encoding."""

    sha256: str
    size: int
    bom: bool
    encoding: str | None  # None: neither encoding decodes it; ``error`` says where
    error: str = ""
    #: byte offsets of the bytes of a UTF-8 file that are not UTF-8 (their rows are refused)
    bad_bytes: list[int] = field(default_factory=list)


@dataclass
class Chunk:
    frame: pd.DataFrame  # all values str; index = 1-based data row number
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (row, text, reason)
    position: int = 0  # bytes of the file consumed so far (for progress)


@dataclass
class RawTable:
    """An opened source file; ``chunks`` reads its rows a bounded number at a time."""

    path: Path
    header: list[str]
    encoding: str
    file_format: str  # csv | jsonl
    bom: bool
    bad_bytes: list[int] = field(default_factory=list)

    def chunks(self, rows: int) -> Iterator[Chunk]:
        read = _jsonl_chunks if self.file_format == "jsonl" else _csv_chunks
        return read(self, rows)


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM) first, then GB18030."""
    for encoding in ENCODINGS:
        try:
            body = data[3:] if encoding == "gb18030" and data.startswith(BOM) else data
            return body.decode(encoding), encoding.replace("-sig", "")
        except UnicodeDecodeError as exc:
            last = exc
    raise UnreadableFile(
        f"{path.name}: neither UTF-8 nor GB18030 (byte {last.start}: {data[last.start : last.start + 4]!r})"
    )


def _stand_in(exc: UnicodeDecodeError) -> tuple[str, int]:
    return UNDECODABLE * (exc.end - exc.start), exc.end


#: Reads a file's bad bytes as ``UNDECODABLE`` (the rows holding them are refused).
STAND_IN = "credit_engine_undecodable"
codecs.register_error(STAND_IN, _stand_in)  # type: ignore[arg-type]  # typeshed: a decoding handler gets UnicodeDecodeError


class _Repaired(io.RawIOBase):
    """A UTF-8 file's bytes with each bad byte replaced by ``UNDECODABLE`` (for Arrow's reader,
    which refuses the whole file otherwise); ``tell`` is the position in the file."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self._raw, self._pending = raw, b""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors=STAND_IN)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        while not self._pending:
            block = self._raw.read(BLOCK)
            self._pending = self._decoder.decode(block, final=not block).encode("utf-8")
            if not block:
                break
        n = min(len(buffer), len(self._pending))
        buffer[:n], self._pending = self._pending[:n], self._pending[n:]
        return n

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pending, self._decoder = b"", codecs.getincrementaldecoder("utf-8")(errors=STAND_IN)
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()
        super().close()


#: Bad bytes noted at most: a file with more is no UTF-8 file with a few stray bytes (decoding
#: stops there, so that a GB18030 file costs no more than before).
MAX_BAD_BYTES = 1_000


def _marking(bad: list[int], base: list[int]) -> str:
    """A codec error handler that notes where each bad byte is (up to ``MAX_BAD_BYTES``) and puts
    ``UNDECODABLE`` in its place."""
    name = f"credit_engine_mark_{id(bad)}"

    def mark(exc: UnicodeDecodeError) -> tuple[str, int]:
        bad.extend(base[0] + i for i in range(exc.start, exc.end))
        if len(bad) > MAX_BAD_BYTES:
            raise exc
        return UNDECODABLE * (exc.end - exc.start), exc.end

    codecs.register_error(name, mark)  # type: ignore[arg-type]  # typeshed: a decoding handler gets UnicodeDecodeError
    return name


def scan(path: Path) -> Scan:
    """Hash the file and settle its encoding in one pass of bounded memory (a second pass, only
    for files that are not UTF-8, checks GB18030). A UTF-8 file with a few stray bytes stays
    UTF-8, their offsets noted: their rows are refused, the rest read (``CLEARLY_UTF8``)."""
    bad: list[int]
    digest, size, bom, bad, base = hashlib.sha256(), 0, False, [], [0]
    utf8 = codecs.getincrementaldecoder("utf-8")(errors=_marking(bad, base))
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            bom = bom or (size == 0 and block.startswith(BOM))
            digest.update(block)
            base[0] = size - len(utf8.getstate()[0])  # offsets count from the bytes the decoder holds
            size += len(block)
            if len(bad) <= MAX_BAD_BYTES:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:  # too many bad bytes: not UTF-8
                    pass
        base[0] = size - len(utf8.getstate()[0])
        if len(bad) <= MAX_BAD_BYTES:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                pass
    if not bad:
        return Scan(digest.hexdigest(), size, bom, "utf-8")
    if len(bad) <= MAX_BAD_BYTES and _wide_characters(path) >= CLEARLY_UTF8 * len(bad):
        return Scan(digest.hexdigest(), size, bom, "utf-8", bad_bytes=bad)
    error = _undecodable(path, "gb18030", 3 if bom else 0)
    return Scan(digest.hexdigest(), size, bom, None if error else "gb18030", error)


def _wide_characters(path: Path) -> int:
    """Well-formed non-ASCII UTF-8 characters in the file (its bad bytes left out)."""
    decoder, count = codecs.getincrementaldecoder("utf-8")(errors="ignore"), 0
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            text = decoder.decode(block)
            count += len(text) - len(text.encode("ascii", "ignore"))
    return count


def _undecodable(path: Path, encoding: str, skip: int) -> str:
    """Why ``path`` (after ``skip`` bytes) is not ``encoding``; empty if it is."""
    decoder, offset = codecs.getincrementaldecoder(encoding)(), 0
    with path.open("rb") as fh:
        fh.seek(skip)
        while True:
            block = fh.read(BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                return f"{path.name}: neither UTF-8 nor GB18030 (byte {offset + exc.start}: {exc.object[exc.start : exc.start + 4]!r})"
            if not block:
                return ""
            offset += len(block)


def open_table(path: Path, found: Scan) -> RawTable:
    """The header and format of a scanned file; rows are read later, in chunks."""
    if found.encoding is None:
        raise UnreadableFile(found.error)
    with path.open("rb") as fh:
        head = fh.read(HEAD)[3 if found.bom else 0 :]
    text = head.decode(found.encoding, errors="ignore")
    if path.suffix.lower() in {".jsonl", ".ndjson", ".json"} or text.lstrip().startswith("{"):
        return RawTable(path, _jsonl_header(path, found), found.encoding, "jsonl", found.bom, found.bad_bytes)
    header = _csv_header(text.partition("\n")[0])
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise UnreadableFile(f"{path.name}: duplicate header column(s): {', '.join(dupes)}")
    return RawTable(path, header, found.encoding, "csv", found.bom, found.bad_bytes)


def read_table(path: Path) -> RawTable:
    return open_table(path, scan(path))


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


def _open(table: RawTable) -> io.BufferedReader | _Repaired:
    fh = table.path.open("rb")
    fh.seek(3 if table.bom else 0)
    if table.bad_bytes:
        repaired = _Repaired(fh)
        repaired.seek(3 if table.bom else 0)
        return repaired
    return fh


def _csv_chunks(table: RawTable, rows: int) -> Iterator[Chunk]:
    """Arrow's streaming CSV reader (quoted newlines and GB18030 handled by it), regrouped into
    chunks of ``rows`` rows; rows with the wrong number of fields come apart as malformed."""
    header, bad, positions = table.header, [], list(reversed(table.bad_bytes))

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append((row.number - 1, row.text, f"expected {row.expected_columns} fields, found {row.actual_columns}"))
        return "skip"

    with _open(table) as fh:
        if not fh.read(HEAD).partition(b"\n")[2].strip() and fh.tell() >= table.path.stat().st_size:
            return  # a header and nothing else
        fh.seek(3 if table.bom else 0)
        try:
            reader = pacsv.open_csv(
                fh,
                read_options=pacsv.ReadOptions(
                    use_threads=False,
                    column_names=header,
                    skip_rows=1,
                    block_size=BLOCK,
                    encoding="utf8" if table.encoding == "utf-8" else table.encoding,
                ),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    null_values=[],
                ),
            )
            pending, count, number = [], 0, 1
            for batch in reader:
                pending.append(batch)
                count += batch.num_rows
                while count >= rows:
                    frame, pending, count, number = _take(pending, rows, number, bad, header)
                    frame, undecodable = _undecodable_rows(frame, positions)
                    yield Chunk(frame, sorted(_drain(bad, number) + undecodable), fh.tell())
            if count or bad:
                frame, _, _, number = _take(pending, count, number, bad, header)
                frame, undecodable = _undecodable_rows(frame, positions)
                yield Chunk(frame, sorted(_drain(bad, None) + undecodable), fh.tell())
        except pa.ArrowInvalid as exc:
            raise UnreadableFile(f"{table.path.name}: not a readable CSV file: {exc}") from exc


def _take(
    pending: list[pa.RecordBatch], rows: int, number: int, bad: list[tuple[int, str, str]], header: list[str]
) -> tuple[pd.DataFrame, list[pa.RecordBatch], int, int]:
    """The first ``rows`` rows of ``pending`` as a frame numbered from ``number`` (skipping the
    numbers of malformed rows); returns the rest and the next number."""
    schema = pa.schema([(name, pa.string()) for name in header])
    whole = pa.Table.from_batches(pending, schema=schema)
    frame = whole.slice(0, rows).to_pandas()
    skipped = sorted(n for n, _, _ in bad if n >= number)
    candidates = np.arange(number, number + rows + len(skipped))
    numbers = candidates[~np.isin(candidates, skipped)][:rows]
    frame.index = pd.Index(numbers, name="row")
    rest = whole.slice(rows).to_batches()
    return frame, rest, whole.num_rows - rows, int(numbers[-1]) + 1 if rows else number


def _undecoded_reason(row: str, positions: list[int]) -> str:
    """Which bytes of the file a row's stand-ins were (taken from ``positions``, in file order)."""
    count = row.count(UNDECODABLE)
    taken = [positions.pop() for _ in range(min(count, len(positions)))]
    where = ", ".join(map(str, taken)) or "?"
    return (
        f"byte{'s' if count > 1 else ''} {where} of the file {'are' if count > 1 else 'is'} not UTF-8 "
        "(the rest of the file is): the row cannot be read as written"
    )


def _undecodable_rows(frame: pd.DataFrame, positions: list[int]) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """The rows holding a bad byte of a UTF-8 file, taken out as malformed with its position."""
    if not positions or frame.empty:
        return frame, []
    hit = np.zeros(len(frame), dtype=bool)
    for column in frame.columns:
        hit |= frame[column].str.contains(UNDECODABLE, regex=False).to_numpy(dtype=bool)
    if not hit.any():
        return frame, []
    out = []
    for number, cells in zip(frame.index[hit].tolist(), frame[hit].itertuples(index=False, name=None), strict=True):
        line = ",".join(cells)
        out.append((number, line.replace(UNDECODABLE, "\ufffd")[:KEPT_TEXT], _undecoded_reason(line, positions)))
    return frame[~hit], out


def _drain(bad: list[tuple[int, str, str]], before: int | None) -> list[tuple[int, str, str]]:
    """Malformed rows numbered below ``before`` (all if None), removed from ``bad``."""
    out = [b for b in bad if before is None or b[0] < before]
    bad[:] = [b for b in bad if before is not None and b[0] >= before]
    return out


def _cell(value: object) -> str:
    """A JSON value as the text a CSV cell would hold (nested values stay JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _lines(table: RawTable) -> Iterator[tuple[int, str, int]]:
    """Numbered lines of text (1-based, blank lines counted) with the bytes consumed so far."""
    raw = table.path.open("rb")
    raw.seek(3 if table.bom else 0)
    errors = STAND_IN if table.bad_bytes else "strict"
    with raw, io.TextIOWrapper(raw, encoding=table.encoding, errors=errors, newline=None) as text:
        for number, line in enumerate(text, start=1):
            yield number, line.rstrip("\n"), raw.tell()


def _jsonl_header(path: Path, found: Scan) -> list[str]:
    """Every key of the file in order of first appearance: a key may first show up in any chunk."""
    table = RawTable(path, [], found.encoding or "", "jsonl", found.bom, found.bad_bytes)
    header: dict[str, None] = {}
    for _, line, _ in _lines(table):
        record = _record(line)[0] if line.strip() else None
        if isinstance(record, dict) and len(record) <= MAX_FIELDS:
            header.update(dict.fromkeys(record))
    return list(header)


def _record(line: str) -> tuple[dict | None, str]:
    """A JSON Lines record, or why the line is none (also a record nested too deep to read, or
    with more fields than any source kind has)."""
    if UNDECODABLE in line:
        return None, "holds bytes that are not UTF-8 (the rest of the file is)"
    try:
        record = json.loads(line)
        if not isinstance(record, dict):
            return None, "not a JSON object: not a JSON object"
        if len(record) > MAX_FIELDS:
            return None, f"{len(record):,} fields, more than any source kind has (at most {MAX_FIELDS})"
        return {k: _cell(v) for k, v in record.items()}, ""
    except RecursionError:
        return None, "not a JSON object: nested too deep to read"
    except ValueError as exc:
        return None, f"not a JSON object: {exc}"


def _jsonl_chunks(table: RawTable, rows: int) -> Iterator[Chunk]:
    records: list[dict] = []
    numbers: list[int] = []
    bad: list[tuple[int, str, str]] = []
    position = 0
    for number, line, position in _lines(table):
        if not line.strip():
            continue
        record, problem = _record(line)
        if record is None:
            bad.append((number, line.replace(UNDECODABLE, "\ufffd")[:KEPT_TEXT], problem))
            continue
        records.append(record)
        numbers.append(number)
        if len(records) >= rows:
            yield Chunk(_jsonl_frame(records, numbers, table.header), bad, position)
            records, numbers, bad = [], [], []
    if records or bad:
        yield Chunk(_jsonl_frame(records, numbers, table.header), bad, position)


def _jsonl_frame(records: list[dict], numbers: list[int], header: list[str]) -> pd.DataFrame:
    frame = (
        pd.DataFrame(records, columns=header, dtype=object).fillna("").astype("str")
    )  # object: an absent column is not float
    frame.index = pd.Index(numbers, name="row")
    return frame
