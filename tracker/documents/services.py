"""Logging responses and keeping documents. Operations flush; callers commit.

An upload is staged to a temporary file (hashed on the way), checked by its
content, then stored whole under a generated key; the row is added in the same
transaction. If the transaction fails, the stored file is removed again.

Small text, CSV, email and ZIP files are read at once. A PDF, or anything larger,
is recorded as "reading text…" and read by a job (``tracker.tasks``) once the upload
has committed: its text, page count and, for a scan, OCR. The job retries a bounded
number of times, then flags the document with the reason.
"""

import email
import email.policy
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

from flask import current_app
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tracker.auth.models import User
from tracker.documents.filetypes import Refused, detect, safe_filename
from tracker.documents.models import AgencyResponse, Document, ResponseKind, TextState
from tracker.documents.storage import LocalStorage, Storage, TooLarge, stage
from tracker.extensions import db
from tracker.items import rules
from tracker.items.models import ExemptionCitation, FeeKind, ItemAnswer, ItemState, RequestItem
from tracker.items.queries import items_of
from tracker.laws import all_laws
from tracker.requests.models import CLOSED_STATUSES, RecordsRequest, RequestEvent, RequestStatus
from tracker.requests.services import RequestValues, update_request, values_of
from tracker.sqltypes import utcnow
from tracker.tasks import jobs, queue_text_job

TEXT_LIMIT = 5_000_000
OCR_SECONDS = 600
# What is read inside the upload request: these types, up to this size; the rest is a job.
READ_AT_ONCE = {"text/plain", "text/csv", "message/rfc822", "application/zip"}
READ_AT_ONCE_BYTES = 1024 * 1024
HAS_TEXT = READ_AT_ONCE | {"application/pdf"}


def storage() -> Storage:
    backend = current_app.config.get("STORAGE_BACKEND", "local")
    if backend == "s3":
        from tracker.documents.s3 import S3Storage

        return S3Storage.from_config(current_app.config)
    return LocalStorage(Path(current_app.instance_path) / "documents")


def staging_folder() -> Path:
    return Path(current_app.instance_path) / "documents" / ".staging"


def upload_limit() -> int:
    return int(current_app.config.get("MAX_UPLOAD_MB", 500)) * 1024 * 1024


@dataclass
class UploadResult:
    stored: list[Document]
    linked: list[Document]
    refused: list[tuple[str, str]]


class TextNotRead(Exception):
    """Reading a document's text failed in a way worth another try; the message says why."""


def extract_text(path: Path, media_type: str) -> tuple[str, int | None, bool]:
    """Text, page count, and whether it needs OCR."""
    if media_type == "application/pdf":
        if not pdf_has_an_end(path):
            # Not a complete PDF: reading it would mean scanning every byte for nothing.
            return "", None, False
        try:
            reader = PdfReader(path)
            pages = [page.extract_text() or "" for page in reader.pages]
        except (PdfReadError, ValueError, KeyError, TypeError, OSError):
            return "", None, False
        text = "\f".join(pages)
        if not text.strip():
            text = ocr_text(path, int(current_app.config.get("OCR_SECONDS", OCR_SECONDS)))
        return text[:TEXT_LIMIT], len(pages), not text.strip()
    if media_type in ("text/plain", "text/csv"):
        with path.open("rb") as handle:
            return handle.read(TEXT_LIMIT).decode("utf-8", "replace"), None, False
    if media_type == "message/rfc822":
        with path.open("rb") as handle:
            message = email.message_from_binary_file(handle, policy=email.policy.default)
        parts = [f"{k}: {message.get(k, '')}" for k in ("From", "To", "Subject", "Date")]
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                try:
                    parts.append(str(part.get_content()))
                except (LookupError, ValueError):
                    continue
        return "\n".join(parts)[:TEXT_LIMIT], None, False
    if media_type == "application/zip":
        return zip_listing(path), None, False
    return "", None, False


ZIP_LISTING_LIMIT = 2000


def zip_listing(path: Path) -> str:
    """The names and sizes inside a ZIP, read from its directory: nothing is unpacked."""
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
    lines = [f"{entry.filename}\t{entry.file_size}" for entry in entries[:ZIP_LISTING_LIMIT]]
    if len(entries) > ZIP_LISTING_LIMIT:
        lines.append(f"… and {len(entries) - ZIP_LISTING_LIMIT} more entries")
    return "\n".join(lines)


# The process groups of the OCR runs under way, stopped with the worker.
_running_ocr: set[int] = set()
_running_lock = threading.Lock()


