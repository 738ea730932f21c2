"""activity words: a form comment's reading (cleaned message, language, facts, callback), stored at ingestion

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: rows stored before this are read at their first brief (briefs.words.read_cached).
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "words", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_column("words")
