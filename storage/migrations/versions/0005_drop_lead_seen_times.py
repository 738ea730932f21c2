"""drop the leads' denormalised seen/touch times

Nothing read them (briefs and rules take first/last touch from activities, through the
(lead_id, occurred_at, kind) index), yet every batch of activity rewrote its leads' rows for them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = ("first_seen_at", "last_seen_at", "last_touch_at")


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    # Rebuild them from the activities they summarise.
    op.execute(
        "UPDATE leads SET "
        "first_seen_at = (SELECT min(occurred_at) FROM activities WHERE activities.lead_id = leads.id), "
        "last_seen_at = (SELECT max(occurred_at) FROM activities WHERE activities.lead_id = leads.id), "
        "last_touch_at = (SELECT max(occurred_at) FROM activities WHERE activities.lead_id = leads.id "
        "AND kind NOT IN ('email_sent', 'email_delivered', 'unsubscribe'))"
    )
