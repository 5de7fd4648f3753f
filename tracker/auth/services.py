"""Account operations. They flush; the caller commits."""

import math
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from flask import current_app, g
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.auth.models import (
    AccountLink,
    LinkKind,
    LoginAttempt,
    Role,
    User,
    UserSession,
    new_session_token,
    session_digest,
)
from tracker.extensions import db
from tracker.sqltypes import utcnow

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A change to an account that cannot be made, with a message for the user."""


class LinkRefusal(StrEnum):
    """Why an invitation or reset link cannot be used."""

    UNKNOWN = "unknown"
    USED = "used"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    INACTIVE = "inactive"


class LinkUnusable(Exception):
    def __init__(self, reason: LinkRefusal, link: AccountLink | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.link = link


def users_exist() -> bool:
    if not g.get("users_exist"):
        g.users_exist = (db.session.scalar(select(func.count(User.id))) or 0) > 0
    return bool(g.users_exist)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > 256:
        return "Use at most 256 characters."
    if email and password.strip().lower() == normalise_email(email):
        return "Do not use your email address as your password."
    if len(set(password)) < 4:
        return "Use a less repetitive password."
    return None


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    email: str, name: str, role: Role, password: str | None, *, must_change: bool = False
) -> User:
    """A new active account. Without a password nobody can sign in to it until its
    invitation link is used; ``must_change`` makes them replace the one given."""
    email = normalise_email(email)
    if find_user(email) is not None:
        raise AccountError(f"An account for {email} already exists.")
    if password is not None:
        problem = password_problem(password, email)
        if problem:
            raise AccountError(problem)
    user = User(email=email, name=name.strip() or email, role=role, active=True)
    # Until they choose one, a random password no one knows.
    user.set_password(password if password is not None else secrets.token_urlsafe(32))
    user.must_change_password = password is not None and must_change
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, *, name: str, role: Role, active: bool, actor: User) -> None:
    if user.id == actor.id and (role != Role.ADMIN or not active):
        raise AccountError("You cannot remove your own admin role or deactivate yourself.")
    if user.role != role or user.active != active:
        # A changed role or a deactivation takes effect at once, everywhere.
        user.session_token = new_session_token()
        revoke_sessions(user)
    if user.active and not active:
        # Reactivating the account later does not bring its old links back either.
        withdraw_links(user)
    user.name = name.strip() or user.email
    user.role = role
    user.active = active
    db.session.flush()


def change_password(user: User, current: str, new: str) -> None:
    if not user.check_password(current):
        raise AccountError("Your current password is not right.")
    if new == current and user.must_change_password:
        raise AccountError("Choose a password of your own, not the one you were given.")
    new_password(user, new, chosen=True)


def set_password_for(user: User, password: str) -> None:
    """An admin types a password for ``user``, who must change it at their next sign-in."""
    new_password(user, password, chosen=False)


def new_password(user: User, password: str, *, chosen: bool) -> None:
    """Every way to a new password: it ends all of the person's sessions and links."""
    problem = password_problem(password, user.email)
    if problem:
        raise AccountError(problem)
    user.set_password(password)
    user.must_change_password = not chosen
    revoke_sessions(user)
    withdraw_links(user)
    db.session.flush()


# One-time links -------------------------------------------------------------------------

# The secret is 32 random bytes (256 bits): no one guesses a live one, however many tries.
LINK_TOKEN_BYTES = 32


def link_lifetime(kind: LinkKind) -> timedelta:
    if kind is LinkKind.INVITATION:
        return timedelta(days=current_app.config["INVITATION_DAYS"])
    return timedelta(hours=current_app.config["RESET_LINK_HOURS"])


def make_account_link(
    user: User, kind: LinkKind, actor: User, now: datetime | None = None
) -> tuple[AccountLink, str]:
    """A new link for ``user``, made by ``actor``; its secret is returned, never stored.

    Any older link of theirs stops working.
    """
    if not user.active:
        raise AccountError(f"{user.name}'s account is deactivated: reactivate it first.")
    now = now or utcnow()
    withdraw_links(user, now)
    token = secrets.token_urlsafe(LINK_TOKEN_BYTES)
    link = AccountLink(
        kind=kind,
        token_digest=session_digest(token),
        user_id=user.id,
        created_by_id=actor.id,
        created_at=now,
        expires_at=now + link_lifetime(kind),
    )
    db.session.add(link)
    db.session.flush()
    return link, token


def withdraw_links(user: User, now: datetime | None = None) -> None:
    """Stop every unused link of ``user`` from working."""
    db.session.execute(
        db.update(AccountLink)
        .where(
            AccountLink.user_id == user.id,
            AccountLink.used_at.is_(None),
            AccountLink.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=now or utcnow())
    )


def usable_link(token: str, kind: LinkKind, now: datetime | None = None) -> AccountLink:
    """The link ``token`` opens, or LinkUnusable saying why it opens nothing.

    It is looked up by the digest of the secret, so neither the table nor the time a
    lookup takes tells anything about a secret that would work.
    """
    if not token or len(token) > 128:
        raise LinkUnusable(LinkRefusal.UNKNOWN)
    link = db.session.scalar(
        select(AccountLink).where(AccountLink.token_digest == session_digest(token))
    )
    if link is None or link.kind != kind:
        raise LinkUnusable(LinkRefusal.UNKNOWN)
    now = now or utcnow()
    if link.used_at is not None:
        raise LinkUnusable(LinkRefusal.USED, link)
    if link.withdrawn_at is not None:
        raise LinkUnusable(LinkRefusal.WITHDRAWN, link)
    if now >= link.expires_at:
        raise LinkUnusable(LinkRefusal.EXPIRED, link)
    if not link.user.active:
        raise LinkUnusable(LinkRefusal.INACTIVE, link)
    return link


