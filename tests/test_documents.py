"""Responses and documents: what agencies send back is logged, checked and kept safely.

Hostile uploads (spoofed types, polyglots, ZIP bombs, absurd names, oversize and cut-off
bodies, failures midway) are tried in tests/security/test_uploads.py.
"""

import csv
import io
import os
import re
import zipfile
from datetime import date

import pytest
from markupsafe import escape
from sqlalchemy import select

from tests.conftest import blank_pdf, csrf_token, post_form
from tracker.auth.models import Role
from tracker.documents.models import AgencyResponse, Document
from tracker.documents.services import store_files
from tracker.extensions import db
from tracker.requests.models import RequestEvent, RequestStatus


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def ods_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    return buffer.getvalue()


# Each file, the type its bytes make it, and the name the tracker shows people for that type.
ACCEPTED = {
    "release.pdf": (blank_pdf(), "application/pdf", "PDF"),
    "photo.png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png", "PNG image"),
    "scan.jpg": (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "image/jpeg", "JPEG image"),
    "memo.docx": (
        docx_bytes(),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word document",
    ),
    "data.ods": (
        ods_bytes(), "application/vnd.oasis.opendocument.spreadsheet", "OpenDocument spreadsheet",
    ),
    "bundle.zip": (plain_zip(), "application/zip", "ZIP archive"),
    "log.csv": (b"date,count\n2024-01-01,3\n2024-01-02,5\n", "text/csv", "CSV spreadsheet"),
    "notes.txt": (b"The clerk called back on Tuesday.\n", "text/plain", "Plain text"),
    "reply.eml": (
        b"From: clerk@lapd.example\nTo: ana@example.org\nSubject: Your request\n\nAttached.\n",
        "message/rfc822",
        "Email",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_each_accepted_type_is_recognised_by_its_content(app, make_request, make_user, name):
    data, media_type, _ = ACCEPTED[name]
    record = make_request()
    # The name says nothing: the type comes from the bytes.
    result = store_files(record, [("upload.bin", io.BytesIO(data))], make_user())
    db.session.commit()
    assert result.refused == []
    assert result.stored[0].media_type == media_type
    assert result.stored[0].original_filename == "upload.bin"


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_a_documents_type_is_shown_by_the_name_people_know_it_by(
    client, auth, make_user, make_request, name
):
    data, media_type, label = ACCEPTED[name]
    record = make_request()
    document = store_files(record, [(name, io.BytesIO(data))], None).stored[0]
    db.session.commit()
    auth.login(make_user(Role.VIEWER))
    listing = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert f"<td>{label}</td>" in listing
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert f"{name} · {label} · " in page
    for shown in (listing, page):
        assert media_type not in shown
    with zipfile.ZipFile(
        io.BytesIO(client.get(f"/requests/{record.reference}/documents.zip").data)
    ) as archive:
        [row] = csv.DictReader(io.StringIO(archive.read("index.csv").decode()))
    assert row["type"] == label


def test_the_same_file_twice_is_linked_not_stored_twice(app, make_request):
    record = make_request()
    first = store_files(record, [("a.pdf", io.BytesIO(blank_pdf()))], None)
    db.session.commit()
    second = store_files(record, [("copy.pdf", io.BytesIO(blank_pdf()))], None)
    db.session.commit()
    assert second.stored == [] and second.linked == first.stored
    assert db.session.scalar(select(db.func.count(Document.id))) == 1


def test_logging_a_partial_release_moves_the_request_and_keeps_its_files(
    client, auth, make_user, make_request
):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate, status=RequestStatus.SENT,
                          received_on=date(2026, 11, 17))  # fmt: skip
    auth.login(advocate)
    token = csrf_token(client, f"/requests/{record.reference}/responses/new")
    response = client.post(
        f"/requests/{record.reference}/responses/new",
        data={
            "csrf_token": token, "kind": "partial_release", "received_on": "2026-12-01",
            "channel": "email", "agency_tracking_number": "P0042", "summary": "First batch.",
            "files": [(io.BytesIO(blank_pdf()), "batch1.pdf"),
                      (io.BytesIO(b"date,count\n1,2\n3,4\n"), "counts.csv")],
        },
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302
    db.session.refresh(record)
    assert record.status == RequestStatus.PARTIALLY_FULFILLED
    assert record.determination_on == date(2026, 12, 1)
    assert record.agency_tracking_number == "P0042"
    logged = db.session.scalars(select(AgencyResponse)).one()
    assert [d.original_filename for d in logged.documents] == ["batch1.pdf", "counts.csv"]
    notes = [e.note for e in db.session.scalars(select(RequestEvent))]
    assert any("Logged a response: Partial release" in n for n in notes)
    assert any("Added “batch1.pdf”" in n for n in notes)
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "batch1" in page and "counts" in page


def test_a_viewer_downloads_but_cannot_delete(client, auth, make_user, make_request):
    record = make_request()
    document = store_files(record, [("a.pdf", io.BytesIO(blank_pdf()))], None).stored[0]
    db.session.commit()
    auth.login(make_user(Role.VIEWER))
    assert client.get(f"/documents/{document.id}/download").data == blank_pdf()
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "Delete the document" not in page
    token = csrf_token(client)
    response = client.post(f"/documents/{document.id}/delete",
                           data={"csrf_token": token, "reason": "mine"})  # fmt: skip
    assert response.status_code == 403


def test_staff_delete_with_a_reason_and_the_event_stays(client, auth, make_user, make_request):
    record = make_request()
    document = store_files(record, [("a.pdf", io.BytesIO(blank_pdf()))], None).stored[0]
    db.session.commit()
    auth.login(make_user(Role.STAFF))
    response = post_form(client, f"/documents/{document.id}/delete", {"reason": "Wrong request"},
                         token_from=f"/documents/{document.id}")  # fmt: skip
    assert response.status_code == 302
    db.session.refresh(document)
    assert document.deleted_at is not None and document.delete_reason == "Wrong request"
    assert client.get(f"/documents/{document.id}/download").status_code == 404
    notes = [e.note for e in db.session.scalars(select(RequestEvent))]
    assert "Deleted “a”: Wrong request" in notes


def test_the_zip_has_every_file_and_an_index(client, auth, make_user, make_request):
    record = make_request()
    store_files(record, [("a.pdf", io.BytesIO(blank_pdf())),
                         ("b.txt", io.BytesIO(b"plain words\n"))], None)  # fmt: skip
    db.session.commit()
    auth.login(make_user(Role.VIEWER))
    response = client.get(f"/requests/{record.reference}/documents.zip")
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == ["a.pdf", "b.txt", "index.csv"]
    index = archive.read("index.csv").decode()
    assert "filename,title,type,document_date,uploaded_at,sha256,size" in index
    document = db.session.scalars(select(Document).where(Document.title == "a")).one()
    assert document.sha256 in index
    assert archive.read("a.pdf") == blank_pdf()


def test_pdf_text_and_pages_are_extracted(app, make_request):
    from tracker.letters.pdf import letters_pdf

    html = (
        "<html><body><p>First page word.</p>"
        "<p style='break-before: page'>Zanzibar.</p></body></html>"
    )
    record = make_request()
    document = store_files(record, [("two.pdf", io.BytesIO(letters_pdf([html])))], None).stored[0]
    db.session.commit()
    assert document.page_count == 2
    assert "Zanzibar" in document.text.split("\f")[1]
    assert not document.needs_ocr
    scanned = store_files(record, [("scan.pdf", io.BytesIO(blank_pdf()))], None).stored[0]
    assert scanned.needs_ocr


def test_a_scan_is_read_by_ocrmypdf_when_it_is_installed(app, make_request, tmp_path, monkeypatch):
    # A stand-in for OCRmyPDF that answers as the real one does: text in the sidecar.
    program = tmp_path / "bin" / "ocrmypdf"
    program.parent.mkdir()
    program.write_text(
        "#!/bin/sh\n"
        'while [ "$1" != "--sidecar" ]; do shift; done\n'
        'printf "Recognised words from the scan" > "$2"\n'
    )
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{program.parent}:{os.environ['PATH']}")
    document = store_files(make_request(), [("scan.pdf", io.BytesIO(blank_pdf()))], None).stored[0]
    assert document.text == "Recognised words from the scan"
    assert not document.needs_ocr


# After a mistake: every value kept, and refusals shown at the file input.


def field_message(page, name):
    """The message under a field, provided its input points to it (aria-describedby)."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]*\bid="{name}"[^>]*>', page)
    assert tag, f"no field {name}"
    message = re.search(rf'<p class="error" id="{name}-error"([^>]*)>([^<]*)</p>', page)
    if message is None:
        return None
    assert f"{name}-error" in tag.group(0) and 'aria-invalid="true"' in tag.group(0)
    return message.group(2)


def top_messages(page):
    flashes = re.search(r'<div class="flashes".*?</div>', page, re.DOTALL)
    return flashes.group(0) if flashes else ""


def test_a_response_shown_again_keeps_every_value_and_asks_for_the_files_by_name(
    client, auth, make_user, make_request
):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate, status=RequestStatus.SENT)
    auth.login(advocate)
    path = f"/requests/{record.reference}/responses/new"
    typed = {
        "kind": "partial_release", "received_on": "2026-11-16", "channel": "mail",
        "agency_tracking_number": "P0042", "summary": "First batch, " + "x" * 20000,
        "exemptions": "7923.600",
    }  # fmt: skip
    response = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), **typed,
              "files": [(io.BytesIO(blank_pdf()), "batch1.pdf"),
                        (io.BytesIO(b"a,b\n1,2\n"), "counts.csv")]},
        content_type="multipart/form-data",
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_message(page, "summary")
    assert field_message(page, "files") == (
        "Choose the file(s) again: batch1.pdf, counts.csv. Nothing was saved, and a browser "
        "cannot keep chosen files when it shows the page again."
    )
    assert 'value="2026-11-16"' in page and 'value="P0042"' in page
    assert "First batch, xxx" in page and "7923.600" in page
    assert re.search(r'<option selected value="partial_release">', page)
    assert re.search(r'<option selected value="mail">', page)
    assert db.session.scalars(select(AgencyResponse)).all() == []
    assert db.session.scalars(select(Document)).all() == []

    # With no file chosen there is nothing to choose again.
    page = post_form(client, path, typed).get_data(as_text=True)
    assert field_message(page, "files") is None and field_message(page, "summary")


HTML_AS_PDF = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
REFUSED = (
    "Not stored: “report.pdf”. Web pages, scripts and SVG files are not accepted; save it as PDF."
)


def assert_refusal_at_the_upload_form(page, message):
    form = re.search(r'<form[^>]*id="add-files".*?</form>', page, re.DOTALL)
    assert form, "no upload form"
    error = re.search(r'<p class="error" id="files-error" role="alert">([^<]*)</p>', form.group(0))
    assert error and str(escape(message)) in error.group(1)
    assert field_message(page, "files") == error.group(1)
    assert str(escape(message)) not in top_messages(page)


def test_a_refused_upload_is_shown_at_the_upload_form_the_page_opens_at(
    client, auth, make_user, make_request
):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate, status=RequestStatus.SENT)
    auth.login(advocate)
    show = f"/requests/{record.reference}"
    response = client.post(
        f"{show}/documents",
        data={"csrf_token": csrf_token(client, show),
              "files": [(io.BytesIO(HTML_AS_PDF), "report.pdf"),
                        (io.BytesIO(blank_pdf()), "release.pdf")]},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{show}#add-files")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert_refusal_at_the_upload_form(page, REFUSED)
    assert "Stored 1 file(s)." in top_messages(page)
    # Said once: the next visit shows no old refusal.
    assert REFUSED[:20] not in client.get(show).get_data(as_text=True)

    response = post_form(client, f"{show}/documents", {}, token_from=show)
    assert response.headers["Location"].endswith("#add-files")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert_refusal_at_the_upload_form(page, "Choose one or more files to upload.")

    # Everything stored: the page opens at the documents, with no error at the form.
    response = client.post(
        f"{show}/documents",
        data={"csrf_token": csrf_token(client, show),
              "files": [(io.BytesIO(b"notes\n"), "notes.txt")]},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.headers["Location"].endswith("#documents")
    assert field_message(client.get(show).get_data(as_text=True), "files") is None


def test_a_response_with_a_refused_file_is_logged_and_the_refusal_shown_at_the_upload_form(
    client, auth, make_user, make_request
):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate, status=RequestStatus.SENT)
    auth.login(advocate)
    path = f"/requests/{record.reference}/responses/new"
    response = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "kind": "acknowledgment",
              "received_on": "2026-11-16", "channel": "email",
              "files": [(io.BytesIO(HTML_AS_PDF), "report.pdf")]},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/requests/{record.reference}#add-files")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert_refusal_at_the_upload_form(page, REFUSED)
    assert "Logged the acknowledgment." in top_messages(page)
    assert db.session.scalars(select(AgencyResponse)).one().kind.value == "acknowledgment"


def test_a_response_received_after_today_is_refused_at_its_date_and_nothing_is_logged(
    app, client, auth, make_user, make_request
):
    app.config["TODAY"] = date(2026, 11, 20)
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate, status=RequestStatus.SENT)
    auth.login(advocate)
    path = f"/requests/{record.reference}/responses/new"
    page = post_form(
        client, path, {"kind": "denial", "received_on": "2026-11-21", "channel": "email"}
    ).get_data(as_text=True)
    assert (
        field_message(page, "received_on") == "This date cannot be after today (November 20, 2026)."
    )
    assert 'value="2026-11-21"' in page
    assert db.session.scalar(select(db.func.count(AgencyResponse.id))) == 0


def test_a_document_whose_file_is_missing_answers_a_clear_page_and_is_logged(
    app, client, auth, make_user, make_request, caplog
):
    record = make_request()
    result = store_files(record, [("a.pdf", io.BytesIO(blank_pdf())),
                                  ("b.txt", io.BytesIO(b"plain words\n"))], None)  # fmt: skip
    db.session.commit()
    document = result.stored[0]
    lost = os.path.join(app.instance_path, "documents", *document.storage_key.split("/"))
    os.remove(lost)
    auth.login(make_user(Role.VIEWER))
    for path in (
        f"/documents/{document.id}/download",
        f"/documents/{document.id}/view",
        f"/requests/{record.reference}/documents.zip",
    ):
        caplog.clear()
        response = client.get(path)
        assert response.status_code == 410, path
        page = response.get_data(as_text=True)
        assert "The file of this document is missing from storage" in page
        assert "an admin can run tracker doctor" in page
        assert document.storage_key not in page
        assert any(
            f"document {document.id}" in r.getMessage() and r.levelname == "ERROR"
            for r in caplog.records
        ), path
    # The other document still downloads.
    assert client.get(f"/documents/{result.stored[1].id}/download").data == b"plain words\n"
