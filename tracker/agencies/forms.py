from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import URL, Email, InputRequired, Length, Optional, ValidationError

from tracker.laws import law_choices


class AgencyForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    short_name = StringField(
        "Short name", validators=[Optional(), Length(max=40)], description="For example LAPD."
    )
    law = SelectField(
        "Governing law",
        validators=[InputRequired(message="Choose the law that governs requests to it.")],
        description="Decides the deadlines and the letters offered.",
    )
    jurisdiction = StringField(
        "Parent jurisdiction",
        validators=[Optional(), Length(max=200)],
        description="For example City of Los Angeles.",
    )
    records_office = StringField(
        "Records office or officer", validators=[Optional(), Length(max=200)]
    )
    mailing_address = TextAreaField(
        "Mailing address",
        validators=[Optional(), Length(max=1000)],
        description="As it must print on an envelope, one line per line.",
        render_kw={"rows": 4},
    )
    email = EmailField(
        "Records email",
        validators=[Optional(), Email(check_deliverability=False), Length(max=254)],
    )
    portal_url = URLField(
        "Records portal",
        validators=[
            Optional(),
            URL(require_tld=True, message="Enter a full web address starting with https://."),
            Length(max=500),
        ],
    )
    phone = StringField("Phone", validators=[Optional(), Length(max=60)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)], render_kw={"rows": 4})
    submit = SubmitField("Save agency")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.law.choices = [SelectChoice("", "Choose a law"), *law_choices()]

    def validate_portal_url(self, field: URLField) -> None:
        if field.data and not field.data.lower().startswith(("https://", "http://")):
            raise ValidationError("Enter a web address starting with https://.")
