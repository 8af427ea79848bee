"""SQLite rows read into Arrow by ADBC in a child process (``store.sqlite_arrow``)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import psutil
import pyarrow as pa
import pytest
from sqlalchemy import create_engine

from credit_engine.features.spans import span_histories
from credit_engine.store.sqlite_arrow import record_batches


@pytest.fixture
def database(tmp_path: Path) -> str:
    path = tmp_path / "store.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (id INTEGER, name TEXT)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"名{i}") for i in range(2500)])
    return str(path)


def test_the_rows_come_back_in_batches(database: str) -> None:
    batches = list(record_batches(database, "SELECT id, name FROM t ORDER BY id", 1000))
    assert [b.num_rows for b in batches] == [1000, 1000, 500]
    table = pa.Table.from_batches(batches)
    assert table["id"].to_pylist() == list(range(2500)) and table["name"][7].as_py() == "名7"


def test_python_s_own_connections_still_work_after_a_read(database: str) -> None:
    """In-process, the driver's copy of SQLite released Python's locks on the WAL file, and the next
    sqlite3 connection failed with "disk I/O error"; the child process keeps them apart."""
    with sqlite3.connect(database) as held:
        held.execute("BEGIN")
        held.execute("INSERT INTO t VALUES (-1, 'uncommitted')")
        read = pa.Table.from_batches(list(record_batches(database, "SELECT id FROM t", 10_000)))
        assert read.num_rows == 2500  # committed rows only
        held.execute("COMMIT")
    with sqlite3.connect(database) as again:
        again.execute("INSERT INTO t VALUES (-2, 'after')")
        assert again.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 2502


def test_a_failing_query_is_raised_with_the_driver_s_message(database: str) -> None:
    with pytest.raises(RuntimeError, match="no such column: nope"):
        list(record_batches(database, "SELECT nope FROM t", 10))


def test_a_reader_that_stops_early_stops_the_child(database: str) -> None:
    before = set(psutil.Process().children())  # other tests' servers may run in this process
    batches = record_batches(database, "SELECT id FROM t", 10)
    assert next(batches).num_rows == 10
    assert len(set(psutil.Process().children()) - before) == 1
    batches.close()
    assert set(psutil.Process().children()) - before == set()  # killed and reaped


def test_an_in_memory_store_is_refused_with_the_reason(tmp_path: Path) -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn, pytest.raises(ValueError, match="in-memory SQLite"):
        list(span_histories(conn, date(2026, 6, 30), [("", None)], tmp_path))
