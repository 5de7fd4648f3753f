"""Every form that changes something refuses a submission without its token."""

import pytest
from flask import url_for
from sqlalchemy import select

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
