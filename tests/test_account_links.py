"""Invitations and password reset links: an admin hands a one-time link to a person,
who opens it without an account and chooses their own password.

The sessions a reset ends are tested in tests/security/test_session.py.
"""

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, post_form
from tracker.auth.models import AccountLink, LinkKind, Role, User
from tracker.auth.services import (
    LinkRefusal,
    LinkUnusable,
    make_account_link,
    usable_link,
    use_link,
)
from tracker.extensions import db
from tracker.sqltypes import utcnow

LINK_FIELD = re.compile(r'<input type="text" id="account-link"[^>]*value="([^"]+)"')
CHOSEN = "a phrase of my own choosing"


def link_on(response) -> str:
    """The path of the link the admin's page shows, as the admin would copy it."""
    assert response.status_code == 200, response.status_code
    match = LINK_FIELD.search(response.get_data(as_text=True))
    assert match, "no link on the page"
    url = match.group(1)
    assert url.startswith("http://localhost/")
    return url.removeprefix("http://localhost")


def invite(client, name="Ana Ruiz", email="ana@example.org", role="advocate"):
    return post_form(
        client,
        "/admin/users/new",
        {"name": name, "email": email, "role": role, "password": ""},
    )


def choose(client, path: str, password: str = CHOSEN, confirm: str | None = None, **kwargs):
    data = {"password": password, "confirm": password if confirm is None else confirm}
    return post_form(client, path, data, **kwargs)


def choose_on_dead_link(client, path: str):
    """The form posted after the link stopped working (the page was open before)."""
    return choose(client, path, token_from="/login")


