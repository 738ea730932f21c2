"""delivery faults: the post a delivery may already have made (checked in Slack before posting again), and
rep channels remembered as gone, and when a dead letter was queued again by hand

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unclear_channel", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("unclear_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("retried_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("channel_slots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gone_until", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("gone_error", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_slots", schema=None) as batch_op:
        batch_op.drop_column("gone_error")
        batch_op.drop_column("gone_until")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("retried_at")
        batch_op.drop_column("unclear_at")
        batch_op.drop_column("unclear_channel")
