"""A letter knows how it is to be sent, the copy of it kept among the request's documents,
and the documents enclosed with it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.Enum('mail', 'email', 'portal', 'fax', 'in_person', name='letterchannel', native_enum=False, create_constraint=True, length=20), nullable=True))
        batch_op.add_column(sa.Column('document_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('enclosure_ids', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.create_foreign_key(batch_op.f('fk_letters_document_id_documents'), 'documents', ['document_id'], ['id'])

    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.alter_column('enclosure_ids', server_default=None)


def downgrade():
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_letters_document_id_documents'), type_='foreignkey')
        batch_op.drop_constraint(op.f('ck_letters_letterchannel'), type_='check')
        batch_op.drop_column('enclosure_ids')
        batch_op.drop_column('document_id')
        batch_op.drop_column('channel')
