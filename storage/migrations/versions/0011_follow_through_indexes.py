"""follow-through: indexes for recent briefs, briefs just posted and ended cooldowns

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 08:00:00
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.create_index("ix_qualifications_qualified_at", ["qualified_at"], unique=False)
        batch_op.create_index("ix_qualifications_update_after", ["update_after"], unique=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_sent_at", ["sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_sent_at")
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.drop_index("ix_qualifications_update_after")
        batch_op.drop_index("ix_qualifications_qualified_at")
