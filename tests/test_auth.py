"""Signing in and out, and one's own password.

Throttling, `next`, sessions and cookies are tested in tests/security.
"""

from tests.conftest import PASSWORD, post_form
from tracker.auth.models import Role
from tracker.extensions import db


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
