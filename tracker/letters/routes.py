import re

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from tracker.agencies.models import Agency
from tracker.auth.models import Role
from tracker.deadlines import services as deadlines
from tracker.extensions import db
from tracker.inputs import whole_number
from tracker.laws import all_laws
from tracker.letters import bp
from tracker.letters.document import Sender
from tracker.letters.forms import (
    FinalizeForm,
    FurtherLetterForm,
    LetterDraftForm,
    MarkSentForm,
    NewRequestsForm,
    PortalFiledForm,
    SendEmailForm,
    chosen_channel,
    fill_values,
    form_class,
    template_fields,
    values_from,
)
from tracker.letters.items import follow_up_refusal
from tracker.letters.library import KINDS, LetterError, LetterTemplate
from tracker.letters.models import Channel, Letter
from tracker.letters.pdf import letters_pdf
from tracker.letters.services import (
    NotSendable,
    Preview,
    addressee,
    compose,
    draft_letter,
    draft_requests,
    file_via_portal,
    finalize,
    finalize_problems,
    letter_channel,
    letter_document,
    letter_pdf_bytes,
    library,
    local_today,
    mark_sent,
    original_sender,
    prefilled_values,
    remembered_sender,
    update_draft,
)
from tracker.requests.models import Organization, RecordsRequest
from tracker.requests.services import RequestError, can_edit, find_by_reference
from tracker.security import roles_required

EDITORS = (Role.ADMIN, Role.STAFF, Role.ADVOCATE)
BODY_RE = re.compile(r"<body>(.*)</body>", re.DOTALL)


def sheet(document: str) -> Markup:
    """The letter's printed markup, to show on a page styled like the paper."""
    match = BODY_RE.search(document)
    # The document comes from our own layout and the sandbox, where values are escaped.
    return Markup(match.group(1) if match else "")  # noqa: S704


def get_template_or_404(slug: str) -> LetterTemplate:
    try:
        return library().get(slug)
    except LetterError:
        abort(404)


def get_request_or_404(reference: str) -> RecordsRequest:
    record = find_by_reference(reference)
    if record is None:
        abort(404)
    return record


def get_letter_or_404(record: RecordsRequest, letter_id: int) -> Letter:
    letter = db.get_or_404(Letter, letter_id)
    if letter.request_id != record.id:
        abort(404)
    return letter


def require_editor(record: RecordsRequest) -> None:
    if not can_edit(current_user, record):
        abort(403)


