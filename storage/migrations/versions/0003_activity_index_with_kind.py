"""activity index with kind

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:50:00
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_lead_id_occurred_at_kind", ["lead_id", "occurred_at", "kind"], unique=False)
        batch_op.drop_index("ix_activities_lead_id_occurred_at")


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_lead_id_occurred_at", ["lead_id", "occurred_at"], unique=False)
        batch_op.drop_index("ix_activities_lead_id_occurred_at_kind")
