"""Each person's calendar feed of deadlines, behind a secret address they can renew or revoke."""

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from icalendar import Calendar, Event, vText
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SubmitField

from tracker.auth.models import Role, User
from tracker.deadlines import bp
from tracker.deadlines.services import calendar_for, deadlines_for
from tracker.extensions import db
from tracker.requests.models import CLOSED_STATUSES, RecordsRequest, RequestStatus
from tracker.sqltypes import utcnow

UID_DOMAIN = "records-tracker"


class RenewFeedForm(FlaskForm):
    renew = SubmitField("Make a new feed address")


class RevokeFeedForm(FlaskForm):
    revoke = SubmitField("Turn the feed off")


# Operations ----------------------------------------------------------------------


def renew_feed_token(user: User) -> str:
    """A new secret address; the old one stops working."""
    user.feed_token = secrets.token_urlsafe(32)
    return user.feed_token


def revoke_feed_token(user: User) -> None:
    user.feed_token = None


def feed_owner(session: Session, token: str) -> User | None:
    """The active user whose feed this token opens, if any."""
    if not token:
        return None
    user = session.scalar(select(User).where(User.feed_token == token))
    return user if user is not None and user.active else None


@dataclass(frozen=True)
class FeedKind:
    """One of the feeds a person may subscribe to; ``show`` names it in the feed's address."""

    show: str
    title: str
    covers: str


MINE = FeedKind(
    "",
    "Your requests",
    "Open requests you created or that are assigned to you.",
)
ALL_OPEN = FeedKind(
    "all",
    "All open requests",
    "Every open request, whoever created it and whoever is assigned to it, or nobody.",
)
UNASSIGNED = FeedKind(
    "unassigned",
    "Unassigned requests",
    "Open requests assigned to nobody: one leaves this feed once someone is assigned to it.",
)
# Staff and admins look after every request, and hand out the unassigned ones.
WIDE_FEED_ROLES = frozenset({Role.ADMIN, Role.STAFF})


def feed_kinds(user: User) -> list[FeedKind]:
    """The feeds this person may have, their own first."""
    return [MINE, ALL_OPEN, UNASSIGNED] if user.role in WIDE_FEED_ROLES else [MINE]


def feed_requests(session: Session, user: User, kind: FeedKind = MINE) -> list[RecordsRequest]:
    """The open requests (sent, not closed) of the feed that have a date to show."""
    r = RecordsRequest
    scope: list[ColumnElement[bool]] = []
    if kind == MINE:
        scope.append(or_(r.assignee_id == user.id, r.created_by_id == user.id))
    elif kind == UNASSIGNED:
        scope.append(r.assignee_id.is_(None))
    return list(
        session.scalars(
            select(r)
            .where(
                *scope,
                r.status.not_in([RequestStatus.DRAFT, *CLOSED_STATUSES]),
                or_(r.due_on.is_not(None), r.records_promised_on.is_not(None)),
            )
            .order_by(r.id)
            .options(joinedload(r.agency), joinedload(r.assignee))
        )
    )


