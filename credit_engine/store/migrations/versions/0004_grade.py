"""grades: append-only history of every entity's class, score and reasons

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grade",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("model_grade", sa.String(length=1), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons_json", sa.Text(), nullable=False),
        sa.Column("features_json", sa.Text(), nullable=False),
        sa.Column("model_name", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=16), nullable=False),
        sa.Column("rule_set_id", sa.String(length=32), nullable=False),
        sa.Column("graded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade")),
    )
    op.create_index("ix_grade_uscc_as_of", "grade", ["uscc", "as_of"])
    op.create_index("ix_grade_as_of_grade", "grade", ["as_of", "grade"])
    op.create_index("ix_grade_batch_id", "grade", ["batch_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER grade_append_only BEFORE UPDATE OR DELETE ON grade "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER grade_no_{verb.lower()} BEFORE {verb} ON grade "
                "BEGIN SELECT RAISE(ABORT, 'grade is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER grade_append_only ON grade")
    op.drop_table("grade")
