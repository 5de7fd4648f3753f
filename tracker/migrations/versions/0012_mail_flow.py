"""Mail going out and answers coming in: letters sent by email, looks at the mailbox,
portal notices and the responses they suggest, and which messages still need an answer.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mail_fetches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('filed', sa.Integer(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_fetches'))
    )
    op.create_table('outgoing_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('queued', 'sent', 'failed', name='sendstate', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=False),
    sa.Column('from_address', sa.String(length=998), nullable=False),
    sa.Column('reply_to', sa.String(length=998), nullable=False),
    sa.Column('to_addresses', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued_by_id', sa.Integer(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('correspondence_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['correspondence_id'], ['correspondence.id'], name=op.f('fk_outgoing_emails_correspondence_id_correspondence')),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_outgoing_emails_letter_id_letters')),
    sa.ForeignKeyConstraint(['queued_by_id'], ['users.id'], name=op.f('fk_outgoing_emails_queued_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['records_requests.id'], name=op.f('fk_outgoing_emails_request_id_records_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_emails')),
    sa.UniqueConstraint('letter_id', name=op.f('uq_outgoing_emails_letter_id'))
    )
    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_emails_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outgoing_emails_state'), ['state'], unique=False)

    with op.batch_alter_table('correspondence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('portal', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('portal_event', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('portal_number', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('portal_link', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('portal_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('suggested_kind', sa.String(length=30), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('suggestion_state', sa.Enum('open', 'confirmed', 'dismissed', name='suggestionstate', native_enum=False, create_constraint=True, length=20), nullable=True))
        batch_op.add_column(sa.Column('response_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('answered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answer_note', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_correspondence_response_id_agency_responses'), 'agency_responses', ['response_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_correspondence_answered_by_id_users'), 'users', ['answered_by_id'], ['id'])

    with op.batch_alter_table('correspondence', schema=None) as batch_op:
        for name in ('portal', 'portal_event', 'portal_number', 'portal_link', 'suggested_kind', 'answer_note'):
            batch_op.alter_column(name, server_default=None)

    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('portal_name', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('portal_confirmation', sa.String(length=200), nullable=False, server_default=''))

    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.alter_column('portal_name', server_default=None)
        batch_op.alter_column('portal_confirmation', server_default=None)

    backfill_mail_search(op.get_bind())


def backfill_mail_search(bind):
    """Emails filed before search knew of them: index them now, as 0005 did the rest."""
    from datetime import datetime, timezone

    from tracker.search import engine

    rows = bind.execute(sa.text(
        "SELECT id, request_id, state, from_address, text, subject, sent_at, created_at "
        "FROM correspondence WHERE state = 'filed' AND request_id IS NOT NULL"
    )).mappings()
    for row in rows:
        values = dict(row)
        for key in ('sent_at', 'created_at'):
            # SQLite hands the stored text back; PostgreSQL a datetime.
            if isinstance(values[key], str):
                moment = datetime.fromisoformat(values[key])
                values[key] = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        entries = engine.mail_entries(_Row(values))
        engine.write(bind, 'mail', values['id'], entries)


class _Row:
    def __init__(self, values):
        self.__dict__.update(values)



def downgrade():
    op.execute("DELETE FROM " + ("search_index" if op.get_bind().dialect.name == 'sqlite' else "search_entries") + " WHERE kind = 'mail'")
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_column('portal_confirmation')
        batch_op.drop_column('portal_name')

    with op.batch_alter_table('correspondence', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_correspondence_answered_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(op.f('ck_correspondence_suggestionstate'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_correspondence_response_id_agency_responses'), type_='foreignkey')
        batch_op.drop_column('answer_note')
        batch_op.drop_column('answered_by_id')
        batch_op.drop_column('answered_at')
        batch_op.drop_column('response_id')
        batch_op.drop_column('suggestion_state')
        batch_op.drop_column('suggested_kind')
        batch_op.drop_column('portal_due_on')
        batch_op.drop_column('portal_link')
        batch_op.drop_column('portal_number')
        batch_op.drop_column('portal_event')
        batch_op.drop_column('portal')

    with op.batch_alter_table('outgoing_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outgoing_emails_state'))
        batch_op.drop_index(batch_op.f('ix_outgoing_emails_request_id'))

    op.drop_table('outgoing_emails')
    op.drop_table('mail_fetches')