def ocr_text(path: Path, seconds: int = OCR_SECONDS) -> str:
    """The text OCRmyPDF reads from a scanned PDF, when it is installed; else nothing.

    OCRmyPDF starts processes of its own (Tesseract, Ghostscript): it runs in a new
    session, and the whole process group is killed when it takes too long, fails or
    is interrupted, so nothing it started is left running.
    """
    program = shutil.which("ocrmypdf")
    if program is None:
        return ""
    with tempfile.TemporaryDirectory() as folder:
        sidecar = Path(folder) / "text.txt"
        errors = Path(folder) / "errors.txt"
        # stderr to a file, not a pipe: a straggler holding a pipe open cannot stall us.
        with errors.open("wb") as error_file:
            try:
                process = subprocess.Popen(  # noqa: S603  (a fixed program on files we created)
                    [program, "--quiet", "--skip-text", "--sidecar", str(sidecar), str(path),
                     str(Path(folder) / "out.pdf")],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=error_file,
                    start_new_session=True,
                )  # fmt: skip
            except OSError as error:
                raise TextNotRead(f"OCRmyPDF could not be started: {error}.") from None
        with _running_lock:
            _running_ocr.add(process.pid)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise TextNotRead(f"OCR took longer than {seconds} seconds and was stopped.") from None
        finally:
            kill_process_group(process.pid)
            process.wait()
            with _running_lock:
                _running_ocr.discard(process.pid)
        if process.returncode != 0:
            said = errors.read_text("utf-8", "replace").strip().splitlines()
            detail = f": {said[-1][:300]}" if said else ""
            raise TextNotRead(f"OCRmyPDF failed (exit status {process.returncode}){detail}.")
        return sidecar.read_text("utf-8", "replace") if sidecar.exists() else ""


def kill_process_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_running_ocr() -> None:
    """Stop every OCR run of this process, with whatever it started."""
    with _running_lock:
        groups = list(_running_ocr)
    for group in groups:
        kill_process_group(group)


def pdf_has_an_end(path: Path) -> bool:
    """A readable PDF ends with %%EOF in its last kilobytes."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 4096))
        return b"%%EOF" in handle.read()


def record_event(request: RecordsRequest, actor: User | None, kind: str, note: str) -> None:
    request.events.append(RequestEvent(actor=actor, kind=kind, note=note))


def store_files(
    request: RecordsRequest,
    files: list[tuple[str | None, IO[bytes]]],
    actor: User | None,
    response: AgencyResponse | None = None,
) -> UploadResult:
    """Keep each file (name for display, stream of bytes); refuse what is not accepted."""
    result = UploadResult([], [], [])
    backend = storage()
    for name, stream in files:
        display = safe_filename(name)
        try:
            staged = stage(stream, staging_folder(), upload_limit())
        except TooLarge as error:
            result.refused.append((display, f"It is {error}."))
            continue
        try:
            if staged.size == 0:
                raise Refused("The file is empty.")
            kind = detect(staged.head, staged.path)
            existing = db.session.scalar(
                select(Document).where(
                    Document.request_id == request.id, Document.sha256 == staged.sha256
                )
            )
            if existing is not None:
                if existing.deleted_at is not None:
                    existing.deleted_at = None
                    existing.delete_reason = ""
                    record_event(request, actor, "document", f"Restored “{existing.title}”.")
                if response is not None and existing.response_id is None:
                    existing.response = response
                result.linked.append(existing)
                continue
            at_once = kind.media_type in READ_AT_ONCE and staged.size <= READ_AT_ONCE_BYTES
            if at_once:
                text, pages, needs_ocr = extract_text(staged.path, kind.media_type)
            else:
                text, pages, needs_ocr = "", None, False
            later = not at_once and kind.media_type in HAS_TEXT
            key = backend.put(staged)
            forget_on_rollback(backend, key)
            document = Document(
                request_id=request.id,
                response=response,
                title=Path(display).stem[:300] or display,
                original_filename=display,
                storage_backend=backend.name,
                storage_key=key,
                size=staged.size,
                sha256=staged.sha256,
                media_type=kind.media_type,
                page_count=pages,
                # A NUL past the sniffed head (or from a PDF's fonts): no database text takes it.
                text=text.replace("\x00", ""),
                needs_ocr=needs_ocr,
                text_state=TextState.PENDING if later else TextState.DONE,
                uploaded_by_id=actor.id if actor else None,
            )
            db.session.add(document)
            result.stored.append(document)
            record_event(
                request, actor, "document",
                f"Added “{display}” ({kind.label}, {staged.size:,} bytes)."
                + (" Its text is being read." if later else ""),
            )  # fmt: skip
        except Refused as error:
            result.refused.append((display, str(error)))
        finally:
            staged.discard()
    db.session.flush()
    for document in result.stored:
        if document.text_state is TextState.PENDING:
            queue_text_job(document.id)
    return result


def read_document_text(document_id: int, last_try: bool) -> None:
    """The job: read a stored document's text, or on the last try flag why it could not be."""
    document = db.session.get(Document, document_id)
    if document is None or document.text_state is not TextState.PENDING:
        return
    request = db.session.get(RecordsRequest, document.request_id)
    try:
        with stored_copy(document) as path:
            text, pages, needs_ocr = extract_text(path, document.media_type)
    except Exception as error:
        if not last_try:
            raise
        reason = (
            str(error)
            if isinstance(error, TextNotRead)
            else f"Reading it failed unexpectedly ({type(error).__name__}: {error})."
        )
        document.text_state = TextState.FAILED
        document.text_error = reason
        if request is not None:
            note = f"Could not read the text of “{document.title}”: {reason}"
            record_event(request, None, "document", note)
        db.session.flush()
        return
    # A NUL past the sniffed head (or from a PDF's fonts): no database text takes it.
    document.text = text.replace("\x00", "")
    document.page_count = pages
    document.needs_ocr = needs_ocr
    document.text_state = TextState.DONE
    document.text_error = ""
    if request is not None:
        if needs_ocr:
            outcome = "it has no text layer and needs OCR."
        elif pages:
            outcome = f"{pages} page{'s' if pages != 1 else ''}, ready to search."
        else:
            outcome = "ready to search."
        record_event(request, None, "document", f"Read the text of “{document.title}”: {outcome}")
    db.session.flush()


