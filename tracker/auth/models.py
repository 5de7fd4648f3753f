"""Accounts, roles, signed-in sessions, one-time account links and the sign-in record."""

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.extensions import Model
from tracker.sqltypes import UTCDateTime, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    ADVOCATE = "advocate"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Admin: everything, including accounts",
    Role.STAFF: "Staff: all requests, agencies and calendars",
    Role.ADVOCATE: "Advocate: creates and edits requests",
    Role.VIEWER: "Viewer: reads only",
}


def enum_column(enum: type[StrEnum], length: int = 30, name: str | None = None) -> Enum:
    """A portable enum column stored as its string values, checked by the database.

    A second column of the same enum in one table needs a name of its own, which names
    its check constraint.
    """
    return Enum(
        enum,
        name=name or enum.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, 20))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the login cookie: changing it signs the user out everywhere.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The secret in this person's calendar feed address; None when revoked.
    feed_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Set when an admin typed the password: every page leads to the password form until
    # the person chooses one only they know.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def set_password(self, password: str) -> None:
        method = current_app.config["PASSWORD_HASH_METHOD"] if has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)
        self.session_token = new_session_token()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_manage_agencies(self) -> bool:
        return self.role in (Role.ADMIN, Role.STAFF)

    @property
    def can_create_requests(self) -> bool:
        return self.role in (Role.ADMIN, Role.STAFF, Role.ADVOCATE)


class LoginAttempt(Model):
    """One sign-in attempt; recent failures throttle further attempts."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    succeeded: Mapped[bool]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


def session_digest(token: str) -> str:
    """What is kept of a session's secret: its SHA-256, so the table alone opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


class UserSession(Model):
    """One signed-in browser. Signing out revokes it, so a copy of its cookie is worthless."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LinkKind(StrEnum):
    INVITATION = "invitation"
    RESET = "reset"

    @property
    def label(self) -> str:
        return "Invitation link" if self is LinkKind.INVITATION else "Password reset link"


class AccountLink(Model):
    """A one-time link an admin hands to someone, to join or to choose a new password.

    Only the SHA-256 of its secret is kept, as for sessions. A link works once, until it
    expires, and only while it is the person's newest: making another withdraws it, and
    so does any new password.
    """

    __tablename__ = "account_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[LinkKind] = mapped_column(enum_column(LinkKind, 20))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    def is_pending(self, now: datetime) -> bool:
        return self.used_at is None and self.withdrawn_at is None and now < self.expires_at
