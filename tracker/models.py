"""Every model, imported in one place for Alembic and the shell."""

from tracker.agencies.models import Agency
from tracker.auth.models import LoginAttempt, Role, User
from tracker.requests.models import (
    Organization,
    RecordsRequest,
    ReferenceCounter,
    RequestEvent,
    RequestStatus,
)

__all__ = [
    "Agency",
    "LoginAttempt",
    "Organization",
    "RecordsRequest",
    "ReferenceCounter",
    "RequestEvent",
    "RequestStatus",
    "Role",
    "User",
]
