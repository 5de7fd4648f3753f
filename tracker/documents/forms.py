from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    Field,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from tracker.documents.models import Disposition, ResponseChannel, ResponseKind
from tracker.inputs import AmountField, DateField, NotAfterToday
from tracker.items.models import ItemState, RequestItem
from tracker.laws import Law
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
    fee_amount = AmountField(
        "Amount estimated (US dollars)",
        validators=[Length(max=30)],
        description="For a fee estimate: what the agency says it will charge. It is recorded "
        "among the request's fees.",
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    installment = BooleanField(
        "One installment of a rolling production",
        description="The agency sends the records in parts, and more is to come.",
    )
    next_promised_on = DateField(
        "Next installment promised by",
        validators=[Optional()],
        description="The date the agency gives for the next part; it becomes the request's "
        "“records promised by” date.",
    )
    files = MultipleFileField(
        "Files",
        description="Any number; PDFs, images, office files… They are linked to the items "
        "marked released in full or in part.",
    )
    submit = SubmitField("Log the response")

    # Set by ``response_form``: the request's items, each with its fields.
    item_rows: list["ItemRow"] = []

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        if self.next_promised_on.data and not self.installment.data:
            self.next_promised_on.errors = [
                *self.next_promised_on.errors,
                "A next date is for an installment: tick “one installment” above, or clear "
                "the date.",
            ]
            valid = False
        received = self.received_on.data
        promised = self.next_promised_on.data
        if received and promised and promised < received:
            self.next_promised_on.errors = [
                *self.next_promised_on.errors,
                "The next installment cannot be promised before this response was received.",
            ]
            valid = False
        estimate = self.kind.data == ResponseKind.FEE_ESTIMATE.value
        amount = self.fee_amount
        if estimate and amount.amount is None and not amount.errors:
            amount.errors = [*amount.errors, "Enter the amount the agency estimates."]
            valid = False
        elif not estimate and (amount.data or "").strip() and not amount.errors:
            amount.errors = [
                *amount.errors,
                "An amount goes with a fee estimate: choose “Fee estimate” above, or clear "
                "the amount (other fee steps are recorded in the request's Fees section).",
            ]
            valid = False
        for row in self.item_rows:
            valid = row.check() and valid
        return valid


# What a response can say of one item; "not answered" leaves the item as it is.
NOT_ANSWERED = ""
OUTCOME_CHOICES = [SelectChoice(NOT_ANSWERED, "Not answered by this response")] + [
    SelectChoice(state.value, state.label) for state in ItemState if state is not ItemState.PENDING
]
WITHHOLDING = {ItemState.WITHHELD.value, ItemState.PARTIAL.value}


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of checkboxes: usable without JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


@dataclass
class ItemRow:
    """One item of the request on the response form, with its three fields."""

    item: RequestItem
    outcome: Field
    exemptions: Field
    reason: Field

    @property
    def state(self) -> ItemState | None:
        return ItemState(self.outcome.data) if self.outcome.data else None

    def check(self) -> bool:
        """An exemption or a reason only for an item withheld or released in part."""
        if self.outcome.errors or self.outcome.data in WITHHOLDING:
            # An answer that is none of the choices is refused at its own field already.
            return True
        valid = True
        chosen = self.outcome.data or NOT_ANSWERED
        said = "not answered" if chosen == NOT_ANSWERED else ItemState(chosen).label.lower()
        if self.exemptions.data:
            self.exemptions.errors = [
                *self.exemptions.errors,
                f"Item {self.item.position} is marked {said}: an exemption is cited only for an "
                "item withheld or released in part. Change its answer, or untick the exemption.",
            ]
            valid = False
        if (self.reason.data or "").strip():
            self.reason.errors = [
                *self.reason.errors,
                f"Item {self.item.position} is marked {said}: the agency's reason for "
                "withholding goes with an item withheld or released in part.",
            ]
            valid = False
        return valid


class ItemsForm(FlaskForm):
    """Which items a response logged earlier answers, and how."""

    submit = SubmitField("Save the answers")
    item_rows: list[ItemRow] = []

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        for row in self.item_rows:
            valid = row.check() and valid
        return valid


ItemsBase = TypeVar("ItemsBase", ResponseForm, ItemsForm)


def with_items(base: type[ItemsBase], items: Sequence[RequestItem], law: Law) -> ItemsBase:
    """A form of ``base`` with, for each item, its answer, exemptions and reason."""

    class WithItems(base):  # type: ignore[valid-type,misc]
        pass

    for item in items:
        setattr(
            WithItems,
            f"item_{item.id}_outcome",
            SelectField(f"Item {item.position}: the answer", choices=OUTCOME_CHOICES, default=""),
        )
        setattr(
            WithItems,
            f"item_{item.id}_exemptions",
            CheckboxListField(
                f"Item {item.position}: exemptions cited", choices=law.exemption_choices()
            ),
        )
        setattr(
            WithItems,
            f"item_{item.id}_reason",
            StringField(
                f"Item {item.position}: reason the agency gave",
                validators=[Optional(), Length(max=2000)],
                filters=[strip],
                description="In its own words, when it names no exemption above (“overly "
                "broad”, “burdensome”): recorded, and flagged when the law recognises none.",
            ),
        )
    form: ItemsBase = WithItems()
    form.item_rows = [
        ItemRow(
            item=item,
            outcome=form[f"item_{item.id}_outcome"],
            exemptions=form[f"item_{item.id}_exemptions"],
            reason=form[f"item_{item.id}_reason"],
        )
        for item in items
    ]
    return form


def response_form(items: Sequence[RequestItem], law: Law) -> ResponseForm:
    """The response form for a request: the fixed fields, then each item's answer."""
    return with_items(ResponseForm, items, law)


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
    public = BooleanField(
        "Meant for the public",
        description="A reminder only: nothing reaches the public records room until staff "
        "publish it from the request's page.",
    )
    submit = SubmitField("Save")


class DeleteForm(FlaskForm):
    reason = StringField(
        "Why delete it", validators=[DataRequired(), Length(max=1000)], filters=[strip]
    )
    submit = SubmitField("Delete the document")
