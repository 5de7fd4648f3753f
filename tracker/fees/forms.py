from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from tracker.fees.rules import NEEDS_AMOUNT
from tracker.inputs import AmountField, DateField, NotAfterToday
from tracker.items.models import FeeKind


class FeeForm(FlaskForm):
    kind = SelectField(
        "Step",
        choices=[SelectChoice(kind.value, kind.label) for kind in FeeKind],
        validators=[InputRequired()],
    )
    amount = AmountField(
        "Amount (US dollars)",
        validators=[Length(max=30)],
        description="Required for an estimate or a payment, e.g. 120.00.",
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    dated_on = DateField("Dated", validators=[InputRequired("Enter the date."), NotAfterToday()])
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    submit = SubmitField("Record fee step")

    def validate_amount(self, field: AmountField) -> None:
        kind = FeeKind(self.kind.data) if self.kind.data in FeeKind.__members__.values() else None
        if kind in NEEDS_AMOUNT and field.amount is None and not field.errors:
            raise ValidationError(f"Enter the amount of the {kind.label.lower()}.")


class RemoveFeeForm(FlaskForm):
    reason = TextAreaField(
        "Why it is removed",
        validators=[InputRequired("Say why the step is removed, such as “wrong amount”."),
                    Length(max=2000)],
        render_kw={"rows": 2},
        description="Kept with the step and on the timeline.",
    )  # fmt: skip
    submit = SubmitField("Remove the step")
