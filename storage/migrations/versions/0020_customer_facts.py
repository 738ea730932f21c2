"""customer facts on the lead: renewal and its value, the CSM, a former customer's churn, escalations

Revision ID: 0020
Revises: 0015
Create Date: 2026-12-07 12:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0015"
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


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        for name, _type in reversed(COLUMNS):
            batch_op.drop_column(name)
