"""Staff put a sent request and, one by one, its released documents in the public records
room, at once or under an embargo, after reading what looks personal; and take them out
again, saying why. Each step is on the request's timeline with who took it."""

import html
import io
import re
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import post_form
from tracker.auth.models import Role
from tracker.documents.models import Document, TextState
from tracker.documents.services import store_files
from tracker.extensions import db
from tracker.publishing.models import DocumentPublication, RequestPublication
from tracker.publishing.services import lift_embargoes
from tracker.requests.models import RequestEvent, RequestStatus

TODAY = date(2026, 12, 14)
REPORT = (
    "Quarterly report to the Police Commission. 14 requests to collaborate with ICE, none granted."
)
PERSONAL = (
    "Transfer of <script>alert(1)</script> subject A-123-456-789 to ICE custody, "
    "booked at the Metropolitan Detention Center."
)


@pytest.fixture
def app(make_app):
    app = make_app(TODAY=TODAY)
    with app.app_context():
        yield app


@pytest.fixture
def staff(make_user):
    return make_user(Role.STAFF, name="Sam Staff")


@pytest.fixture
def record(make_user, make_agency, make_request):
    commission = make_agency(name="Board of Police Commissioners", short_name="BOPC")
    return make_request(
        title="Chief's reports on ICE collaboration",
        agency=commission,
        created_by=make_user(Role.ADVOCATE),
        status=RequestStatus.SENT,
        sent_on=date(2026, 11, 2),
        received_on=date(2026, 11, 2),
    )


def add_document(record, user, name, text):
    document = store_files(record, [(name, io.BytesIO(text.encode()))], user).stored[0]
    db.session.commit()
    assert document.text_state == TextState.DONE
    return document


@pytest.fixture
def report(record, staff):
    return add_document(record, staff, "q3-report.txt", REPORT)


@pytest.fixture
def signed_in(client, auth, staff):
    auth.login(staff)
    return client


