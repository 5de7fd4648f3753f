"""The items of a request, how each response answers them, the exemptions cited, and fees;
each request so far becomes one item holding its records sought.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('estimate', 'waiver_requested', 'waiver_granted', 'waiver_denied', 'payment', name='feekind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('dated_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_fees_created_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['records_requests.id'], name=op.f('fk_fees_request_id_records_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fees'))
    )
    with op.batch_alter_table('fees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fees_request_id'), ['request_id'], unique=False)

    op.create_table('request_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'released', 'partial', 'withheld', 'no_records', 'clarification', 'withdrawn', name='itemstate', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['records_requests.id'], name=op.f('fk_request_items_request_id_records_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_items'))
    )
    with op.batch_alter_table('request_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_items_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_request_items_state'), ['state'], unique=False)

    op.create_table('item_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('pending', 'released', 'partial', 'withheld', 'no_records', 'clarification', 'withdrawn', name='itemoutcome', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['request_items.id'], name=op.f('fk_item_answers_item_id_request_items')),
    sa.ForeignKeyConstraint(['response_id'], ['agency_responses.id'], name=op.f('fk_item_answers_response_id_agency_responses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_answers'))
    )
    with op.batch_alter_table('item_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_answers_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_answers_response_id'), ['response_id'], unique=False)

    op.create_table('exemption_citations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('law', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('not_an_exemption', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['item_answers.id'], name=op.f('fk_exemption_citations_answer_id_item_answers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exemption_citations'))
    )
    with op.batch_alter_table('exemption_citations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exemption_citations_answer_id'), ['answer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exemption_citations_code'), ['code'], unique=False)

    op.create_table('document_items',
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_items_document_id_documents')),
    sa.ForeignKeyConstraint(['item_id'], ['request_items.id'], name=op.f('fk_document_items_item_id_request_items')),
    sa.PrimaryKeyConstraint('document_id', 'item_id', name=op.f('pk_document_items'))
    )
    with op.batch_alter_table('agency_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('installment', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('next_promised_on', sa.Date(), nullable=True))

    with op.batch_alter_table('agency_responses', schema=None) as batch_op:
        batch_op.alter_column('installment', server_default=None)

    one_item_each(op.get_bind())


# A request's status at this revision, and the state its one item starts in.
ITEM_STATE_OF_STATUS = {
    'fulfilled': 'released',
    'partially_fulfilled': 'partial',
    'denied': 'withheld',
    'no_records': 'no_records',
    'withdrawn': 'withdrawn',
}


def one_item_each(bind):
    """Every request so far becomes one item holding its records sought, nothing lost."""
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    items = sa.table(
        'request_items',
        sa.column('request_id', sa.Integer), sa.column('position', sa.Integer),
        sa.column('description', sa.Text), sa.column('state', sa.String),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('updated_at', sa.DateTime(timezone=True)),
    )
    rows = bind.execute(sa.text(
        'SELECT id, title, records_sought, status FROM records_requests ORDER BY id'
    )).mappings().all()
    values = [
        {
            'request_id': row['id'],
            'position': 1,
            'description': row['records_sought'] or row['title'],
            'state': ITEM_STATE_OF_STATUS.get(row['status'], 'pending'),
            'created_at': now,
            'updated_at': now,
        }
        for row in rows
    ]
    if values:
        bind.execute(items.insert(), values)



def downgrade():
    with op.batch_alter_table('agency_responses', schema=None) as batch_op:
        batch_op.drop_column('next_promised_on')
        batch_op.drop_column('installment')

    op.drop_table('document_items')
    with op.batch_alter_table('exemption_citations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exemption_citations_code'))
        batch_op.drop_index(batch_op.f('ix_exemption_citations_answer_id'))

    op.drop_table('exemption_citations')
    with op.batch_alter_table('item_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_answers_response_id'))
        batch_op.drop_index(batch_op.f('ix_item_answers_item_id'))

    op.drop_table('item_answers')
    with op.batch_alter_table('request_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_items_state'))
        batch_op.drop_index(batch_op.f('ix_request_items_request_id'))

    op.drop_table('request_items')
    with op.batch_alter_table('fees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fees_request_id'))

    op.drop_table('fees')
