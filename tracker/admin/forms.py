from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    StringField,
    SubmitField,
)
from wtforms.validators import Email, InputRequired, Length, Optional

from tracker.auth.models import Role


def role_field() -> RadioField:
    return RadioField(
        "Role",
        choices=[SelectChoice(role.value, role.label) for role in Role],
        validators=[InputRequired(message="Choose a role.")],
        default=Role.ADVOCATE.value,
    )


class NewUserForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    email = EmailField(
        "Email", validators=[InputRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    role = role_field()
    password = PasswordField(
        "Initial password (optional)",
        validators=[Optional(), Length(max=256)],
        description=(
            "Leave it empty to get an invitation link to give them: they choose their own "
            "password with it. A password typed here must be changed at their first sign-in."
        ),
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Add user")


class EditUserForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    role = role_field()
    active = BooleanField(
        "Active", description="Deactivated users cannot sign in; their history stays."
    )
    password = PasswordField(
        "Set a new password",
        validators=[Optional(), Length(max=256)],
        description=(
            "Leave empty to keep the current one. A password typed here must be changed at "
            "their next sign-in; a reset link (below) lets them choose one instead."
        ),
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Save")


class MakeLinkForm(FlaskForm):
    submit = SubmitField("Make a link")