def calendar_text(text: str) -> str:
    """Text as iCalendar allows it (RFC 5545 3.3.11): line breaks, which icalendar escapes,
    and no other control character, which a lenient reader could take for a new line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        "\n" if unicodedata.category(c) in ("Zl", "Zp") else c
        for c in text
        if c in "\n\t" or unicodedata.category(c) != "Cc"
    )


class PlainText(vText):
    """Text escaped as RFC 5545 3.3.11 says, and nothing more.

    icalendar's own escaping first turns the two characters backslash-N into a line
    break, so a title with them would gain a line in the feed. Here the backslash is
    escaped first, and only real line breaks become ``\\n``.
    """

    def to_ical(self) -> bytes:
        text = str(self)
        for char, escaped in (("\\", "\\\\"), (";", "\\;"), (",", "\\,"), ("\n", "\\n")):
            text = text.replace(char, escaped)
        return text.encode("utf-8")


def all_day_event(uid: str, day: date, summary: str, description: str, url: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", utcnow())
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", PlainText(calendar_text(summary)))
    event.add("description", PlainText(calendar_text(description)))
    event.add("url", url)
    event.add("transp", "TRANSPARENT")
    return event


def feed_calendar(session: Session, user: User, kind: FeedKind = MINE) -> bytes:
    """The feed's deadlines as iCalendar: all-day events, text escaped by icalendar."""
    calendar = Calendar()
    calendar.add("prodid", "-//Records Tracker//Deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    title = "Records Tracker deadlines"
    calendar.add("x-wr-calname", title if kind == MINE else f"{title}: {kind.title.lower()}")
    calendars = {}
    for record in feed_requests(session, user, kind):
        agency = record.agency
        if agency.id not in calendars:
            calendars[agency.id] = calendar_for(session, agency)
        deadlines = deadlines_for(session, record, calendars[agency.id])
        name = f"{record.reference} {record.title} — {agency.short_name or agency.name}"
        url = url_for("requests.show_request", reference=record.reference, _external=True)
        explanation = "\n".join([*deadlines.steps, *deadlines.warnings])
        assignee = (
            f"Assigned to {record.assignee.name}." if record.assignee else "Assigned to nobody."
        )
        if record.due_on:
            calendar.add_component(
                all_day_event(
                    f"{record.reference}-due@{UID_DOMAIN}",
                    record.due_on,
                    f"Due: {name}",
                    f"Determination due from {agency.name}.\n{assignee}\n{explanation}\n{url}",
                    url,
                )
            )
        if record.records_promised_on:
            calendar.add_component(
                all_day_event(
                    f"{record.reference}-promised@{UID_DOMAIN}",
                    record.records_promised_on,
                    f"Records promised: {name}",
                    f"{agency.name} promised the records by this day.\n{assignee}\n"
                    f"{explanation}\n{url}",
                    url,
                )
            )
    return calendar.to_ical()


# Views ---------------------------------------------------------------------------


@bp.get("/account/calendar-feed", endpoint="feed_settings")
@login_required
def feed_settings() -> str:
    token = current_user.feed_token
    kinds = feed_kinds(current_user)
    urls = {
        kind.show: url_for("deadlines.feed", token=token, show=kind.show or None, _external=True)
        for kind in kinds
        if token
    }
    return render_template(
        "deadlines/feed.html",
        kinds=kinds,
        urls=urls,
        renew_form=RenewFeedForm(),
        revoke_form=RevokeFeedForm(),
    )


@bp.post("/account/calendar-feed/renew", endpoint="renew_feed")
@login_required
def renew_feed() -> BaseResponse:
    if not RenewFeedForm().validate_on_submit():
        abort(400)
    had_one = current_user.feed_token is not None
    several = len(feed_kinds(current_user)) > 1
    renew_feed_token(current_user)
    db.session.commit()
    if not had_one:
        message = "Your calendar feed is on. Add its address to your calendar app."
        if several:
            message = "Your calendar feeds are on. Add any of their addresses to your calendar app."
    elif several:
        message = "Your feeds have new addresses; the old ones no longer work."
    else:
        message = "Your feed has a new address; the old one no longer works."
    flash(message, "success")
    return redirect(url_for("deadlines.feed_settings"))


@bp.post("/account/calendar-feed/revoke", endpoint="revoke_feed")
@login_required
def revoke_feed() -> BaseResponse:
    if not RevokeFeedForm().validate_on_submit():
        abort(400)
    revoke_feed_token(current_user)
    db.session.commit()
    flash(
        "Your calendar feeds are off; their addresses no longer work."
        if len(feed_kinds(current_user)) > 1
        else "Your calendar feed is off; its address no longer works.",
        "info",
    )
    return redirect(url_for("deadlines.feed_settings"))


@bp.get("/feeds/<token>.ics", endpoint="feed")
def feed(token: str) -> Response:
    user = feed_owner(db.session(), token)
    if user is None:
        abort(404)
    # Checked on every read: someone who is no longer staff loses the wider feeds.
    show = request.args.get("show", "")
    kind = next((k for k in feed_kinds(user) if k.show == show), None)
    if kind is None:
        abort(404)
    return Response(
        feed_calendar(db.session(), user, kind),
        mimetype="text/calendar",
        headers={"Content-Disposition": 'inline; filename="deadlines.ics"'},
    )
