"""Search: the full-text index (FTS5 on SQLite, a tsvector with GIN on PostgreSQL).

The index is derived data kept by tracker/search/engine.py, not a model: the
table is made here by hand and left out of the comparison of models and
migrations. Existing rows are indexed once on the way up.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        op.execute(
            "CREATE VIRTUAL TABLE search_index USING fts5("
            "kind UNINDEXED, ref_id UNINDEXED, request_id UNINDEXED, page UNINDEXED, "
            "occurred_on UNINDEXED, title, body, tokenize='porter unicode61')"
        )
    else:
        op.execute(
            "CREATE TABLE search_entries ("
            "id BIGSERIAL PRIMARY KEY, "
            "kind VARCHAR(20) NOT NULL, "
            "ref_id INTEGER NOT NULL, "
            "request_id INTEGER NOT NULL, "
            "page INTEGER, "
            "occurred_on DATE, "
            "title TEXT NOT NULL DEFAULT '', "
            "body TEXT NOT NULL DEFAULT '', "
            "search_vector TSVECTOR GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', title), 'A') || "
            "setweight(to_tsvector('english', body), 'B')) STORED)"
        )
        op.execute(
            "CREATE INDEX ix_search_entries_search_vector ON search_entries "
            "USING gin (search_vector)"
        )
        op.execute("CREATE INDEX ix_search_entries_kind_ref_id ON search_entries (kind, ref_id)")
        op.execute("CREATE INDEX ix_search_entries_request_id ON search_entries (request_id)")
    backfill(bind)


# The columns as they are at this revision; later migrations do not change them here.
SOURCES = [
    ('request', 'request_entries',
     'SELECT id, reference, title, records_sought, agency_tracking_number, sent_on, created_at '
     'FROM records_requests'),
    ('note', 'event_entries',
     'SELECT id, request_id, kind, note, occurred_at FROM request_events'),
    ('response', 'response_entries',
     'SELECT id, request_id, kind, summary, exemptions, agency_tracking_number, received_on '
     'FROM agency_responses'),
    ('letter', 'letter_entries',
     'SELECT id, request_id, subject, document_html, field_values, letter_date, created_at '
     'FROM letters'),
    ('document', 'document_entries',
     'SELECT id, request_id, title, original_filename, media_type, text, deleted_at, '
     'document_date, uploaded_at FROM documents'),
]


def backfill(bind):
    import json

    from tracker.search import engine

    for kind, builder, query in SOURCES:
        for row in bind.execute(sa.text(query)).mappings():
            values = dict(row)
            if isinstance(values.get('field_values'), str):
                values['field_values'] = json.loads(values['field_values'])
            entries = getattr(engine, builder)(_Row(values))
            engine.write(bind, kind, values['id'], entries)


class _Row:
    def __init__(self, values):
        self.__dict__.update(values)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TABLE search_index')
    else:
        op.execute('DROP TABLE search_entries')