@contextmanager
def stored_copy(document: Document) -> Iterator[Path]:
    """A path to the stored bytes: the file itself on local disk, else a temporary copy."""
    backend = storage()
    if isinstance(backend, LocalStorage):
        yield backend.path(document.storage_key)
        return
    folder = staging_folder()
    folder.mkdir(parents=True, exist_ok=True)
    with backend.open(document.storage_key) as source:
        staged = stage(source, folder, max(document.size, upload_limit()))
    try:
        yield staged.path
    finally:
        staged.discard()


def queue_pending_documents() -> int:
    """Queue a job for each document still "reading text…" whose job is not in the queue.

    A job in hand when a worker was stopped at once (or lost when the queue was down)
    is in neither the queue nor the schedule of retries; this puts it back.
    """
    app_jobs = jobs()
    job_class = app_jobs.read_document_text.task_class  # type: ignore[attr-defined]
    waiting = {
        task.args[0]
        for task in [*app_jobs.huey.pending(), *app_jobs.huey.scheduled()]
        if isinstance(task, job_class) and task.args
    }
    pending = db.session.scalars(
        select(Document.id).where(
            Document.text_state == TextState.PENDING, Document.deleted_at.is_(None)
        )
    )
    queued = 0
    for document_id in pending:
        if document_id not in waiting:
            app_jobs.read_document_text(document_id)
            queued += 1
    return queued


def forget_on_rollback(backend: Storage, key: str) -> None:
    """Remove a stored file again if the transaction that records it is rolled back."""
    session = db.session()

    def remove(session: Session, previous_transaction: object = None) -> None:
        backend.delete(key)

    event.listen(session, "after_soft_rollback", remove, once=True)

    def keep(session: Session) -> None:
        if event.contains(session, "after_soft_rollback", remove):
            event.remove(session, "after_soft_rollback", remove)

    event.listen(session, "after_commit", keep, once=True)


# What each kind of response does to the request.
STATUS_AFTER = {
    ResponseKind.ACKNOWLEDGMENT: RequestStatus.ACKNOWLEDGED,
    ResponseKind.EXTENSION: RequestStatus.EXTENDED,
    ResponseKind.FEE_ESTIMATE: RequestStatus.WAITING_ON_US,
    ResponseKind.CLARIFICATION: RequestStatus.WAITING_ON_US,
    ResponseKind.DETERMINATION: RequestStatus.RECORDS_DUE,
    ResponseKind.PARTIAL_RELEASE: RequestStatus.PARTIALLY_FULFILLED,
    ResponseKind.FULL_RELEASE: RequestStatus.FULFILLED,
    ResponseKind.DENIAL: RequestStatus.DENIED,
    ResponseKind.NO_RECORDS: RequestStatus.NO_RECORDS,
}
DETERMINES = {
    ResponseKind.DETERMINATION,
    ResponseKind.PARTIAL_RELEASE,
    ResponseKind.FULL_RELEASE,
    ResponseKind.DENIAL,
    ResponseKind.NO_RECORDS,
}
CLOSES = {ResponseKind.FULL_RELEASE, ResponseKind.DENIAL, ResponseKind.NO_RECORDS}


