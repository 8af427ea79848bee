"""append-only for real: conflicting inserts refused, the audit log hash-chained; the client that
filed a case (limits of open cases per client)

SQLite's ``INSERT OR REPLACE`` deleted the row it replaced without firing the DELETE triggers: a
BEFORE INSERT trigger now refuses an insert whose id exists, on the audit log and the grades. On
PostgreSQL a conflicting insert is refused by the primary key, and ``ON CONFLICT DO UPDATE`` by the
UPDATE trigger. Rows already in the audit log are chained in id order here.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from credit_engine.store.audit import chain_hash, stamp_text

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 10_000


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("credit_case") as batch_op:
        batch_op.add_column(sa.Column("client", sa.Text(), nullable=True))
    op.create_index("ix_credit_case_client_status", "credit_case", ["client", "status"])
    if not postgres:  # batch_alter_table may have rebuilt the table and lost its triggers
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{verb.lower()}")
    else:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    _chain_existing(conn)
    if postgres:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
    for table in ("audit_log", "grade"):
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: a row with this id exists'); END"
        )


def _chain_existing(conn) -> None:
    prev, after = None, 0
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, at, actor, action, target, detail_json, client FROM audit_log "
                "WHERE id > :after ORDER BY id LIMIT :n"
            ),
            {"after": after, "n": BATCH},
        ).all()
        if not rows:
            return
        updates = []
        for row_id, at, actor, action, target, detail, client in rows:
            row_hash = chain_hash(prev, stamp_text(at), actor, action, target, detail, client)
            updates.append({"id": row_id, "prev": prev, "row": row_hash})
            prev = row_hash
        conn.execute(sa.text("UPDATE audit_log SET prev_hash = :prev, row_hash = :row WHERE id = :id"), updates)
        after = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table in ("audit_log", "grade"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{verb.lower()}")
    op.drop_index("ix_credit_case_client_status", table_name="credit_case")
    with op.batch_alter_table("credit_case") as batch_op:
        batch_op.drop_column("client")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
    if op.get_bind().dialect.name != "postgresql":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
