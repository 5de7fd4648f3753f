from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import AnyOf, InputRequired, Length, Optional, ValidationError

from tracker.series.models import CADENCE_LABELS, Cadence

OTHER_REPORT = "other"


class SeriesForm(FlaskForm):
    cadence = RadioField(
        "Repeat",
        choices=[SelectChoice(cadence.value, label) for cadence, label in CADENCE_LABELS.items()],
        validators=[InputRequired("Choose how often the request repeats.")],
    )
    period_ends = TextAreaField(
        "Dates the periods end",
        validators=[Length(max=5000)],
        description="For “On dates I list”: one date per line, as YYYY-MM-DD, such as the "
        "Commission's reporting schedule. Each period runs from the day after one date to "
        "the next.",
        render_kw={"rows": 5},
    )
    assignee = SelectField(
        "Assignee",
        validators=[InputRequired("Choose who finalizes each period's request.")],
        description="Who reads, finalizes and sends each period's request; they are emailed "
        "when it is drafted.",
    )
    report = SelectField(
        "Report the agency must produce each period",
        validators=[Optional()],
        description="Optional. When it has not arrived once a period ends, the board says so "
        "and the next request asks for it.",
    )
    other_report = StringField(
        "Other report",
        validators=[Length(max=300)],
        description="The report's name, when it is not in the list above.",
    )
    submit = SubmitField("Create the series")

    def validate_period_ends(self, field: TextAreaField) -> None:
        if self.cadence.data == Cadence.DATES.value and not (field.data or "").strip():
            raise ValidationError("List the date each period ends, one per line, as YYYY-MM-DD.")

    def validate_other_report(self, field: StringField) -> None:
        if self.report.data == OTHER_REPORT and not (field.data or "").strip():
            raise ValidationError("Name the report, or choose one from the list.")

    def report_name(self) -> str:
        if self.report.data == OTHER_REPORT:
            return str(self.other_report.data or "").strip()
        return str(self.report.data or "").strip()


class StopSeriesForm(FlaskForm):
    reason = TextAreaField(
        "Reason (optional)",
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 2},
        description="Kept on the source request's timeline.",
    )
    submit = SubmitField("Stop this series")


class PublicRoomForm(FlaskForm):
    """Publish the series in the public room ("yes") or withdraw it from there ("no")."""

    publish = HiddenField(validators=[AnyOf(["yes", "no"])])
    submit = SubmitField("Publish in the public room")


class MarkReportForm(FlaskForm):
    """One per period on the series page, each under its own prefix. The page's token is
    checked for every form before the view (tracker.security), so this one carries none
    of its own under the prefix."""

    class Meta:
        csrf = False

    document = SelectField(
        "Mark a released document as this period's report",
        validators=[InputRequired("Choose the document that is the report.")],
    )
    submit = SubmitField("Mark as the report")
