import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from flask import (
    abort,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectChoice, SubmitField

from tracker.agencies.models import Agency
from tracker.auth.models import Role, User
from tracker.extensions import db
from tracker.inputs import whole_number
from tracker.items.models import ItemAnswer, RequestItem
from tracker.items.queries import items_of
from tracker.laws import exemption_label
from tracker.letters.services import local_today
from tracker.limits import accepts_uploads
from tracker.requests import bp
from tracker.requests.forms import NoteForm, RequestForm
from tracker.requests.importing import (
    MAX_BYTES,
    ImportFileError,
    ImportResult,
    import_rows,
    plan_import,
)
from tracker.requests.models import Organization, RecordsRequest, RequestEvent, RequestStatus
from tracker.requests.services import (
    RequestError,
    RequestValues,
    add_note,
    can_edit,
    create_request,
    find_by_reference,
    normalise_tags,
    update_request,
)
from tracker.security import link_args, roles_required
from tracker.sqltypes import LOCAL_ZONE
from tracker.text import contains_text, spreadsheet_safe

if TYPE_CHECKING:
    from tracker.fees.forms import FeeForm
    from tracker.publishing.forms import PublishRequestForm, WithdrawRequestForm


def agency_choices() -> list[SelectChoice]:
    agencies = db.session.scalars(db.select(Agency).order_by(Agency.name))
    return [SelectChoice(str(a.id), a.display_name) for a in agencies]


def organization_choices() -> list[SelectChoice]:
    organizations = db.session.scalars(db.select(Organization).order_by(Organization.name))
    return [SelectChoice(str(o.id), o.name) for o in organizations]


def assignee_choices(current: User | None = None) -> list[SelectChoice]:
    people = list(
        db.session.scalars(
            db.select(User).where(User.active, User.role != Role.VIEWER).order_by(User.name)
        )
    )
    if current is not None and current not in people:
        people.append(current)
    return [SelectChoice(str(u.id), u.name) for u in people]


def build_form(record: RecordsRequest | None) -> RequestForm:
    form = RequestForm(obj=record)
    form.agency.choices = [SelectChoice("", "Choose an agency"), *agency_choices()]
    form.organization.choices = [SelectChoice("", "None"), *organization_choices()]
    form.assignee.choices = [
        SelectChoice("", "Nobody yet"),
        *assignee_choices(record.assignee if record else None),
    ]
    if record is not None and request.method == "GET":
        form.agency.data = record.agency_id
        form.organization.data = record.organization_id
        form.assignee.data = record.assignee_id
        form.status.data = record.status.value
        form.tags.data = ", ".join(record.tag_list)
    return form


def values_from(form: RequestForm) -> RequestValues:
    agency = db.session.get(Agency, form.agency.data)
    if agency is None:
        raise RequestError("agency", "Choose the agency the request goes to.")
    organization = (
        db.session.get(Organization, form.organization.data) if form.organization.data else None
    )
    assignee = db.session.get(User, form.assignee.data) if form.assignee.data else None
    return RequestValues(
        title=form.title.data.strip(),
        agency=agency,
        organization=organization,
        requester_name=(form.requester_name.data or "").strip(),
        records_sought=(form.records_sought.data or "").replace("\r\n", "\n").strip(),
        status=RequestStatus(form.status.data),
        agency_tracking_number=(form.agency_tracking_number.data or "").strip(),
        assignee=assignee,
        sent_on=form.sent_on.data,
        received_on=form.received_on.data,
        closed_on=form.closed_on.data,
        determination_on=form.determination_on.data,
        records_promised_on=form.records_promised_on.data,
        tags=normalise_tags(form.tags.data or ""),
    )


LIST_CSV_COLUMNS = (
    "reference", "title", "agency", "status", "created_on", "sent_on", "received_on",
    "due_on", "determination_on", "promised_on", "closed_on", "tracking_number", "assignee",
    "organization", "tags",
)  # fmt: skip
# Requests read from the database at a time while the CSV is sent.
CSV_BATCH = 500


def list_filters() -> tuple[Select[RecordsRequest], dict[str, str]]:
    """The requests the list's filters choose, newest first; the filters as the form shows."""
    args = request.args
    statement = db.select(RecordsRequest).order_by(
        RecordsRequest.created_at.desc(), RecordsRequest.id.desc()
    )
    text = args.get("q", "").strip()
    if text:
        statement = statement.where(
            contains_text(
                text,
                RecordsRequest.reference,
                RecordsRequest.title,
                RecordsRequest.records_sought,
                RecordsRequest.agency_tracking_number,
            )
        )
    agency_id = args.get("agency", type=whole_number)
    if agency_id:
        statement = statement.where(RecordsRequest.agency_id == agency_id)
    status = args.get("status", "")
    if status in RequestStatus.__members__.values():
        statement = statement.where(RecordsRequest.status == RequestStatus(status))
    assignee = args.get("assignee", "")
    if assignee == "me":
        statement = statement.where(RecordsRequest.assignee_id == current_user.id)
    elif assignee == "none":
        statement = statement.where(RecordsRequest.assignee_id.is_(None))
    elif (assignee_id := args.get("assignee", type=whole_number)) is not None:
        statement = statement.where(RecordsRequest.assignee_id == assignee_id)
    filters = {"q": text, "agency": str(agency_id or ""), "status": status, "assignee": assignee}
    return statement, filters


@bp.get("")
def list_requests() -> str | Response:
    statement, filters = list_filters()
    if request.args.get("format") == "csv":
        return export_csv(statement)
    page = db.paginate(
        statement.options(joinedload(RecordsRequest.agency), joinedload(RecordsRequest.assignee)),
        page=request.args.get("page", 1, type=whole_number),
        per_page=25,
        error_out=False,
    )
    export_args: dict[str, Any] = {k: v for k, v in link_args().items() if k != "page"}
    return render_template(
        "requests/list.html",
        page=page,
        filters=filters,
        export_url=url_for("requests.list_requests", **{**export_args, "format": "csv"}),
        options={
            "agency": [(c.value, c.label) for c in agency_choices()],
            "status": [(s.value, s.label) for s in RequestStatus],
            "assignee": [
                ("me", "Me"),
                ("none", "Nobody"),
                *((c.value, c.label) for c in assignee_choices()),
            ],
        },
    )


def export_csv(statement: Select[RecordsRequest]) -> Response:
    """Every request the filters choose, not just a page, one CSV line each."""
    statement = statement.options(
        joinedload(RecordsRequest.agency),
        joinedload(RecordsRequest.assignee),
        joinedload(RecordsRequest.organization),
    )

    def lines() -> Iterator[str]:
        yield csv_line(LIST_CSV_COLUMNS)
        batches = statement.limit(CSV_BATCH)
        while batch := db.session.scalars(batches).all():
            for record in batch:
                yield csv_line(csv_values(record))
            # The next batch starts after the last row sent, not at an offset, so a request
            # created meanwhile cannot push a row already sent into the next batch again.
            last = batch[-1]
            batches = statement.where(
                tuple_(RecordsRequest.created_at, RecordsRequest.id) < (last.created_at, last.id)
            ).limit(CSV_BATCH)

    # Under a server the body is sent after the view returns: keep the request's
    # context (and its database session) for as long as the rows are read.
    response = Response(stream_with_context(lines()), mimetype="text/csv")
    name = f"requests-{local_today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def csv_line(values: Sequence[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([spreadsheet_safe(v) for v in values])
    return buffer.getvalue()


def iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def csv_values(r: RecordsRequest) -> list[object]:
    return [
        r.reference, r.title, r.agency.display_name, r.status.label,
        iso(r.created_at.astimezone(LOCAL_ZONE).date()), iso(r.sent_on), iso(r.received_on),
        iso(r.due_on), iso(r.determination_on), iso(r.records_promised_on), iso(r.closed_on),
        r.agency_tracking_number, r.assignee.name if r.assignee else "",
        r.organization.name if r.organization else "", ", ".join(r.tag_list),
    ]  # fmt: skip


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.STAFF, Role.ADVOCATE)
def new_request() -> Response | str:
    form = build_form(None)
    if request.method == "GET":
        form.requester_name.data = current_user.name
        form.agency.data = request.args.get("agency", type=whole_number)
    if form.validate_on_submit():
        try:
            record = create_request(values_from(form), current_user)
            if form.note.data and form.note.data.strip():
                add_note(record, form.note.data, current_user)
        except RequestError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Created {record.reference}.", "success")
            return redirect(url_for("requests.show_request", reference=record.reference))
    return render_template("requests/form.html", form=form, record=None)


