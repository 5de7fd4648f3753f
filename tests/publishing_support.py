"""Publications made straight with the models, as the staff's publishing forms would make them."""

import io
import itertools
from datetime import date

from tests.conftest import blank_pdf
from tracker.documents.models import Document, TextState
from tracker.documents.services import store_files
from tracker.extensions import db
from tracker.letters.models import Channel, Letter, LetterState
from tracker.letters.services import letter_document
from tracker.publishing.models import DocumentPublication, RequestPublication
from tracker.requests.models import RecordsRequest
from tracker.sqltypes import utcnow

_files = itertools.count(1)


def publish(
    record: RecordsRequest, summary: str = "", withdrawn: bool = False
) -> RequestPublication:
    publication = RequestPublication(request_id=record.id, summary=summary)
    if withdrawn:
        publication.withdrawn_at = utcnow()
        publication.withdraw_reason = "Published by mistake"
    db.session.add(publication)
    db.session.commit()
    return publication


def release(
    record: RecordsRequest,
    title: str,
    text: str = "",
    *,
    published: bool = True,
    embargo_until: date | None = None,
    withdrawn: bool = False,
    filename: str = "release.pdf",
    dated_on: date | None = None,
) -> tuple[Document, DocumentPublication | None]:
    """A released document with this text (pages apart with form feeds), published unless
    told otherwise, at once or under an embargo."""
    data = blank_pdf(f"file {next(_files)}")
    document = store_files(record, [(filename, io.BytesIO(data))], None).stored[0]
    db.session.commit()
    document.title = title
    document.text = text
    document.text_state = TextState.DONE
    document.document_date = dated_on
    publication = None
    if published:
        publication = DocumentPublication(document_id=document.id, embargo_until=embargo_until)
        if withdrawn:
            publication.withdrawn_at = utcnow()
            publication.withdraw_reason = "Holds a home address"
        db.session.add(publication)
    db.session.commit()
    return document, publication


def send_letter(record: RecordsRequest, letter: Letter, sent_on: date) -> Letter:
    """The letter frozen as it prints, and sent: what ``finalize`` keeps, without its PDF."""
    letter.document_html = letter_document(letter, record)
    letter.state = LetterState.SENT
    letter.letter_date = sent_on
    letter.sent_on = sent_on
    letter.sent_via = Channel.EMAIL
    record.sent_on = sent_on
    db.session.commit()
    return letter
