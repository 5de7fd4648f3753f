"""Password guessing is throttled: per account, per address, on every form that checks one.

The sign-in page counts failures per account and per address; the password-change
form counts a wrong current password as a failed sign-in for that account. The
throttle says the same for accounts that exist and accounts that do not.
"""

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import CSRF_RE, PASSWORD, post_form
from tracker.auth.models import LinkKind, LoginAttempt, Role
from tracker.auth.services import make_account_link
from tracker.extensions import db
from tracker.sqltypes import utcnow

THROTTLED = "Too many failed sign-in attempts. Try again in 15 minutes."


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_in(client, email: str, password: str = PASSWORD):
    return post_form(client, "/login", {"email": email, "password": password})


def signed_in(client) -> bool:
    return client.get("/requests").status_code == 200


def fail_until_throttled(app, client, email: str) -> None:
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert sign_in(client, email, "wrong password").status_code == 401


def test_repeated_failures_throttle_the_account_even_for_the_right_password(
    app, client, auth, make_user
):
    user = make_user()
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert auth.login(user, "wrong password").status_code == 401
    response = auth.login(user)
    assert response.status_code == 429
    assert THROTTLED in response.get_data(as_text=True)
    assert client.get("/requests").status_code == 302


def test_the_account_throttle_holds_from_every_address(app, make_user):
    user = make_user()
    for number in range(app.config["LOGIN_MAX_FAILURES"]):
        response = sign_in(from_address(app, f"198.51.100.{number}"), user.email, "wrong")
        assert response.status_code == 401
    fresh = from_address(app, "203.0.113.9")
    assert sign_in(fresh, user.email).status_code == 429
    assert not signed_in(fresh)


def test_the_account_throttle_counts_the_email_in_any_case(app, client, make_user):
    user = make_user(email="mixed@example.org")
    spellings = ["MIXED@example.org", " mixed@EXAMPLE.org", "Mixed@Example.Org"]
    for number in range(app.config["LOGIN_MAX_FAILURES"]):
        sign_in(client, spellings[number % 3], "wrong password")
    assert sign_in(client, "MIXED@EXAMPLE.ORG").status_code == 429
    assert sign_in(client, user.email).status_code == 429


def test_the_throttle_lifts_when_the_window_has_passed(app, auth, make_user):
    user = make_user()
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        auth.login(user, "wrong password")
    assert auth.login(user).status_code == 429
    earlier = utcnow() - timedelta(minutes=app.config["LOGIN_THROTTLE_MINUTES"] + 1)
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.attempted_at = earlier
    db.session.commit()
    assert auth.login(user).status_code == 302


def test_the_throttle_still_holds_just_inside_the_window(app, auth, make_user):
    user = make_user()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login(user, "wrong password")
    earlier = utcnow() - timedelta(minutes=app.config["LOGIN_THROTTLE_MINUTES"] - 1)
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.attempted_at = earlier
    db.session.commit()
    response = auth.login(user)
    assert response.status_code == 429
    assert "Try again in 1 minute." in response.get_data(as_text=True)


def test_many_failures_from_one_address_throttle_every_account(app, auth, make_user):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    victims = [make_user() for _ in range(3)]
    for victim in victims:
        auth.login(victim, "wrong password")
    assert auth.login(make_user()).status_code == 429


def test_the_address_throttle_leaves_other_addresses_alone(app, make_user):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    attacker = from_address(app, "198.51.100.7")
    for _ in range(3):
        sign_in(attacker, make_user().email, "wrong password")
    user = make_user()
    assert sign_in(attacker, user.email).status_code == 429
    assert sign_in(from_address(app, "203.0.113.9"), user.email).status_code == 302


def page_without(response, email: str) -> str:
    """The page, less what differs anyway: the email typed and the form token."""
    page = response.get_data(as_text=True).replace(email, "EMAIL")
    return CSRF_RE.sub("TOKEN", page)


def test_the_throttle_does_not_reveal_whether_an_account_exists(app, make_user):
    real = make_user(email="real@example.org")
    answers = {}
    for email in (real.email, "nobody@example.org"):
        client = from_address(app, f"198.51.100.{len(answers) + 1}")
        first = sign_in(client, email, "wrong password")
        for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
            sign_in(client, email, "wrong password")
        throttled = sign_in(client, email, "wrong password")
        answers[email] = [
            (response.status_code, page_without(response, email)) for response in (first, throttled)
        ]
    assert answers[real.email] == answers["nobody@example.org"]
    assert answers[real.email][0][0] == 401
    assert answers[real.email][1][0] == 429
    assert THROTTLED in answers[real.email][1][1]


# The password-change form checks the current password: it must not be a faster way to guess it.


def change(client, current: str, new: str = "a brand new phrase"):
    return post_form(
        client, "/account/password", {"current": current, "password": new, "confirm": new}
    )


def test_guessing_the_current_password_on_the_change_form_is_throttled(
    app, client, auth, make_user
):
    user = make_user()
    auth.login(user)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = change(client, "a wrong guess!")
        assert response.status_code == 200
        assert "Your current password is not right." in response.get_data(as_text=True)
    response = change(client, PASSWORD)  # even the right one, now
    assert response.status_code == 429
    assert "Too many wrong passwords. Try again in 15 minutes." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.check_password(PASSWORD)


def test_the_change_form_and_the_sign_in_page_share_one_count(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit - 1):
        change(client, "a wrong guess!")
    # The last failure on the sign-in page, from another browser, completes the count.
    other = app.test_client()
    assert sign_in(other, user.email, "a wrong guess!").status_code == 401
    assert change(client, PASSWORD).status_code == 429
    assert sign_in(other, user.email).status_code == 429


def test_the_change_form_throttle_lifts_with_the_window(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        change(client, "a wrong guess!")
    earlier = utcnow() - timedelta(minutes=app.config["LOGIN_THROTTLE_MINUTES"] + 1)
    for attempt in db.session.scalars(select(LoginAttempt)):
        attempt.attempted_at = earlier
    db.session.commit()
    assert change(client, PASSWORD).status_code == 302
    db.session.refresh(user)
    assert user.check_password("a brand new phrase")


def test_a_new_password_that_is_refused_is_not_a_wrong_guess(app, client, auth, make_user):
    user = make_user()
    auth.login(user)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 1):
        response = change(client, PASSWORD, "short")
        assert "at least 10 characters" in response.get_data(as_text=True)
    assert change(client, PASSWORD).status_code == 302


def test_the_first_run_setup_checks_no_password_and_is_gone_once_an_admin_exists(client, admin):
    # Setup never checks an existing password, so it cannot be used to guess one;
    # and after the first admin exists it answers nothing at all.
    for guess in ("a wrong guess!", PASSWORD):
        data = {"name": "x", "email": admin.email, "password": guess, "confirm": guess}
        assert post_form(client, "/setup", data, token_from="/login").status_code == 404
    assert db.session.scalar(select(db.func.count(LoginAttempt.id))) == 0


def test_a_reset_link_lets_a_throttled_person_back_in(app, client, auth, make_user):
    user = make_user()
    fail_until_throttled(app, client, user.email)
    assert auth.login(user).status_code == 429
    _, token = make_account_link(user, LinkKind.RESET, make_user(Role.ADMIN))
    db.session.commit()
    data = {"password": "a brand new phrase", "confirm": "a brand new phrase"}
    theirs = app.test_client()
    assert post_form(theirs, f"/password-reset/{token}", data).status_code == 302
    assert signed_in(theirs)
    # The link proved who they are: signing in again later is not held up by the guesses.
    assert sign_in(app.test_client(), user.email, "a brand new phrase").status_code == 302