def pdf_response(data: bytes, filename: str, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@bp.get("/letters")
def index() -> str:
    lib = library()
    query = request.args.get("q", "").strip().lower()
    templates = [
        t
        for t in lib.templates.values()
        if not query or query in f"{t.title} {t.summary} {t.slug} {' '.join(t.laws)}".lower()
    ]
    groups = []
    for kind, label in KINDS.items():
        for law in all_laws().values():
            members = sorted(
                (t for t in templates if t.kind == kind and law.id in t.laws),
                key=lambda t: t.title,
            )
            if members:
                groups.append((f"{label}: {law.name}", members))
    return render_template("letters/index.html", groups=groups, broken=lib.broken, query=query)


@bp.get("/letters/<slug>")
def show_template(slug: str) -> str:
    template = get_template_or_404(slug)
    agencies = {
        a.slug: a for a in db.session.scalars(select(Agency).where(Agency.slug.isnot(None)))
    }
    suggested = [agencies[s] for s in template.suggested_agencies if s in agencies]
    return render_template("letters/template.html", template=template, suggested=suggested)


def agency_choices(template: LetterTemplate) -> list[SelectChoice]:
    """Agencies under the template's laws (and those it is written for), suggested first."""
    agencies = [
        agency
        for agency in db.session.scalars(
            select(Agency).where(Agency.law.in_(template.laws)).order_by(Agency.name)
        )
        if template.fits(agency.slug)
    ]
    order = {slug: n for n, slug in enumerate(template.suggested_agencies)}
    agencies = sorted(agencies, key=lambda a: (order.get(a.slug or "", len(order)), a.name))
    return [
        SelectChoice(
            str(a.id), a.display_name + (" (suggested)" if (a.slug or "") in order else "")
        )
        for a in agencies
    ]


def suggested_agency_ids(template: LetterTemplate) -> list[int]:
    return list(
        db.session.scalars(
            select(Agency.id).where(
                Agency.slug.in_(template.suggested_agencies), Agency.law.in_(template.laws)
            )
        )
    )


@bp.route("/letters/<slug>/draft", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_requests(slug: str) -> BaseResponse | str:
    template = get_template_or_404(slug)
    if template.kind != "initial":
        flash("Draft this letter from the page of the request it is about.", "info")
        return redirect(url_for("letters.show_template", slug=slug))
    form = form_class(NewRequestsForm, template)()
    form.agencies.choices = agency_choices(template)
    organizations = db.session.scalars(select(Organization).order_by(Organization.name)).all()
    form.organization.choices = [
        SelectChoice("", "None: in my own name"),
        *(SelectChoice(str(o.id), o.name) for o in organizations),
    ]
    if request.method == "GET":
        organization = db.session.get(
            Organization, request.args.get("organization", type=whole_number) or 0
        )
        form.title.data = template.title
        form.organization.data = str(organization.id) if organization else ""
        form.fill_sender(remembered_sender(current_user, organization))
        fill_values(form, template, prefilled_values(template, None))
        # A link may name the agencies; otherwise the template's suggestions start ticked.
        wanted = request.args.getlist("agency", type=whole_number)
        form.agencies.data = wanted or suggested_agency_ids(template)
    preview: Preview | None = None
    if form.validate_on_submit():
        organization = (
            db.session.get(Organization, int(form.organization.data))
            if form.organization.data
            else None
        )
        sender = form.sender(organization.name if organization else "")
        agencies = [a for a in (db.session.get(Agency, i) for i in form.agencies.data) if a]
        values = values_from(form, template)
        try:
            if form.save.data:
                created = draft_requests(
                    template, values, agencies, sender, organization, form.title.data.strip(),
                    current_user, chosen_channel(form.channel),
                )  # fmt: skip
                db.session.commit()
                references = ", ".join(r.reference for r in created)
                flash(f"Saved the draft: {references}.", "success")
                return redirect(url_for("requests.show_request", reference=created[0].reference))
            preview = compose(
                template,
                template.typed_values(values),
                agencies[0],
                sender,
                None,
                local_today(),
                "(given when saved)",
                channel=chosen_channel(form.channel),
            )
        except LetterError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
    return draft_page(form, template, preview, None, None)


def draft_page(
    form: LetterDraftForm,
    template: LetterTemplate,
    preview: Preview | None,
    record: RecordsRequest | None,
    letter: Letter | None,
) -> str:
    return render_template(
        "letters/draft.html",
        form=form,
        template=template,
        fields=template_fields(form, template),
        preview=sheet(preview.html) if preview else None,
        record=record,
        letter=letter,
        # A letter about a request states the deadline the engine computes: shown here,
        # never typed.
        deadline=deadlines.deadlines_for(db.session(), record) if record is not None else None,
    )


@bp.app_template_global()
def why_no_follow_up(record: RecordsRequest) -> str:
    """For the request's page: why it offers no follow-up, or "" when it does."""
    return follow_up_refusal(record)


def further_templates(record: RecordsRequest) -> list[LetterTemplate]:
    no_follow_up = bool(follow_up_refusal(record))
    return sorted(
        (
            t
            for t in library().templates.values()
            if t.kind != "initial"
            and record.agency.law in t.laws
            and t.fits(record.agency.slug)
            and not (no_follow_up and t.kind == "follow_up")
        ),
        key=lambda t: (list(KINDS).index(t.kind), t.title),
    )


@bp.route("/requests/<reference>/letters/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_letter(reference: str) -> BaseResponse | str:
    record = get_request_or_404(reference)
    require_editor(record)
    slug = request.args.get("template", "")
    if not slug:
        return render_template(
            "letters/choose.html", record=record, templates=further_templates(record)
        )
    template = get_template_or_404(slug)
    if template.kind == "initial" or not template.fits(record.agency.slug):
        abort(404)
    refusal = follow_up_refusal(record) if template.kind == "follow_up" else ""
    if refusal:
        flash(refusal, "info")
        return redirect(url_for("requests.show_request", reference=reference))
    form = form_class(FurtherLetterForm, template)()
    if request.method == "GET":
        # Signed, by default, as the request went out, whoever drafts the letter.
        sender = original_sender(record) or remembered_sender(current_user, record.organization)
        form.fill_sender(sender)
        fill_values(form, template, prefilled_values(template, record))
    return draft_form(form, template, record, None)


@bp.route("/requests/<reference>/letters/<int:letter_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit_letter(reference: str, letter_id: int) -> BaseResponse | str:
    record = get_request_or_404(reference)
    require_editor(record)
    letter = get_letter_or_404(record, letter_id)
    if not letter.is_draft:
        flash("This letter is final and can no longer be edited.", "info")
        return redirect(url_for("letters.show_letter", reference=reference, letter_id=letter.id))
    template = get_template_or_404(letter.template_slug)
    base = LetterDraftForm if letter.kind == "initial" else FurtherLetterForm
    form = form_class(base, template)()
    if request.method == "GET":
        form.fill_sender(Sender(**letter.sender))
        form.channel.data = letter.channel.value if letter.channel else ""
        fill_values(form, template, template.stored_values(letter.field_values))
    return draft_form(form, template, record, letter)


def draft_form(
    form: LetterDraftForm, template: LetterTemplate, record: RecordsRequest, letter: Letter | None
) -> BaseResponse | str:
    preview: Preview | None = None
    if form.validate_on_submit():
        if isinstance(form, FurtherLetterForm):
            sender = form.sender(form.organization_name())
        else:
            # The letter that starts a request is from the request's organization.
            sender = form.sender(record.organization.name if record.organization else "")
        values = values_from(form, template)
        try:
            if form.save.data:
                channel = chosen_channel(form.channel)
                if letter is None:
                    letter = draft_letter(record, template, values, sender, current_user, channel)
                else:
                    update_draft(letter, record, values, sender, current_user, channel)
                db.session.commit()
                flash("Saved the draft letter.", "success")
                return redirect(
                    url_for("letters.show_letter", reference=record.reference, letter_id=letter.id)
                )
            preview = compose(
                template,
                template.typed_values(values),
                record.agency,
                sender,
                record,
                local_today(),
                record.reference,
                channel=chosen_channel(form.channel),
            )
        except LetterError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
    return draft_page(form, template, preview, record, letter)


@bp.get("/requests/<reference>/letters/<int:letter_id>")
def show_letter(reference: str, letter_id: int) -> str:
    record = get_request_or_404(reference)
    letter = get_letter_or_404(record, letter_id)
    sent_form = MarkSentForm()
    sent_form.sent_on.data = local_today()
    if letter.channel:
        sent_form.channel.data = letter.channel.value
    return letter_page(record, letter, sent_form)


def portal_form_for(record: RecordsRequest, letter: Letter) -> PortalFiledForm:
    form = PortalFiledForm(formdata=None)
    form.portal.data = portal_address(record, letter)
    form.filed_on.data = local_today()
    return form


def portal_address(record: RecordsRequest, letter: Letter) -> str:
    template = library().templates.get(letter.template_slug)
    contact = addressee(template, record.agency) if template else record.agency.contact("records")
    return contact.portal_url or record.agency.portal_url


def letter_page(
    record: RecordsRequest,
    letter: Letter,
    sent_form: MarkSentForm,
    portal_form: PortalFiledForm | None = None,
) -> str:
    from tracker.mail.outbox import email_subject, letter_as_text, outgoing_for

    template = library().templates.get(letter.template_slug)
    document, problem = "", ""
    try:
        document = letter_document(letter, record)
    except LetterError as error:
        problem = str(error)
    # What stands in the way of finalizing, shown before anyone presses the button.
    blocking = finalize_problems(letter, record) if letter.is_draft and template else []
    channel = letter.channel
    if channel is None and template is not None:
        channel = letter_channel(letter, addressee(template, record.agency))
    return render_template(
        "letters/letter.html",
        record=record,
        letter=letter,
        template=template,
        sheet=sheet(document),
        problem=problem,
        editable=can_edit(current_user, record),
        finalize_form=FinalizeForm(),
        sent_form=sent_form,
        blocking=blocking,
        channel_label=channel.label.lower() if channel else "",
        outgoing=outgoing_for(letter),
        send_form=SendEmailForm(formdata=None),
        portal_form=portal_form or portal_form_for(record, letter),
        portal_url=portal_address(record, letter),
        # Ready to paste into the agency's portal.
        paste_subject=email_subject(letter, record) if not letter.is_draft else "",
        paste_text=letter_as_text(letter) if not letter.is_draft else "",
    )


@bp.post("/requests/<reference>/letters/<int:letter_id>/finalize")
@roles_required(*EDITORS)
def finalize_letter(reference: str, letter_id: int) -> BaseResponse:
    record = get_request_or_404(reference)
    require_editor(record)
    letter = get_letter_or_404(record, letter_id)
    if FinalizeForm().validate_on_submit():
        try:
            finalize(letter, record, current_user, local_today())
        except NotSendable:
            db.session.rollback()
            flash("The letter was not finalized: see what it still needs below.", "error")
        except LetterError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash("The letter is final and ready to send.", "success")
    return redirect(url_for("letters.show_letter", reference=reference, letter_id=letter.id))


@bp.post("/requests/<reference>/letters/<int:letter_id>/sent")
@roles_required(*EDITORS)
def mark_letter_sent(reference: str, letter_id: int) -> BaseResponse | str:
    record = get_request_or_404(reference)
    require_editor(record)
    letter = get_letter_or_404(record, letter_id)
    form = MarkSentForm()
    if not form.validate_on_submit():
        # Shown again with the date and channel as typed, each message at its field.
        return letter_page(record, letter, form)
    try:
        mark_sent(letter, record, form.sent_on.data, Channel(form.channel.data), current_user)
    except RequestError as error:
        # The date does not fit the request's other dates (received before it was sent).
        db.session.rollback()
        form.sent_on.errors = [*form.sent_on.errors, str(error)]
        return letter_page(record, letter, form)
    except LetterError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"Marked sent on {form.sent_on.data.isoformat()}.", "success")
    return redirect(url_for("letters.show_letter", reference=reference, letter_id=letter.id))


@bp.post("/requests/<reference>/letters/<int:letter_id>/portal")
@roles_required(*EDITORS)
def mark_filed_portal(reference: str, letter_id: int) -> BaseResponse | str:
    record = get_request_or_404(reference)
    require_editor(record)
    letter = get_letter_or_404(record, letter_id)
    form = PortalFiledForm()
    sent_form = MarkSentForm(formdata=None)
    sent_form.sent_on.data = local_today()
    if not form.validate_on_submit():
        # Shown again as typed, each message at its field.
        return letter_page(record, letter, sent_form, form)
    portal, confirmation = form.portal.data.strip(), form.confirmation.data.strip()
    try:
        file_via_portal(letter, record, portal, confirmation, form.filed_on.data, current_user)
    except RequestError as error:
        db.session.rollback()
        target = form.filed_on if error.field in ("filed_on", "sent_on") else form.confirmation
        target.errors = [*target.errors, str(error)]
        return letter_page(record, letter, sent_form, form)
    except LetterError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"Marked filed via {portal} on {form.filed_on.data.isoformat()}.", "success")
    return redirect(url_for("letters.show_letter", reference=reference, letter_id=letter.id))


@bp.get("/requests/<reference>/letters/<int:letter_id>/letter.pdf")
def letter_pdf(reference: str, letter_id: int) -> Response:
    record = get_request_or_404(reference)
    letter = get_letter_or_404(record, letter_id)
    try:
        data = letter_pdf_bytes(letter, record)
    except LetterError:
        abort(404)
    suffix = "" if letter.kind == "initial" else f"-{letter.kind.replace('_', '-')}"
    if letter.is_draft:
        suffix += "-DRAFT"
    return pdf_response(data, f"{record.reference}{suffix}.pdf")


@bp.get("/letters/print")
def print_letters() -> BaseResponse:
    """One PDF of the latest letter of each chosen request (or of a whole group)."""
    references = request.args.getlist("ref")
    group_id = request.args.get("group", type=whole_number)
    statement = select(RecordsRequest)
    if group_id:
        statement = statement.where(RecordsRequest.group_id == group_id)
    else:
        statement = statement.where(RecordsRequest.reference.in_(references[:200]))
    records = db.session.scalars(statement.order_by(RecordsRequest.reference)).all()
    documents = []
    any_draft = False
    for record in records:
        if record.current_letter is None:
            continue
        try:
            documents.append(letter_document(record.current_letter, record))
        except LetterError:
            continue
        any_draft = any_draft or record.current_letter.is_draft
    if not documents:
        flash("None of the chosen requests has a letter that can be printed.", "error")
        return redirect(url_for("requests.list_requests"))
    # Each draft's own pages are marked; the name warns before the file is opened.
    draft = "-DRAFT" if any_draft else ""
    stamp = local_today().isoformat()
    data = letters_pdf(documents, current_app.config["PRINT_PROCESSES"])
    return pdf_response(data, f"letters-{stamp}-{len(documents)}{draft}.pdf")
