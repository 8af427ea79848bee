"""entity names: an index in code-point order and their two-character pieces, for the public search

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
import pandas as pd
import sqlalchemy as sa
from alembic import op

from credit_engine.search import name_pieces

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 50_000


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.alter_column("entity", "name", type_=sa.Text(collation="C"), existing_type=sa.Text(), existing_nullable=True)
    op.create_index("ix_entity_name", "entity", ["name", "uscc"])
    gram = op.create_table(
        "name_gram",
        sa.Column("gram", sa.String(length=2), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.PrimaryKeyConstraint("gram", "uscc", name=op.f("pk_name_gram")),
        sqlite_with_rowid=False,
    )
    names = conn.execute(sa.text("SELECT uscc, name FROM entity WHERE name IS NOT NULL")).all()
    pieces = name_pieces(pd.Series([n for _, n in names], index=[u for u, _ in names], dtype=object))
    for start in range(0, len(pieces), BATCH):
        conn.execute(gram.insert(), pieces.iloc[start:start + BATCH].to_dict("records"))


def downgrade() -> None:
    op.drop_table("name_gram")
    op.drop_index("ix_entity_name", table_name="entity")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("entity", "name", type_=sa.Text(), existing_type=sa.Text(collation="C"), existing_nullable=True)
