"""entity names: an index in code-point order and their two-character pieces, for the public search

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import pandas as pd
import sqlalchemy as sa
from alembic import op

from credit_engine.search import name_pieces
from credit_engine.store.repository import Store

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 100_000


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.alter_column("entity", "name", type_=sa.Text(collation="C"), existing_type=sa.Text(), existing_nullable=True)
    op.create_index("ix_entity_name", "entity", ["name", "uscc"])
    op.create_table(
        "name_gram",
        sa.Column("gram", sa.String(length=2), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.PrimaryKeyConstraint("gram", "uscc", name=op.f("pk_name_gram")),
        sqlite_with_rowid=False,
    )
    after = ""
    while True:  # a province's names a batch at a time: all their pieces at once would not fit
        names: dict[str, str] = dict(
            conn.execute(
                sa.text(
                    "SELECT uscc, name FROM entity WHERE name IS NOT NULL AND uscc > :after ORDER BY uscc LIMIT :n"
                ),
                {"after": after, "n": BATCH},
            ).all()
        )
        if not names:
            break
        Store(conn).insert_frame("name_gram", name_pieces(pd.Series(names, dtype=object)))
        after = max(names)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE entity, name_gram")  # a capped count of a piece plans well only with them


def downgrade() -> None:
    op.drop_table("name_gram")
    op.drop_index("ix_entity_name", table_name="entity")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("entity", "name", type_=sa.Text(), existing_type=sa.Text(collation="C"), existing_nullable=True)
