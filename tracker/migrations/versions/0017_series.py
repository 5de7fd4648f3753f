"""Requests that repeat: a series drafts each period's request from the source
request's letter; its periods, their requests and the report each was to bring.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('request_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_request_id', sa.Integer(), nullable=False),
    sa.Column('template_slug', sa.String(length=80), nullable=False),
    sa.Column('field_values', sa.JSON(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('cadence', sa.Enum('month', 'quarter', 'half-year', 'year', 'dates', name='cadence', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('period_ends', sa.JSON(), nullable=False),
    sa.Column('first_start_on', sa.Date(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('report_name', sa.String(length=300), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_by_id', sa.Integer(), nullable=True),
    sa.Column('stop_reason', sa.Text(), nullable=False),
    sa.Column('public_key', sa.String(length=24), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_request_series_agency_id_agencies')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_request_series_assignee_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_request_series_created_by_id_users')),
    sa.ForeignKeyConstraint(['source_request_id'], ['records_requests.id'], name=op.f('fk_request_series_source_request_id_records_requests')),
    sa.ForeignKeyConstraint(['stopped_by_id'], ['users.id'], name=op.f('fk_request_series_stopped_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_series')),
    sa.UniqueConstraint('public_key', name=op.f('uq_request_series_public_key'))
    )
    with op.batch_alter_table('request_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_series_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_request_series_source_request_id'), ['source_request_id'], unique=False)

    op.create_table('series_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('drafted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report_document_id', sa.Integer(), nullable=True),
    sa.Column('report_marked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report_marked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['report_document_id'], ['documents.id'], name=op.f('fk_series_periods_report_document_id_documents')),
    sa.ForeignKeyConstraint(['report_marked_by_id'], ['users.id'], name=op.f('fk_series_periods_report_marked_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['records_requests.id'], name=op.f('fk_series_periods_request_id_records_requests')),
    sa.ForeignKeyConstraint(['series_id'], ['request_series.id'], name=op.f('fk_series_periods_series_id_request_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series_periods')),
    sa.UniqueConstraint('request_id', name=op.f('uq_series_periods_request_id')),
    sa.UniqueConstraint('series_id', 'start_on', name='uq_series_periods_series_id_start_on')
    )
    with op.batch_alter_table('series_periods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_periods_end_on'), ['end_on'], unique=False)


def downgrade():
    with op.batch_alter_table('series_periods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_periods_end_on'))

    op.drop_table('series_periods')
    with op.batch_alter_table('request_series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_series_source_request_id'))
        batch_op.drop_index(batch_op.f('ix_request_series_agency_id'))

    op.drop_table('request_series')
