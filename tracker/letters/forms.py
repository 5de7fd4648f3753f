"""Forms built from a template's fields, plus who the letter is from."""

from datetime import date
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    Field,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from tracker.inputs import DateField, NotAfterToday, NotBeforeToday, spelled
from tracker.letters.document import Sender
from tracker.letters.library import TODAY, FieldSpec, LetterTemplate
from tracker.letters.models import Channel

PREFIX = "f_"


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of checkboxes: usable without JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SenderFields(FlaskForm):
    requester_name = StringField("Your name", validators=[InputRequired(), Length(max=200)])
    requester_address = TextAreaField(
        "Mailing address",
        validators=[Optional(), Length(max=1000)],
        render_kw={"rows": 3},
        description="Printed on the letterhead.",
    )
    requester_email = EmailField(
        "Email", validators=[Optional(), Email(check_deliverability=False), Length(max=254)]
    )
    requester_phone = StringField("Phone", validators=[Optional(), Length(max=60)])
    signature = StringField(
        "Signature line",
        validators=[Optional(), Length(max=300)],
        description=(
            "Name, comma, title, e.g. Ana Ruiz, Policy Director: the title prints on the line "
            "below the name."
        ),
    )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        # The agency must be able to answer: one way at least, said at the first of them.
        given = [self.requester_email.data, self.requester_phone.data, self.requester_address.data]
        if not any((value or "").strip() for value in given):
            self.requester_email.errors = [
                *self.requester_email.errors,
                "Give at least one way for the agency to reach you: an email, a phone "
                "number or a mailing address.",
            ]
            return False
        return valid

    def sender(self, organization_name: str) -> Sender:
        return Sender(
            name=self.requester_name.data.strip(),
            organization=organization_name,
            address=(self.requester_address.data or "").replace("\r\n", "\n").strip(),
            email=(self.requester_email.data or "").strip(),
            phone=(self.requester_phone.data or "").strip(),
            signature=(self.signature.data or "").strip(),
        )

    def fill_sender(self, sender: Sender) -> None:
        self.requester_name.data = sender.name
        self.requester_address.data = sender.address
        self.requester_email.data = sender.email
        self.requester_phone.data = sender.phone
        self.signature.data = sender.signature


CHANNEL_CHOICES = [
    SelectChoice(
        "",
        "The agency's usual way: by mail where it has an address, else by email, else its portal",
    ),
    *(SelectChoice(c.value, c.label) for c in Channel),
]


def channel_field() -> SelectField:
    return SelectField(
        "How it will be sent",
        choices=CHANNEL_CHOICES,
        validators=[Optional()],
        description="The address block shows the way it goes; finalizing checks the agency "
        "has the address, email, portal or fax it needs.",
    )


def chosen_channel(field: SelectField) -> Channel | None:
    return Channel(field.data) if field.data else None


class NewRequestsForm(SenderFields):
    title = StringField("Title", validators=[InputRequired(), Length(max=300)])
    channel = channel_field()
    agencies = CheckboxListField(
        "Agencies",
        coerce=int,
        validators=[InputRequired(message="Choose at least one agency.")],
        description="One request per agency, each with its own reference number.",
    )
    organization = SelectField("Requesting organization", validators=[Optional()])
    preview = SubmitField("Preview")
    save = SubmitField("Save draft")


class LetterDraftForm(SenderFields):
    channel = channel_field()
    preview = SubmitField("Preview")
    save = SubmitField("Save draft")


class FurtherLetterForm(LetterDraftForm):
    """A follow-up, response, demand or appeal: from whoever the request went out from."""

    organization = StringField(
        "Organization",
        validators=[Optional(), Length(max=200)],
        description="Printed on the letterhead. Leave empty to write in your own name.",
    )

    def fill_sender(self, sender: Sender) -> None:
        super().fill_sender(sender)
        self.organization.data = sender.organization

    def organization_name(self) -> str:
        return (self.organization.data or "").strip()


class FinalizeForm(FlaskForm):
    submit = SubmitField("Finalize the letter")


class MarkSentForm(FlaskForm):
    """When and how the letter went; the way chosen when drafting is offered first."""

    sent_on = DateField("Sent on", validators=[InputRequired(), NotAfterToday()])
    channel = SelectField(
        "How it was sent",
        choices=[SelectChoice(c.value, c.label) for c in Channel],
        validators=[InputRequired()],
    )
    submit = SubmitField("Mark sent")


