"""双随机 sampling: inspectors, plans, draws with their frames and samples

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inspector",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("authority", sa.Text(), nullable=True),
        sa.Column("conflicts_json", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspector")),
        sa.UniqueConstraint("code", name=op.f("uq_inspector_code")),
    )
    op.create_table(
        "inspection_plan",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column("key_area", sa.String(length=32), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("rule_set_id", sa.String(length=32), nullable=False),
        sa.Column("plan_json", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_plan")),
    )
    op.create_table(
        "inspection_draw",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("plan_id", BigId, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("numpy_version", sa.String(length=16), nullable=False),
        sa.Column("frame_hash", sa.String(length=64), nullable=False),
        sa.Column("frame_size", sa.Integer(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("seed_holder", sa.String(length=8), nullable=False),
        sa.Column("seed", sa.Text(), nullable=True),
        sa.Column("salt", sa.String(length=64), nullable=True),
        sa.Column("blinding_key", sa.String(length=64), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.Column("committed_by", sa.Text(), nullable=False),
        sa.Column("committed_at", sa.DateTime(), nullable=False),
        sa.Column("drawn_by", sa.Text(), nullable=True),
        sa.Column("drawn_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["inspection_plan.id"], name=op.f("fk_inspection_draw_plan_id_inspection_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_draw")),
    )
    op.create_index("ix_inspection_draw_plan_id", "inspection_draw", ["plan_id"])
    op.create_table(
        "inspection_frame",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("draw_id", BigId, nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("sampled_as", sa.String(length=1), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("pi_units", sa.BigInteger(), nullable=False),
        sa.Column("last_inspected", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["inspection_draw.id"], name=op.f("fk_inspection_frame_draw_id_inspection_draw")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_frame")),
        sa.UniqueConstraint("draw_id", "uscc", name=op.f("uq_inspection_frame_draw_id")),
    )
    op.create_index("ix_inspection_frame_draw_token", "inspection_frame", ["draw_id", "token"])
    op.create_table(
        "inspection_sample",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("draw_id", BigId, nullable=False),
        sa.Column("draw_order", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("opening", sa.String(length=32), nullable=False),
        sa.Column("pi_units", sa.BigInteger(), nullable=False),
        sa.Column("inspectors_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["inspection_draw.id"], name=op.f("fk_inspection_sample_draw_id_inspection_draw")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_sample")),
        sa.UniqueConstraint("draw_id", "uscc", name=op.f("uq_inspection_sample_draw_id")),
    )
    op.create_index("ix_inspection_sample_uscc", "inspection_sample", ["uscc"])


def downgrade() -> None:
    op.drop_table("inspection_sample")
    op.drop_table("inspection_frame")
    op.drop_table("inspection_draw")
    op.drop_table("inspection_plan")
    op.drop_table("inspector")