def use_link(link: AccountLink, password: str, now: datetime | None = None) -> User:
    """Give the link's person the password they chose; the link is then spent."""
    user = link.user
    problem = password_problem(password, user.email)
    if problem:
        raise AccountError(problem)
    now = now or utcnow()
    # Spent in one statement, so two posts of the same link cannot both succeed.
    spent = db.session.execute(
        db.update(AccountLink)
        .where(
            AccountLink.id == link.id,
            AccountLink.used_at.is_(None),
            AccountLink.withdrawn_at.is_(None),
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkUnusable(LinkRefusal.USED, link)
    new_password(user, password, chosen=True)
    return user


def links_of(user: User, limit: int = 5) -> list[AccountLink]:
    """The person's newest links, newest first: who made each, when, and what became of it."""
    return list(
        db.session.scalars(
            select(AccountLink)
            .where(AccountLink.user_id == user.id)
            .order_by(AccountLink.created_at.desc(), AccountLink.id.desc())
            .limit(limit)
        )
    )


def pending_invitations(user_ids: list[int], now: datetime | None = None) -> dict[int, AccountLink]:
    """The unused invitation of each of these people that still works."""
    now = now or utcnow()
    links = db.session.scalars(
        select(AccountLink).where(
            AccountLink.user_id.in_(user_ids),
            AccountLink.kind == LinkKind.INVITATION,
            AccountLink.used_at.is_(None),
            AccountLink.withdrawn_at.is_(None),
            AccountLink.expires_at > now,
        )
    )
    return {link.user_id: link for link in links}


def open_session(user: User) -> str:
    """Record a new signed-in session for ``user``; the secret returned goes in its cookie."""
    now = utcnow()
    token = new_session_token()
    db.session.add(
        UserSession(
            token_digest=session_digest(token), user_id=user.id, created_at=now, last_seen_at=now
        )
    )
    # Sessions revoked or idle for a month are of no further use.
    db.session.execute(
        db.delete(UserSession).where(UserSession.last_seen_at < now - timedelta(days=30))
    )
    db.session.flush()
    return token


def live_session(token: object, user: User, now: datetime | None = None) -> UserSession | None:
    """The session ``token`` names, if it is ``user``'s, not revoked and not idle too long."""
    if not isinstance(token, str) or not token:
        return None
    record = db.session.scalar(
        select(UserSession).where(UserSession.token_digest == session_digest(token))
    )
    now = now or utcnow()
    if (
        record is None
        or record.user_id != user.id
        or record.revoked_at is not None
        or record.last_seen_at < now - current_app.permanent_session_lifetime
    ):
        return None
    return record


def close_session(token: object) -> None:
    """Revoke the one session ``token`` names (signing out)."""
    if isinstance(token, str) and token:
        db.session.execute(
            db.update(UserSession)
            .where(
                UserSession.token_digest == session_digest(token),
                UserSession.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )


def revoke_sessions(user: User) -> None:
    """Revoke every session of ``user`` (a new password, a new role, a deactivation)."""
    db.session.execute(
        db.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def login_retry_minutes(email: str, remote_addr: str, now: datetime | None = None) -> int | None:
    """Minutes until sign-in may be tried again, or None if it may be tried now."""
    now = now or utcnow()
    window = timedelta(minutes=current_app.config["LOGIN_THROTTLE_MINUTES"])
    limits = [
        (LoginAttempt.email == normalise_email(email), current_app.config["LOGIN_MAX_FAILURES"]),
        (
            LoginAttempt.remote_addr == remote_addr,
            current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        ),
    ]
    waits = []
    for condition, limit in limits:
        last_success = db.session.scalar(
            select(func.max(LoginAttempt.attempted_at)).where(condition, LoginAttempt.succeeded)
        )
        since = max(now - window, last_success) if last_success else now - window
        failures = db.session.scalars(
            select(LoginAttempt.attempted_at)
            .where(condition, ~LoginAttempt.succeeded, LoginAttempt.attempted_at > since)
            .order_by(LoginAttempt.attempted_at.desc())
            .limit(limit)
        ).all()
        if len(failures) >= limit:
            lifts_at = failures[-1] + window
            waits.append(max(1, math.ceil((lifts_at - now).total_seconds() / 60)))
    return max(waits) if waits else None


def record_login_attempt(email: str, remote_addr: str, user: User | None, succeeded: bool) -> None:
    now = utcnow()
    db.session.add(
        LoginAttempt(
            email=normalise_email(email)[:254],
            remote_addr=remote_addr[:64],
            attempted_at=now,
            succeeded=succeeded,
            user_id=user.id if user else None,
        )
    )
    db.session.execute(
        db.delete(LoginAttempt).where(LoginAttempt.attempted_at < now - timedelta(days=30))
    )
    if succeeded and user is not None:
        user.last_login_at = now
    db.session.flush()


def record_sign_in(user: User, remote_addr: str) -> None:
    """A sign-in by another way than the sign-in form (setup, an invitation, a reset link)."""
    record_login_attempt(user.email, remote_addr, user, succeeded=True)


@cache
def unused_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


def authenticate(email: str, password: str) -> User | None:
    user = find_user(email)
    if user is None:
        # Spend the same time as a real check, so timing does not reveal accounts.
        check_password_hash(unused_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user
