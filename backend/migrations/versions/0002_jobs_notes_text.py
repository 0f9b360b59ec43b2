"""jobs.notes: text of any length. A job can gather several notes (first frame of an animation, an
unreadable EXIF orientation, a style's size cap, no fast model), each naming the style: over 300
characters with a long style id, which PostgreSQL refused (SQLite ignores the length).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.alter_column("notes", type_=sa.Text(), existing_type=sa.String(length=300), existing_nullable=True)


def downgrade():
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.alter_column(
            "notes",
            type_=sa.String(length=300),
            existing_type=sa.Text(),
            existing_nullable=True,
            postgresql_using="left(notes, 300)",  # longer notes are cut
        )
