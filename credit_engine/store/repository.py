"""Reads and writes of the ingest path, in bulk and inside the caller's transaction.

Rows go to the database in bulk through the driver (tuples to ``executemany`` on SQLite, CSV
written by Arrow to ``COPY`` on PostgreSQL): building ORM objects or dicts per row would dominate
the cost of an ingest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection

from credit_engine.search import name_pieces
from credit_engine.store import audit as audit_chain

CHUNK = 5000
#: Set on a fact while an objection to it is open.
OBJECTION_FLAG = "under_objection"
#: An objection that could not be determined: the fact is kept and the objection shown beside it.
OBJECTION_KEPT_FLAG = "objection_undetermined"
#: What the credit authority decided about a fact (a repair, an objection's removal, the marks
#: and the decision history in ``detail_json``), which a later version from the source keeps.
DECIDED_STATUSES = ("repaired", "removed")
DECIDED_FLAGS = (OBJECTION_FLAG, OBJECTION_KEPT_FLAG)
DECIDED_DETAIL = ("repair", "objection")
ALIAS_KEY = ("alias_kind", "alias", "uscc")
#: The PostgreSQL advisory lock that serialises writers of entity names and their pieces (taken
#: with the schema's name in it, ``audit.SCHEMA_LOCK``).
NAMES_LOCK = "names"
SCHEMA_LOCK = audit_chain.SCHEMA_LOCK


def now_utc() -> datetime:
    """Timestamps are naive UTC on both backends."""
    return datetime.now(UTC).replace(tzinfo=None)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _copy_csv(frame: pd.DataFrame) -> pa.Buffer:
    """The frame as ``COPY ... (FORMAT csv)`` input, written by Arrow in C++ (no Python call per
    row or per cell): every value quoted, NULL unquoted and empty, so that an empty string stays
    an empty string. Date-time columns are written as dates, as the fact table stores them."""
    arrays = []
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            arrays.append(pa.array(s, from_pandas=True).cast(pa.date32(), safe=False))
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            arrays.append(pa.array(s, from_pandas=True))
        elif isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
            arrays.append(pa.array(s.array).cast(pa.large_string()))  # the column's own Arrow data
        else:
            arrays.append(pa.array(s.astype("string").to_numpy(dtype=object, na_value=None), type=pa.large_string()))
    # one chunk per column: Arrow's CSV writer wrote NUL bytes for columns whose chunks differ
    # (a pandas column concatenated from an empty part; pyarrow 25, a test reproduces it)
    table = pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns]).combine_chunks()
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    return sink.getvalue()


def _text(value: object) -> str:
    """A frame cell as text ('' for NA/None)."""
    return value if isinstance(value, str) else ""


def _cells(frame: pd.DataFrame, columns: Sequence[str]) -> list[tuple]:
    """Driver-ready tuples: NA -> None, dates -> ISO text. Positional, so no index alignment."""
    out = []
    for col in columns:
        s = frame[col]
        values = s.dt.strftime("%Y-%m-%d") if pd.api.types.is_datetime64_any_dtype(s) else s
        out.append(np.where(s.isna().to_numpy(), None, values.to_numpy(dtype=object)).tolist())  # type: ignore[attr-defined]  # numpy stub: 3-argument where is an array
    return list(zip(*out, strict=True)) if out else []


class Store:
    """The ingest path's view of one connection (and so of one transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        self.mark = "%s" if self.postgres else "?"

    # -- generic ------------------------------------------------------------------------------
    def insert_rows(self, table: str, columns: Sequence[str], rows: list[tuple], on_conflict: str = "") -> None:
        if not rows:
            return
        marks = ", ".join([self.mark] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) {on_conflict}"
        for start in range(0, len(rows), 50_000):
            self.conn.exec_driver_sql(sql, rows[start : start + 50_000])

    def insert_frame(self, table: str, frame: pd.DataFrame, on_conflict: str = "") -> None:
        """Bulk insert: PostgreSQL gets one COPY (through a staging table when rows may conflict).
        Callers sort rows by the table's unique key: its index then fills page by page."""
        if frame.empty:
            return
        columns = list(frame.columns)
        if not self.postgres:
            self.insert_rows(table, columns, _cells(frame, columns), on_conflict)
            return
        target = table
        if on_conflict:
            target = f"stage_{table}"
            self.conn.exec_driver_sql(f"CREATE TEMP TABLE {target} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
        assert self.conn.connection.driver_connection is not None  # a live connection has its driver's
        cursor = self.conn.connection.driver_connection.cursor()
        payload = _copy_csv(frame)
        with cursor.copy(f"COPY {target} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
            for start in range(0, payload.size, 1 << 24):
                copy.write(memoryview(payload)[start : start + (1 << 24)])
        if on_conflict:
            names = ", ".join(columns)
            self.conn.exec_driver_sql(f"INSERT INTO {table} ({names}) SELECT {names} FROM {target} {on_conflict}")
            self.conn.exec_driver_sql(f"DROP TABLE {target}")

    def select_in(self, sql: str, values: Iterable[str], params: tuple = ()) -> list[tuple]:
        """``sql`` contains ``{in}`` where the list of values goes."""
        values = list(values)
        found: list[tuple] = []
        for start in range(0, len(values), CHUNK):
            part = values[start : start + CHUNK]
            if self.postgres:
                found += self.conn.exec_driver_sql(sql.format(**{"in": "= ANY(%s)"}), (*params, part)).all()
            else:
                marks = ", ".join("?" * len(part))
                found += self.conn.exec_driver_sql(sql.format(**{"in": f"IN ({marks})"}), (*params, *part)).all()
        return found

    # -- directory (credit_engine.sources.subjects.EntityDirectory) ---------------------------
    def uscc_for_aliases(self, alias_kind: str, aliases: list[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        rows = self.select_in(
            f"SELECT alias, uscc FROM entity_alias WHERE alias_kind = {self.mark} AND alias {{in}}",
            aliases,
            (alias_kind,),
        )
        for alias, uscc in rows:
            out.setdefault(alias, set()).add(uscc)
        return out

    def usccs_named(self, names: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, uscc in self.select_in("SELECT name, uscc FROM entity WHERE name {in}", names):
            out.setdefault(name, []).append(uscc)
        return out

    def registered_names(self, usccs: list[str]) -> dict[str, str | None]:
        """The names of those of ``usccs`` that registration data holds (not mere stubs)."""
        return dict(self.select_in("SELECT uscc, name FROM entity WHERE registered AND uscc {in}", usccs))

    # -- source files ---------------------------------------------------------------------------
    def lock_file(self, sha256: str) -> None:
        """Make a second ingest of the same file wait for the first, then find it ingested: an
        advisory lock per content hash on PostgreSQL; on SQLite, taking the one write lock now,
        before anything is read (a write after a read could fail instead of waiting)."""
        if self.postgres:
            self.conn.exec_driver_sql(SCHEMA_LOCK, (sha256,))
        else:
            self.conn.exec_driver_sql("UPDATE source_file SET id = id WHERE 0 = 1")

    def source_file(self, sha256: str) -> tuple[int, str] | None:
        row = self.conn.exec_driver_sql(
            f"SELECT id, status FROM source_file WHERE sha256 = {self.mark}", (sha256,)
        ).first()
        return (row[0], row[1]) if row else None

    def add_source_file(self, values: dict) -> int:
        existing = self.source_file(values["sha256"])
        columns = list(values)
        if existing:
            sets = ", ".join(f"{c} = {self.mark}" for c in columns)
            self.conn.exec_driver_sql(
                f"UPDATE source_file SET {sets} WHERE id = {self.mark}", (*values.values(), existing[0])
            )
            return existing[0]
        marks = ", ".join([self.mark] * len(columns))
        return self.conn.exec_driver_sql(
            f"INSERT INTO source_file ({', '.join(columns)}) VALUES ({marks}) RETURNING id", tuple(values.values())
        ).scalar_one()

    def file_known(self, file_id: int) -> tuple[datetime, bool]:
        """When a file's rows were ingested, and whether as a backfill (its audit row names the lags)."""
        sha, ingested_at = self.conn.exec_driver_sql(
            f"SELECT sha256, ingested_at FROM source_file WHERE id = {self.mark}", (file_id,)
        ).one()
        details = self.conn.exec_driver_sql(
            f"SELECT detail_json FROM audit_log WHERE action = 'ingest' AND target = {self.mark}", (sha,)
        ).scalars()
        backfill = any("backfill_lag_days" in json.loads(d or "{}") for d in details)
        return pd.Timestamp(ingested_at).to_pydatetime(), backfill

    def first_registered(self, usccs: list[str]) -> dict[str, object]:
        """When registration data about each entity was first known (its earliest registration fact)."""
        return dict(
            self.select_in(
                "SELECT subject_uscc, MIN(recorded_at) FROM fact WHERE kind = 'registration' "
                "AND subject_uscc {in} GROUP BY subject_uscc",
                usccs,
            )
        )

    def update_counts(self, file_id: int, counts: dict[str, int]) -> None:
        sets = ", ".join(f"{c} = {self.mark}" for c in counts)
        self.conn.exec_driver_sql(f"UPDATE source_file SET {sets} WHERE id = {self.mark}", (*counts.values(), file_id))

    def audit(
        self, moment: datetime, actor: str, action: str, target: str, detail: dict, client: str | None = None
    ) -> None:
        """Append to the audit log, chained to its last row (the database refuses updates and deletes of it)."""
        audit_chain.append(
            self.conn,
            (stamp(moment), actor, action, target, json.dumps(detail, ensure_ascii=False, default=str), client),
        )

    # -- entities, aliases, persons ---------------------------------------------------------------
    def upsert_entities(self, entities: pd.DataFrame, moment: datetime, full: bool) -> None:
        """Registration rows overwrite the snapshot; other kinds only add entities not yet known.
        The names' pieces for the search change with the names, in the same transaction."""
        if entities.empty:
            return
        if self.postgres:  # another ingest's names must not change between reading and writing them
            self.conn.exec_driver_sql(SCHEMA_LOCK, (NAMES_LOCK,))
        usccs = sorted(set(entities["uscc"]))
        before = self.names_of(usccs)
        frame = entities.assign(updated_at=stamp(moment))
        columns = [
            c
            for c in frame.columns
            if frame[c].notna().any() or c in ("uscc", "code_status", "entity_type", "region_code", "registered")
        ]
        if full:
            # an older export arriving late must not overwrite a newer registration snapshot
            sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "uscc")
            newer = "excluded.approved_on IS NULL OR entity.approved_on IS NULL OR excluded.approved_on >= entity.approved_on"
            conflict = f"ON CONFLICT (uscc) DO UPDATE SET {sets} WHERE {newer}"
        else:
            conflict = "ON CONFLICT (uscc) DO NOTHING"
        self.insert_frame("entity", frame[columns].sort_values("uscc"), conflict)
        known = set(before.index)
        added = self.names_of([u for u in usccs if u not in known])
        self.reindex_names(before, pd.concat([self.names_of(list(before.index)) if full else before, added]))

    def names_of(self, usccs: list[str]) -> pd.Series:
        """The stored names of those of ``usccs`` that are stored, indexed by USCC."""
        rows = self.select_in("SELECT uscc, name FROM entity WHERE uscc {in}", usccs)
        return pd.Series([name for _, name in rows], index=[uscc for uscc, _ in rows], dtype=object)

    def reindex_names(self, before: pd.Series, after: pd.Series) -> None:
        """Move ``name_gram`` from the names ``before`` to the names ``after`` (both by USCC)."""
        was = before.reindex(after.index)
        changed = ~((was == after) | (was.isna() & after.isna()))
        fresh = changed & was.isna()  # new, or named for the first time: no pieces stored
        self.insert_frame("name_gram", name_pieces(after[fresh]))
        old, new = name_pieces(was[changed & ~fresh]), name_pieces(after[changed & ~fresh])
        both = old.merge(new, how="outer", indicator=True)
        gone, added = (both.loc[both["_merge"] == side, ["gram", "uscc"]] for side in ("left_only", "right_only"))
        if len(gone):
            marks = f"{self.mark} AND uscc = {self.mark}"
            self.conn.exec_driver_sql(f"DELETE FROM name_gram WHERE gram = {marks}", list(gone.itertuples(index=False)))
        self.insert_frame("name_gram", added, "ON CONFLICT (gram, uscc) DO NOTHING")

    def add_aliases(self, aliases: pd.DataFrame, known: set[str]) -> None:
        """Aliases of entities this batch wrote or the store already has; a code seen only on a
        refused row proves nothing and has no entity to point at."""
        aliases = aliases[list(ALIAS_KEY)].drop_duplicates()
        missing = set(aliases["uscc"]) - known
        if missing:
            known = known | {u for (u,) in self.select_in("SELECT uscc FROM entity WHERE uscc {in}", sorted(missing))}
        self.insert_frame(
            "entity_alias",
            aliases[aliases["uscc"].isin(known)].sort_values(list(ALIAS_KEY)),
            "ON CONFLICT (alias_kind, alias, uscc) DO NOTHING",
        )

    def upsert_persons(self, persons: pd.DataFrame, moment: datetime) -> None:
        if persons.empty:
            return
        frame = (
            persons.drop_duplicates("pseudonym", keep="last").sort_values("pseudonym").assign(updated_at=stamp(moment))
        )
        sets = ", ".join(f"{c} = COALESCE(excluded.{c}, person.{c})" for c in frame.columns if c != "pseudonym")
        self.insert_frame("person", frame, f"ON CONFLICT (pseudonym) DO UPDATE SET {sets}")

    # -- facts ------------------------------------------------------------------------------------
    def write_facts(
        self, facts: pd.DataFrame, file_id: int, moment: datetime, known_from: pd.Series | None = None
    ) -> dict[str, int]:
        """New keys get version 1; a changed fact closes its current version and adds the next;
        an unchanged one is left alone, which is what makes re-ingest idempotent.

        ``known_from`` (a backfill, see ``credit_engine.backfill``) is the recorded time of new
        keys; the other versions are recorded at ``moment``."""
        facts = facts.reset_index(drop=True)
        current = {key: (version, digest) for key, version, digest in self._current_versions(facts["fact_key"])}
        stored = [current.get(key) for key in facts["fact_key"].tolist()]
        version = np.array([v[0] if v else 0 for v in stored], dtype=np.int64)
        same = np.array(
            [v is not None and v[1] == h for v, h in zip(stored, facts["content_hash"].tolist())], dtype=bool
        )
        changed = (version > 0) & ~same
        if changed.any():
            facts = self._keep_decisions(facts, changed)
        fresh = facts[~same].assign(version=version[~same] + 1)
        if changed.any():
            self._supersede_current(facts.loc[changed, "fact_key"], moment)
        recorded = pd.Series(stamp(moment), index=facts.index, dtype="string")
        if known_from is not None:
            first = version == 0
            recorded[first] = pd.Series(known_from.to_numpy(), index=facts.index)[first].dt.strftime(
                "%Y-%m-%d %H:%M:%S.%f"
            )
        fresh = fresh.assign(source_file_id=file_id, recorded_at=recorded[~same])
        if self.postgres and len(fresh):
            # ids in the file's row order, rows sent in key order: the two fact_key indexes are
            # then filled page by page instead of at random (a quarter off the COPY, measured)
            fresh = fresh.assign(id=self._fact_ids(len(fresh))).sort_values("fact_key", kind="stable")
        self.insert_frame("fact", fresh)
        return {
            "facts_new": int((version == 0).sum()),
            "facts_versioned": int(changed.sum()),
            "facts_unchanged": int(same.sum()),
        }

    def _supersede_current(self, keys: pd.Series, moment: datetime) -> None:
        """Close the current versions of ``keys`` through the index of current versions: one
        statement per key on SQLite, sorted lists of ``CHUNK`` keys on PostgreSQL."""
        update = f"UPDATE fact SET superseded_at = {self.mark} WHERE superseded_at IS NULL AND fact_key "
        ordered = sorted(keys.tolist())
        if not self.postgres:
            self.conn.exec_driver_sql(update + "= ?", [(stamp(moment), k) for k in ordered])
            return
        for start in range(0, len(ordered), CHUNK):
            self.conn.exec_driver_sql(update + "= ANY(%s)", (stamp(moment), ordered[start : start + CHUNK]))

    def _fact_ids(self, count: int) -> np.ndarray:
        """``count`` new ids from the fact table's own sequence, in increasing order. They are
        one run unless another session took ids meanwhile; only then are they all fetched."""
        sequence = self.conn.exec_driver_sql("SELECT pg_get_serial_sequence('fact', 'id')").scalar_one()
        low, high, ids = self.conn.exec_driver_sql(
            "SELECT min(v), max(v), CASE WHEN max(v) - min(v) + 1 = count(*) THEN NULL ELSE array_agg(v ORDER BY v) END "
            "FROM (SELECT nextval(%s) AS v FROM generate_series(1, %s)) AS d",
            (sequence, count),
        ).one()
        return np.arange(low, high + 1, dtype=np.int64) if ids is None else np.array(ids, dtype=np.int64)

    def _keep_decisions(self, facts: pd.DataFrame, changed: np.ndarray) -> pd.DataFrame:
        """Carry a repair, a removal, objection marks and their history into the source's new
        version, so that a corrected or re-formatted export does not publish a repaired fact
        again. A withdrawal from the source (decision revoked) still wins over them."""
        marked = " OR ".join([f"flags LIKE {self.mark}"] * len(DECIDED_FLAGS))
        statuses = ", ".join([self.mark] * len(DECIDED_STATUSES))
        decided = {
            key: (status, flags, detail)
            for key, status, flags, detail in self.select_in(
                f"SELECT fact_key, status, flags, detail_json FROM fact WHERE superseded_at IS NULL "
                f"AND (status IN ({statuses}) OR {marked}) AND fact_key {{in}}",
                facts.loc[changed, "fact_key"].tolist(),
                (*DECIDED_STATUSES, *(f"%{flag}%" for flag in DECIDED_FLAGS)),
            )
        }
        if not decided:
            return facts
        facts = facts.copy()
        for i in np.flatnonzero(changed & facts["fact_key"].isin(decided).to_numpy()):
            status, flags, detail = decided[facts.at[i, "fact_key"]]
            if status in DECIDED_STATUSES and facts.at[i, "status"] == "active":
                facts.at[i, "status"] = status
            kept = [f for f in (flags or "").split(",") if f in DECIDED_FLAGS]
            own = [f for f in _text(facts.at[i, "flags"]).split(",") if f and f not in kept]
            facts.at[i, "flags"] = ",".join(own + kept) or None
            history = {k: v for k, v in json.loads(detail or "{}").items() if k in DECIDED_DETAIL}
            if history:
                source = json.loads(_text(facts.at[i, "detail_json"]) or "{}")
                facts.at[i, "detail_json"] = json.dumps(source | history, ensure_ascii=False)
        return facts

    def supersede(self, fact_key: str, moment: datetime, **changes: object) -> int:
        """Close the current version of a fact and add the next with ``changes`` (status, flags …).

        The content hash stays that of the source row, so re-ingesting the same export does not
        undo a state set here. Returns the new version number.
        """
        current = (
            self.conn.exec_driver_sql(
                f"SELECT * FROM fact WHERE fact_key = {self.mark} AND superseded_at IS NULL", (fact_key,)
            )
            .mappings()
            .one()
        )
        row = {k: v for k, v in current.items() if k != "id"}
        row.update(changes, version=current["version"] + 1, recorded_at=stamp(moment), superseded_at=None)
        self.conn.exec_driver_sql(
            f"UPDATE fact SET superseded_at = {self.mark} WHERE id = {self.mark}", (stamp(moment), current["id"])
        )
        self.insert_rows("fact", list(row), [tuple(row.values())])
        return row["version"]

    def _current_versions(self, keys: pd.Series) -> list[tuple]:
        """Current version and hash of each key already stored, looked up key by key through the
        unique index of current versions (``ix_fact_current_key``), in lists of ``CHUNK`` keys: the
        cost follows the keys asked for, not the size of the store. Joining a staged key list
        instead was planned as a scan of every current fact (the planner cannot know how many
        there are before the table has statistics), once per chunk of a file: quadratic."""
        return self.select_in(
            "SELECT fact_key, version, content_hash FROM fact WHERE superseded_at IS NULL AND fact_key {in}",
            sorted(keys.tolist()),
        )

    def files_with_open_quarantine(self, reasons: Sequence[str]) -> list[tuple[int, str, str]]:
        marks = ", ".join([self.mark] * len(reasons))
        return [
            tuple(row)
            for row in self.conn.exec_driver_sql(
                "SELECT DISTINCT f.id, f.archive_path, f.file_name FROM quarantine q JOIN source_file f "
                f"ON f.id = q.source_file_id WHERE q.resolved_at IS NULL AND q.reason_code IN ({marks}) ORDER BY f.id",
                tuple(reasons),
            ).all()
        ]

    def open_quarantine(self, file_id: int, reasons: Sequence[str]) -> list[int]:
        marks = ", ".join([self.mark] * len(reasons))
        return [
            n
            for (n,) in self.conn.exec_driver_sql(
                f"SELECT row_number FROM quarantine WHERE source_file_id = {self.mark} AND resolved_at IS NULL "
                f"AND reason_code IN ({marks})",
                (file_id, *reasons),
            ).all()
        ]

    def resolve_quarantine(self, file_id: int, rows: list[int], moment: datetime) -> None:
        if rows:
            self.conn.exec_driver_sql(
                f"UPDATE quarantine SET resolved_at = {self.mark} WHERE source_file_id = {self.mark} AND row_number = {self.mark}",
                [(stamp(moment), file_id, int(n)) for n in rows],
            )

    def add_quarantine(self, rows: pd.DataFrame, file_id: int, moment: datetime) -> None:
        frame = rows.assign(source_file_id=file_id, created_at=stamp(moment))
        self.insert_frame(
            "quarantine", frame[["source_file_id", "row_number", "reason_code", "reason", "raw_json", "created_at"]]
        )
