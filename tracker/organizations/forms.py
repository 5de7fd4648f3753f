from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, SubmitField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Optional


class OrganizationForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    mailing_address = TextAreaField(
        "Mailing address",
        validators=[Optional(), Length(max=1000)],
        render_kw={"rows": 4},
        description="As it prints on the letterhead, one line per line.",
    )
    email = EmailField(
        "Email", validators=[Optional(), Email(check_deliverability=False), Length(max=254)]
    )
    phone = StringField("Phone", validators=[Optional(), Length(max=60)])
    signers = TextAreaField(
        "People who sign for it",
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 3},
        description="One per line, as the signature should read, e.g. Ana Ruiz, Policy Director.",
    )
    submit = SubmitField("Save organization")
