"""Append-only for real (issue 34, item 11): a conflicting insert cannot rewrite an audit or grade
row on either backend, the audit log is hash-chained and ``verify`` names the first broken link,
and on PostgreSQL the service role can neither change those rows nor switch their triggers off."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from credit_engine.store.audit import verify
from credit_engine.store.repository import Store, now_utc
from credit_engine.store.roles import grant_service_role

GRADE = (
    "INSERT INTO grade (id, batch_id, uscc, as_of, grade, model_grade, score, reasons_json, features_json, "
    "model_name, model_version, rule_set_id, graded_at) VALUES ({id}, 'b', '91230103MA1BXXXX0Y', '2026-06-30', "
    "'{grade}', 'A', 0.1, '[]', '{{}}', 'm', '1', 'r', '2026-06-30')"
)


def _audit(engine: Engine, count: int) -> None:
    with engine.begin() as conn:
        for n in range(count):
            Store(conn).audit(now_utc(), f"reg-{n}", "read_entity", f"target-{n}", {"n": n}, client="10.0.0.1")


def test_a_conflicting_insert_cannot_rewrite_an_audit_or_grade_row(engine: Engine) -> None:
    _audit(engine, 1)
    with engine.begin() as conn:
        conn.exec_driver_sql(GRADE.format(id=1, grade="D"))
        first = conn.exec_driver_sql("SELECT id FROM audit_log").scalar()
    postgres = engine.dialect.name == "postgresql"
    rewrites = [
        f"INSERT INTO audit_log (id, at, actor, action, target) VALUES ({first}, '2026-01-01', 'x', 'forged', 't') "
        + ("ON CONFLICT (id) DO UPDATE SET actor = excluded.actor" if postgres else ""),
        GRADE.format(id=1, grade="A") + (" ON CONFLICT (id) DO UPDATE SET grade = excluded.grade" if postgres else ""),
    ]
    if not postgres:
        rewrites = [r.replace("INSERT INTO", "INSERT OR REPLACE INTO") for r in rewrites]
    for statement in rewrites:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT actor FROM audit_log").all() == [("reg-0",)]
        assert conn.exec_driver_sql("SELECT grade FROM grade").all() == [("D",)]
        assert verify(conn).intact


def _bypass(engine: Engine, statement: str) -> None:
    """What someone holding the owner's rights (or the database file) could do: triggers off."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            conn.exec_driver_sql(statement)
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
            conn.exec_driver_sql(statement)


@pytest.mark.parametrize(
    "tamper, broken",
    [
        ("UPDATE audit_log SET actor = 'someone else' WHERE id = {third}", "changed"),
        ("DELETE FROM audit_log WHERE id = {third}", "removed"),
        ("DELETE FROM audit_log WHERE id = {first}", "removed"),
    ],
)
def test_the_chain_names_the_first_broken_link(engine: Engine, tamper: str, broken: str) -> None:
    _audit(engine, 5)
    with engine.connect() as conn:
        ids = [i for (i,) in conn.exec_driver_sql("SELECT id FROM audit_log ORDER BY id").all()]
        assert verify(conn).intact and verify(conn).rows == 5
        hashes = conn.exec_driver_sql("SELECT prev_hash, row_hash FROM audit_log ORDER BY id").all()
    assert hashes[0][0] is None and all(hashes[i][0] == hashes[i - 1][1] for i in range(1, 5))
    _bypass(engine, tamper.format(first=ids[0], third=ids[2]))
    with engine.connect() as conn:
        found = verify(conn)
    expected = ids[2] if "third" in tamper and broken == "changed" else (ids[3] if "third" in tamper else ids[1])
    assert (found.intact, found.broken_at) == (False, expected)
    assert broken in found.problem


def test_audit_verify_command(engine: Engine, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from credit_engine.settings import get_settings
    from pipelines.cli import app

    monkeypatch.setenv("CREDIT_ENGINE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    _audit(engine, 3)
    intact = CliRunner().invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0 and "3 rows chained" in intact.output
    with engine.connect() as conn:
        second = conn.exec_driver_sql("SELECT id FROM audit_log ORDER BY id").all()[1][0]
    _bypass(engine, f"UPDATE audit_log SET target = 'elsewhere' WHERE id = {second}")
    broken = CliRunner().invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and f"broken at row {second}" in broken.output
    get_settings.cache_clear()


def test_the_service_role_cannot_change_or_unprotect_the_append_only_tables(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        with pytest.raises(ValueError, match="only on PostgreSQL"):
            grant_service_role(engine, "credit_engine_service")
        return
    role = f"ce_service_{uuid.uuid4().hex[:8]}"
    grant_service_role(engine, role)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SET LOCAL ROLE {role}")
            Store(conn).audit(now_utc(), "reg-1", "read_entity", "x", {})  # the service may append
            conn.exec_driver_sql(
                "INSERT INTO entity (uscc, code_status, entity_type, region_code, updated_at) "
                "VALUES ('91230103MA1BXXXX0Y', 'uscc', 'enterprise', '230103', '2026-01-01')"
            )
        for statement in (
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
            "ALTER TABLE grade DISABLE TRIGGER ALL",
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM grade",
            "TRUNCATE audit_log",
            "DROP TABLE audit_log",
        ):
            with pytest.raises(DBAPIError, match="must be owner|permission denied"), engine.begin() as conn:
                conn.exec_driver_sql(f"SET LOCAL ROLE {role}")
                conn.exec_driver_sql(statement)
        with engine.connect() as conn:
            assert verify(conn).intact and verify(conn).rows == 1
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
