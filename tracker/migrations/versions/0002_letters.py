"""Letters: drafts and frozen letters on requests, groups of requests, remembered requesters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('request_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_request_groups_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_groups'))
    )
    op.create_table('requester_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organization_key', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=60), nullable=False),
    sa.Column('signature', sa.String(length=300), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_requester_profiles_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requester_profiles')),
    sa.UniqueConstraint('user_id', 'organization_key', name='uq_requester_profiles_user_org')
    )
    with op.batch_alter_table('requester_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requester_profiles_user_id'), ['user_id'], unique=False)

    op.create_table('letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('template_slug', sa.String(length=80), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('template_hash', sa.String(length=32), nullable=False),
    sa.Column('field_values', sa.JSON(), nullable=False),
    sa.Column('sender', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('draft', 'final', 'sent', name='letterstate', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('document_html', sa.Text(), nullable=False),
    sa.Column('letter_date', sa.Date(), nullable=True),
    sa.Column('finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finalized_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_on', sa.Date(), nullable=True),
    sa.Column('sent_via', sa.Enum('mail', 'email', 'portal', 'fax', 'in_person', name='channel', native_enum=False, create_constraint=True, length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_letters_created_by_id_users')),
    sa.ForeignKeyConstraint(['finalized_by_id'], ['users.id'], name=op.f('fk_letters_finalized_by_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['records_requests.id'], name=op.f('fk_letters_request_id_records_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letters'))
    )
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letters_request_id'), ['request_id'], unique=False)

    with op.batch_alter_table('records_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_records_requests_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_records_requests_group_id_request_groups'), 'request_groups', ['group_id'], ['id'])




def downgrade():

    with op.batch_alter_table('records_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_records_requests_group_id_request_groups'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_records_requests_group_id'))
        batch_op.drop_column('group_id')

    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letters_request_id'))

    op.drop_table('letters')
    with op.batch_alter_table('requester_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requester_profiles_user_id'))

    op.drop_table('requester_profiles')
    op.drop_table('request_groups')