@dataclass
class ItemAnswerInput:
    """How a response answers one item, as the person logging it said."""

    item: RequestItem
    outcome: ItemState
    exemption_codes: Sequence[str] = ()
    # The agency's own words for withholding, when it gave any.
    reason: str = ""
    flags: list[str] = field(default_factory=list)


# The outcomes for which an agency cites an exemption.
WITHHOLDS = frozenset({ItemState.WITHHELD, ItemState.PARTIAL})
# The outcomes that carry records, to which the response's files are linked.
RELEASES = frozenset({ItemState.RELEASED, ItemState.PARTIAL})
# Any outcome but a question back or a withdrawal is the agency's determination on it.
DETERMINED = frozenset({*WITHHOLDS, *RELEASES, ItemState.NO_RECORDS})


def request_items(request: RecordsRequest) -> list[RequestItem]:
    return items_of(request.id)


def answer_item(
    request: RecordsRequest, response: AgencyResponse, given: ItemAnswerInput
) -> tuple[ItemAnswer, str]:
    """Record one item's answer and its citations; the item's state follows. Returns the
    answer and the timeline's words for it; a reason that is no exemption is flagged
    (``given.flags``)."""
    law = all_laws()[request.agency.law]
    answer = ItemAnswer(item=given.item, response=response, outcome=given.outcome)
    db.session.add(answer)
    reason = given.reason.strip()
    codes = list(dict.fromkeys(given.exemption_codes))
    cited = [law.exemption(code) for code in codes]
    exemptions = [exemption for exemption in cited if exemption is not None]
    if reason and not exemptions:
        exemptions = law.exemptions_cited_in(reason)
    for exemption in exemptions:
        answer.citations.append(ExemptionCitation(law=law.id, code=exemption.code, reason=reason))
    words = f"Item {given.item.position}: {given.outcome.label.lower()}"
    if exemptions:
        words += " under " + "; ".join(exemption.citation for exemption in exemptions)
    if reason and not exemptions:
        answer.citations.append(ExemptionCitation(law=law.id, reason=reason, not_an_exemption=True))
        named = law.not_an_exemption(reason)
        flag = named.flag if named else "No exemption the law recognises."
        given.flags.append(f"Item {given.item.position}: “{reason}” {flag}")
        words += f", the agency saying “{reason}”. {flag}"
    elif reason:
        words += f" (the agency: “{reason}”)."
    else:
        words += "."
    given.item.state = rules.item_state([earlier.outcome for earlier in given.item.answers])
    return answer, words


def status_after(
    request: RecordsRequest, kind: ResponseKind, answered: bool
) -> RequestStatus | None:
    """The request's status after a response: from its items when the response answers
    any (a response that says it closes the request but leaves items open only says the
    records are due), else from the kind of response."""
    if kind is ResponseKind.FEE_ESTIMATE and not all_laws()[request.agency.law].fee_tolls:
        # Under the CPRA an estimate pauses nothing: the request stays as it was (and
        # overdue if it is), and the board shows the estimate as waiting on us.
        return None
    if not answered:
        return STATUS_AFTER.get(kind)
    status = rules.request_status([item.state for item in request_items(request)], request.status)
    if status is not None:
        return status
    if kind in CLOSES or kind is ResponseKind.PARTIAL_RELEASE:
        return RequestStatus.RECORDS_DUE
    return STATUS_AFTER.get(kind)


def follow_items(
    request: RecordsRequest,
    response: AgencyResponse,
    answers: Sequence[ItemAnswerInput],
    values: RequestValues,
) -> list[str]:
    """Record how the response answers each item, and move the request's values on to
    match: its status, determination and closing dates. Returns the timeline's words."""
    kind = response.kind
    words = [answer_item(request, response, given)[1] for given in answers]
    status = status_after(request, kind, bool(answers))
    if status is not None:
        values.status = status
    determined = kind in DETERMINES or any(given.outcome in DETERMINED for given in answers)
    if determined and request.determination_on is None:
        values.determination_on = response.received_on
    closes = status in CLOSED_STATUSES if answers else kind in CLOSES
    if closes and request.closed_on is None:
        values.closed_on = response.received_on
    return words


