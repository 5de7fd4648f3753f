"""Deadlines: agency calendars, reminders, the agency's answers and extensions, computed due dates, tags, calendar feeds.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('agency_calendar_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('closed', 'open', name='daykind', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_agency_calendar_days_agency_id_agencies')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_agency_calendar_days_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_calendar_days')),
    sa.UniqueConstraint('agency_id', 'day', name='uq_agency_calendar_days_day')
    )
    with op.batch_alter_table('agency_calendar_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_calendar_days_agency_id'), ['agency_id'], unique=False)

    op.create_table('reminder_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['records_requests.id'], name=op.f('fk_reminder_logs_request_id_records_requests')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reminder_logs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_logs')),
    sa.UniqueConstraint('user_id', 'request_id', 'reason', 'sent_on', name='uq_reminder_logs_once')
    )
    with op.batch_alter_table('reminder_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_logs_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('records_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('determination_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('records_promised_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('extension_notice_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('extension_claimed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('extension_written', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.String(length=500), nullable=False, server_default=''))
        batch_op.create_index(batch_op.f('ix_records_requests_due_on'), ['due_on'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_feed_token'), ['feed_token'])




def downgrade():

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_feed_token'), type_='unique')
        batch_op.drop_column('feed_token')

    with op.batch_alter_table('records_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_records_requests_due_on'))
        batch_op.drop_column('tags')
        batch_op.drop_column('due_on')
        batch_op.drop_column('extension_written')
        batch_op.drop_column('extension_claimed_on')
        batch_op.drop_column('extension_notice_on')
        batch_op.drop_column('records_promised_on')
        batch_op.drop_column('determination_on')

    with op.batch_alter_table('reminder_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_logs_user_id'))

    op.drop_table('reminder_logs')
    with op.batch_alter_table('agency_calendar_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_calendar_days_agency_id'))

    op.drop_table('agency_calendar_days')

