"""Admins manage accounts: add, change roles, deactivate, never delete."""

from sqlalchemy import select

from tests.conftest import PASSWORD, post_form
from tracker.auth.models import Role, User
from tracker.extensions import db


def test_an_admin_adds_an_advocate_who_can_then_sign_in(app, client, auth, admin):
    auth.login(admin)
    response = post_form(
        client,
        "/admin/users/new",
        {"name": "Ana Ruiz", "email": "ana@example.org", "role": "advocate",
         "password": "a starter phrase"},
    )  # fmt: skip
    assert response.status_code == 302
    assert "ana@example.org" in client.get("/admin/users").get_data(as_text=True)
    other = app.test_client()
    assert (
        post_form(
            other, "/login", {"email": "ana@example.org", "password": "a starter phrase"}
        ).status_code
        == 302
    )
    # A password someone else typed is replaced before anything else (tests/test_account_links.py).
    assert other.get("/requests").headers["Location"] == "/account/password"


def test_adding_a_user_twice_is_refused_beside_the_email(client, auth, admin):
    auth.login(admin)
    response = post_form(
        client,
        "/admin/users/new",
        {"name": "Again", "email": admin.email.upper(), "role": "viewer",
         "password": "a starter phrase"},
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and "already exists" in page
    assert 'value="Again"' in page
    assert db.session.scalar(select(db.func.count(User.id))) == 1


def test_deactivating_a_user_signs_them_out_and_keeps_their_account(
    app, client, auth, admin, make_user
):
    viewer = make_user(Role.VIEWER, name="Vic")
    theirs = app.test_client()
    post_form(theirs, "/login", {"email": viewer.email, "password": PASSWORD})
    assert theirs.get("/requests").status_code == 200

    auth.login(admin)
    response = post_form(
        client, f"/admin/users/{viewer.id}", {"name": "Vic", "role": "viewer", "password": ""}
    )
    assert response.status_code == 302
    db.session.refresh(viewer)
    assert not viewer.active
    assert theirs.get("/requests").status_code == 302
    assert (
        post_form(theirs, "/login", {"email": viewer.email, "password": PASSWORD}).status_code
        == 401
    )


def test_a_role_change_takes_effect_at_once(app, client, auth, admin, make_user):
    staff = make_user(Role.STAFF, name="Sam")
    theirs = app.test_client()
    post_form(theirs, "/login", {"email": staff.email, "password": PASSWORD})
    assert theirs.get("/agencies/new").status_code == 200
    auth.login(admin)
    post_form(
        client,
        f"/admin/users/{staff.id}",
        {"name": "Sam", "role": "viewer", "active": "y", "password": ""},
    )
    db.session.refresh(staff)
    assert staff.role == Role.VIEWER
    post_form(theirs, "/login", {"email": staff.email, "password": PASSWORD})
    assert theirs.get("/agencies/new").status_code == 403


def test_an_admin_cannot_demote_or_deactivate_themselves(client, auth, admin):
    auth.login(admin)
    response = post_form(
        client, f"/admin/users/{admin.id}", {"name": admin.name, "role": "staff", "active": "y"}
    )
    assert "cannot remove your own admin role" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == Role.ADMIN and admin.active


def test_an_admin_sets_a_new_password_for_someone(app, client, auth, admin, make_user):
    user = make_user(Role.ADVOCATE, name="Ana")
    auth.login(admin)
    post_form(
        client,
        f"/admin/users/{user.id}",
        {"name": "Ana", "role": "advocate", "active": "y", "password": "reset by the admin"},
    )
    db.session.refresh(user)
    assert user.check_password("reset by the admin")
    assert not user.check_password(PASSWORD)
