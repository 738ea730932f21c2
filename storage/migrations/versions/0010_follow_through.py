"""follow-through: the speed-to-lead clock, snooze, reassign, thread updates and quiet mode

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 23:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rep_user", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("sla_due_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("sla_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("nudge_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("snoozed_until", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("snoozed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reassigned_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reassigned_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("escalation_channel", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("escalation_ts", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("seen_activity_id", BIG, nullable=True))
        batch_op.add_column(sa.Column("update_after", UTC_TIME, nullable=True))
        batch_op.create_index("ix_qualifications_nudge_at", ["nudge_at"], unique=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_user", sa.String(length=64), nullable=True))
    op.create_table(
        "slack_messages",
        sa.Column("id", BIG, nullable=False),
        sa.Column("lead_id", BIG, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("posted_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_slack_messages_lead_id_leads"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_messages")),
    )
    op.create_index("ix_slack_messages_lead_id", "slack_messages", ["lead_id"], unique=False)
    op.create_table(
        "rep_prefs",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("quiet", sa.Boolean(), nullable=False),
        sa.Column("digest_time", sa.String(length=5), nullable=False),
        sa.Column("set_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_rep_prefs")),
    )


def downgrade() -> None:
    op.drop_table("rep_prefs")
    op.drop_index("ix_slack_messages_lead_id", table_name="slack_messages")
    op.drop_table("slack_messages")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("digest_user")
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.drop_index("ix_qualifications_nudge_at")
        for name in ("update_after", "seen_activity_id", "escalation_ts", "escalation_channel", "reassigned_at",
                     "reassigned_by", "snoozed_by", "snoozed_until", "nudge_at", "sla_state", "sla_due_at",
                     "rep_user"):
            batch_op.drop_column(name)
