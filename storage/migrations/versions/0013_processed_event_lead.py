"""processed_events: tie the recorded activity events to their lead, so that `forget` removes them

Until now ingestion never filled processed_events.lead_id, so erasing a lead left its idempotency records
(and a redelivery after `forget` counted as a duplicate). New claims carry the lead's id; this links the
existing ones that can be linked: activity events, through the activity they stored. Other old records
(profile updates, notes) have no such trace; `forget` also removes any record whose id quotes the email.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:40:00
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Uses the activities' unique (source, source_event_id) index, one lookup per record.
    op.execute(
        "UPDATE processed_events SET lead_id = ("
        " SELECT a.lead_id FROM activities a"
        " WHERE a.source = processed_events.source AND a.source_event_id = processed_events.event_id)"
        " WHERE lead_id IS NULL AND type = 'activity'"
    )


def downgrade() -> None:
    # The links are data only; 0011 code ignores them.
    pass
