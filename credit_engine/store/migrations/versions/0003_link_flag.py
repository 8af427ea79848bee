"""flags propagated along the enterprise-person graph, per as-of date

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_flag",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("flag", sa.String(length=48), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("person_key", sa.String(length=32), nullable=True),
        sa.Column("facts_json", sa.Text(), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_flag")),
    )
    op.create_index("ix_link_flag_as_of_uscc", "link_flag", ["as_of", "uscc"])


def downgrade() -> None:
    op.drop_index("ix_link_flag_as_of_uscc", table_name="link_flag")
    op.drop_table("link_flag")
