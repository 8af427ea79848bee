"""The stores a benchmark runs against: a SQLite file, and a scratch PostgreSQL schema if given."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def benchmark_stores(folder: Path, postgres_url: str | None) -> Iterator[list[tuple[str, str]]]:
    """(backend, URL) pairs; the PostgreSQL schema is created for the run and dropped after it."""
    targets = [("sqlite", f"sqlite:///{folder / 'bench.db'}")]
    if not postgres_url:
        yield targets
        return
    from sqlalchemy import create_engine

    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in postgres_url else "?"
    try:
        yield [*targets, ("postgresql", f"{postgres_url}{sep}options=-csearch_path%3D{schema}")]
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()
