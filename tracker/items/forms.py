from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from tracker.items.services import MAX_ITEM
from tracker.text import strip

DESCRIBE = "Describe the records this item asks for."


def item_text(label: str, description: str = "") -> TextAreaField:
    return TextAreaField(
        label,
        validators=[DataRequired(message=DESCRIBE), Length(max=MAX_ITEM)],
        filters=[strip],
        render_kw={"rows": 4},
        description=description,
    )


class AddItemForm(FlaskForm):
    description = item_text("New item", "It is added at the end of the list.")
    submit = SubmitField("Add item")


class RewordForm(FlaskForm):
    description = item_text("Wording")
    reason = TextAreaField(
        "Why the wording changes",
        validators=[Optional(), Length(max=2000)],
        filters=[strip],
        render_kw={"rows": 2},
        description="Needed once the request is sent, e.g. narrowed with the agency on a call.",
    )
    submit = SubmitField("Save wording")


class SplitForm(FlaskForm):
    first = item_text("First part", "Keeps the item's number.")
    second = item_text("Second part", "Becomes the next item; the items after it move down.")
    submit = SubmitField("Split item")


class MergeForm(FlaskForm):
    description = item_text("Wording of the merged item")
    submit = SubmitField("Merge items")


class RemoveForm(FlaskForm):
    submit = SubmitField("Remove")


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        "Why the item is withdrawn",
        validators=[DataRequired(message="Say why the item is withdrawn."), Length(max=2000)],
        filters=[strip],
        render_kw={"rows": 3},
        description="E.g. the records were found published, or the item was dropped to narrow.",
    )
    submit = SubmitField("Withdraw item")
