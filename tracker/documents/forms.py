from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from tracker.documents.models import Disposition, ResponseChannel, ResponseKind
from tracker.inputs import DateField, NotAfterToday
from tracker.text import strip


class ResponseForm(FlaskForm):
    kind = SelectField(
        "What the agency sent",
        choices=[SelectChoice(k.value, k.label) for k in ResponseKind],
        validators=[InputRequired()],
    )
    received_on = DateField("Received on", validators=[InputRequired(), NotAfterToday()])
    channel = SelectField("How", choices=[SelectChoice(c.value, c.label) for c in ResponseChannel])
    agency_tracking_number = StringField(
        "Agency's tracking number", validators=[Optional(), Length(max=100)]
    )
    summary = TextAreaField(
        "Summary", validators=[Optional(), Length(max=20000)], render_kw={"rows": 4}
    )
    exemptions = TextAreaField(
        "Exemptions cited",
        validators=[Optional(), Length(max=5000)],
        render_kw={"rows": 2},
        description="For a denial or redactions: the sections the agency relies on.",
    )
    files = MultipleFileField("Files", description="Any number; PDFs, images, office files…")
    submit = SubmitField("Log the response")


# The flash category of an upload's refusals: the request page shows them at its file
# input, where the person who uploaded is looking, rather than at the top of the page.
UPLOAD_ERROR = "upload-error"


class UploadForm(FlaskForm):
    files = MultipleFileField("Add files", validators=[DataRequired()])
    submit = SubmitField("Upload")


class DocumentForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired(), Length(max=300)], filters=[strip])
    document_date = DateField("Date on the document", validators=[Optional()])
    disposition = SelectField(
        "Disposition", choices=[SelectChoice(d.value, d.value.capitalize()) for d in Disposition]
    )
    public = BooleanField("Public", description="May appear in a public records room later.")
    submit = SubmitField("Save")


class DeleteForm(FlaskForm):
    reason = StringField(
        "Why delete it", validators=[DataRequired(), Length(max=1000)], filters=[strip]
    )
    submit = SubmitField("Delete the document")
