"""Agencies get the article used before their name, a fax and a salutation, and the offices
an administrative appeal and a pre-litigation demand go to.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

COLUMNS = (
    ('article', sa.String(length=10)),
    ('fax', sa.String(length=60)),
    ('salutation', sa.String(length=200)),
    ('appeal_office', sa.String(length=300)),
    ('appeal_address', sa.Text()),
    ('appeal_email', sa.String(length=254)),
    ('appeal_portal_url', sa.String(length=500)),
    ('appeal_salutation', sa.String(length=200)),
    ('counsel_office', sa.String(length=300)),
    ('counsel_address', sa.Text()),
    ('counsel_email', sa.String(length=254)),
    ('counsel_salutation', sa.String(length=200)),
)


def upgrade():
    # Agencies kept before this have none of these yet: empty until someone fills them in.
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=False, server_default=''))

    with op.batch_alter_table('agencies', schema=None) as batch_op:
        for name, _type in COLUMNS:
            batch_op.alter_column(name, server_default=None)


def downgrade():
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        for name, _type in reversed(COLUMNS):
            batch_op.drop_column(name)
