"""The schema on every backend: migrations match the models; the audit log is append-only."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from credit_engine.store.db import current_revision, upgrade
from credit_engine.store.models import Base
from credit_engine.store.repository import _copy_csv


def test_migrations_produce_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    before = current_revision(engine)
    upgrade(engine)
    assert current_revision(engine) == before is not None


def test_audit_log_refuses_update_and_delete(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO audit_log (at, actor, action, target) VALUES ('2026-01-01', 'reg-1', 'read', 'x')"
        )
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT actor FROM audit_log").all() == [("reg-1",)]


def test_copy_input_of_string_columns_built_from_several_parts() -> None:
    """A pandas string column concatenated from an empty part is two Arrow chunks; beside a
    one-chunk column, Arrow's CSV writer filled the output with NUL bytes, which PostgreSQL
    refused mid-ingest. The COPY input must read back as the frame."""
    parts = pd.concat(
        [pd.Series([], dtype="str"), pd.Series(["malformed_row", 'a "quoted", line\nbreak'], dtype="str")],
        ignore_index=True,
    )
    frame = pd.DataFrame({"code": parts, "text": pd.Series(["甲乙", None], dtype="string"), "n": [1, 2]})
    payload = _copy_csv(frame).to_pybytes()
    assert b"\x00" not in payload
    back = pacsv.read_csv(
        pa.BufferReader(payload),
        read_options=pacsv.ReadOptions(column_names=["code", "text", "n"]),
        convert_options=pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False),
    )
    assert back.to_pydict() == {"code": parts.tolist(), "text": ["甲乙", None], "n": [1, 2]}
