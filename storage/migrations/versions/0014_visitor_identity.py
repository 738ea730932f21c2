"""visitor identity: links from a source's user / anonymous ids to leads, and activity waiting for one

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 14:30:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "visitor_links",
        sa.Column("id", BigId, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("visitor_id", sa.String(length=200), nullable=False),
        sa.Column("lead_id", BigId, nullable=True),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_visitor_links_lead_id_leads"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitor_links")),
        sa.UniqueConstraint("source", "kind", "visitor_id", name=op.f("uq_visitor_links_source_kind_visitor_id")),
    )
    with op.batch_alter_table("visitor_links", schema=None) as batch_op:
        batch_op.create_index("ix_visitor_links_source_user_id", ["source", "user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visitor_links_lead_id"), ["lead_id"], unique=False)
    op.create_table(
        "pending_activities",
        sa.Column("id", BigId, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("source_event_id", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("anonymous_id", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_activities")),
        sa.UniqueConstraint("source", "source_event_id", name=op.f("uq_pending_activities_source_source_event_id")),
    )
    with op.batch_alter_table("pending_activities", schema=None) as batch_op:
        batch_op.create_index("ix_pending_activities_source_user_id", ["source", "user_id"], unique=False)
        batch_op.create_index("ix_pending_activities_source_anonymous_id", ["source", "anonymous_id"], unique=False)
        batch_op.create_index("ix_pending_activities_occurred_at", ["occurred_at"], unique=False)


def downgrade() -> None:
    op.drop_table("pending_activities")
    op.drop_table("visitor_links")
