"""Indexes for the public records room: the published requests newest first, and the
documents by when they were published and when their embargo lifts (the feed).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_request_publications_listed', 'request_publications', ['published_at', 'id'])
    op.create_index('ix_document_publications_published', 'document_publications', ['published_at', 'public_key'])
    op.create_index('ix_document_publications_lifted', 'document_publications', ['embargo_until', 'public_key'])


def downgrade():
    op.drop_index('ix_document_publications_lifted', table_name='document_publications')
    op.drop_index('ix_document_publications_published', table_name='document_publications')
    op.drop_index('ix_request_publications_listed', table_name='request_publications')
