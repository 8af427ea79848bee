"""fact: a unique index on the key of current versions, for the ingest's lookups

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CURRENT = sa.text("superseded_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_fact_current_key", "fact", ["fact_key"], unique=True, postgresql_where=CURRENT, sqlite_where=CURRENT
    )


def downgrade() -> None:
    op.drop_index("ix_fact_current_key", table_name="fact")