def link_released(answers: Sequence[ItemAnswerInput], documents: Sequence[Document]) -> None:
    """The documents that came with a response answer the items it released."""
    released = [given.item for given in answers if given.outcome in RELEASES]
    for document in documents:
        for item in released:
            if document not in item.documents:
                item.documents.append(document)


def log_response(
    request: RecordsRequest,
    response: AgencyResponse,
    files: list[tuple[str | None, IO[bytes]]],
    actor: User,
    answers: Sequence[ItemAnswerInput] = (),
    fee_amount: Decimal | None = None,
) -> UploadResult:
    """Record an answer, how it answers each item, keep its files, and move the request
    on through its lifecycle: from its items' states where the response answers any. A
    fee estimate's amount becomes the estimate among the request's fees."""
    kind = response.kind
    response.request_id = request.id
    response.created_by_id = actor.id
    db.session.add(response)
    db.session.flush()
    request_values = values_of(request)
    item_words = follow_items(request, response, answers, request_values)
    if response.agency_tracking_number and not request.agency_tracking_number:
        request_values.agency_tracking_number = response.agency_tracking_number
    if request.received_on is None and request.sent_on is None:
        request_values.received_on = response.received_on
    if response.next_promised_on is not None:
        request_values.records_promised_on = response.next_promised_on
    note = (
        f"Logged a response: {kind.label}, received {response.received_on.isoformat()} by "
        f"{response.channel.label.lower()}."
    )
    if response.installment:
        note += " One installment of a rolling production"
        note += (
            f"; the next is promised by {response.next_promised_on.isoformat()}."
            if response.next_promised_on
            else "; the agency gave no date for the next."
        )
    if item_words:
        note += " " + " ".join(item_words)
    if response.summary:
        note += f" {response.summary}"
    if response.exemptions:
        note += f" Exemptions cited: {response.exemptions}"
    update_request(request, request_values, actor, note)
    if kind is ResponseKind.FEE_ESTIMATE and fee_amount is not None:
        # Imported here: the fees' pages import the requests', which import this module.
        from tracker.fees import services as fees

        estimate = fees.FeeValues(
            FeeKind.ESTIMATE, fee_amount, response.received_on,
            note=f"From the fee estimate received {response.received_on.isoformat()}.",
        )  # fmt: skip
        fees.record_fee(request, estimate, actor)
    result = store_files(request, files, actor, response)
    link_released(answers, [*result.stored, *result.linked])
    db.session.flush()
    return result


def answer_logged_response(
    request: RecordsRequest,
    response: AgencyResponse,
    answers: Sequence[ItemAnswerInput],
    actor: User,
) -> None:
    """Say which items a response logged earlier answers (one confirmed from an email, say):
    the items, the request's status and the response's documents follow as when logging."""
    if not answers:
        return
    values = values_of(request)
    words = follow_items(request, response, answers, values)
    note = (
        f"Said which items the {response.kind.label.lower()} received "
        f"{response.received_on.isoformat()} answers. " + " ".join(words)
    )
    update_request(request, values, actor, note)
    link_released(answers, [d for d in response.documents if d.deleted_at is None])
    db.session.flush()


def unanswered_items(response: AgencyResponse) -> list[RequestItem]:
    """The request's items this response has said nothing of yet."""
    said = set(
        db.session.scalars(select(ItemAnswer.item_id).where(ItemAnswer.response_id == response.id))
    )
    return [item for item in items_of(response.request_id) if item.id not in said]


def delete_document(document: Document, actor: User, reason: str) -> None:
    """Take a document out of the archive; the row, its event and the reason stay."""
    if not reason.strip():
        raise ValueError("Say why the document is deleted.")
    document.deleted_at = utcnow()
    document.deleted_by_id = actor.id
    document.delete_reason = reason.strip()
    request = db.session.get(RecordsRequest, document.request_id)
    if request is not None:
        record_event(request, actor, "document", f"Deleted “{document.title}”: {reason.strip()}")
    db.session.flush()


class FileMissing(LookupError):
    """A document's row is there but its file is not in storage."""

    def __init__(self, document: Document) -> None:
        super().__init__(f"document {document.id}: no file under key {document.storage_key}")
        self.document = document


def read_chunks(document: Document) -> Iterator[bytes]:
    """The stored bytes in pieces; the file is opened now, while the app is at hand."""
    try:
        handle = storage().open(document.storage_key)
    except (FileNotFoundError, KeyError) as error:
        raise FileMissing(document) from error

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(1024 * 256):
                yield chunk

    return chunks()
