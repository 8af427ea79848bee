"""A first load into an empty store builds the fact table's secondary indexes once, at its end.

Keeping ``ix_fact_subject`` and ``ix_fact_person`` up to date row by row (random-order B-trees
that outgrow the cache at millions of facts) and PostgreSQL's per-row foreign-key check on
``source_file_id`` cost about an eighth of a first ingest at 100 000 entities, and more as the
table grows. The ingest's own lookups use only the key indexes (current key; key and version),
which stay. A later ingest into a non-empty store changes nothing here, so readers of a live
store never lose an index; a load killed part-way leaves its committed files intact and the
indexes missing, and the next ``init`` or ingest puts them back (``restore``).

On PostgreSQL the end of a first load also gathers the planner's statistics of the tables it
filled: without them (autovacuum off, or not yet come round) the planner takes a span of a
province for a few dozen rows and picks plans that read the whole fact table several times.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, ForeignKeyConstraint, Table, select, text
from sqlalchemy.schema import AddConstraint, DropConstraint

from credit_engine.store.models import Fact

FACT_TABLE: Table = Fact.__table__  # type: ignore[assignment]  # a declarative class's table is a Table

DEFERRED_INDEXES = ("ix_fact_subject", "ix_fact_person")
LOADED_TABLES = ("fact", "entity", "name_gram", "entity_alias", "person", "source_file", "quarantine")


@contextmanager
def first_load(engine: Engine) -> Iterator[bool]:
    """Around an ingest run: yields whether the store was empty (and its indexes deferred)."""
    restore(engine)
    with engine.begin() as conn:
        empty = conn.execute(select(Fact.id).limit(1)).first() is None
        if empty:
            for index in _indexes():
                index.drop(conn, checkfirst=True)
            if _is_postgres(conn):
                conn.execute(DropConstraint(_source_file_fk(), if_exists=True))
    try:
        yield empty
    finally:
        if empty:
            restore(engine)
            analyse(engine)


def restore(engine: Engine) -> None:
    """Create whatever ``first_load`` dropped and is missing (idempotent)."""
    with engine.begin() as conn:
        if _is_postgres(conn):  # one sort in memory for an index of tens of millions of facts
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        for index in _indexes():
            index.create(conn, checkfirst=True)
        fk = _source_file_fk()
        if (
            _is_postgres(conn)
            and not conn.execute(
                text("SELECT 1 FROM pg_constraint WHERE conname = :name AND conrelid = 'fact'::regclass"),
                {"name": fk.name},
            ).first()
        ):
            conn.execute(AddConstraint(fk, isolate_from_table=False))


def analyse(engine: Engine) -> None:
    """Gather PostgreSQL's planner statistics of the tables an ingest fills."""
    with engine.begin() as conn:
        if _is_postgres(conn):
            conn.exec_driver_sql(f"ANALYZE {', '.join(LOADED_TABLES)}")


def _indexes() -> list:
    return [i for i in FACT_TABLE.indexes if i.name in DEFERRED_INDEXES]


def _source_file_fk() -> ForeignKeyConstraint:
    (fk,) = (c for c in FACT_TABLE.foreign_key_constraints if c.column_keys == ["source_file_id"])
    return fk


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"
