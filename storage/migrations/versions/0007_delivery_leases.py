"""delivery leases and shared channel pacing, for several delivery workers

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 19:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("slot_channel", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("slot_at", sa.Float(), nullable=True))
    op.create_table(
        "channel_slots",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("last_post_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_slots")),
    )


def downgrade() -> None:
    op.drop_table("channel_slots")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("slot_at")
        batch_op.drop_column("slot_channel")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
