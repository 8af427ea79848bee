"""The two PostgreSQL roles of a deployment: the owner, which runs the migrations (``init``) and
owns every table, and the service role the API and the batch steps connect as. The service role
owns nothing, so it cannot disable the append-only triggers, alter or drop a table; on the audit
log and the grades it may only read and insert."""

from __future__ import annotations

import re

from sqlalchemy import Engine

#: Tables whose rows are never changed: the service role gets SELECT and INSERT only.
APPEND_ONLY = ("audit_log", "grade")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_service_role(engine: Engine, role: str) -> list[str]:
    """Create ``role`` (NOLOGIN when new: the operator gives it LOGIN and a password) unless it
    exists, and grant it what the service needs on every table of the store's schema. Run again
    after each upgrade: new tables get their grants then. Returns the statements run."""
    if engine.dialect.name != "postgresql":
        raise ValueError("roles exist only on PostgreSQL; an SQLite store is protected by its file's permissions")
    if not _NAME.match(role):
        raise ValueError(f"{role!r} is not a plain role name (lower-case letters, digits, underscores)")
    done = []
    with engine.begin() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        owner = conn.exec_driver_sql("SELECT current_user").scalar()
        if role == owner:
            raise ValueError(f"the service role must not be the owner {owner} of the tables")
        if not conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).first():
            done.append(f"CREATE ROLE {role} NOLOGIN")
        tables = [
            t for (t,) in conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).all()
        ]
        done.append(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}')
        for table in sorted(tables):
            if table == "alembic_version":
                done.append(f'GRANT SELECT ON "{schema}".{table} TO {role}')
            elif table in APPEND_ONLY:
                done.append(f'GRANT SELECT, INSERT ON "{schema}".{table} TO {role}')
            else:
                done.append(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{schema}".{table} TO {role}')
        done.append(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {role}')
        # bulk loads stage their rows in temporary tables
        database = conn.exec_driver_sql("SELECT current_database()").scalar()
        done.append(f'GRANT TEMPORARY ON DATABASE "{database}" TO {role}')
        for statement in done:
            conn.exec_driver_sql(statement)
    return done


def owns_tables(engine: Engine) -> bool:
    """Whether the engine's role owns the audit log (then it could disable its triggers)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        return bool(
            conn.exec_driver_sql(
                "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables "
                "WHERE schemaname = current_schema() AND tablename = 'audit_log'"
            ).scalar()
        )
