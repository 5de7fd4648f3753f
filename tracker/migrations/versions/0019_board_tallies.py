"""The board's counts: how many requests are due, promised and answered on each day,
kept by triggers on records_requests in the same transaction as every write, so that
"Overdue" and the other sections are counted from a few hundred days, not every request;
and indexes for the board filtered by person and agency, and by a tag.

A batch migration that copies records_requests on SQLite drops its triggers: such a
migration must create them again (sqlite_triggers below).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# The statuses the board leaves out of "Overdue", "Due soon" and "Past the promised
# date" (tracker.deadlines.board.PAUSED, as of this revision): a later change to that
# list needs a migration that changes these triggers and counts the tallies again.
PAUSED = "('draft', 'waiting_on_us', 'fulfilled', 'denied', 'no_records', 'withdrawn', 'abandoned')"

# kind: (the day it is counted on, when a row counts), for a row called X. Requests
# waiting on us by status are counted whatever their dates, on one day that stands for all.
ANY_DAY = "ANY_DAY"
KINDS = {
    'due': ('X.due_on', f"X.determination_on IS NULL AND X.status NOT IN {PAUSED}"),
    'promised': ('X.records_promised_on', f"X.status NOT IN {PAUSED}"),
    'answered': ('X.determination_on', "TRUE"),
    'waiting': (ANY_DAY, "X.status = 'waiting_on_us'"),
}
WATCHED = "status, determination_on, due_on, records_promised_on"
# The advisory lock the PostgreSQL trigger takes (a number of the tracker's own).
TALLY_LOCK = 190019


def counts_of(row, kind):
    """The day a row called ``row`` is counted on, and when it counts."""
    # A date literal: SQLite keeps dates as text; PostgreSQL needs to be told it is one.
    literal = "DATE '2000-01-01'" if op.get_bind().dialect.name == 'postgresql' else "'2000-01-01'"
    day, condition = (
        part.replace('X.', row + '.').replace(ANY_DAY, literal) for part in KINDS[kind]
    )
    return day, f"{day} IS NOT NULL AND ({condition})"


def sqlite_triggers():
    def add(kind):
        column, condition = counts_of('NEW', kind)
        return (
            f"INSERT INTO board_tallies (kind, day, requests) SELECT '{kind}', {column}, 1 "
            f"WHERE {condition} "
            "ON CONFLICT (kind, day) DO UPDATE SET requests = requests + 1;"
        )

    def remove(kind):
        column, condition = counts_of('OLD', kind)
        return (
            f"UPDATE board_tallies SET requests = requests - 1 "
            f"WHERE kind = '{kind}' AND day = {column} AND {condition};"
        )

    adds = " ".join(add(kind) for kind in KINDS)
    removes = " ".join(remove(kind) for kind in KINDS)
    return [
        f"CREATE TRIGGER board_tallies_insert AFTER INSERT ON records_requests BEGIN {adds} END",
        f"CREATE TRIGGER board_tallies_delete AFTER DELETE ON records_requests BEGIN {removes} END",
        f"CREATE TRIGGER board_tallies_update AFTER UPDATE OF {WATCHED} ON records_requests "
        f"BEGIN {removes} {adds} END",
    ]


def postgresql_triggers():
    def add(kind):
        column, condition = counts_of('NEW', kind)
        return (
            f"IF TG_OP <> 'DELETE' AND {condition} THEN "
            f"INSERT INTO board_tallies (kind, day, requests) VALUES ('{kind}', {column}, 1) "
            "ON CONFLICT (kind, day) DO UPDATE SET requests = board_tallies.requests + 1; "
            "END IF;"
        )

    def remove(kind):
        column, condition = counts_of('OLD', kind)
        return (
            f"IF TG_OP <> 'INSERT' AND {condition} THEN "
            f"UPDATE board_tallies SET requests = requests - 1 "
            f"WHERE kind = '{kind}' AND day = {column}; END IF;"
        )

    # Two requests changed at once may move between the same two days in opposite
    # directions, each transaction then holding one day's row and waiting for the other's:
    # a deadlock, and one of the changes refused. One lock for every change to the
    # tallies, held to the end of the transaction, makes them wait their turn instead.
    lock = f"PERFORM pg_advisory_xact_lock({TALLY_LOCK});"
    body = " ".join([lock, *(remove(kind) for kind in KINDS), *(add(kind) for kind in KINDS)])
    return [
        "CREATE FUNCTION board_tallies_count() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {body} RETURN NULL; END $$",
        "CREATE TRIGGER board_tallies_count AFTER INSERT OR DELETE OR UPDATE OF "
        f"{WATCHED} ON records_requests FOR EACH ROW EXECUTE FUNCTION board_tallies_count()",
    ]


def upgrade():
    op.create_table('board_tallies',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'day', name=op.f('pk_board_tallies'))
    )
    for kind in KINDS:
        column, condition = counts_of('records_requests', kind)
        op.execute(
            f"INSERT INTO board_tallies (kind, day, requests) "
            f"SELECT '{kind}', {column}, COUNT(*) FROM records_requests "
            f"WHERE {condition} GROUP BY 2"
        )
    op.create_index('ix_records_requests_assignee_agency', 'records_requests', ['assignee_id', 'agency_id'])
    op.create_index(
        'ix_records_requests_tagged', 'records_requests',
        ['tags', 'status', 'determination_on', 'due_on', 'records_promised_on'],
        sqlite_where=sa.text("tags != ''"), postgresql_where=sa.text("tags != ''"),
    )
    dialect = op.get_bind().dialect.name
    for statement in postgresql_triggers() if dialect == 'postgresql' else sqlite_triggers():
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER board_tallies_count ON records_requests")
        op.execute("DROP FUNCTION board_tallies_count()")
    else:
        for name in ('insert', 'delete', 'update'):
            op.execute(f"DROP TRIGGER board_tallies_{name}")
    op.drop_index('ix_records_requests_tagged', table_name='records_requests')
    op.drop_index('ix_records_requests_assignee_agency', table_name='records_requests')
    op.drop_table('board_tallies')
