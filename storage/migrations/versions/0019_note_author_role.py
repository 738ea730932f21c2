"""note author role: who wrote a handoff note (CSM, marketing, a rep), from the event or the Slack config

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 12:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_role", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoff_notes", schema=None) as batch_op:
        batch_op.drop_column("author_role")
