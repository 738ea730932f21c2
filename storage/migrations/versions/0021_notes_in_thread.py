"""notes in the brief's thread: the newest note a brief shows, and a claim on a note being posted

A handoff note stored after its brief was built (while the brief waited in the outbox, or in the moment
between Slack taking it and its ts being recorded) is posted in the brief's thread once the brief is out.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 14:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes_through", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("handoff_notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_handoff_notes_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("handoff_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_handoff_notes_created_at")
        batch_op.drop_column("thread_claimed_at")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("notes_through")
