"""triage: the verdict on each qualification and its override, notices in the outbox, CRM do-not-contact flags

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 15:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

QUALIFICATION_COLUMNS = (
    ("triage_delivery", sa.String(length=16)),
    ("triage_verdict", sa.String(length=32)),
    ("triage_category", sa.String(length=32)),
    ("triage_rule", sa.String(length=64)),
    ("triage_reason", sa.Text()),
    ("overridden_by", sa.String(length=64)),
    ("overridden_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        for name, type_ in QUALIFICATION_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="brief", nullable=False))
        batch_op.add_column(sa.Column("notice_to", sa.String(length=64), nullable=True))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("do_not_contact", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("email_opt_out", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("email_opt_out")
        batch_op.drop_column("do_not_contact")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("notice_to")
        batch_op.drop_column("kind")
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        for name, _ in reversed(QUALIFICATION_COLUMNS):
            batch_op.drop_column(name)
