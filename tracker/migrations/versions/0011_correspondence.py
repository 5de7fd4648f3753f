"""Correspondence: emails filed on a request or held until someone places them, and the
documents that came attached to them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('correspondence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('direction', sa.Enum('in', 'out', name='direction', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('state', sa.Enum('filed', 'held', 'discarded', name='mailstate', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('in_reply_to', sa.String(length=998), nullable=False),
    sa.Column('references', sa.Text(), nullable=False),
    sa.Column('from_address', sa.String(length=998), nullable=False),
    sa.Column('to_addresses', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('raw_sha256', sa.String(length=64), nullable=False),
    sa.Column('raw_size', sa.Integer(), nullable=False),
    sa.Column('raw_storage_backend', sa.String(length=20), nullable=False),
    sa.Column('raw_storage_key', sa.String(length=200), nullable=False),
    sa.Column('source', sa.Enum('upload', 'imap', 'smtp', name='mailsource', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('discard_reason', sa.Text(), nullable=False),
    sa.Column('discarded_by_id', sa.Integer(), nullable=True),
    sa.Column('discarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_correspondence_created_by_id_users')),
    sa.ForeignKeyConstraint(['discarded_by_id'], ['users.id'], name=op.f('fk_correspondence_discarded_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['records_requests.id'], name=op.f('fk_correspondence_request_id_records_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correspondence')),
    sa.UniqueConstraint('raw_sha256', name=op.f('uq_correspondence_raw_sha256')),
    sa.UniqueConstraint('raw_storage_key', name=op.f('uq_correspondence_raw_storage_key'))
    )
    with op.batch_alter_table('correspondence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correspondence_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_correspondence_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_correspondence_state'), ['state'], unique=False)

    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correspondence_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_documents_correspondence_id_correspondence'), 'correspondence', ['correspondence_id'], ['id'])


def downgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_documents_correspondence_id_correspondence'), type_='foreignkey')
        batch_op.drop_column('correspondence_id')

    with op.batch_alter_table('correspondence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_correspondence_state'))
        batch_op.drop_index(batch_op.f('ix_correspondence_request_id'))
        batch_op.drop_index(batch_op.f('ix_correspondence_message_id'))

    op.drop_table('correspondence')
