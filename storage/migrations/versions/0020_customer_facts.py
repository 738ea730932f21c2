"""customer facts on the lead: renewal and its value, the CSM, a former customer's churn, escalations;
a qualification's lifecycle episode and who its brief goes to

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 12:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

COLUMNS = (
    ("renewal_date", sa.String(length=10)),
    ("arr", sa.BigInteger()),
    ("currency", sa.String(length=3)),
    ("plan", sa.String(length=100)),
    ("csm_email", sa.String(length=320)),
    ("former_customer", sa.Boolean()),
    ("churned_on", sa.String(length=10)),
    ("churn_reason", sa.String(length=300)),
    ("open_escalations", sa.Integer()),
    ("left_company", sa.Boolean()),
)


QUALIFICATION_COLUMNS = (
    ("episode", sa.String(length=16)),
    ("deliver_to", sa.String(length=320)),
    ("copy_to", sa.String(length=320)),
)


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        for name, type_ in QUALIFICATION_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("handoff_notes", schema=None) as batch_op:  # a "talk to me first" note's author
        batch_op.add_column(sa.Column("author_ref", sa.String(length=320), nullable=True))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:  # an owner's copy names them by email
        batch_op.alter_column("notice_to", existing_type=sa.String(length=64), type_=sa.String(length=320),
                              existing_nullable=True)
        # A brief and its owner's copy: one of each kind per qualification.
        batch_op.drop_constraint("uq_deliveries_qualification_id", type_="unique")
        batch_op.create_unique_constraint("uq_deliveries_qualification_id_kind", ["qualification_id", "kind"])


def downgrade() -> None:
    with op.batch_alter_table("handoff_notes", schema=None) as batch_op:
        batch_op.drop_column("author_ref")
    op.execute("DELETE FROM deliveries WHERE kind = 'copy'")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_deliveries_qualification_id_kind", type_="unique")
        batch_op.create_unique_constraint("uq_deliveries_qualification_id", ["qualification_id"])
        batch_op.alter_column("notice_to", existing_type=sa.String(length=320), type_=sa.String(length=64),
                              existing_nullable=True)
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        for name, _type in reversed(QUALIFICATION_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for name, _type in reversed(COLUMNS):
            batch_op.drop_column(name)
