"""Source files -> facts: archive by content hash, recognise, clean, resolve, write.

Each file is one transaction: a crash part-way leaves nothing of that file in the store. Files
already ingested (same content hash) change nothing. Rows that cannot be used go to quarantine
with a precise reason; the rest of the file lands.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Engine, String

from credit_engine import archive
from credit_engine import backfill as backfill_time
from credit_engine.identifiers import (
    Pseudonymiser,
    classify_codes,
    classify_ids,
    mask_ids,
    mask_ids_in_frame,
    mask_ids_in_text,
    mask_ids_in_texts,
)
from credit_engine.settings import Settings
from credit_engine.sources import jsontext, listings, penalties_licences, registration, supervision
from credit_engine.sources.assemble import Context, Source, content_hash
from credit_engine.sources.batch import FACT_SCHEMA, Batch
from credit_engine.sources.headers import HeaderMatch, UnknownHeader, recognise
from credit_engine.sources.kinds import (
    ABNORMAL,
    COMMITMENT,
    COMPLAINT,
    COURT,
    INSPECTION,
    LICENCE_V1,
    LICENCE_V2,
    PENALTY_V1,
    PENALTY_V2,
    PERSON_BAR,
    PERSONNEL,
    REGISTRATION,
    SERIOUS,
    TAX,
    Kind,
)
from credit_engine.sources.reader import Chunk, UnreadableFile, open_table, read_header, read_table, scan
from credit_engine.sources.subjects import AMBIGUOUS, UNPLACED, SubjectResolver, is_personal_id
from credit_engine.store.bulk import first_load
from credit_engine.store.models import Entity, Fact, Person
from credit_engine.store.repository import Store, now_utc, stamp

TRANSFORMS: dict[Kind, Callable[[Source, Context], Batch]] = {
    PENALTY_V1: penalties_licences.penalties,
    PENALTY_V2: penalties_licences.penalties,
    LICENCE_V1: penalties_licences.licences,
    LICENCE_V2: penalties_licences.licences,
    ABNORMAL: listings.abnormal,
    SERIOUS: listings.serious,
    COURT: listings.court,
    REGISTRATION: registration.registration,
    PERSONNEL: registration.personnel,
    TAX: supervision.tax,
    INSPECTION: supervision.inspection,
    COMMITMENT: supervision.commitment,
    COMPLAINT: supervision.complaint,
    PERSON_BAR: registration.person_bars,
}
#: Code columns that sometimes hold a natural person's ID instead (masked in stored raw rows).
CODE_COLUMNS = {"uscc", "party_code"}
SUFFIXES = {".csv", ".txt", ".jsonl", ".ndjson", ".json"}
#: Columns of the entity and person rows that are codes or keys, not free text.
ENTITY_CODES = {"uscc", "code_status", "entity_type", "region_code", "industry_code", "reg_status"}
PERSON_CODES = {"pseudonym", "masked_id", "id_status", "encrypted_id"}


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
    #: rows landed on a registered entity by correcting their check-failed code (flag ``uscc_corrected``)
    rows_corrected: int = 0
    #: person rows kept by name and masked number, flagged ``person_unverified`` (ID invalid or missing)
    persons_unverified: int = 0
    facts_new: int = 0
    facts_versioned: int = 0
    facts_unchanged: int = 0
    error: str = ""
    seconds: float = 0.0

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())

    @property
    def rows_waiting(self) -> int:
        """Quarantined rows that registration data may yet place (``requeue`` retries them)."""
        return sum(n for reason, n in self.quarantined.items() if reason in RETRYABLE)


def source_files(paths: Iterable[Path]) -> list[Path]:
    """Files named, and every data file below folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
            )
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
    on_bytes: Callable[[int], None] | None = None,
) -> list[FileReport]:
    """Ingest files in dependency order: registration and key persons before everything else,
    so that old codes and persons in later files resolve. Into an empty store the fact table's
    secondary indexes are built once at the end (``store.bulk``). ``backfill`` and ``on_bytes``:
    see ``ingest_file``."""
    files = source_files(paths)
    reports = []
    with first_load(engine):
        for path in sorted(files, key=_priority):
            try:
                report = ingest_file(path, engine, settings, actor, backfill, on_bytes)
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


