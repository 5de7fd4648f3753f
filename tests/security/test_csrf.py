"""Every form that changes something refuses a submission without its own session's token.

And nothing changes on a GET, so no link or image can change anything either.
"""

import time

import pytest
from flask import url_for
from itsdangerous import TimestampSigner
from sqlalchemy import select

from tests.conftest import PASSWORD, csrf_token, post_form
from tests.security.test_access import ACCESS
from tests.test_agencies import agency_form
from tracker.agencies.models import Agency
from tracker.auth.models import LoginAttempt, Role, User
from tracker.extensions import db
from tracker.letters.models import Letter
from tracker.requests.models import Organization, RecordsRequest, RequestEvent

POSTS = sorted(endpoint for endpoint, method in ACCESS if method == "POST")


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(db.func.count()).select_from(model))
        for model in (
            Agency,
            User,
            Organization,
            RecordsRequest,
            RequestEvent,
            LoginAttempt,
            Letter,
        )
    }


@pytest.mark.parametrize("endpoint", [e for e in POSTS if e not in ("auth.setup",)])
def test_a_post_without_the_token_is_refused_and_changes_nothing(
    app, client, auth, world, endpoint
):
    auth.login(world["users"][Role.ADMIN])
    with app.test_request_context():
        url = url_for(endpoint, **world["args"].get(endpoint, {}))
    before = counts()
    letters_before = [(letter.id, letter.state) for letter in db.session.scalars(select(Letter))]
    data = {
        **agency_form(),
        "title": "x",
        "note": "x",
        "email": world["users"][Role.ADMIN].email,
        "password": "a long enough password",
        "sent_on": "2026-11-17",
        "channel": "email",
    }
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "did not come from the tracker" in response.get_data(as_text=True)
    assert counts() == before
    assert [(letter.id, letter.state) for letter in db.session.scalars(select(Letter))] == (
        letters_before
    )
    # Still signed in: the refused sign-out did not happen either.
    assert client.get("/requests").status_code == 200


def test_the_first_run_setup_needs_its_token(client):
    response = client.post(
        "/setup",
        data={"name": "A", "email": "a@example.org", "password": "x" * 12, "confirm": "x" * 12},
    )
    assert response.status_code == 400
    assert db.session.scalar(select(db.func.count(User.id))) == 0


# Tokens that are not this session's own


def hostile_posts(app, world) -> list[tuple[str, dict]]:
    """Every form post as an admin would send it, with everything but a good token."""
    data = {
        **agency_form(),
        "title": "x",
        "note": "x",
        "email": world["users"][Role.ADMIN].email,
        "password": "a long enough password",
        "current": PASSWORD,
        "confirm": "a long enough password",
        "sent_on": "2026-11-17",
        "channel": "email",
    }
    with app.test_request_context():
        return [
            (url_for(endpoint, **world["args"].get(endpoint, {})), data)
            for endpoint in POSTS
            if endpoint != "auth.setup"
        ]


def refused_everywhere(client, posts, token: str) -> list[str]:
    """Posts that were not refused as forged, with their status."""
    wrong = []
    for url, data in posts:
        response = client.post(url, data={**data, "csrf_token": token})
        page = response.get_data(as_text=True)
        if response.status_code != 400 or "did not come from the tracker" not in page:
            wrong.append(f"{url}: {response.status_code}")
    return wrong


def snapshot() -> tuple[dict[str, int], list[tuple[int, str]]]:
    return counts(), [(letter.id, letter.state) for letter in db.session.scalars(select(Letter))]


