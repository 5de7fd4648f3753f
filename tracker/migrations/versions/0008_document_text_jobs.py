"""A document's text is read by a job after the upload: where that stands, and why it failed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # Documents kept before this were read at upload: their text is done.
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_state', sa.Enum('pending', 'done', 'failed', name='textstate', native_enum=False, create_constraint=True, length=20), nullable=False, server_default='done'))
        batch_op.add_column(sa.Column('text_error', sa.Text(), nullable=False, server_default=''))

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.alter_column('text_state', server_default=None)
        batch_op.alter_column('text_error', server_default=None)


def downgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_documents_textstate'), type_='check')
        batch_op.drop_column('text_error')
        batch_op.drop_column('text_state')
