"""The first run: no default password, a one-time page that creates the first admin."""

from sqlalchemy import select

from tests.conftest import csrf_token
from tracker.auth.models import Role, User
from tracker.extensions import db


def setup_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "Ana Ruiz",
        "email": "Ana@Example.org",
        "password": "a long and private phrase",
        "confirm": "a long and private phrase",
        **overrides,
    }


def test_a_fresh_tracker_has_no_accounts_and_leads_every_page_to_setup(client):
    assert db.session.scalar(select(db.func.count(User.id))) == 0
    for path in ("/", "/requests", "/agencies", "/login", "/admin/users"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == "/setup"


def test_setup_creates_the_first_admin_and_signs_them_in(client):
    token = csrf_token(client, "/setup")
    response = client.post("/setup", data={"csrf_token": token, **setup_data()})
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert user.email == "ana@example.org"
    assert user.role == Role.ADMIN
    assert user.password_hash.startswith("scrypt:")
    assert "a long and private phrase" not in user.password_hash
    assert client.get("/admin/users").status_code == 200


def test_setup_is_gone_once_an_admin_exists(client, admin):
    assert client.get("/setup").status_code == 404
    response = client.post("/setup", data=setup_data())
    assert response.status_code in (400, 404)
    assert db.session.scalar(select(db.func.count(User.id))) == 1


def test_setup_errors_are_shown_beside_the_field_and_the_input_is_kept(client):
    token = csrf_token(client, "/setup")
    response = client.post(
        "/setup", data={"csrf_token": token, **setup_data(confirm="something else entirely")}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The passwords do not match." in page
    assert 'value="Ana Ruiz"' in page
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_setup_refuses_a_short_password(client):
    token = csrf_token(client, "/setup")
    response = client.post(
        "/setup", data={"csrf_token": token, **setup_data(password="short", confirm="short")}
    )
    assert "at least 10 characters" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_setup_counts_as_the_admins_first_sign_in(client):
    token = csrf_token(client, "/setup")
    client.post("/setup", data={"csrf_token": token, **setup_data()})
    user = db.session.scalar(select(User))
    assert user.last_login_at is not None
    page = client.get("/admin/users").get_data(as_text=True)
    row = page.split(">Ana Ruiz</a>", 1)[1].split("</tr>", 1)[0]
    assert "never" not in row