def get_request_or_404(reference: str) -> RecordsRequest:
    record = find_by_reference(
        reference, selectinload(RecordsRequest.events).joinedload(RequestEvent.actor)
    )
    if record is None:
        abort(404)
    return record


@bp.get("/<reference>")
def show_request(reference: str) -> str:
    record = get_request_or_404(reference)
    return render_request_page(record, NoteForm())


def render_request_page(
    record: RecordsRequest,
    note_form: NoteForm,
    fee_form: "FeeForm | None" = None,
    publish_form: "PublishRequestForm | None" = None,
    withdraw_form: "WithdrawRequestForm | None" = None,
) -> str:
    from tracker.deadlines.services import deadlines_for, standing_for
    from tracker.fees.forms import FeeForm
    from tracker.fees.services import standing_of
    from tracker.letters.services import library, local_today
    from tracker.publishing.routes import may_publish, room_section

    siblings: Sequence[RecordsRequest] = []
    if record.group_id is not None:
        siblings = db.session.scalars(
            db.select(RecordsRequest)
            .where(RecordsRequest.group_id == record.group_id, RecordsRequest.id != record.id)
            .order_by(RecordsRequest.reference)
        ).all()
    from tracker.documents.forms import UPLOAD_ERROR, UploadForm
    from tracker.documents.models import Document
    from tracker.mail.forms import MAIL_UPLOAD_ERROR, MailUploadForm
    from tracker.mail.models import Correspondence, MailState

    deadlines = deadlines_for(db.session(), record)
    documents = db.session.scalars(
        db.select(Document)
        .where(Document.request_id == record.id, Document.deleted_at.is_(None))
        .order_by(Document.id)
    ).all()
    correspondence = db.session.scalars(
        db.select(Correspondence)
        .where(Correspondence.request_id == record.id, Correspondence.state == MailState.FILED)
        .options(selectinload(Correspondence.attachments), joinedload(Correspondence.created_by))
        .order_by(db.func.coalesce(Correspondence.sent_at, Correspondence.created_at))
    ).all()
    editable = can_edit(current_user, record)
    items = request_items(record)
    upload_form = UploadForm()
    mail_form = MailUploadForm()
    shown_at_fields = []
    if editable:
        # An upload's refusals, shown at the upload form the redirect scrolls to.
        upload_form.files.errors = get_flashed_messages(category_filter=[UPLOAD_ERROR])
        mail_form.mail.errors = get_flashed_messages(category_filter=[MAIL_UPLOAD_ERROR])
        shown_at_fields = [UPLOAD_ERROR, MAIL_UPLOAD_ERROR]
    return render_template(
        "requests/show.html",
        record=record,
        editable=editable,
        note_form=note_form,
        deadlines=deadlines,
        documents=documents,
        items=items,
        exemption_label=exemption_label,
        upload_form=upload_form,
        correspondence=correspondence,
        mail_form=mail_form,
        flashes_shown_at_fields=shown_at_fields,
        standing=standing_for(record, deadlines, local_today()),
        siblings=siblings,
        letter_titles={slug: t.title for slug, t in library().templates.items()},
        fees=standing_of(db.session(), record),
        fee_form=fee_form or FeeForm(formdata=None, data={"dated_on": local_today()}),
        # Staff and admins decide what the public records room shows.
        room=room_section(record, publish_form, withdraw_form)
        if may_publish(current_user)
        else None,
        **letter_emails(record),
    )


