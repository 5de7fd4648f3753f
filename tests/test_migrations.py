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


def test_the_scorecards_figures_of_every_request_so_far_are_worked_out_by_the_upgrade(
    app, make_request, make_agency
):
    from datetime import date

    from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
    from tracker.items.models import ExemptionCitation, ItemAnswer, ItemState, RequestItem
    from tracker.requests.models import RequestStatus
    from tracker.scorecards.models import CitationFigures, RequestFigures

    def stored():
        requests = db.session.execute(db.select(RequestFigures.__table__)).all()
        cited = db.session.execute(
            db.select(*(c for c in CitationFigures.__table__.c if c.name != "id"))
        ).all()
        return sorted(map(tuple, requests)), sorted(map(tuple, cited))

    lapd = make_agency(name="Los Angeles Police Department", law="ca-cpra")
    decided = make_request(agency=lapd, sent_on=date(2026, 10, 1), received_on=date(2026, 10, 2),
                           status=RequestStatus.PARTIALLY_FULFILLED, tags=",ice,")  # fmt: skip
    make_request(agency=lapd, sent_on=date(2026, 11, 2), status=RequestStatus.SENT)
    make_request(agency=lapd, title="A draft")
    responses = [
        AgencyResponse(request_id=decided.id, kind=kind, received_on=date(2026, 10, day),
                       channel=ResponseChannel.EMAIL)
        for kind, day in ((ResponseKind.DETERMINATION, 12), (ResponseKind.PARTIAL_RELEASE, 30))
    ]  # fmt: skip
    db.session.add_all(responses)
    db.session.flush()
    [item] = db.session.scalars(db.select(RequestItem).where(RequestItem.request_id == decided.id))
    item.state = ItemState.WITHHELD
    answer = ItemAnswer(response_id=responses[0].id, item_id=item.id, outcome=ItemState.WITHHELD)
    db.session.add(answer)
    db.session.flush()
    db.session.add_all([
        ExemptionCitation(answer_id=answer.id, law="ca-cpra", code="7923.600"),
        ExemptionCitation(answer_id=answer.id, law="ca-cpra", reason="overly broad",
                          not_an_exemption=True),
    ])  # fmt: skip
    db.session.commit()
    before = stored()
    assert len(before[0]) == 3 and len(before[1]) == 2
    assert (decided.id, 10, 28) in {(row[0], row[5], row[6]) for row in before[0]}
    # The reads' transaction ends, or PostgreSQL's DROP TABLE waits for it.
    db.session.rollback()
    downgrade(revision="0013")
    upgrade()
    assert stored() == before