def page(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return html.unescape(response.get_data(as_text=True))


def publish_request(client, record, summary=""):
    base = f"/requests/{record.reference}"
    return post_form(client, f"{base}/publication", {"summary": summary}, token_from=base)


def publish_document(client, document, **fields):
    path = f"/documents/{document.id}/publication"
    return post_form(client, path, {"when": "now", "embargo_until": "", **fields})


def unpublish(client, document, reason):
    path = f"/documents/{document.id}/publication/withdraw"
    return post_form(client, path, {"reason": reason})


def publication_of(record):
    return db.session.scalar(
        select(RequestPublication).where(RequestPublication.request_id == record.id)
    )


def document_publication(document):
    return db.session.scalar(
        select(DocumentPublication).where(DocumentPublication.document_id == document.id)
    )


def notes(record):
    return [
        (event.actor.name if event.actor else None, event.note)
        for event in db.session.scalars(
            select(RequestEvent)
            .where(RequestEvent.request_id == record.id, RequestEvent.kind == "publishing")
            .order_by(RequestEvent.id)
        )
    ]


# A request ------------------------------------------------------------------------------


def test_staff_publish_a_sent_request_and_see_its_public_address(signed_in, record, staff):
    shown = page(signed_in, f"/requests/{record.reference}")
    assert 'id="public-room"' in shown and "Not public." in shown
    response = publish_request(signed_in, record, "The Chief's quarterly reports.")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/requests/{record.reference}#public-room")

    publication = publication_of(record)
    assert publication.summary == "The Chief's quarterly reports."
    assert publication.published_by_id == staff.id and publication.withdrawn_at is None
    shown = page(signed_in, f"/requests/{record.reference}")
    assert f'href="/public/requests/{publication.public_key}"' in shown
    assert "Save the public summary" in shown and "Withdraw from the public room" in shown
    assert notes(record) == [("Sam Staff", "Published the request in the public records room.")]
    assert "changed what the public records room shows" in shown


def test_a_draft_is_not_offered_for_publishing_nor_published(signed_in, make_request):
    draft = make_request()
    shown = page(signed_in, f"/requests/{draft.reference}")
    assert "this one is still a draft" in shown
    assert "Publish this request" not in shown
    response = publish_request(signed_in, draft)
    assert response.status_code == 302
    assert publication_of(draft) is None
    assert "A draft is not published" in page(signed_in, f"/requests/{draft.reference}")


def test_a_summary_too_long_is_refused_at_the_field_and_kept(signed_in, record):
    long = "Reports. " * 500
    response = publish_request(signed_in, record, long)
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    assert 'id="summary-error"' in shown and "Keep the summary under 4,000 characters." in shown
    assert long.strip() in shown
    assert publication_of(record) is None


def test_withdrawing_needs_a_reason_and_publishing_again_keeps_the_address(
    signed_in, record, staff
):
    publish_request(signed_in, record)
    key = publication_of(record).public_key
    base = f"/requests/{record.reference}"

    response = post_form(
        signed_in, f"{base}/publication/withdraw", {"reason": "  "}, token_from=base
    )
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    assert 'id="reason-error"' in shown
    assert "Say why the request is withdrawn from the public room." in shown
    assert publication_of(record).withdrawn_at is None

    response = post_form(
        signed_in, f"{base}/publication/withdraw", {"reason": "Names a minor"}, token_from=base
    )
    assert response.status_code == 302
    publication = publication_of(record)
    assert publication.withdrawn_at is not None and publication.withdrawn_by_id == staff.id
    assert publication.withdraw_reason == "Names a minor"
    shown = page(signed_in, base)
    assert "Withdrawn from the public room" in shown and "“Names a minor”" in shown
    assert "Publish this request again" in shown

    first_published = publication.published_at
    assert publish_request(signed_in, record, "Back").status_code == 302
    publication = publication_of(record)
    assert publication.public_key == key
    assert publication.withdrawn_at is None and publication.withdraw_reason == ""
    assert publication.published_at >= first_published and publication.summary == "Back"
    assert db.session.scalar(select(func.count(RequestPublication.id))) == 1
    assert [note for _, note in notes(record)][1:] == [
        "Withdrew the request from the public records room; none of its documents are public "
        "while it is withdrawn. Reason: Names a minor",
        "Published the request in the public records room again, at its old address.",
    ]


def test_changing_the_summary_is_on_the_timeline_with_the_old_and_new_words(signed_in, record):
    publish_request(signed_in, record, "First words")
    publish_request(signed_in, record, "Better words")
    event = db.session.scalars(
        select(RequestEvent).where(RequestEvent.kind == "publishing").order_by(RequestEvent.id)
    ).all()[-1]
    assert event.changes == [
        {"field": "Public summary", "old": "First words", "new": "Better words"}
    ]
    assert publication_of(record).summary == "Better words"


# A document -----------------------------------------------------------------------------


def test_a_document_waits_for_its_request_to_be_published(signed_in, record, report):
    shown = page(signed_in, f"/requests/{record.reference}")
    assert "Documents can be published only once the request is published" in shown
    assert f"/documents/{report.id}/publication" not in shown
    review = page(signed_in, f"/documents/{report.id}/publication")
    assert "Publish the request first" in review and "Publish the document" not in review
    response = publish_document(signed_in, report, token_from=f"/documents/{report.id}")
    assert response.status_code == 302
    assert document_publication(report) is None


def test_a_document_with_nothing_personal_is_published_now(signed_in, record, report, staff):
    publish_request(signed_in, record)
    shown = page(signed_in, f"/requests/{record.reference}")
    assert "Not public" in shown and "Review and publish" in shown

    review = page(signed_in, f"/documents/{report.id}/publication")
    assert "Nothing that looks personal was found" in review
    assert f'href="/documents/{report.id}"' in review
    assert "I have read what was found" not in review
    response = publish_document(signed_in, report)
    assert response.status_code == 302

    publication = document_publication(report)
    assert publication.embargo_until is None and publication.findings_seen == 0
    assert publication.published_by_id == staff.id
    shown = page(signed_in, f"/requests/{record.reference}")
    assert "Public since December 14, 2026" in shown
    assert f'href="/public/documents/{publication.public_key}"' in shown
    assert "Unpublish…" in shown
    assert notes(record)[-1] == ("Sam Staff", "Published “q3-report” in the public records room.")


def test_an_embargo_needs_a_day_after_today_told_at_the_field(signed_in, record, report):
    publish_request(signed_in, record)
    for typed, message in [
        ("", "Enter the day the document becomes public."),
        ("2026-12-14", "Choose a day after today (December 14, 2026)."),
        ("2026-12-01", "Choose a day after today (December 14, 2026)."),
    ]:
        response = publish_document(signed_in, report, when="embargo", embargo_until=typed)
        assert response.status_code == 200, typed
        shown = html.unescape(response.get_data(as_text=True))
        assert 'id="embargo_until-error"' in shown and message in shown, typed
        assert f'value="{typed}"' in shown
        assert re.search(r'<input checked[^>]* value="embargo"', shown), typed
    assert document_publication(report) is None

    response = publish_document(signed_in, report, when="embargo", embargo_until="2026-12-21")
    assert response.status_code == 302
    assert document_publication(report).embargo_until == date(2026, 12, 21)
    shown = page(signed_in, f"/requests/{record.reference}")
    assert "Embargoed until December 21, 2026" in shown
    assert notes(record)[-1][1] == (
        "Published “q3-report” under embargo: public from December 21, 2026."
    )


def test_what_looks_personal_is_shown_escaped_and_must_be_acknowledged(signed_in, record, staff):
    transfer = add_document(record, staff, "transfer.txt", PERSONAL)
    publish_request(signed_in, record)
    response = signed_in.get(f"/documents/{transfer.id}/publication")
    raw = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert "<mark>A-123-456-789</mark>" in raw
    shown = html.unescape(raw)
    assert "1 passage looks personal" in shown
    assert "Alien registration number (A-number)" in shown
    assert "I have read what was found and the document may be published" in shown

    response = publish_document(signed_in, transfer)
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    assert 'id="confirm-error"' in shown and "Tick the box to confirm it" in shown
    assert document_publication(transfer) is None

    response = publish_document(signed_in, transfer, confirm="y")
    assert response.status_code == 302
    assert document_publication(transfer).findings_seen == 1
    assert notes(record)[-1][1] == (
        "Published “transfer” in the public records room. Reviewed 1 passage that looked personal."
    )


def test_a_document_whose_text_is_not_read_asks_the_person_to_read_it(signed_in, record, report):
    report.text_state = TextState.PENDING
    db.session.commit()
    publish_request(signed_in, record)
    review = page(signed_in, f"/documents/{report.id}/publication")
    assert "has not read this document's text yet" in review
    assert "Read the document yourself" in review
    assert "I have read the document myself and it may be published" in review
    assert publish_document(signed_in, report).status_code == 200
    assert document_publication(report) is None
    assert publish_document(signed_in, report, confirm="y").status_code == 302


def test_unpublishing_needs_a_reason_and_publishing_again_reuses_the_row(
    signed_in, record, report, staff
):
    publish_request(signed_in, record)
    publish_document(signed_in, report)
    key = document_publication(report).public_key

    response = unpublish(signed_in, report, "")
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    assert 'id="reason-error"' in shown and "Say why the document is unpublished." in shown
    assert document_publication(report).withdrawn_at is None

    assert unpublish(signed_in, report, "Agency asked: wrong file").status_code == 302
    publication = document_publication(report)
    assert publication.withdrawn_by_id == staff.id
    shown = page(signed_in, f"/requests/{record.reference}")
    assert "Withdrawn on December 14, 2026 (Agency asked: wrong file)" in shown
    assert notes(record)[-1][1] == (
        "Unpublished “q3-report” from the public records room: Agency asked: wrong file"
    )

    response = publish_document(signed_in, report, when="embargo", embargo_until="2026-12-20")
    assert response.status_code == 302
    publication = document_publication(report)
    assert publication.public_key == key and publication.withdrawn_at is None
    assert publication.withdraw_reason == "" and publication.embargo_until == date(2026, 12, 20)
    assert db.session.scalar(select(func.count(DocumentPublication.id))) == 1


# The daily job --------------------------------------------------------------------------


def test_an_embargo_lifted_is_noted_once_on_the_timeline(signed_in, record, report, staff, runner):
    publish_request(signed_in, record)
    publish_document(signed_in, report, when="embargo", embargo_until="2026-12-21")
    later = add_document(record, staff, "q4-report.txt", "Fourth quarter: 9 requests.")
    publish_document(signed_in, later, when="embargo", embargo_until="2027-01-04")

    assert lift_embargoes(date(2026, 12, 20)) == "No embargo to lift."
    assert lift_embargoes(date(2026, 12, 22)) == "Lifted 1 embargo: q3-report."
    db.session.commit()
    assert lift_embargoes(date(2026, 12, 22)) == "No embargo to lift."
    db.session.commit()
    lifted = [note for actor, note in notes(record) if note.startswith("Embargo lifted")]
    assert lifted == ["Embargo lifted: q3-report is public from December 21, 2026."]
    assert [actor for actor, note in notes(record) if note in lifted] == [None]
    assert document_publication(report).embargo_lifted_at is not None
    assert document_publication(later).embargo_lifted_at is None

    result = runner.invoke(args=["publishing", "lift-embargoes", "--today", "2027-01-04"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Lifted 1 embargo: q4-report."
    result = runner.invoke(args=["publishing", "lift-embargoes", "--today", "2027-01-04"])
    assert result.output.strip() == "No embargo to lift."
    shown = page(signed_in, f"/requests/{record.reference}")
    assert "Embargo lifted: q4-report is public from January 4, 2027." in shown


def test_an_embargo_on_a_withdrawn_document_or_request_is_not_noted(signed_in, record, report):
    publish_request(signed_in, record)
    publish_document(signed_in, report, when="embargo", embargo_until="2026-12-21")
    unpublish(signed_in, report, "Not yet")
    assert lift_embargoes(date(2026, 12, 22)) == "No embargo to lift."


def periodic_jobs(app, moment):
    return [t.name for t in app.extensions["tracker.jobs"].huey.read_periodic(moment)]


def test_the_worker_lifts_embargoes_ten_past_midnight_in_los_angeles(
    app, signed_in, record, report
):
    publish_request(signed_in, record)
    publish_document(signed_in, report, when="embargo", embargo_until="2026-12-21")
    # 00:10 on Dec 21 in Los Angeles is 08:10 UTC.
    assert periodic_jobs(app, datetime(2026, 12, 21, 8, 10)) == ["lift_embargoes"]
    assert periodic_jobs(app, datetime(2026, 12, 21, 0, 10)) == []
    app.config["TODAY"] = date(2026, 12, 21)
    [job] = app.extensions["tracker.jobs"].huey.read_periodic(datetime(2026, 12, 21, 8, 10))
    app.extensions["tracker.jobs"].huey.execute(job)
    db.session.commit()
    assert notes(record)[-1] == (
        None,
        "Embargo lifted: q3-report is public from December 21, 2026.",
    )


def test_the_time_of_the_daily_job_is_a_setting(make_app):
    assert periodic_jobs(make_app(PUBLISH_CRON="off"), datetime(2026, 12, 21, 8, 10)) == []
    later = make_app(PUBLISH_CRON="0 6 * * *")
    assert periodic_jobs(later, datetime(2026, 12, 21, 14, 0)) == ["lift_embargoes"]
    with pytest.raises(ValueError, match="TRACKER_PUBLISH_CRON takes five fields"):
        make_app(PUBLISH_CRON="daily")


# Who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADVOCATE, Role.VIEWER])
def test_advocates_and_viewers_neither_see_nor_use_the_forms(
    client, auth, make_user, record, report, role
):
    owner = db.session.get(type(record), record.id)
    person = make_user(role)
    if role == Role.ADVOCATE:
        owner.assignee_id = person.id
        db.session.commit()
    auth.login(person)
    shown = page(client, f"/requests/{record.reference}")
    assert 'id="public-room"' not in shown and "/publication" not in shown
    token_page = f"/requests/{record.reference}"
    for path, data in [
        (f"/requests/{record.reference}/publication", {"summary": ""}),
        (f"/requests/{record.reference}/publication/withdraw", {"reason": "x"}),
        (f"/documents/{report.id}/publication", {"when": "now"}),
        (f"/documents/{report.id}/publication/withdraw", {"reason": "x"}),
    ]:
        assert post_form(client, path, data, token_from=token_page).status_code == 403, path
    assert client.get(f"/documents/{report.id}/publication").status_code == 403
    assert publication_of(record) is None


def test_admins_publish_too(client, auth, admin, record):
    auth.login(admin)
    assert publish_request(client, record).status_code == 302
    assert notes(record) == [("Ada Admin", "Published the request in the public records room.")]


def test_only_the_documents_not_deleted_are_listed(signed_in, record, report, staff):
    gone = add_document(record, staff, "mistake.txt", "Uploaded by mistake.")
    gone.deleted_at = gone.uploaded_at
    db.session.commit()
    shown = page(signed_in, f"/requests/{record.reference}")
    section = shown[shown.index('id="public-room"') :].split("</section>")[0]
    assert "q3-report" in section and "mistake" not in section
    assert signed_in.get(f"/documents/{gone.id}/publication").status_code == 404
    assert isinstance(db.session.get(Document, gone.id), Document)