def request_items(record: RecordsRequest) -> Sequence[RequestItem]:
    """The items, each with its answers, the exemptions they cite and its documents."""
    return items_of(
        record.id,
        selectinload(RequestItem.answers).joinedload(ItemAnswer.response),
        selectinload(RequestItem.answers).selectinload(ItemAnswer.citations),
        selectinload(RequestItem.documents),
    )


def letter_emails(record: RecordsRequest) -> dict[str, object]:
    """How each letter's email stands, for the letters section, and the Try again form."""
    from tracker.letters.forms import SendEmailForm
    from tracker.mail.models import OutgoingEmail

    outgoing = db.session.scalars(
        db.select(OutgoingEmail).where(OutgoingEmail.request_id == record.id)
    ).all()
    return {
        "letter_emails": {email.letter_id: email for email in outgoing},
        "send_form": SendEmailForm(formdata=None),
    }


@bp.route("/<reference>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.STAFF, Role.ADVOCATE)
def edit_request(reference: str) -> Response | str:
    record = get_request_or_404(reference)
    if not can_edit(current_user, record):
        abort(403)
    form = build_form(record)
    if form.validate_on_submit():
        try:
            event = update_request(record, values_from(form), current_user, form.note.data or "")
            items_kept = event is not None and not items_follow_edit(record, event)
        except RequestError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(str(error))
        else:
            db.session.commit()
            flash("Saved." if event else "Nothing was changed.", "success")
            if items_kept:
                flash("The items were left as they are: change them under Items.", "info")
            return redirect(url_for("requests.show_request", reference=record.reference))
    return render_template("requests/form.html", form=form, record=record)


def items_follow_edit(record: RecordsRequest, event: RequestEvent) -> bool:
    """Whether the items follow an edit of the records sought (or of the title, which an
    item stands in for when nothing is described): only on a typed request whose items
    nobody has shaped or answered. Say False when they are left behind."""
    from tracker.items.services import follow_source

    fields = {change["field"] for change in event.changes}
    if not fields & {"Records sought", "Title"}:
        return True
    if record.initial_letter is not None:
        # The items came from the letter's numbered paragraphs, not from this text.
        return "Records sought" not in fields
    followed = follow_source(record, [record.records_sought or record.title], current_user)
    return followed or "Records sought" not in fields


@bp.post("/<reference>/notes")
@roles_required(Role.ADMIN, Role.STAFF, Role.ADVOCATE)
def add_request_note(reference: str) -> Response | str:
    record = get_request_or_404(reference)
    if not can_edit(current_user, record):
        abort(403)
    form = NoteForm()
    if form.validate_on_submit():
        add_note(record, form.note.data, current_user)
        db.session.commit()
        flash("Note added.", "success")
        return redirect(url_for("requests.show_request", reference=reference, _anchor="timeline"))
    return render_request_page(record, form)


class ImportForm(FlaskForm):
    file = FileField(
        "Spreadsheet (CSV)",
        validators=[
            FileRequired("Choose the CSV file to import."),
            FileAllowed(["csv"], "Choose a .csv file: save the spreadsheet as CSV UTF-8 first."),
        ],
        render_kw={"accept": ".csv,text/csv"},
    )
    skip_bad_rows = BooleanField(
        "Skip bad rows",
        description="Import the good rows and list the bad ones, instead of importing nothing.",
    )
    submit = SubmitField("Import")


@bp.route("/import", methods=["GET", "POST"])
@accepts_uploads(file_bytes=MAX_BYTES, request_bytes=MAX_BYTES + 1024 * 1024)
@roles_required(Role.ADMIN, Role.STAFF, Role.ADVOCATE)
def import_requests() -> str:
    form = ImportForm()
    result: ImportResult | None = None
    if form.validate_on_submit():
        try:
            plan = plan_import(form.file.data.read(MAX_BYTES + 1))
        except ImportFileError as error:
            form.file.errors.append(str(error))
        else:
            result = import_rows(plan, current_user, skip_bad=form.skip_bad_rows.data)
            if result.refused:
                db.session.rollback()
            else:
                db.session.commit()
    return render_template("requests/import.html", form=form, result=result)
