"""accounts: accounts and their domains, a lead's account and CRM account id, a qualification's account brief

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 12:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_key", sa.String(length=300), nullable=True),
        sa.Column("crm_id", sa.String(length=200), nullable=True),
        sa.Column("owner_email", sa.String(length=320), nullable=True),
        sa.Column("owner_by", sa.String(length=16), nullable=True),
        sa.Column("merged_into", BigId, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("crm_id", name=op.f("uq_accounts_crm_id")),
    )
    op.create_index(op.f("ix_accounts_name_key"), "accounts", ["name_key"], unique=False)
    op.create_table(
        "account_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("account_id", BigId, nullable=False),
        sa.Column("declared", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_account_domains_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_account_domains")),
    )
    op.create_index(op.f("ix_account_domains_account_id"), "account_domains", ["account_id"], unique=False)
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crm_account_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("account_id", BigId, nullable=True))
        batch_op.add_column(sa.Column("account_by", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_leads_account_id"), ["account_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_leads_account_id_accounts"), "accounts", ["account_id"], ["id"],
                                    ondelete="SET NULL")
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", BigId, nullable=True))
        batch_op.add_column(sa.Column("account_brief_id", BigId, nullable=True))
        batch_op.create_index(batch_op.f("ix_qualifications_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qualifications_account_id"))
        batch_op.drop_column("account_brief_id")
        batch_op.drop_column("account_id")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_leads_account_id_accounts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_leads_account_id"))
        batch_op.drop_column("account_by")
        batch_op.drop_column("account_id")
        batch_op.drop_column("crm_account_id")
    op.drop_index(op.f("ix_account_domains_account_id"), table_name="account_domains")
    op.drop_table("account_domains")
    op.drop_index(op.f("ix_accounts_name_key"), table_name="accounts")
    op.drop_table("accounts")
