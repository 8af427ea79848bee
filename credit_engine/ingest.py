"""Source files -> facts: archive by content hash, recognise, clean, resolve, write.

Each file is one transaction: a crash part-way leaves nothing of that file in the store. Files
already ingested (same content hash) change nothing. Rows that cannot be used go to quarantine
with a precise reason; the rest of the file lands.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from credit_engine import backfill as backfill_time
from credit_engine.identifiers import Pseudonymiser, classify_codes, classify_ids, mask_ids
from credit_engine.settings import Settings
from credit_engine.sources import doubles, gsxt, lists, signals
from credit_engine.sources import jsontext
from credit_engine.sources.assemble import Context, Source
from credit_engine.sources.batch import FACT_SCHEMA, Batch
from credit_engine.sources.headers import HeaderMatch, UnknownHeader, recognise
from credit_engine.sources.kinds import (
    ABNORMAL, COMMITMENT, COMPLAINT, COURT, INSPECTION, LICENSE_V1, LICENSE_V2, PENALTY_V1, PENALTY_V2,
    PERSONNEL, REGISTRATION, SERIOUS, TAX, Kind,
)
from credit_engine.sources.reader import UnreadableFile, read_header, read_table
from credit_engine.sources.subjects import SubjectResolver, is_personal_id
from credit_engine.store.repository import Store, now_utc, stamp

TRANSFORMS: dict[Kind, Callable[[Source, Context], Batch]] = {
    PENALTY_V1: doubles.penalties, PENALTY_V2: doubles.penalties,
    LICENSE_V1: doubles.licenses, LICENSE_V2: doubles.licenses,
    ABNORMAL: lists.abnormal, SERIOUS: lists.serious, COURT: lists.court,
    REGISTRATION: gsxt.registration, PERSONNEL: gsxt.personnel,
    TAX: signals.tax, INSPECTION: signals.inspection, COMMITMENT: signals.commitment, COMPLAINT: signals.complaint,
}
#: Code columns that sometimes hold a natural person's ID instead (masked in stored raw rows).
CODE_COLUMNS = {"uscc", "party_code"}
SUFFIXES = {".csv", ".txt", ".jsonl", ".ndjson", ".json"}
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


@dataclass
class FileReport:
    path: Path
    status: str  # ingested | unchanged | rejected (bad file, recorded) | failed (rolled back) | requeued
    kind: str = ""
    encoding: str = ""
    rows_read: int = 0
    rows_accepted: int = 0
    duplicates: int = 0
    quarantined: Counter = field(default_factory=Counter)
    facts_new: int = 0
    facts_versioned: int = 0
    facts_unchanged: int = 0
    error: str = ""
    seconds: float = 0.0

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())


def source_files(paths: Iterable[Path]) -> list[Path]:
    """Files named, and every data file below folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                            and not p.name.startswith("."))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def ingest_paths(
    paths: Iterable[Path],
    engine: Engine,
    settings: Settings,
    on_file: Callable[[FileReport], None] | None = None,
    actor: str = "ingest",
    backfill: bool = False,
) -> list[FileReport]:
    """Ingest files in dependency order: registration and key persons before everything else,
    so that old codes and persons in later files resolve. ``backfill``: see ``ingest_file``."""
    files = source_files(paths)
    reports = []
    for path in sorted(files, key=_priority):
        try:
            report = ingest_file(path, engine, settings, actor, backfill)
        except Exception as exc:  # noqa: BLE001 - one file's failure must not stop the others
            report = FileReport(path, "failed", error=f"{type(exc).__name__}: {exc}")
        reports.append(report)
        if on_file:
            on_file(report)
    return reports


