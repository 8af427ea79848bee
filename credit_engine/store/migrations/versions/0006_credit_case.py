"""credit cases: repair applications and objections, with their deadlines and decisions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_case",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("ticket", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("fact_key", sa.String(length=200), nullable=False),
        sa.Column("fact_version", sa.Integer(), nullable=False),
        sa.Column("ground", sa.String(length=24), nullable=True),
        sa.Column("applicant", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("filed_at", sa.DateTime(), nullable=False),
        sa.Column("rule_set_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("assessment_json", sa.Text(), nullable=False),
        sa.Column("earliest_on", sa.Date(), nullable=True),
        sa.Column("limit_working_days", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("extensions_json", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_json", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_case")),
        sa.UniqueConstraint("ticket", name=op.f("uq_credit_case_ticket")),
    )
    op.create_index("ix_credit_case_uscc", "credit_case", ["uscc"])
    op.create_index("ix_credit_case_fact_key", "credit_case", ["fact_key"])
    op.create_index("ix_credit_case_status_deadline", "credit_case", ["status", "deadline"])


def downgrade() -> None:
    op.drop_table("credit_case")
