"""console passes: sign-in links and sessions of the web console, kept as keyed hashes

Revision ID: 0007_console_pass
Revises: 0006_personal_link
Create Date: 2026-12-06 16:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the submodule the columns below name, so a type checker sees it
from alembic import op

revision = '0007_console_pass'
down_revision = '0006_personal_link'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_pass',
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('lookup', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest')
    )
    with op.batch_alter_table('console_pass', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_pass_lookup'), ['lookup'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_pass', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_pass_lookup'))
    op.drop_table('console_pass')
