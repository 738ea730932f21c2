"""slack delivery and follow-up

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:11:57.088243
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('rep_routes',
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('channel_id', sa.String(length=64), nullable=False),
    sa.Column('set_by', sa.String(length=64), nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('email', name=op.f('pk_rep_routes'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('queue_reason', sa.String(length=300), nullable=True))

    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('contacted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('contacted_by', sa.String(length=64), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.drop_column('contacted_by')
        batch_op.drop_column('contacted_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('claimed_at')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('queue_reason')

    op.drop_table('rep_routes')