def _priority(path: Path) -> tuple[int, str]:
    """Order by kind from the first line only; unreadable files go last and fail there."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
        return recognise(read_header(path, head)).kind.priority, str(path)
    except (UnreadableFile, UnknownHeader, ValueError):
        return 9, str(path)


def ingest_file(path: Path, engine: Engine, settings: Settings, actor: str = "ingest",
                backfill: bool = False) -> FileReport:
    """One file in one transaction, with its audit row; see the module docstring.

    ``backfill``: the file is history exported from another system; new facts are recorded at
    their assumed publication time (``credit_engine.backfill``), not at the time of this ingest."""
    started = time.perf_counter()
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    archived = _archive(data, sha, path.suffix.lower(), settings.archive_dir)
    moment = now_utc()
    meta = {"sha256": sha, "file_name": path.name, "archive_path": str(archived), "ingested_at": stamp(moment)}

    with engine.begin() as conn:
        store = Store(conn)
        known = store.source_file(sha)
        if known and known[1] == "ingested":
            return FileReport(path, "unchanged", seconds=time.perf_counter() - started)
        try:
            table = read_table(path, data)
            match = recognise(table.header)
        except (UnreadableFile, UnknownHeader) as exc:
            store.add_source_file({**meta, "status": "rejected", "error": str(exc)})
            store.audit(moment, actor, "ingest_rejected", sha, {"file": path.name, "error": str(exc)})
            return FileReport(path, "rejected", error=str(exc), seconds=time.perf_counter() - started)

        file_id = store.add_source_file({
            **meta, "status": "ingested", "error": None, "kind": match.kind.name, "variant": match.kind.variant,
            "file_format": table.file_format, "encoding": table.encoding,
            "unknown_columns": json.dumps(list(match.unknown), ensure_ascii=False),
            "header_json": json.dumps(table.header, ensure_ascii=False),
        })
        source = _source(table.frame, match)
        batch, counts, duplicates = _apply(store, source, match, file_id, moment, settings, backfill)
        quarantine = _quarantine_rows(batch.quarantine, source, table.malformed)
        store.add_quarantine(quarantine, file_id, moment)
        accepted = len(table.frame) - len(batch.quarantine)
        totals = {"rows_read": len(table.frame) + len(table.malformed), "rows_accepted": accepted,
                  "rows_quarantined": len(quarantine), **counts}
        store.update_counts(file_id, totals)
        lags = {"backfill_lag_days": backfill_time.PUBLICATION_LAG_DAYS} if backfill else {}
        store.audit(moment, actor, "ingest", sha, {"file": path.name, "kind": match.kind.label, **totals, **lags})
    return FileReport(
        path, "ingested", kind=match.kind.label, encoding=table.encoding,
        rows_read=len(table.frame) + len(table.malformed), rows_accepted=accepted, duplicates=duplicates,
        quarantined=Counter(quarantine["reason_code"]), seconds=time.perf_counter() - started, **counts,
    )


def _apply(store: Store, source: Source, match: HeaderMatch, file_id: int, moment: datetime,
           settings: Settings, backfill: bool = False) -> tuple[Batch, dict[str, int], int]:
    """Transform rows and write what they yield; shared by ingest and requeue."""
    ctx = Context(SubjectResolver(store), Pseudonymiser(settings.pseudonym_secret), settings.keep_encrypted_ids)
    batch = TRANSFORMS[match.kind](source, ctx)
    facts, duplicates = _dedupe(batch)
    FACT_SCHEMA.validate(facts)
    store.upsert_entities(batch.entities, moment, full=match.kind is REGISTRATION)
    store.add_aliases(batch.aliases, known=set(batch.entities["uscc"]))
    store.upsert_persons(batch.persons, moment)
    known = None
    if backfill:  # flagged after hashing: the flag says how the store learned it, not what the source said
        known = backfill_time.known_from(facts, moment)
        facts = facts.assign(flags=facts["flags"].fillna("").str.cat(
            pd.Series(backfill_time.FLAG, index=facts.index), sep=",").str.lstrip(","))
    return batch, store.write_facts(facts, file_id, moment, known), duplicates


#: Refusals that more registration data can cure; the others are final for that row.
RETRYABLE = ("unknown_reg_no", "unknown_org_code", "masked_unresolved", "ambiguous_old_code")


def requeue(engine: Engine, settings: Settings, actor: str = "requeue") -> list[FileReport]:
    """Re-run quarantined rows that failed only for want of registration data, from the archived
    file; rows that now resolve land as facts and their quarantine rows are marked resolved."""
    with engine.connect() as conn:
        files = Store(conn).files_with_open_quarantine(RETRYABLE)
    reports = []
    for file_id, archive_path, name in files:
        started, moment = time.perf_counter(), now_utc()
        archived = Path(archive_path)
        with engine.begin() as conn:
            store = Store(conn)
            rows = store.open_quarantine(file_id, RETRYABLE)
            table = read_table(archived, archived.read_bytes())
            match = recognise(table.header)
            source = _source(table.frame.loc[table.frame.index.intersection(rows)], match)
            batch, counts, _ = _apply(store, source, match, file_id, moment, settings)
            landed = source.frame.index.difference(batch.quarantine.index)
            store.resolve_quarantine(file_id, landed.tolist(), moment)
            store.audit(moment, actor, "requeue", str(file_id), {"file": name, "landed": len(landed), **counts})
        reports.append(FileReport(Path(name), "requeued", kind=match.kind.label, rows_read=len(rows),
                                  rows_accepted=len(landed), seconds=time.perf_counter() - started, **counts))
    return reports


def _archive(data: bytes, sha: str, suffix: str, root: Path) -> Path:
    """Content-addressed and write-once: the raw input is never modified after it arrives."""
    target = root / sha[:2] / f"{sha}{suffix}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(data)
        os.replace(partial, target)
    return target


def _source(frame: pd.DataFrame, match: HeaderMatch) -> Source:
    """Canonical columns for the transform; the raw row as evidence, with identity numbers masked."""
    canonical = frame[list(match.columns)].rename(columns=match.columns)
    raw = frame.copy()
    for cell, column in match.columns.items():
        if column in match.kind.personal_id_columns:
            raw[cell] = _mask_personal(frame[cell])
        elif column in CODE_COLUMNS:
            raw[cell] = _mask_personal(frame[cell], only_ids=True)
    labels = {column: cell for cell, column in match.columns.items()}
    return Source(canonical, raw, labels)


def _mask_personal(values: pd.Series, only_ids: bool = False) -> pd.Series:
    """Mask identity numbers. In an identity column anything that is not an entity code is
    masked, well-formed or not; in a code column only values shaped like identity numbers."""
    cleaned = values.str.strip()
    if only_ids:
        personal = is_personal_id(cleaned) & (classify_codes(cleaned)["kind"] != "uscc")
    else:
        codes = classify_codes(cleaned)["kind"]
        personal = (cleaned != "") & ~codes.isin(["uscc", "reg_no", "org_code"]).to_numpy()
        personal = pd.Series(personal, index=values.index) | is_personal_id(cleaned)
    masked = mask_ids(classify_ids(cleaned)["value"])
    return values.where(~personal.astype(bool), masked)


def _mask_in_text(line: str) -> str:
    return _ID_LIKE.sub(lambda m: mask_ids(pd.Series([m.group(0)]))[0], line)


def _dedupe(batch: Batch) -> tuple[pd.DataFrame, int]:
    """A key twice in one file: identical copies count once; conflicting ones go to quarantine."""
    facts = batch.facts
    repeated = facts["fact_key"].duplicated(keep="first")
    if not repeated.any():
        return facts, 0
    first_hash = facts.drop_duplicates("fact_key").set_index("fact_key")["content_hash"]
    identical = repeated & (facts["fact_key"].map(first_hash) == facts["content_hash"])
    conflicting = repeated & ~identical
    if conflicting.any():
        first_row = facts.reset_index().drop_duplicates("fact_key").set_index("fact_key")["source_row"]
        rows = facts[conflicting]
        extra = pd.DataFrame({
            "reason_code": "duplicate_key",
            "reason": "same fact as row " + rows["fact_key"].map(first_row).astype(str) + " with different content",
        }, index=rows.index)
        batch.quarantine = pd.concat([batch.quarantine, extra[~extra.index.isin(batch.quarantine.index)]])
    return facts[~repeated], int(identical.sum())


def _quarantine_rows(rejects: pd.DataFrame, source: Source, malformed: list[tuple[int, str, str]]) -> pd.DataFrame:
    """Refused rows keep their cells (as the fact table does); a malformed line is kept as text."""
    rows = rejects.assign(raw_json=jsontext.arrays(source.raw.loc[rejects.index]), row_number=rejects.index.to_numpy())
    if malformed:
        bad = pd.DataFrame(malformed, columns=["row_number", "text", "reason"])
        bad["reason_code"] = "malformed_row"
        bad["raw_json"] = bad["text"].map(lambda line: json.dumps(_mask_in_text(line), ensure_ascii=False))
        rows = pd.concat([rows, bad[["row_number", "reason_code", "reason", "raw_json"]]], ignore_index=True)
    return rows.reset_index(drop=True)
