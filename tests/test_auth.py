"""Signing in and out, throttling, redirects after sign-in, and one's own password."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, csrf_token, post_form
from tracker.auth.models import LoginAttempt, Role
from tracker.extensions import db
from tracker.sqltypes import utcnow


def test_a_member_signs_in_and_out(client, auth, make_user):
    user = make_user(Role.STAFF)
    response = auth.login(user)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/requests").status_code == 200

    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/requests").status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, auth, make_user):
    user = make_user()
    response = auth.login(user, "not the password")
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)
    assert client.get("/requests").status_code == 302


def test_email_is_matched_whatever_its_case(auth, make_user):
    make_user(email="case@example.org")
    assert auth.login("  CASE@Example.ORG ").status_code == 302


def test_a_deactivated_account_cannot_sign_in(auth, make_user):
    user = make_user(active=False)
    assert auth.login(user).status_code == 401


def test_signing_out_needs_a_post_with_the_form_token(client, auth, make_user):
    auth.login(make_user())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/requests").status_code == 200


def test_repeated_failures_throttle_the_account_even_for_the_right_password(
    app, client, auth, make_user
):
    user = make_user()
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert auth.login(user, "wrong password").status_code == 401
    response = auth.login(user)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in response.get_data(
        as_text=True
    )
    assert client.get("/requests").status_code == 302


def test_the_throttle_lifts_when_the_window_has_passed(app, auth, make_user):
    user = make_user()
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        auth.login(user, "wrong password")
    earlier = utcnow() - timedelta(minutes=app.config["LOGIN_THROTTLE_MINUTES"] + 1)
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.attempted_at = earlier
    db.session.commit()
    assert auth.login(user).status_code == 302


def test_many_failures_from_one_address_throttle_every_account(app, auth, make_user):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    victims = [make_user() for _ in range(3)]
    for victim in victims:
        auth.login(victim, "wrong password")
    assert auth.login(make_user()).status_code == 429


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/\r\nLocation: https://evil.example",
        " //evil.example",
    ],
)
def test_next_never_leads_off_the_site(client, make_user, target):
    user = make_user()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"csrf_token": token, "email": user.email, "password": PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_returns_to_the_page_that_asked_for_sign_in(client, make_user):
    user = make_user()
    first = client.get("/agencies?q=police")
    assert first.status_code == 302
    assert first.headers["Location"] == "/login?next=/agencies?q%3Dpolice"
    login_page = client.get(first.headers["Location"])
    assert 'value="/agencies?q=police"' in login_page.get_data(as_text=True)
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": user.email,
            "password": PASSWORD,
            "next": "/agencies?q=police",
        },
    )
    assert response.headers["Location"] == "/agencies?q=police"


def test_changing_the_password_needs_the_current_one(auth, client, make_user):
    user = make_user()
    auth.login(user)
    response = post_form(
        client,
        "/account/password",
        {
            "current": "a wrong guess!",
            "password": "a brand new phrase",
            "confirm": "a brand new phrase",
        },
    )
    assert "Your current password is not right." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.check_password(PASSWORD)
