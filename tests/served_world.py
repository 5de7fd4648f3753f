"""A realistic data set for the served app: what a coalition's tracker holds after a season.

Several agencies (the shipped directory), a member organization, one account per
role, requests in every section of the board (enough overdue ones for a second
page), a group drafted to two agencies, finalized and sent letters, responses
with released documents of several kinds, notes, tags and an agency closure.
It is written through the tracker's own services, into the database and the
instance folder a ``LiveTracker`` serves.
"""

import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from tracker import create_app
from tracker.agencies.models import Agency
from tracker.auth.models import Role, User
from tracker.auth.services import create_user
from tracker.deadlines.feed import renew_feed_token
from tracker.deadlines.models import AgencyCalendarDay, DayKind
from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
from tracker.documents.services import log_response, store_files
from tracker.extensions import db
from tracker.fees.services import FeeValues, record_fee
from tracker.items.models import FeeKind
from tracker.letters.document import Sender
from tracker.letters.models import Channel
from tracker.letters.services import draft_requests, finalize, library, mark_sent
from tracker.publishing.models import DocumentPublication, RequestPublication
from tracker.requests.models import Organization, RecordsRequest, RequestStatus
from tracker.requests.services import RequestValues, add_note, create_request, normalise_tags
from tracker.series.models import Cadence, RequestSeries, SeriesPeriod
from tracker.series.services import named_reports
from tracker.sqltypes import utcnow

PASSWORD = "a long passphrase for the served app"
# One account per role: (email, name).
PEOPLE = {
    Role.ADMIN: ("ada@coalition.example", "Ada Admin"),
    Role.STAFF: ("sam@coalition.example", "Sam Staff"),
    Role.ADVOCATE: ("alma@coalition.example", "Alma Advocate"),
    Role.VIEWER: ("vera@coalition.example", "Vera Viewer"),
}
OVERDUE = 28  # more than a page of 25
RARE_WORD = "axolotl"  # only inside one released PDF


@dataclass
class World:
    today: date
    references: dict[str, list[str]] = field(default_factory=dict)
    documents: int = 0


def released_pdf(*paragraphs: str) -> bytes:
    from weasyprint import HTML

    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return HTML(string=f"<html><body>{body}</body></html>").write_pdf()


def spreadsheet() -> bytes:
    return b"date,requesting agency,request,answer\n2026-03-02,ICE,interview,declined\n"


def archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        handle.writestr("log.csv", spreadsheet())
    return buffer.getvalue()


def build_world(instance: Path, database_url: str, today: date) -> World:
    app = create_app({"INSTANCE_PATH": str(instance), "DATABASE_URL": database_url})
    with app.app_context():
        try:
            return _build(today)
        finally:
            db.session.remove()
            db.engine.dispose()