class DateBound:
    """A date field that may not fall before (or after) another date field of the letter."""

    def __init__(self, other: str, before: bool) -> None:
        self.other = other
        self.before = before

    def __call__(self, form: FlaskForm, field: Field) -> None:
        other = form[PREFIX + self.other]
        if not isinstance(field.data, date) or not isinstance(other.data, date):
            return
        if (field.data < other.data) if self.before else (field.data > other.data):
            side = "before" if self.before else "after"
            raise ValidationError(
                f"This date cannot be {side} “{other.label.text}” ({spelled(other.data)})."
            )


class RequiredWhenTicked:
    """A field the letter needs only when one of its checkboxes is ticked."""

    def __init__(self, box: str, label: str) -> None:
        self.box = box
        self.label = label

    def __call__(self, form: FlaskForm, field: Field) -> None:
        empty = field.data is None or (isinstance(field.data, str) and not field.data.strip())
        if not empty:
            return
        field.errors = []
        if form[PREFIX + self.box].data:
            raise StopValidation(f"Needed when “{self.label}” is ticked.")
        raise StopValidation()


def date_bounds(spec: FieldSpec) -> list[Any]:
    checks: list[Any] = []
    if spec.not_before:
        checks.append(
            NotBeforeToday() if spec.not_before == TODAY else DateBound(spec.not_before, True)
        )
    if spec.not_after:
        checks.append(
            NotAfterToday() if spec.not_after == TODAY else DateBound(spec.not_after, False)
        )
    return checks


def template_field(spec: FieldSpec, template: LetterTemplate) -> Any:
    """The WTForms field for one template field."""
    checks: list[Any] = [InputRequired() if spec.required else Optional()]
    if spec.required_if:
        box = template.field(spec.required_if)
        checks = [RequiredWhenTicked(box.name, box.label)]
    options: dict[str, Any] = {"description": spec.help}
    if spec.example not in (None, "") and spec.type in ("text", "textarea"):
        options["render_kw"] = {"placeholder": f"e.g. {spec.example}"}
    if spec.type == "text":
        return StringField(spec.label, [*checks, Length(max=2000)], **options)
    if spec.type == "textarea":
        options.setdefault("render_kw", {})["rows"] = 5
        return TextAreaField(spec.label, [*checks, Length(max=20000)], **options)
    if spec.type == "date":
        return DateField(spec.label, [*checks, *date_bounds(spec)], **options)
    if spec.type == "number":
        return IntegerField(spec.label, [*checks, NumberRange(min=0, max=10**9)], **options)
    if spec.type == "money":
        return DecimalField(
            spec.label, [*checks, NumberRange(min=0, max=10**7)], places=2, **options
        )
    if spec.type == "choice":
        choices = [SelectChoice("", "Choose…"), *(SelectChoice(c, c) for c in spec.choices)]
        return SelectField(spec.label, checks, choices=choices, **options)
    return BooleanField(spec.label, [Optional()], **options)


def form_class(base: type[FlaskForm], template: LetterTemplate) -> type[FlaskForm]:
    """The base form with one field per template field, named f_<name>."""
    attributes = {PREFIX + spec.name: template_field(spec, template) for spec in template.fields}
    return type(f"{base.__name__}_{template.slug.replace('-', '_')}", (base,), attributes)


def template_fields(form: FlaskForm, template: LetterTemplate) -> list[Field]:
    return [form[PREFIX + spec.name] for spec in template.fields]


def values_from(form: FlaskForm, template: LetterTemplate) -> dict[str, Any]:
    values = {}
    for spec in template.fields:
        value = form[PREFIX + spec.name].data
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").strip() or None
        values[spec.name] = value
    return values


def fill_values(form: FlaskForm, template: LetterTemplate, values: dict[str, Any]) -> None:
    for spec in template.fields:
        value = values.get(spec.name)
        if isinstance(value, Decimal | date | bool | int) or value is None:
            form[PREFIX + spec.name].data = value
        else:
            form[PREFIX + spec.name].data = str(value)


class SendEmailForm(FlaskForm):
    submit = SubmitField("Send")


class PortalFiledForm(FlaskForm):
    """Filed through the agency's portal: which portal, the confirmation it gave, when."""

    portal = StringField(
        "Portal",
        validators=[
            InputRequired(message="Say which portal it was filed through."),
            Length(max=300),
        ],
        description="Its name or address.",
    )
    confirmation = StringField(
        "Confirmation number",
        validators=[
            InputRequired(message="Give the confirmation number the portal showed."),
            Length(max=200),
        ],
        description="The request number the portal gave; it becomes the agency's tracking "
        "number when the request has none.",
    )
    filed_on = DateField("Date filed", validators=[InputRequired(), NotAfterToday()])
    submit = SubmitField("Mark filed via portal")
