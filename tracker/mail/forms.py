from typing import TypeVar

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from tracker.text import strip

# The flash category of a saved email's refusals: shown at the form's file input.
MAIL_UPLOAD_ERROR = "mail-upload-error"


class MailUploadForm(FlaskForm):
    mail = FileField(
        "Add saved email (.eml or .mbox)",
        validators=[DataRequired()],
        description="A message saved from your mail program, or a mailbox of several.",
    )
    submit = SubmitField("File the email")


class AssignForm(FlaskForm):
    reference = StringField(
        "File on request",
        validators=[DataRequired("Give the request's reference."), Length(max=30)],
        filters=[strip],
        description="Its reference, e.g. LA-2026-0042.",
    )
    submit = SubmitField("File it there")


class DiscardForm(FlaskForm):
    reason = StringField(
        "Why discard it",
        validators=[DataRequired("Say why the message is discarded."), Length(max=1000)],
        filters=[strip],
    )
    submit = SubmitField("Discard")


F = TypeVar("F", bound=FlaskForm)


def numbered(form: F, number: int) -> F:
    """Give a form's fields ids of their own: the holding pen shows one form per message."""
    for name, bound in form._fields.items():
        if name != "csrf_token":
            bound.id = f"{name}-{number}"
            bound.label.field_id = bound.id
    return form


class ConfirmSuggestionForm(FlaskForm):
    submit = SubmitField("Confirm")


class DismissSuggestionForm(FlaskForm):
    dismiss_reason = StringField(
        "Why not (optional)",
        validators=[Length(max=1000, message="Keep the reason under 1,000 characters.")],
        filters=[strip],
    )
    submit = SubmitField("Dismiss")


class NoAnswerForm(FlaskForm):
    no_answer_reason = StringField(
        "Why (optional)",
        validators=[Length(max=1000, message="Keep the reason under 1,000 characters.")],
        filters=[strip],
    )
    submit = SubmitField("No answer needed")
