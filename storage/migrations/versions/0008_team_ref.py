"""team references: the Teams teams the bot was added to, found by keyed hashes of their id and name, sealed

Revision ID: 0008_team_ref
Revises: 0007_console_pass
Create Date: 2026-12-06 20:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the submodule the columns below name, so a type checker sees it
from alembic import op

revision = '0008_team_ref'
down_revision = '0007_console_pass'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('team_ref',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lookup', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('named', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('kept_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('lookup')
    )
    with op.batch_alter_table('team_ref', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_ref_named'), ['named'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('team_ref', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_ref_named'))
    op.drop_table('team_ref')
