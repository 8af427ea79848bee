"""Quarantined source rows as regulators and analysts read them: file, row, reason, the raw row.

Nothing of a source is dropped unseen: every refused row is kept with its reason at ingest
(``credit_engine.ingest``); this lists them. The raw rows were stored with identity numbers
masked; the listing masks any ID-shaped number again, so no path shows a full one.
"""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Connection, text

from credit_engine.identifiers import mask_ids_in_text

COLUMNS = ("file", "row_number", "reason_code", "reason", "raw", "created_at", "resolved_at")


def quarantined(
    conn: Connection,
    file: str | None = None,
    reason: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    open_only: bool = False,
) -> tuple[int, pd.DataFrame]:
    """How many rows match, and those of them from ``offset`` (at most ``limit``), in file and row
    order; ``file`` is a file name, ``reason`` a reason code, ``raw`` the row as header → cell."""
    where, params = ["1 = 1"], {}
    if file:
        where.append("f.file_name = :file")
        params["file"] = file
    if reason:
        where.append("q.reason_code = :reason")
        params["reason"] = reason
    if open_only:
        where.append("q.resolved_at IS NULL")
    body = f"FROM quarantine q JOIN source_file f ON f.id = q.source_file_id WHERE {' AND '.join(where)}"
    total = conn.execute(text(f"SELECT COUNT(*) {body}"), params).scalar_one()
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = pd.read_sql_query(
        text(
            f"SELECT f.file_name AS file, f.header_json, q.row_number, q.reason_code, q.reason, q.raw_json, q.created_at, "
            f"q.resolved_at {body} ORDER BY f.id, q.row_number, q.id{page}"
        ),
        conn,
        params=params,
    )
    rows["raw"] = [_raw(header, raw) for header, raw in zip(rows["header_json"], rows["raw_json"], strict=True)]
    rows["reason"] = rows["reason"].map(mask_ids_in_text)
    return int(total), rows[list(COLUMNS)]


def _raw(header_json: str | None, raw_json: str) -> dict[str, str] | str:
    """The row's cells by header; a malformed line (stored as its text) stays text."""
    raw = json.loads(raw_json)
    if isinstance(raw, list):
        header = json.loads(header_json or "[]")
        names = header if len(header) == len(raw) else [f"column_{i + 1}" for i in range(len(raw))]
        return {name: mask_ids_in_text(str(cell)) for name, cell in zip(names, raw, strict=True)}
    return mask_ids_in_text(str(raw))