def user_named(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def signed_in(client) -> bool:
    return client.get("/requests").status_code == 200


# Invitations


def test_an_admin_invites_a_person_who_chooses_their_own_password_and_is_signed_in(
    app, client, auth, admin
):
    auth.login(admin)
    response = invite(client)
    page = response.get_data(as_text=True)
    assert "Added Ana Ruiz as advocate. Give them this link." in page
    assert "readonly" in page and "Shown only now" in page
    path = link_on(response)
    assert path.startswith("/invitation/")

    ana = app.test_client()  # her own browser, never signed in
    page = ana.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Join Records Tracker" in text and "ana@example.org" in text
    response = choose(ana, path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Welcome, Ana Ruiz." in ana.get("/requests").get_data(as_text=True)

    user = user_named("ana@example.org")
    assert user.role == Role.ADVOCATE
    assert user.check_password(CHOSEN)
    assert not user.must_change_password
    assert user.last_login_at is not None
    # And the password she chose is the one she signs in with from now on.
    again = app.test_client()
    assert post_form(again, "/login", {"email": user.email, "password": CHOSEN}).status_code == 302


def test_an_invited_person_cannot_sign_in_before_using_the_link(app, client, auth, admin):
    auth.login(admin)
    invite(client)
    users = client.get("/admin/users").get_data(as_text=True)
    assert re.search(r"invited, link valid until \w{3} \w{3} \d+, 20\d\d", users)
    user = user_named("ana@example.org")
    assert user.last_login_at is None
    for guess in ("", PASSWORD, "a starter phrase"):
        response = post_form(app.test_client(), "/login", {"email": user.email, "password": guess})
        assert response.status_code in (200, 401)


def test_a_refused_password_is_explained_at_the_field_and_the_link_still_works(
    app, client, auth, admin
):
    auth.login(admin)
    path = link_on(invite(client))
    ana = app.test_client()
    cases = [
        ("short", None, "Use at least 10 characters."),
        ("ana@example.org", None, "Do not use your email address as your password."),
        (CHOSEN, "something else entirely", "The passwords do not match."),
    ]
    for password, confirm, message in cases:
        response = choose(ana, path, password, confirm)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert message in page
        assert re.search(r'id="(password|confirm)-error"', page)
        assert not signed_in(ana)
    assert choose(ana, path).status_code == 302
    assert signed_in(ana)


def test_an_invitation_lasts_seven_days_and_a_reset_link_a_day(app, admin, make_user):
    person = make_user(Role.STAFF)
    invitation, _ = make_account_link(person, LinkKind.INVITATION, admin)
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    reset, _ = make_account_link(person, LinkKind.RESET, admin)
    assert reset.expires_at - reset.created_at == timedelta(hours=24)


def test_how_long_links_last_is_a_setting(make_app, make_user):
    app = make_app(INVITATION_DAYS=2, RESET_LINK_HOURS=1)
    with app.app_context():
        admin, person = make_user(Role.ADMIN), make_user(Role.STAFF)
        invitation, _ = make_account_link(person, LinkKind.INVITATION, admin)
        assert invitation.expires_at - invitation.created_at == timedelta(days=2)
        reset, _ = make_account_link(person, LinkKind.RESET, admin)
        assert reset.expires_at - reset.created_at == timedelta(hours=1)


# Reset links


def test_an_admin_makes_a_reset_link_and_the_person_chooses_a_new_password(
    app, client, auth, admin, make_user
):
    sam = make_user(Role.STAFF, name="Sam Staff")
    sams = app.test_client()
    post_form(sams, "/login", {"email": sam.email, "password": PASSWORD})
    post_form(sams, "/logout", {}, token_from="/account/password")

    auth.login(admin)
    page = client.get(f"/admin/users/{sam.id}").get_data(as_text=True)
    assert 'value="Make a password reset link"' in page
    response = post_form(
        client, f"/admin/users/{sam.id}/link", {}, token_from=f"/admin/users/{sam.id}"
    )
    assert "Made a password reset link for Sam Staff." in response.get_data(as_text=True)
    path = link_on(response)
    assert path.startswith("/password-reset/")

    page = sams.get(path).get_data(as_text=True)
    assert "Choose a new password" in page and "Ada Admin made this link" in page
    assert choose(sams, path, "a new phrase for Sam").status_code == 302
    assert "Every other session was signed out." in sams.get("/requests").get_data(as_text=True)
    db.session.refresh(sam)
    assert sam.check_password("a new phrase for Sam")
    assert not sam.check_password(PASSWORD)


def test_someone_who_never_signed_in_gets_a_new_invitation_instead(
    app, client, auth, admin, make_user
):
    newcomer = make_user(Role.VIEWER, name="Vic")
    auth.login(admin)
    page = client.get(f"/admin/users/{newcomer.id}").get_data(as_text=True)
    assert 'value="Make a new invitation link"' in page
    response = post_form(
        client, f"/admin/users/{newcomer.id}/link", {}, token_from=f"/admin/users/{newcomer.id}"
    )
    assert link_on(response).startswith("/invitation/")


# Each link works once, and only while it is the newest


def test_a_link_works_once(app, client, auth, admin):
    auth.login(admin)
    path = link_on(invite(client))
    ana = app.test_client()
    assert choose(ana, path).status_code == 302
    # A way on, not a loop back to the link: to the requests if signed in, else to sign in.
    for browser, onward in ((ana, 'href="/"'), (app.test_client(), 'href="/login"')):
        for response in (browser.get(path), choose_on_dead_link(browser, path)):
            page = response.get_data(as_text=True)
            assert response.status_code == 410
            assert "This link has already been used" in page
            assert onward in page
    assert user_named("ana@example.org").check_password(CHOSEN)


def test_a_newer_link_replaces_the_older_one(app, client, auth, admin):
    auth.login(admin)
    first = link_on(invite(client))
    ana = user_named("ana@example.org")
    second = link_on(
        post_form(client, f"/admin/users/{ana.id}/link", {}, token_from=f"/admin/users/{ana.id}")
    )
    assert first != second
    visitor = app.test_client()
    response = visitor.get(first)
    assert response.status_code == 410
    assert "a newer link was made for this account" in response.get_data(as_text=True)
    assert choose_on_dead_link(visitor, first).status_code == 410
    assert choose(visitor, second).status_code == 302


def test_an_expired_link_says_so(app, client, auth, admin):
    auth.login(admin)
    path = link_on(invite(client))
    link = db.session.scalar(select(AccountLink))
    link.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    visitor = app.test_client()
    for response in (visitor.get(path), choose_on_dead_link(visitor, path)):
        assert response.status_code == 410
        assert "This link has expired." in response.get_data(as_text=True)
    assert not user_named("ana@example.org").check_password(CHOSEN)


@pytest.mark.parametrize(
    "path",
    [
        "/invitation/not-a-real-token",
        "/password-reset/" + "A" * 43,
        "/invitation/" + "x" * 500,
    ],
)
def test_an_unknown_link_gives_a_clear_page_not_an_error_or_a_sign_in(client, admin, path):
    response = client.get(path)
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "This link does not work. Check that it was copied whole" in page
    assert "Traceback" not in page


def test_a_link_cut_short_or_used_at_the_other_address_opens_nothing(app, client, auth, admin):
    auth.login(admin)
    path = link_on(invite(client))
    token = path.rsplit("/", 1)[1]
    visitor = app.test_client()
    assert visitor.get(path[:-1]).status_code == 404
    assert visitor.get(f"/password-reset/{token}").status_code == 404
    assert choose_on_dead_link(visitor, f"/password-reset/{token}").status_code == 404
    assert visitor.get(path).status_code == 200


def test_a_deactivated_person_cannot_use_their_link(app, client, auth, admin):
    auth.login(admin)
    path = link_on(invite(client))
    ana = user_named("ana@example.org")
    ana.active = False  # deactivated some other way than the form: still refused
    db.session.commit()
    visitor = app.test_client()
    response = visitor.get(path)
    assert response.status_code == 410
    assert "This account is deactivated" in response.get_data(as_text=True)
    assert choose_on_dead_link(visitor, path).status_code == 410
    assert not signed_in(visitor)


def test_deactivating_withdraws_the_link_for_good(app, client, auth, admin):
    auth.login(admin)
    path = link_on(invite(client))
    ana = user_named("ana@example.org")
    post_form(client, f"/admin/users/{ana.id}", {"name": ana.name, "role": "advocate"})
    db.session.refresh(ana)
    assert not ana.active
    page = client.get(f"/admin/users/{ana.id}").get_data(as_text=True)
    assert "reactivate it before making a link" in page
    response = post_form(
        client, f"/admin/users/{ana.id}/link", {}, token_from=f"/admin/users/{ana.id}"
    )
    assert response.status_code == 302
    assert "deactivated: reactivate it first" in client.get(f"/admin/users/{ana.id}").get_data(
        as_text=True
    )
    post_form(
        client, f"/admin/users/{ana.id}", {"name": ana.name, "role": "advocate", "active": "y"}
    )
    assert app.test_client().get(path).status_code == 410


def test_a_new_password_withdraws_a_reset_link(app, client, auth, admin, make_user):
    person = make_user(Role.STAFF)
    _, token = make_account_link(person, LinkKind.RESET, admin)
    db.session.commit()
    auth.login(person)
    post_form(
        client,
        "/account/password",
        {"current": PASSWORD, "password": "remembered it", "confirm": "remembered it"},
    )
    assert app.test_client().get(f"/password-reset/{token}").status_code == 410


def test_two_posts_of_one_link_cannot_both_succeed(app, admin, make_user):
    person = make_user(Role.STAFF)
    _, token = make_account_link(person, LinkKind.RESET, admin)
    db.session.commit()
    link = usable_link(token, LinkKind.RESET)
    # Another request spends the link after this one has read it.
    table = AccountLink.__table__
    db.session.execute(table.update().where(table.c.id == link.id).values(used_at=utcnow()))
    with pytest.raises(LinkUnusable) as refused:
        use_link(link, "the second one loses")
    assert refused.value.reason == LinkRefusal.USED
    db.session.rollback()
    db.session.refresh(person)
    assert person.check_password(PASSWORD)


# The secret itself


def test_only_a_digest_of_the_secret_is_kept_and_each_secret_is_long_and_new(admin, make_user):
    person = make_user(Role.STAFF)
    secrets = set()
    for kind in (LinkKind.INVITATION, LinkKind.RESET) * 3:
        link, token = make_account_link(person, kind, admin)
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token)
        assert link.token_digest == hashlib.sha256(token.encode()).hexdigest()
        secrets.add(token)
    db.session.commit()
    assert len(secrets) == 6
    stored = repr([tuple(row) for row in db.session.execute(select(AccountLink.__table__))])
    assert not any(token in stored for token in secrets)


# Who made which link, and what became of it


def test_the_users_page_says_who_made_each_link_when_and_what_became_of_it(
    app, client, auth, admin
):
    auth.login(admin)
    first = link_on(invite(client))
    ana = user_named("ana@example.org")
    link_on(
        post_form(client, f"/admin/users/{ana.id}/link", {}, token_from=f"/admin/users/{ana.id}")
    )
    page = client.get(f"/admin/users/{ana.id}").get_data(as_text=True)
    made = r"Invitation link made by Ada Admin on \w{3} \w{3} \d+, 20\d\d, \d+:\d\d [ap]m"
    assert re.search(made + r",\s+unused; expires ", page)
    assert re.search(made + r",\s+unused; withdrawn on .*\(a newer link or a new password\)", page)
    assert app.test_client().get(first).status_code == 410

    second = db.session.scalars(select(AccountLink).order_by(AccountLink.id.desc())).first()
    second.used_at = utcnow()
    db.session.commit()
    page = client.get(f"/admin/users/{ana.id}").get_data(as_text=True)
    assert re.search(made + r",\s+used on \w{3} \w{3} \d+", page)


# Someone signed in opens a link


def test_an_admin_opening_the_link_they_made_is_not_signed_in_as_the_person(
    app, client, auth, admin
):
    auth.login(admin)
    path = link_on(invite(client))
    page = client.get(path).get_data(as_text=True)
    assert "This link is for someone else" in page
    assert "Ana Ruiz (ana@example.org)" in page
    assert "<form" not in page.split('class="account"')[-1].split("</header>")[-1]
    response = choose(client, path)
    assert response.status_code == 200
    assert "This link is for someone else" in response.get_data(as_text=True)
    # Still the admin, and the link still works for Ana.
    assert "Ada Admin" in client.get("/admin/users").get_data(as_text=True)
    assert choose(app.test_client(), path).status_code == 302


# Passwords an admin types


def test_a_password_an_admin_typed_must_be_changed_at_first_sign_in(app, client, auth, admin):
    auth.login(admin)
    response = post_form(
        client,
        "/admin/users/new",
        {"name": "Vera", "email": "vera@example.org", "role": "viewer",
         "password": "a starter phrase"},
    )  # fmt: skip
    assert response.status_code == 302
    vera = app.test_client()
    assert (
        post_form(
            vera, "/login", {"email": "vera@example.org", "password": "a starter phrase"}
        ).status_code
        == 302
    )

    # Every other page, and every form, leads to the password page.
    for path in ("/", "/requests", "/agencies", "/due", "/account/calendar-feed", "/search?q=x"):
        response = vera.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/account/password", path
    response = post_form(vera, "/account/calendar-feed/renew", {}, token_from="/account/password")
    assert response.headers["Location"] == "/account/password"
    page = vera.get("/account/password").get_data(as_text=True)
    assert "Choose your own password" in page
    assert "An admin set the password you signed in with." in page

    same = {
        "current": "a starter phrase",
        "password": "a starter phrase",
        "confirm": "a starter phrase",
    }
    response = post_form(vera, "/account/password", same)
    assert "Choose a password of your own, not the one you were given." in response.get_data(
        as_text=True
    )
    assert vera.get("/requests").status_code == 302

    mine = {
        "current": "a starter phrase",
        "password": "vera's very own",
        "confirm": "vera's very own",
    }
    assert post_form(vera, "/account/password", mine).status_code == 302
    assert vera.get("/requests").status_code == 200
    assert not user_named("vera@example.org").must_change_password


def test_a_password_an_admin_sets_later_must_be_changed_too(app, client, auth, admin, make_user):
    person = make_user(Role.ADVOCATE, name="Ana")
    _, token = make_account_link(person, LinkKind.RESET, admin)
    db.session.commit()
    auth.login(admin)
    post_form(
        client,
        f"/admin/users/{person.id}",
        {"name": "Ana", "role": "advocate", "active": "y", "password": "set by the admin"},
    )
    db.session.refresh(person)
    assert person.must_change_password
    assert "must choose their own password" in client.get(f"/admin/users/{person.id}").get_data(
        as_text=True
    )
    # The reset link made before no longer works: the admin's password replaced it.
    assert app.test_client().get(f"/password-reset/{token}").status_code == 410
    theirs = app.test_client()
    post_form(theirs, "/login", {"email": person.email, "password": "set by the admin"})
    assert theirs.get("/requests").headers["Location"] == "/account/password"


def test_a_reset_link_also_ends_the_must_change_detour(app, admin, make_user):
    person = make_user(Role.STAFF, must_change_password=True)
    _, token = make_account_link(person, LinkKind.RESET, admin)
    db.session.commit()
    theirs = app.test_client()
    assert choose(theirs, f"/password-reset/{token}").status_code == 302
    assert theirs.get("/requests").status_code == 200


# Last sign-in, by every way in


def last_sign_in_shown(client, user: User) -> str:
    page = client.get("/admin/users").get_data(as_text=True)
    row = page.split(f">{user.name}</a>", 1)[1].split("</tr>", 1)[0]
    return re.findall(r"<td>([^<]*)</td>", row)[-1]


def test_every_way_in_records_the_last_sign_in(app, client, auth, admin, make_user):
    invited = make_user(Role.STAFF, name="Ines Invited")
    reset = make_user(Role.STAFF, name="Rosa Reset")
    typed = make_user(Role.STAFF, name="Lu Login")
    _, invitation = make_account_link(invited, LinkKind.INVITATION, admin)
    _, reset_token = make_account_link(reset, LinkKind.RESET, admin)
    db.session.commit()
    auth.login(admin)
    for user in (invited, reset, typed):
        assert last_sign_in_shown(client, user) == "never"

    choose(app.test_client(), f"/invitation/{invitation}")
    choose(app.test_client(), f"/password-reset/{reset_token}")
    post_form(app.test_client(), "/login", {"email": typed.email, "password": PASSWORD})
    for user in (invited, reset, typed):
        db.session.refresh(user)
        assert user.last_login_at is not None
        assert re.fullmatch(
            r"\w{3} \w{3} \d+, 20\d\d, \d+:\d\d [ap]m", last_sign_in_shown(client, user)
        )
