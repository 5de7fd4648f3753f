"""The migration chain builds exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tracker.extensions import db
from tracker.search.engine import outside_search_index


def schema_differences() -> list[object]:
    with db.engine.connect() as connection:
        # The search index is made by hand in a migration and has no model: leave it out.
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_name": outside_search_index,
            },
        )
        return list(compare_metadata(context, db.metadata))


def test_the_migrated_database_matches_the_models(app):
    # The test database was built by running every migration.
    assert schema_differences() == []


def test_the_chain_goes_down_to_nothing_and_back_up(app):
    downgrade(revision="base")
    with db.engine.connect() as connection:
        tables = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    assert schema_differences() == []


def test_emails_filed_before_search_knew_of_them_are_found_after_the_upgrade(app, make_request):
    from tracker.search.engine import search

    record = make_request()
    db.session.commit()
    downgrade(revision="0011")
    with db.engine.begin() as connection:
        connection.execute(
            db.text(
                "INSERT INTO correspondence (request_id, direction, state, message_id, "
                'in_reply_to, "references", from_address, to_addresses, subject, sent_at, '
                "text, notes, raw_sha256, raw_size, raw_storage_backend, raw_storage_key, "
                "source, discard_reason, created_at) VALUES (:request, 'in', 'filed', '', '', "
                "'', 'records@agency.example', '', 'Your request', NULL, "
                "'The ledger of QUOKKAPLANS is attached.', '', :sha, 10, 'local', 'k1', "
                "'upload', '', :now)"
            ),
            {"request": record.id, "sha": "a" * 64, "now": "2026-11-30 17:00:00"},
        )
    upgrade()
    hits = search(db.session(), "quokkaplans")
    assert [(hit.kind, hit.reference) for hit in hits] == [("mail", record.reference)]


def test_each_request_so_far_becomes_one_item_holding_its_records_sought(app, make_request):
    from tracker.items.models import ItemState, RequestItem
    from tracker.requests.models import RequestStatus

    asked = make_request(records_sought="1. The reports.\n2. The ICE requests behind them.")
    untyped = make_request(title="Jail transfer logs", records_sought="")
    released = make_request(records_sought="Special Order 40.", status=RequestStatus.FULFILLED)
    db.session.commit()
    downgrade(revision="0012")
    upgrade()
    items = {item.request_id: item for item in db.session.scalars(db.select(RequestItem)).all()}
    assert len(items) == 3
    assert items[asked.id].description == "1. The reports.\n2. The ICE requests behind them."
    assert items[asked.id].position == 1 and items[asked.id].state is ItemState.PENDING
    assert items[untyped.id].description == "Jail transfer logs"
    assert items[released.id].state is ItemState.RELEASED