def ingest_file(
    path: Path,
    engine: Engine,
    settings: Settings,
    actor: str = "ingest",
    backfill: bool = False,
    on_bytes: Callable[[int], None] | None = None,
) -> FileReport:
    """One file in one transaction, with its audit row; see the module docstring.

    The rows are read ``settings.ingest_chunk_rows`` at a time, so memory stays bounded
    whatever the file's size; a key repeated in a later chunk is a duplicate as in the same one.

    ``backfill``: the file is history exported from another system; new facts are recorded at
    their assumed publication time (``credit_engine.backfill``), not at the time of this ingest.
    ``on_bytes``: called with the number of bytes of the file read since its last call."""
    started = time.perf_counter()
    found = scan(path)
    sha = found.sha256
    archived = archive.archive(path, sha, path.suffix.lower(), settings)
    moment = now_utc()
    meta = {"sha256": sha, "file_name": path.name, "archive_path": str(archived), "ingested_at": stamp(moment)}

    with engine.begin() as conn:
        store = Store(conn)
        store.lock_file(sha)
        known = store.source_file(sha)
        if known and known[1] == "ingested":
            if on_bytes:
                on_bytes(found.size)
            return FileReport(path, "unchanged", seconds=time.perf_counter() - started)
        try:
            table = open_table(path, found)
            match = recognise(table.header)
        except (UnreadableFile, UnknownHeader) as exc:
            store.add_source_file({**meta, "status": "rejected", "error": str(exc)})
            store.audit(moment, actor, "ingest_rejected", sha, {"file": path.name, "error": str(exc)})
            return FileReport(path, "rejected", error=str(exc), seconds=time.perf_counter() - started)

        file_id = store.add_source_file(
            {
                **meta,
                "status": "ingested",
                "error": None,
                "kind": match.kind.name,
                "variant": match.kind.variant,
                "file_format": table.file_format,
                "encoding": table.encoding,
                "unknown_columns": json.dumps(list(match.unknown), ensure_ascii=False),
                "header_json": json.dumps(table.header, ensure_ascii=False),
            }
        )
        report = FileReport(path, "ingested", kind=match.kind.label, encoding=table.encoding)
        seen: dict[str, tuple[int, str]] = {}
        done = 0
        # Subjects resolve on a second connection, against the store as it was before this file
        # (the file's own aliases are the resolver's): the writer thread owns ``conn``.
        with engine.connect() as look, _Writer() as writer:
            ctx = _context(Store(look), settings)
            for chunk in table.chunks(settings.ingest_chunk_rows):
                source = _source(chunk.frame, match)
                batch, facts, duplicates, known = _transform(source, match, ctx, moment, backfill, seen)
                writer.submit(
                    _write_chunk, store, chunk, source, batch, facts, duplicates, known, match, file_id, moment, report
                )
                if on_bytes:
                    on_bytes(chunk.position - done)
                done = chunk.position
        if on_bytes and found.size > done:
            on_bytes(found.size - done)
        totals = {
            "rows_read": report.rows_read,
            "rows_accepted": report.rows_accepted,
            "rows_quarantined": report.rows_quarantined,
            "facts_new": report.facts_new,
            "facts_versioned": report.facts_versioned,
            "facts_unchanged": report.facts_unchanged,
        }
        store.update_counts(file_id, totals)
        lags = {"backfill_lag_days": backfill_time.PUBLICATION_LAG_DAYS} if backfill else {}
        store.audit(moment, actor, "ingest", sha, {"file": path.name, "kind": match.kind.label, **totals, **lags})
    report.seconds = time.perf_counter() - started
    return report


