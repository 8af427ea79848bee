"""Engines and schema upgrades for the embedded (SQLite) and production (PostgreSQL) stores."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import cast

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from credit_engine.store.audit import chain_hash
from credit_engine.store.bulk import restore

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str, connections: int | None = None) -> Engine:
    """An engine with the settings each backend needs for safe concurrent use; with
    ``connections``, a pool of that many plus as many again for a holder's second connection."""
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    in_memory = sqlite and parsed.database in (None, "", ":memory:")  # one connection, no pool to size
    pool = {"pool_size": connections, "max_overflow": connections} if connections and not in_memory else {}
    if sqlite:
        if not in_memory:
            assert parsed.database is not None  # in_memory covers None
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy issue BEGIN itself, so a file's ingest is one real transaction.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # transactions are begun by the "begin" listener
    dbapi_conn.create_function("audit_chain_hash", 7, chain_hash, deterministic=True)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA cache_size=-262144")  # 256 MiB: keeps the fact indexes hot during bulk ingest
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create the schema or bring it up to date (idempotent); at head, also put back the fact
    indexes a first load killed part-way left out (``bulk.restore``)."""
    command.upgrade(alembic_config(engine), revision)
    if revision == "head":
        restore(engine)


@cache
def head_revision() -> str:
    """The revision of this code's newest migration: a store at any other is not ready for it."""
    return cast(str, ScriptDirectory(str(MIGRATIONS)).get_current_head())  # the migrations have one head


def current_revision(engine: Engine) -> str | None:
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


class SchemaNotCurrent(RuntimeError):
    """The store's schema is not the one this code was written for."""


def require_current(engine: Engine) -> None:
    """Refuse a store whose schema is not this code's head. Only ``init`` (and ``serve`` at start)
    migrate, so that a routine command such as ``grade`` run against production never changes its
    schema; a killed first load's missing indexes are still put back (``bulk.restore``: no schema
    change, only what the schema already names)."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        state = "has no schema" if current is None else f"is at schema {current}, this code needs {head}"
        raise SchemaNotCurrent(f"the store {where} {state}: run `credit-engine init`")
    restore(engine)
