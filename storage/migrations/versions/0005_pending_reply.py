"""pending replies: what a committed step must still send, kept until it is sent (persist, then send)

Revision ID: 0005_pending_reply
Revises: 0004
Create Date: 2026-12-06 09:50:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the submodule the columns below name, so a type checker sees it
from alembic import op

revision = '0005_pending_reply'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pending_reply',
    sa.Column('session', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('session'),
    sa.UniqueConstraint('token')
    )


def downgrade() -> None:
    op.drop_table('pending_reply')