class _Writer:
    """Writes each chunk on a worker thread while the main thread reads and transforms the
    next one, so that the database works on one core while Python works on the other. One
    write at a time and in order; leaving waits for the last one and raises its error."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-write")
        self._pending: Future | None = None

    def submit(self, fn: Callable[..., None], *args: object) -> None:
        self._wait()
        self._pending = self._pool.submit(fn, *args)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._wait()  # also when the main thread failed: the transaction ends after the write
        finally:
            self._pool.shutdown()


def _write_chunk(
    store: Store,
    chunk: Chunk,
    source: Source,
    batch: Batch,
    facts: pd.DataFrame,
    duplicates: int,
    known: pd.Series | None,
    match: HeaderMatch,
    file_id: int,
    moment: datetime,
    report: FileReport,
) -> None:
    """Write one transformed chunk and add what happened to ``report``."""
    counts = _write(store, batch, facts, match, file_id, moment, known)
    quarantine = _quarantine_rows(batch.quarantine, source, chunk.malformed)
    store.add_quarantine(quarantine, file_id, moment)
    report.rows_read += len(chunk.frame) + len(chunk.malformed)
    report.rows_accepted += len(chunk.frame) - len(batch.quarantine)
    report.rows_corrected += len(set(batch.corrections).difference(batch.quarantine.index))
    report.persons_unverified += batch.persons_unverified
    report.duplicates += duplicates
    report.quarantined.update(quarantine["reason_code"])
    report.facts_new += counts["facts_new"]
    report.facts_versioned += counts["facts_versioned"]
    report.facts_unchanged += counts["facts_unchanged"]


def _context(directory: Store, settings: Settings) -> Context:
    return Context(SubjectResolver(directory), Pseudonymiser(settings.pseudonym_secret), settings.keep_encrypted_ids)


def _transform(
    source: Source, match: HeaderMatch, ctx: Context, moment: datetime, backfill: bool, seen: dict[str, tuple[int, str]]
) -> tuple[Batch, pd.DataFrame, int, pd.Series | None]:
    """Rows -> checked facts, without writing; ``seen``: the file's keys in earlier chunks (see
    ``_dedupe``). With ``backfill``, also the recorded time of new keys."""
    batch = TRANSFORMS[match.kind](source, ctx)
    batch.corrections = ctx.resolver.corrections()
    batch.entities = mask_ids_in_frame(batch.entities, keep=ENTITY_CODES)  # a name or address may hold an ID
    batch.persons = mask_ids_in_frame(batch.persons, keep=PERSON_CODES)
    _refuse_too_long(batch, source)
    batch.facts = _with_written_codes(batch.facts, batch.corrections)
    facts, duplicates = _dedupe(batch, seen)
    FACT_SCHEMA.validate(facts)
    known = None
    if backfill:  # flagged after hashing: the flag says how the store learned it, not what the source said
        known = backfill_time.known_from(facts, moment)
        facts = facts.assign(
            flags=facts["flags"]
            .fillna("")
            .str.cat(pd.Series(backfill_time.FLAG, index=facts.index), sep=",")
            .str.lstrip(",")
        )
    return batch, facts, duplicates, known


#: The store's bounded text columns of what a batch writes (PostgreSQL refuses a longer value,
#: and with it the whole file; SQLite would store it silently), less those whose values are of
#: one width by construction (codes, pseudonyms, hashes, vocabularies: ``FIXED_WIDTH``).
_TABLES = (("facts", Fact.__table__), ("entities", Entity.__table__), ("persons", Person.__table__))
FIXED_WIDTH = {
    "facts": {"kind", "subject_uscc", "person_key", "severity", "status", "content_hash", "rule_set_id"},
    "entities": {"uscc", "code_status", "entity_type", "region_code"},
    "persons": {"pseudonym", "masked_id", "id_status"},
}
BOUNDED = {
    name: {
        c.name: c.type.length
        for c in table.columns
        if isinstance(c.type, String) and c.type.length and c.name not in FIXED_WIDTH[name]
    }
    for name, table in _TABLES
}


def _refuse_too_long(batch: Batch, source: Source) -> None:
    """A row with a value longer than its column holds goes to quarantine, naming the column;
    the rest of the file lands (issue 39: one value never fails a file)."""
    reasons: dict[int, str] = {}
    for name, widths in BOUNDED.items():
        frame = getattr(batch, name)
        rows = frame["source_row"] if name == "facts" else pd.Series(frame.index, index=frame.index)
        for column, width in widths.items():
            if column not in frame or not len(frame):
                continue
            length = frame[column].astype("string").str.len()
            for row, n in zip(rows[length > width].tolist(), length[length > width].tolist(), strict=True):
                label = source.label(column) if column in source.labels else f"{name[:-1]} {column}"
                reasons.setdefault(int(row), f"{label}: {n} characters, more than the {width} the store holds")
    if not reasons:
        return
    bad = pd.Index(sorted(reasons))
    batch.facts = batch.facts[~batch.facts["source_row"].isin(bad)]
    batch.entities = batch.entities[~batch.entities.index.isin(bad)]
    batch.persons = batch.persons[~batch.persons.index.isin(bad)]
    refused = pd.DataFrame({"reason_code": "value_too_long", "reason": [reasons[r] for r in bad]}, index=bad)
    batch.quarantine = pd.concat([batch.quarantine, refused[~refused.index.isin(batch.quarantine.index)]]).sort_index()


def _with_written_codes(facts: pd.DataFrame, corrections: dict[int, tuple[str, str]]) -> pd.DataFrame:
    """Both codes as evidence: a fact placed by correcting its code keeps the code as written in
    its detail (``uscc_as_written``) beside the registered one it is about."""
    if not corrections:
        return facts
    written = facts["source_row"].map({row: code for row, (code, _) in corrections.items()})
    rows = written.notna() & (
        facts["subject_uscc"] == facts["source_row"].map({row: placed for row, (_, placed) in corrections.items()})
    ).fillna(False)
    if not rows.any():
        return facts
    facts = facts.copy()
    facts.loc[rows, "detail_json"] = [
        json.dumps(
            {**json.loads(detail), "uscc_as_written": code} if isinstance(detail, str) else {"uscc_as_written": code},
            ensure_ascii=False,
        )
        for detail, code in zip(facts.loc[rows, "detail_json"], written[rows], strict=True)
    ]
    facts.loc[rows, "content_hash"] = content_hash(facts.loc[rows])
    return facts


def _write(
    store: Store,
    batch: Batch,
    facts: pd.DataFrame,
    match: HeaderMatch,
    file_id: int,
    moment: datetime,
    known: pd.Series | None,
) -> dict[str, int]:
    store.upsert_entities(batch.entities, moment, full=match.kind is REGISTRATION)
    store.add_aliases(batch.aliases, known=set(batch.entities["uscc"]))
    store.upsert_persons(batch.persons, moment)
    return store.write_facts(facts, file_id, moment, known)


#: Refusals that more registration data can cure; the others are final for that row.
RETRYABLE = ("unknown_reg_no", "unknown_org_code", "masked_unresolved", "ambiguous_old_code", UNPLACED, AMBIGUOUS)


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
            rows = pd.Index(store.open_quarantine(file_id, RETRYABLE))
            with archive.read(conn, settings, archived, actor, "requeue of quarantined rows") as original:
                table = read_table(original)
                match = recognise(table.header)
                retried = [
                    c.frame.loc[c.frame.index.intersection(rows)] for c in table.chunks(settings.ingest_chunk_rows)
                ]
            source = _source(pd.concat(retried), match)
            batch, facts, _, _ = _transform(source, match, _context(store, settings), moment, False, {})
            facts, known = _derived(store, facts, file_id, moment)
            counts = _write(store, batch, facts, match, file_id, moment, known)
            landed = source.frame.index.difference(batch.quarantine.index)
            store.resolve_quarantine(file_id, landed.tolist(), moment)
            store.audit(moment, actor, "requeue", str(file_id), {"file": name, "landed": len(landed), **counts})
        reports.append(
            FileReport(
                Path(name),
                "requeued",
                kind=match.kind.label,
                rows_read=len(rows),
                rows_accepted=len(landed),
                seconds=time.perf_counter() - started,
                **cast(dict[str, Any], counts),  # the int counters of FileReport
            )
        )
    return reports


def _derived(store: Store, facts: pd.DataFrame, file_id: int, moment: datetime) -> tuple[pd.DataFrame, pd.Series]:
    """Requeued rows are recorded when both their inputs were known: the row itself (its file's
    ingest, or its assumed publication time if the file was a backfill) and the registration data
    that now places it (the entity's first registration fact); flagged ``known_time_derived``."""
    ingested, backfilled = store.file_known(file_id)
    row = (
        backfill_time.known_from(facts, ingested)
        if backfilled
        else pd.Series(pd.Timestamp(ingested), index=facts.index)
    )
    registered = store.first_registered(sorted(set(facts["subject_uscc"].dropna())))
    known = pd.Series(
        [
            backfill_time.derived_at([r] + ([registered.get(u)] if isinstance(u, str) else []), moment)
            for r, u in zip(row, facts["subject_uscc"], strict=True)
        ],
        index=facts.index,
        dtype="datetime64[us]",
    )
    flags = facts["flags"].fillna("").str.cat(pd.Series(backfill_time.DERIVED_FLAG, index=facts.index), sep=",")
    return facts.assign(flags=flags.str.lstrip(",")), known


def _source(frame: pd.DataFrame, match: HeaderMatch) -> Source:
    """Canonical columns for the transform; the raw row as evidence, with identity numbers masked
    in the ID and code columns and in every free-text cell."""
    canonical = frame[list(match.columns)].rename(columns=match.columns)
    coded = {
        cell
        for cell, column in match.columns.items()
        if column in match.kind.personal_id_columns or column in CODE_COLUMNS
    }  # masked below, by kind
    raw = mask_ids_in_frame(frame, keep=coded)
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
    personal = personal.astype(bool)
    if not personal.any():
        return values
    out = values.copy()  # only the cells masked are classified: most code cells are entity codes
    out[personal] = mask_ids(classify_ids(cleaned[personal])["value"])
    return out


def _dedupe(batch: Batch, seen: dict[str, tuple[int, str]]) -> tuple[pd.DataFrame, int]:
    """A key twice in one file: identical copies count once; conflicting ones go to quarantine.

    ``seen`` maps each key of the file met so far (in this chunk or earlier ones) to the row and
    content hash of its first occurrence; this chunk's new keys are added to it."""
    facts = batch.facts
    repeated = np.zeros(len(facts), dtype=bool)
    identical = np.zeros(len(facts), dtype=bool)
    first_row = np.zeros(len(facts), dtype=np.int64)
    for i, (key, row, digest) in enumerate(
        zip(facts["fact_key"].tolist(), facts["source_row"].tolist(), facts["content_hash"].tolist(), strict=True)
    ):
        first = seen.get(key)
        if first is None:
            seen[key] = (row, digest)
        else:
            repeated[i], identical[i], first_row[i] = True, first[1] == digest, first[0]
    conflicting = repeated & ~identical
    if conflicting.any():
        rows = facts[conflicting]
        extra = pd.DataFrame(
            {
                "reason_code": "duplicate_key",
                "reason": "same fact as row "
                + pd.Series(first_row[conflicting], index=rows.index).astype(str)
                + " with different content",
            },
            index=rows.index,
        )
        batch.quarantine = pd.concat([batch.quarantine, extra[~extra.index.isin(batch.quarantine.index)]])
    return facts[~repeated], int(identical.sum())


def _quarantine_rows(rejects: pd.DataFrame, source: Source, malformed: list[tuple[int, str, str]]) -> pd.DataFrame:
    """Refused rows keep their cells (as the fact table does); a malformed line is kept as text."""
    rows = rejects.assign(
        raw_json=jsontext.arrays(source.raw.loc[rejects.index]),
        row_number=rejects.index.to_numpy(),
        reason=mask_ids_in_texts(rejects["reason"]),
    )  # a reason may quote the value refused
    if malformed:
        bad = pd.DataFrame(malformed, columns=["row_number", "text", "reason"])
        bad["reason_code"] = "malformed_row"
        bad["raw_json"] = bad["text"].map(lambda line: json.dumps(mask_ids_in_text(line), ensure_ascii=False))
        rows = pd.concat([rows, bad[["row_number", "reason_code", "reason", "raw_json"]]], ignore_index=True)
    return rows.reset_index(drop=True)
