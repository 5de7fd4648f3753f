from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    Field,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import URL, Email, InputRequired, Length, Optional, ValidationError

from tracker.agencies.services import ADDRESS_LINE_LENGTH, ADDRESS_LINES, ARTICLES, address_problem
from tracker.laws import law_choices

WEB_ADDRESS = "Enter a full web address starting with https://."
ADDRESS_HELP = (
    f"As it must print on an envelope, one line per line: at most {ADDRESS_LINES} lines "
    f"of {ADDRESS_LINE_LENGTH} characters."
)
SALUTATION_HELP = 'For example "Dear Appeals Officer:". Leave empty for the law\'s salutation.'


def fits_an_envelope(form: FlaskForm, field: Field) -> None:
    problem = address_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def web_address(form: FlaskForm, field: Field) -> None:
    if field.data and not field.data.strip().lower().startswith(("https://", "http://")):
        raise ValidationError("Enter a web address starting with https://.")


def address_field(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=1000), fits_an_envelope],
        description=ADDRESS_HELP,
        render_kw={"rows": 4},
    )


def email_field(label: str) -> EmailField:
    return EmailField(
        label,
        validators=[
            Optional(),
            Email(
                check_deliverability=False, message="Enter an email address like name@agency.gov."
            ),
            Length(max=254),
        ],
    )


def portal_field(label: str) -> URLField:
    return URLField(
        label,
        validators=[
            Optional(),
            URL(require_tld=True, message=WEB_ADDRESS),
            web_address,
            Length(max=500),
        ],
    )


def salutation_field(label: str) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=200)], description=SALUTATION_HELP)


class AgencyForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(), Length(max=200)])
    short_name = StringField(
        "Short name", validators=[Optional(), Length(max=40)], description="For example LAPD."
    )
    article = SelectField(
        "Article before the name",
        choices=[SelectChoice("", "None"), SelectChoice("the", "the")],
        validate_choice=False,
        description=(
            'How the name reads in a sentence: "a request to the Los Angeles Police '
            'Department", but "a request to Los Angeles World Airports".'
        ),
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
    mailing_address = address_field("Mailing address")
    email = email_field("Records email")
    portal_url = portal_field("Records portal")
    phone = StringField("Phone", validators=[Optional(), Length(max=60)])
    fax = StringField("Records fax", validators=[Optional(), Length(max=60)])
    salutation = salutation_field("Salutation to the records office")
    appeal_office = StringField(
        "Appeals office or officer",
        validators=[Optional(), Length(max=300)],
        description=(
            "Where an administrative appeal goes; for a FOIA component, its Appeals Officer."
        ),
    )
    appeal_address = address_field("Appeals mailing address")
    appeal_email = email_field("Appeals email")
    appeal_portal_url = portal_field("Appeals portal")
    appeal_salutation = salutation_field("Salutation to the appeals office")
    counsel_office = StringField(
        "Head or counsel",
        validators=[Optional(), Length(max=300)],
        description="Who receives a demand before a suit, for example the City Attorney.",
    )
    counsel_address = address_field("Counsel's mailing address")
    counsel_email = email_field("Counsel's email")
    counsel_salutation = salutation_field("Salutation to counsel")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)], render_kw={"rows": 4})
    submit = SubmitField("Save agency")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.law.choices = [SelectChoice("", "Choose a law"), *law_choices()]

    def validate_article(self, field: SelectField) -> None:
        if (field.data or "").strip().lower() not in ARTICLES:
            raise ValidationError('Choose "the" or None.')
