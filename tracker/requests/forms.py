from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from tracker.inputs import DateField, NotAfterToday
from tracker.requests.models import RequestStatus
from tracker.text import strip


def optional_id(value: object) -> int | None:
    return int(str(value)) if value not in (None, "", "None") else None


class RequestForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[InputRequired(), Length(max=300)],
        description="A short name the team will recognise, e.g. ICE collaboration reports 2024.",
    )
    agency = SelectField("Agency", coerce=optional_id, validators=[InputRequired()])
    organization = SelectField(
        "Requesting organization", coerce=optional_id, validators=[Optional()]
    )
    requester_name = StringField(
        "Requester", validators=[Optional(), Length(max=200)], description="The person it is from."
    )
    records_sought = TextAreaField(
        "Records sought",
        validators=[Optional(), Length(max=20000)],
        render_kw={"rows": 8},
        description="Describe the records and the date range.",
    )
    status = SelectField(
        "Status",
        choices=[SelectChoice(status.value, status.label) for status in RequestStatus],
        default=RequestStatus.DRAFT.value,
    )
    agency_tracking_number = StringField(
        "Agency tracking number", validators=[Optional(), Length(max=100)]
    )
    assignee = SelectField("Assignee", coerce=optional_id, validators=[Optional()])
    # A future date would push the deadline ahead and hide an overdue request.
    sent_on = DateField("Sent on", validators=[Optional(), NotAfterToday()])
    received_on = DateField("Received by the agency on", validators=[Optional(), NotAfterToday()])
    closed_on = DateField("Closed on", validators=[Optional(), NotAfterToday()])
    determination_on = DateField(
        "Determination made on",
        validators=[Optional(), NotAfterToday()],
        description="When the agency said whether it will release records; stops the clock.",
    )
    records_promised_on = DateField(
        "Records promised by",
        validators=[Optional()],
        description="The date the agency gave for producing the records.",
    )
    tags = StringField(
        "Tags",
        validators=[Optional(), Length(max=400)],
        description="Comma-separated, e.g. ice, detainers.",
    )
    note = TextAreaField(
        "Note for the timeline",
        validators=[Optional(), Length(max=5000)],
        render_kw={"rows": 2},
        description="Why this change was made (optional).",
    )
    submit = SubmitField("Save request")

    def validate_agency(self, field: SelectField) -> None:
        if field.data is None:
            raise ValidationError("Choose the agency the request goes to.")


class NoteForm(FlaskForm):
    note = TextAreaField(
        "Add a note",
        validators=[DataRequired(message="Write the note first."), Length(max=5000)],
        filters=[strip],
        render_kw={"rows": 3},
    )
    submit = SubmitField("Add note")
