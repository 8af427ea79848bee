"""SQLite rows read into Arrow by ADBC in a child process (``store.sqlite_arrow``)."""

from __future__ import annotations

import signal
import sqlite3
import sys
import threading
import time
from datetime import date
from pathlib import Path

import psutil
import pyarrow as pa
import pytest
from sqlalchemy import create_engine, text

from credit_engine.features import spans
from credit_engine.features.spans import span_histories
from credit_engine.store.sqlite_arrow import record_batches
from tests.conftest import scratch_store


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


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///file:store?mode=memory&cache=shared&uri=true"])
def test_an_in_memory_store_is_refused_with_the_reason(tmp_path: Path, url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn, pytest.raises(ValueError, match="in-memory SQLite"):
        list(span_histories(conn, date(2026, 6, 30), [("", None)], tmp_path))


def test_a_missing_database_is_an_error_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    with pytest.raises(FileNotFoundError, match="no SQLite database file"):
        list(record_batches(str(missing), "SELECT 1", 10))
    assert not missing.exists()


def test_the_child_waits_for_a_writer_s_lock(tmp_path: Path) -> None:
    """Without a busy timeout the driver failed at once with "database is locked"."""
    path = tmp_path / "journal.db"  # rollback journal: an exclusive lock keeps readers out
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.0, lambda: writer.execute("COMMIT"))
    release.start()
    started = time.perf_counter()
    try:
        read = pa.Table.from_batches(list(record_batches(str(path), "SELECT id FROM t", 1000)))
    finally:
        release.join()
        writer.close()
    assert read.num_rows == 100
    assert time.perf_counter() - started >= 0.9  # it waited for the lock


def test_a_killed_child_is_reported_as_killed(database: str) -> None:
    before = set(psutil.Process().children())
    batches = record_batches(database, "SELECT a.id, a.name FROM t a, t b", 1000)  # 6 250 000 rows
    next(batches)
    (child,) = set(psutil.Process().children()) - before
    child.send_signal(signal.SIGKILL)
    with pytest.raises(RuntimeError, match="killed by signal 9"):
        for _ in batches:
            pass


def test_a_batch_that_fails_mid_read_stops_the_child_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The error's traceback keeps the batch's frames alive: a reader held there (a generator kept
    in a local, say) would leave the child blocked on a full pipe while the caller handles the error."""
    monkeypatch.setattr(spans, "CHUNK", 10)  # 3 000 entities: 300 batches, more than a pipe holds
    with scratch_store("sqlite", tmp_path) as engine, engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO entity (uscc, code_status, entity_type, region_code, updated_at) "
                "VALUES (:u, 'uscc', 'enterprise', '230102', '2026-01-01 00:00:00')"
            ),
            [{"u": f"91230102MA{i:07d}X"} for i in range(3000)],
        )

    def fail(rows: int) -> None:
        raise OSError("disk full")

    before = set(psutil.Process().children())
    with engine.connect() as conn, pytest.raises(OSError, match="disk full") as failed:
        list(span_histories(conn, date(2026, 6, 30), [("", None)], tmp_path / "spans", fail))
    assert failed.value.__traceback__ is not None  # still held here
    assert set(psutil.Process().children()) - before == set()


def test_a_child_that_ends_before_reading_its_query_is_reported(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing the query then fails with a broken pipe, and so would closing the pipe after it."""
    monkeypatch.setattr(sys, "executable", "/bin/false")  # ends at once, status 1, reading nothing
    with pytest.raises(RuntimeError, match="ended with status 1"):
        list(record_batches(database, "SELECT id FROM t WHERE name <> '" + "x" * 1_000_000 + "'", 10))
