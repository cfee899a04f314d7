"""you said, we did: feedback themes, items, replies and reactions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 01:20:00.000000
"""
import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # the submodule the columns below name, so a type checker sees it
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feedback_theme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('wave', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('survey_id', 'wave', 'name', name='uq_feedback_theme')
    )
    op.create_table('feedback_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('wave', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('theme_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['theme_id'], ['feedback_theme.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('feedback_item', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_item_round', ['survey_id', 'wave'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_item_response_id'), ['response_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_item_theme_id'), ['theme_id'], unique=False)
    op.create_table('we_did',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('written_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('written_on', sa.Date(), nullable=False),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('approved_on', sa.Date(), nullable=True),
    sa.Column('send_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('planned_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['theme_id'], ['feedback_theme.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('we_did', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_we_did_theme_id'), ['theme_id'], unique=False)
    op.create_table('we_did_reaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reply_id', sa.Integer(), nullable=False),
    sa.Column('voter', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reacted_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['reply_id'], ['we_did.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reply_id', 'voter', name='uq_we_did_reaction')
    )
    with op.batch_alter_table('we_did_reaction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_we_did_reaction_reply_id'), ['reply_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('we_did_reaction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_we_did_reaction_reply_id'))
    op.drop_table('we_did_reaction')
    with op.batch_alter_table('we_did', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_we_did_theme_id'))
    op.drop_table('we_did')
    with op.batch_alter_table('feedback_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_item_theme_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_item_response_id'))
        batch_op.drop_index('ix_feedback_item_round')
    op.drop_table('feedback_item')
    op.drop_table('feedback_theme')
