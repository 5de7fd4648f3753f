from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from tracker.inputs import DateField, spelled, tracker_today
from tracker.publishing.services import REASON_MOST, SUMMARY_MOST

NOW = "now"
EMBARGO = "embargo"


class PublishRequestForm(FlaskForm):
    summary = TextAreaField(
        "Public summary",
        validators=[
            Optional(),
            Length(
                max=SUMMARY_MOST, message=f"Keep the summary under {SUMMARY_MOST:,} characters."
            ),
        ],
        description="Optional. Shown on the public page above the request's details.",
        render_kw={"rows": 3},
    )
    submit = SubmitField("Publish this request")


class WithdrawRequestForm(FlaskForm):
    reason = TextAreaField(
        "Why it is withdrawn",
        validators=[
            InputRequired("Say why the request is withdrawn from the public room."),
            Length(max=REASON_MOST),
        ],
        description="Kept on the timeline. Its documents leave the public room with it.",
        render_kw={"rows": 2},
    )
    submit = SubmitField("Withdraw from the public room")


class PublishDocumentForm(FlaskForm):
    when = RadioField(
        "When",
        choices=[
            SelectChoice(NOW, "Publish now"),
            SelectChoice(EMBARGO, "Publish on a date (embargo)"),
        ],
        validators=[InputRequired("Choose when the document becomes public.")],
        default=NOW,
    )
    embargo_until = DateField(
        "Public from",
        validators=[Optional()],
        description="For an embargo: the first day the public may read it, after today.",
    )
    confirm = BooleanField("I have read what was found and the document may be published")
    submit = SubmitField("Publish the document")

    def __init__(self, *args: Any, confirm_needed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.confirm_needed = confirm_needed

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        # After the field's own check, which passes an empty date: an embargo needs one.
        field = self.embargo_until
        if self.when.data == EMBARGO and not field.errors:
            today = tracker_today()
            if field.data is None:
                field.errors = ["Enter the day the document becomes public."]
            elif field.data <= today:
                field.errors = [f"Choose a day after today ({spelled(today)})."]
            valid = valid and not field.errors
        return valid

    def validate_confirm(self, field: BooleanField) -> None:
        if self.confirm_needed and not field.data:
            raise ValidationError("Tick the box to confirm it: nothing is published without it.")


class UnpublishDocumentForm(FlaskForm):
    reason = TextAreaField(
        "Why it is unpublished",
        validators=[
            InputRequired("Say why the document is unpublished."),
            Length(max=REASON_MOST),
        ],
        description="Kept with the document and on the timeline.",
        render_kw={"rows": 2},
    )
    submit = SubmitField("Unpublish this document")
