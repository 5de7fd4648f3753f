from datetime import date
from typing import Any

from wtforms import Form, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from tracker.inputs import DateField, whole_number


def optional_id(value: object) -> int | None:
    try:
        return whole_number(str(value)) if value not in (None, "", "None") else None
    except ValueError:
        return None


class PeriodForm(Form):
    """The period and filters of a scorecard: a GET form, so links and bookmarks keep them."""

    start = DateField("Filed from", validators=[Optional()])
    end = DateField("Filed to", validators=[Optional()])
    organization = SelectField("Organization", coerce=optional_id, validators=[Optional()])
    tag = StringField("Tag", validators=[Optional(), Length(max=100)])

    def validate_end(self, field: Any) -> None:
        start: date | None = self.start.data
        if field.data and start and field.data < start:
            raise ValidationError("The end of the period cannot come before its start.")

    def validate_organization(self, field: Any) -> None:
        # An organization that no longer exists filters nothing rather than failing.
        if field.data not in {value for value, _ in self.organization.choices or ()}:
            field.data = None
