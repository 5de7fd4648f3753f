"""What every template can use: navigation, the sign-out form, date formatting."""

from datetime import date, datetime
from typing import Any

from flask import Flask
from flask_login import current_user

from tracker.auth.forms import LogoutForm
from tracker.sqltypes import LOCAL_ZONE


def format_date(value: date | None) -> str:
    if value is None:
        return ""
    return f"{value:%a} {value:%b} {value.day}, {value.year}"


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(LOCAL_ZONE)
    hour = local.hour % 12 or 12
    return f"{format_date(local.date())}, {hour}:{local:%M} {'am' if local.hour < 12 else 'pm'}"


def init_app(app: Flask) -> None:
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")

    @app.context_processor
    def navigation() -> dict[str, Any]:
        # Only shown, never filled in from this request: reading its body here would
        # raise again on an error page for a body that could not be read (too large, cut off).
        form = LogoutForm(formdata=None) if current_user.is_authenticated else None
        return {"logout_form": form}
