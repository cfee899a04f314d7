"""survey rounds close, thresholds locked, role grants

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00

Hand-written and checked against storage/models.py: three nullable columns on survey_key (so existing rows need no
default) and the role_grant table. Downgrade drops exactly these.
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the submodule the columns below name, so a type checker sees it
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('survey_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closes_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('min_group', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('min_group_text', sa.Integer(), nullable=True))

    op.create_table('role_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('lookup', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('granted_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('role', 'lookup', name='uq_role_grant')
    )
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grant_lookup'), ['lookup'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('role_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_grant_lookup'))

    op.drop_table('role_grant')
    with op.batch_alter_table('survey_key', schema=None) as batch_op:
        batch_op.drop_column('min_group_text')
        batch_op.drop_column('min_group')
        batch_op.drop_column('closes_on')