def test_a_token_from_another_session_is_refused_everywhere(app, client, auth, world):
    # The attacker's own token, from their own sign-in: valid, but not the victim's.
    attacker = app.test_client()
    post_form(
        attacker, "/login", {"email": world["users"][Role.VIEWER].email, "password": PASSWORD}
    )
    stolen = csrf_token(attacker, "/account/password")
    anonymous = csrf_token(app.test_client(), "/login")

    auth.login(world["users"][Role.ADMIN])
    before = snapshot()
    posts = hostile_posts(app, world)
    assert refused_everywhere(client, posts, stolen) == []
    assert refused_everywhere(client, posts, anonymous) == []
    assert snapshot() == before
    assert client.get("/requests").status_code == 200
    # The victim's own token still works: the refusals were about the token alone.
    assert post_form(client, "/logout", {}, token_from="/account/password").status_code == 302


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "",
        "IjQ4ZjA.aGVsbG8.c2lnbmF0dXJl",
        "x" * 5000,
        "\x00",
    ],
)
def test_a_garbage_token_is_refused(app, client, auth, world, token):
    auth.login(world["users"][Role.ADMIN])
    good = csrf_token(client, "/account/password")
    mangled = [token, good[:-2] + ("AA" if not good.endswith("AA") else "BB"), good + "x"]
    before = snapshot()
    response = client.post("/agencies/new", data={**agency_form(), "csrf_token": mangled[0]})
    assert response.status_code == 400
    for forged in mangled[1:]:
        assert (
            client.post("/agencies/new", data={**agency_form(), "csrf_token": forged}).status_code
            == 400
        )
    assert snapshot() == before


def test_a_stale_token_is_refused(app, client, auth, world, monkeypatch):
    auth.login(world["users"][Role.ADMIN])
    # The form was loaded longer ago than a token lasts.
    limit = app.config["WTF_CSRF_TIME_LIMIT"]
    assert limit and limit <= 24 * 60 * 60, "form tokens must expire within a day"
    long_ago = time.time() - limit - 60
    # The session cookie is signed by the same class: keep the one of today, so that
    # only the form's token is old (an expired session is sent to sign in first).
    session = client.get_cookie("session")
    assert session is not None
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: int(long_ago))
        stale = csrf_token(client, "/agencies/new")
    client.set_cookie("session", session.value)
    fresh = csrf_token(client, "/agencies/new")
    assert stale != fresh
    before = snapshot()
    response = client.post("/agencies/new", data={**agency_form(), "csrf_token": stale})
    assert response.status_code == 400
    assert "had expired" in response.get_data(as_text=True)
    assert snapshot() == before
    response = client.post("/agencies/new", data={**agency_form(), "csrf_token": fresh})
    assert response.status_code == 302


def test_the_refusal_is_a_clear_page_not_a_stack_trace(client, auth, world):
    auth.login(world["users"][Role.ADMIN])
    response = client.post("/agencies/new", data={**agency_form(), "csrf_token": "garbage"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "This form had expired or did not come from the tracker." in page
    assert "nothing was changed" in page
    for leak in ("Traceback", "CSRFError", "flask_wtf", "The CSRF token", "werkzeug", ".py"):
        assert leak not in page, leak
    assert response.headers["Content-Security-Policy"]


# GET never changes anything


def everything() -> dict[str, list[tuple]]:
    """Every row of every table, less the moment a session was last seen."""
    rows = {}
    for table in db.metadata.sorted_tables:
        columns = [column for column in table.columns if column.name != "last_seen_at"]
        statement = select(*columns).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(row) for row in db.session.execute(statement)]
    return rows


GETS = sorted(endpoint for endpoint, method in ACCESS if method == "GET")


def test_no_get_changes_anything(app, client, auth, world):
    auth.login(world["users"][Role.ADMIN])
    with app.test_request_context():
        urls = {endpoint: url_for(endpoint, **world["args"].get(endpoint, {})) for endpoint in GETS}
    before = everything()
    assert sum(len(rows) for rows in before.values()) > 10
    for endpoint, url in urls.items():
        response = client.get(url)
        response.close()
        assert response.status_code < 500, endpoint
    db.session.expire_all()
    after = everything()
    assert [name for name in before if after[name] != before[name]] == []
