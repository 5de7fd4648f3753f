from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from tracker.deadlines.models import DayKind
from tracker.inputs import DateField, NotAfterToday
from tracker.text import strip


class CalculatorForm(FlaskForm):
    law = SelectField("Law", validators=[Optional()])
    agency = SelectField("Agency", validators=[Optional()], description="Uses its own calendar.")
    received_on = DateField("Received by the agency on", validators=[InputRequired()])


class CalendarDayForm(FlaskForm):
    day = DateField("Day", validators=[InputRequired()])
    kind = SelectField(
        "The office is",
        choices=[SelectChoice(k.value, k.label) for k in DayKind],
        validators=[InputRequired()],
    )
    note = StringField(
        "Why",
        validators=[DataRequired(message="Say why, e.g. the City observes Cesar Chavez Day "
                                         "on Monday."), Length(max=500)],
        filters=[strip],
    )  # fmt: skip
    submit = SubmitField("Save the day")


class RemoveDayForm(FlaskForm):
    submit = SubmitField("Remove")


class ExtensionForm(FlaskForm):
    notice_on = DateField(
        "Date of the agency's notice", validators=[InputRequired(), NotAfterToday()]
    )
    claimed_on = DateField("New date the agency gives", validators=[InputRequired()])
    written = BooleanField("The agency gave written notice", default=True)
    note = TextAreaField(
        "Note", validators=[Optional(), Length(max=5000)], render_kw={"rows": 3},
        description="What the notice says, e.g. the unusual circumstances it claims.",
    )  # fmt: skip
    submit = SubmitField("Log the extension")

    def validate_claimed_on(self, field: DateField) -> None:
        if self.notice_on.data and field.data and field.data < self.notice_on.data:
            raise ValidationError("The new date cannot be before the notice.")
