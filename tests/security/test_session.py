"""Sessions: fixation, signing out for good, cookie flags, expiry, tampering, deactivation.

Sessions are signed cookies that also name a session recorded on the server, so a
copy of a cookie stops working when its session is signed out, when the password
changes, or when the account is deactivated.
"""

import time
from datetime import timedelta

import pytest
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import TimestampSigner
from sqlalchemy import select

from tests.conftest import PASSWORD, post_form
from tracker.auth.models import LinkKind, Role, User, UserSession
from tracker.auth.services import make_account_link
from tracker.extensions import db
from tracker.sqltypes import utcnow

COOKIE = "session"


def cookie_of(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app, value: str):
    """A second browser that carries only a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, value)
    return thief


def signed_in(client) -> bool:
    response = client.get("/requests")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    return False


def sessions_of(user: User) -> list[UserSession]:
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)))


# Fixation


def test_a_planted_session_is_replaced_on_sign_in(client, auth, make_user):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["sid"] = "a session id the attacker chose"
    auth.login(make_user())
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["sid"] != "a session id the attacker chose"
        assert "_user_id" in session


def test_the_cookie_changes_at_sign_in_and_the_planted_one_stays_signed_out(
    app, client, auth, make_user
):
    user = make_user()
    client.get("/login")
    planted = cookie_of(client)  # an attacker could have given the victim this cookie
    auth.login(user)
    assert cookie_of(client) != planted
    assert signed_in(client)
    assert not signed_in(replay(app, planted))


# Signing out


def test_a_cookie_copied_before_sign_out_is_useless_after_it(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    copied = cookie_of(client)
    assert signed_in(replay(app, copied))

    assert auth.logout().status_code == 302
    assert not signed_in(client)
    assert not signed_in(replay(app, copied))
    [record] = sessions_of(user)
    assert record.revoked_at is not None


def test_signing_out_ends_only_that_session(app, client, auth, make_user):
    user = make_user()
    laptop, phone = app.test_client(), app.test_client()
    post_form(laptop, "/login", {"email": user.email, "password": PASSWORD})
    post_form(phone, "/login", {"email": user.email, "password": PASSWORD})
    assert signed_in(laptop) and signed_in(phone)

    post_form(laptop, "/logout", {}, token_from="/account/password")
    assert not signed_in(laptop)
    assert signed_in(phone)
    assert sorted(record.revoked_at is None for record in sessions_of(user)) == [False, True]


def test_changing_the_password_signs_out_other_sessions(app, auth, client, make_user):
    user = make_user()
    other = app.test_client()
    post_form(other, "/login", {"email": user.email, "password": PASSWORD})
    assert signed_in(other)
    copied = cookie_of(other)

    auth.login(user)
    response = post_form(
        client,
        "/account/password",
        {"current": PASSWORD, "password": "a brand new phrase", "confirm": "a brand new phrase"},
    )
    assert response.status_code == 302
    assert signed_in(client)
    assert not signed_in(other)
    assert not signed_in(replay(app, copied))
    # Only the session that changed the password is still open.
    assert sum(record.revoked_at is None for record in sessions_of(user)) == 1
    auth.logout()
    assert auth.login(user, "a brand new phrase").status_code == 302


def test_a_reset_link_signs_out_every_session_of_that_person(app, make_user):
    admin, user = make_user(Role.ADMIN), make_user(Role.STAFF)
    laptop, phone = app.test_client(), app.test_client()
    for browser in (laptop, phone):
        post_form(browser, "/login", {"email": user.email, "password": PASSWORD})
    copied = cookie_of(laptop)
    assert signed_in(laptop) and signed_in(phone)

    _, token = make_account_link(user, LinkKind.RESET, admin)
    db.session.commit()
    new_browser = app.test_client()
    data = {"password": "a brand new phrase", "confirm": "a brand new phrase"}
    assert post_form(new_browser, f"/password-reset/{token}", data).status_code == 302
    assert signed_in(new_browser)
    assert not signed_in(laptop)
    assert not signed_in(phone)
    assert not signed_in(replay(app, copied))
    assert sum(record.revoked_at is None for record in sessions_of(user)) == 1


def test_a_planted_session_is_replaced_when_a_link_signs_someone_in(app, client, make_user):
    admin, user = make_user(Role.ADMIN), make_user(Role.STAFF)
    _, token = make_account_link(user, LinkKind.INVITATION, admin)
    db.session.commit()
    path = f"/invitation/{token}"
    client.get(path)
    planted = cookie_of(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    data = {"password": "a brand new phrase", "confirm": "a brand new phrase"}
    assert post_form(client, path, data).status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session and "_user_id" in session
    assert signed_in(client)
    assert not signed_in(replay(app, planted))


# Deactivation (the admin form's path is in tests/test_admin.py)


def test_a_deactivated_users_live_session_stops_at_their_next_request(app, client, auth, make_user):
    user = make_user(Role.STAFF)
    auth.login(user)
    assert signed_in(client)
    # Deactivated by any means, even straight in the database: the next request is refused.
    user.active = False
    db.session.commit()
    assert not signed_in(client)


def test_reactivating_an_account_does_not_revive_its_old_cookies(app, client, auth, make_user):
    from tracker.auth.services import update_user

    admin, user = make_user(Role.ADMIN), make_user(Role.STAFF)
    auth.login(user)
    copied = cookie_of(client)
    update_user(user, name=user.name, role=user.role, active=False, actor=admin)
    db.session.commit()
    assert all(record.revoked_at is not None for record in sessions_of(user))
    update_user(user, name=user.name, role=user.role, active=True, actor=admin)
    db.session.commit()
    assert not signed_in(replay(app, copied))


# The cookie itself


def test_the_session_cookie_is_http_only_and_same_site(client, auth, make_user):
    response = auth.login(make_user())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP unless configured


def test_the_session_cookie_is_secure_when_configured(make_app, make_user):
    app = make_app(SESSION_COOKIE_SECURE=True)
    with app.app_context():
        user = make_user()
        response = post_form(
            app.test_client(), "/login", {"email": user.email, "password": PASSWORD}
        )
    cookie = response.headers["Set-Cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_session_cookie_expires(app, client, auth, make_user):
    response = auth.login(make_user())
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie
    lifetime = app.permanent_session_lifetime
    assert timedelta(hours=1) <= lifetime <= timedelta(days=1)


def forge(app, data: dict, *, age: timedelta = timedelta(0), key: str | None = None) -> str:
    """A session cookie signed as the tracker signs them, ``age`` ago, with ``key``."""
    if key is not None:
        app = type("Other", (), {"secret_key": key, "config": app.config})()
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    original = TimestampSigner.get_timestamp
    TimestampSigner.get_timestamp = lambda self: int(time.time() - age.total_seconds())
    try:
        return serializer.dumps(data)
    finally:
        TimestampSigner.get_timestamp = original


def test_an_expired_cookie_is_refused(app, client, auth, make_user):
    auth.login(make_user())
    with client.session_transaction() as session:
        data = dict(session)
    # The same session signed just now works; signed longer ago than the lifetime, it does not.
    assert signed_in(replay(app, forge(app, data)))
    too_old = app.permanent_session_lifetime + timedelta(minutes=1)
    assert not signed_in(replay(app, forge(app, data, age=too_old)))


def test_a_session_idle_longer_than_the_lifetime_is_refused_on_the_server(
    app, client, auth, make_user
):
    user = make_user()
    auth.login(user)
    assert signed_in(client)
    [record] = sessions_of(user)
    record.last_seen_at = utcnow() - app.permanent_session_lifetime - timedelta(minutes=1)
    db.session.commit()
    assert not signed_in(client)


def test_last_seen_is_kept_without_a_write_on_every_request(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    [record] = sessions_of(user)
    record.last_seen_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert signed_in(client)
    db.session.refresh(record)
    assert utcnow() - record.last_seen_at < timedelta(minutes=1)


@pytest.mark.parametrize("part", ["payload", "timestamp", "signature"])
def test_a_tampered_cookie_is_refused(app, client, auth, make_user, part):
    auth.login(make_user())
    value = cookie_of(client)
    pieces = value.split(".")
    index = {"payload": -3, "timestamp": -2, "signature": -1}[part]
    piece = pieces[index]
    pieces[index] = piece[:2] + ("A" if piece[2] != "A" else "B") + piece[3:]
    assert ".".join(pieces) != value
    assert not signed_in(replay(app, ".".join(pieces)))


def test_a_cookie_signed_with_another_key_is_refused(app, client, auth, make_user):
    admin = make_user(Role.ADMIN)
    auth.login(admin)
    with client.session_transaction() as session:
        data = dict(session)
    assert signed_in(replay(app, forge(app, data)))
    assert not signed_in(replay(app, forge(app, data, key="a key the attacker guessed")))
