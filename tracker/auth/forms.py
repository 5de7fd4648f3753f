from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import Email, EqualTo, InputRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[InputRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=256)])
    next = HiddenField()
    submit = SubmitField("Sign in")


class NewPasswordMixin:
    password = PasswordField(
        "New password",
        validators=[InputRequired(), Length(max=256)],
        description="At least 10 characters. A few unrelated words make a good one.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[InputRequired(), EqualTo("password", message="The passwords do not match.")],
        render_kw={"autocomplete": "new-password"},
    )


class SetupForm(NewPasswordMixin, FlaskForm):
    name = StringField("Your name", validators=[InputRequired(), Length(max=200)])
    email = EmailField(
        "Email", validators=[InputRequired(), Email(check_deliverability=False), Length(max=254)]
    )
    submit = SubmitField("Create the admin account")


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    current = PasswordField("Current password", validators=[InputRequired(), Length(max=256)])
    submit = SubmitField("Change password")


class ChoosePasswordForm(NewPasswordMixin, FlaskForm):
    """The page an invitation or reset link opens."""

    submit = SubmitField("Set my password and sign in")


class LogoutForm(FlaskForm):
    submit = SubmitField("Sign out")