def _build(today: date) -> World:
    world = World(today=today)
    people = {
        role: create_user(email, name, role, PASSWORD) for role, (email, name) in PEOPLE.items()
    }
    second_staff = create_user("sol@coalition.example", "Sol Staff", Role.STAFF, PASSWORD)
    for person in (people[Role.STAFF], people[Role.ADVOCATE]):
        renew_feed_token(person)
    agencies = {a.short_name: a for a in db.session.scalars(select(Agency))}
    lapd, commission, lasd, ice = (
        agencies["LAPD"],
        agencies["Police Commission"],
        agencies["LASD"],
        agencies["ICE"],
    )
    organization = Organization(
        name="Coalition for Humane Immigrant Rights",
        mailing_address="2533 W 3rd St\nLos Angeles, CA 90057",
        email="records@coalition.example",
        signers="Alma Advocate, Staff Attorney\nAna Ruiz, Policy Director",
    )
    db.session.add(organization)
    db.session.add(
        AgencyCalendarDay(
            agency_id=lapd.id,
            day=today - timedelta(days=20),
            kind=DayKind.CLOSED,
            note="City furlough day",
            created_by_id=people[Role.STAFF].id,
        )
    )
    db.session.flush()

    def request(key: str, title: str, agency: Agency, by: User, **values: object) -> RecordsRequest:
        record = create_request(
            RequestValues(title=title, agency=agency, organization=organization, **values),  # type: ignore[arg-type]
            by,
        )
        world.references.setdefault(key, []).append(record.reference)
        return record

    assignees = [people[Role.STAFF], second_staff, people[Role.ADVOCATE], None]
    for number in range(OVERDUE):
        record = request(
            "overdue",
            f"Commission reports on ICE requests, part {number + 1}",
            lapd if number % 3 else commission,
            people[Role.ADVOCATE],
            status=RequestStatus.SENT if number % 4 else RequestStatus.ACKNOWLEDGED,
            sent_on=today - timedelta(days=30 + number),
            received_on=today - timedelta(days=28 + number),
            assignee=assignees[number % 4],
            tags=normalise_tags("ice, commission" if number % 2 else "ice"),
            agency_tracking_number=f"R{26000 + number}",
        )
    add_note(
        record, "Called the records unit; they promised an answer next week.", people[Role.STAFF]
    )
    for number in range(3):
        request(
            "due_soon",
            f"Detainer requests received, {2024 + number}",
            lasd,
            people[Role.STAFF],
            status=RequestStatus.SENT,
            sent_on=today - timedelta(days=4 + number),
            received_on=today - timedelta(days=3 + number),
            assignee=people[Role.STAFF],
            tags=normalise_tags("detainers"),
        )
    for number in range(2):
        request(
            "past_promised",
            f"Task force agreements with HSI, batch {number + 1}",
            lapd,
            people[Role.ADVOCATE],
            status=RequestStatus.RECORDS_DUE,
            sent_on=today - timedelta(days=60),
            received_on=today - timedelta(days=58),
            determination_on=today - timedelta(days=45),
            records_promised_on=today - timedelta(days=5 + number),
            assignee=people[Role.ADVOCATE],
        )
    waiting = request(
        "waiting",
        "U-visa certification decisions",
        lapd,
        people[Role.ADVOCATE],
        status=RequestStatus.WAITING_ON_US,
        sent_on=today - timedelta(days=25),
        received_on=today - timedelta(days=24),
    )
    db.session.flush()
    log_response(
        waiting,
        AgencyResponse(
            kind=ResponseKind.CLARIFICATION,
            received_on=today - timedelta(days=10),
            channel=ResponseChannel.EMAIL,
            summary="Asks which divisions we mean.",
        ),
        [],
        people[Role.ADVOCATE],
    )
    # A fee estimate on it, so the crawl finds a fee step to open.
    estimate = FeeValues(
        FeeKind.ESTIMATE, Decimal("18.40"), today - timedelta(days=9), "Duplication, 184 pages"
    )
    record_fee(waiting, estimate, people[Role.ADVOCATE])
    answered = request(
        "answered",
        "Place-of-birth fields at booking",
        lapd,
        people[Role.ADVOCATE],
        status=RequestStatus.SENT,
        sent_on=today - timedelta(days=20),
        received_on=today - timedelta(days=19),
        assignee=people[Role.ADVOCATE],
        tags=normalise_tags("booking"),
    )
    db.session.flush()
    result = log_response(
        answered,
        AgencyResponse(
            kind=ResponseKind.PARTIAL_RELEASE,
            received_on=today - timedelta(days=4),
            channel=ResponseChannel.PORTAL,
            agency_tracking_number="R26-1184",
            summary="First installment; the rest by December.",
            exemptions="Gov. Code § 7922.000",
        ),
        [
            (
                "booking-fields.pdf",
                io.BytesIO(
                    released_pdf(
                        "Booking data dictionary.", f"The {RARE_WORD} field is no longer collected."
                    )
                ),
            ),
            ("interview-log.csv", io.BytesIO(spreadsheet())),
            ("attachments.zip", io.BytesIO(archive())),
        ],
        people[Role.ADVOCATE],
    )
    world.documents += len(result.stored)
    booking = result.stored[0]
    request(
        "foia",
        "ICE communications with LAPD",
        ice,
        people[Role.ADVOCATE],
        status=RequestStatus.SENT,
        sent_on=today - timedelta(days=12),
        received_on=today - timedelta(days=12),
    )
    closed = request(
        "closed",
        "Immigration directives, 2019 to 2025",
        lapd,
        people[Role.STAFF],
        status=RequestStatus.FULFILLED,
        sent_on=today - timedelta(days=90),
        received_on=today - timedelta(days=88),
        determination_on=today - timedelta(days=70),
        closed_on=today - timedelta(days=60),
    )
    db.session.flush()
    result = store_files(
        closed,
        [("directives.pdf", io.BytesIO(released_pdf("Special Order 40, as amended.")))],
        people[Role.STAFF],
    )
    world.documents += len(result.stored)

    # Letters: a group drafted to the Commission and LAPD from the shipped template;
    # one is finalized and sent, the other stays a draft.
    template = library().get("cpra-police-commission-ice-collaboration")
    sender = Sender(
        name="Alma Advocate",
        organization=organization.name,
        address=organization.mailing_address,
        email=organization.email,
        signature="Alma Advocate, Staff Attorney",
    )
    drafted = draft_requests(
        template,
        template.example_values(),
        [commission, lapd],
        sender,
        organization,
        "Commission reports on ICE collaboration, this year",
        people[Role.ADVOCATE],
    )
    db.session.flush()
    world.references["drafted"] = [r.reference for r in drafted]
    sent = drafted[0]
    finalize(sent.letters[0], sent, people[Role.ADVOCATE], today - timedelta(days=2))
    mark_sent(
        sent.letters[0], sent, today - timedelta(days=2), Channel.EMAIL, people[Role.ADVOCATE]
    )
    # The public records room: the answered request with one of its documents (the others
    # wait for review), and the Commission's letter repeating each quarter, a report owed.
    db.session.add(RequestPublication(request_id=answered.id, summary="Booking fields."))
    db.session.add(DocumentPublication(document_id=booking.id))
    series = RequestSeries(
        source_request_id=sent.id, template_slug=template.slug, field_values={},
        agency_id=sent.agency_id, cadence=Cadence.QUARTER,
        first_start_on=today - timedelta(days=100), assignee_id=people[Role.STAFF].id,
        report_name=named_reports()[0], created_by_id=people[Role.STAFF].id,
        published_at=utcnow(),
    )  # fmt: skip
    db.session.add(series)
    db.session.flush()
    db.session.add(
        SeriesPeriod(
            series_id=series.id,
            start_on=today - timedelta(days=100),
            end_on=today - timedelta(days=10),
        )  # fmt: skip
    )
    db.session.commit()
    return world
