"""Every model, imported in one place for Alembic and the shell."""

from tracker.agencies.models import Agency
from tracker.auth.models import AccountLink, LoginAttempt, Role, User
from tracker.deadlines.models import AgencyCalendarDay, BoardTally, ReminderLog
from tracker.documents.models import AgencyResponse, Document
from tracker.items.models import ExemptionCitation, Fee, ItemAnswer, RequestItem
from tracker.letters.models import Letter, RequesterProfile, RequestGroup
from tracker.mail.models import Correspondence, MailFetch, OutgoingEmail
from tracker.publishing.models import DocumentPublication, RequestPublication
from tracker.requests.models import (
    Organization,
    RecordsRequest,
    ReferenceCounter,
    RequestEvent,
    RequestStatus,
)
from tracker.scorecards.models import CitationFigures, RequestFigures
from tracker.series.models import RequestSeries, SeriesPeriod

__all__ = [
    "AccountLink",
    "Agency",
    "AgencyResponse",
    "CitationFigures",
    "Correspondence",
    "Document",
    "DocumentPublication",
    "ExemptionCitation",
    "Fee",
    "ItemAnswer",
    "AgencyCalendarDay",
    "BoardTally",
    "ReminderLog",
    "Letter",
    "MailFetch",
    "OutgoingEmail",
    "RequestGroup",
    "RequestItem",
    "RequesterProfile",
    "LoginAttempt",
    "Organization",
    "RecordsRequest",
    "ReferenceCounter",
    "RequestEvent",
    "RequestFigures",
    "RequestPublication",
    "RequestSeries",
    "RequestStatus",
    "Role",
    "SeriesPeriod",
    "User",
]
