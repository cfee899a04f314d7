"""personal links: an email invitation's link into the web chat, and its unsubscribe link, kept as keyed hashes

Revision ID: 0006_personal_link
Revises: 0005_pending_reply
Create Date: 2026-12-06 13:00:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the submodule the columns below name, so a type checker sees it
from alembic import op

revision = '0006_personal_link'
down_revision = '0005_pending_reply'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('personal_link',
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('lookup', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('wave', sa.Integer(), nullable=True),
    sa.Column('made_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('digest')
    )
    with op.batch_alter_table('personal_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_link_lookup'), ['lookup'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('personal_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_link_lookup'))
    op.drop_table('personal_link')
