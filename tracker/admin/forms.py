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
        "Initial password",
        validators=[InputRequired(), Length(max=256)],
        description="Give it to them privately; they can change it under Account.",
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
        description="Leave empty to keep the current one.",
    )
    submit = SubmitField("Save")
