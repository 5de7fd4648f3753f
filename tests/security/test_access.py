"""Who may see and change what: one table for every route, method and role.

A route added to the app without an entry here fails the first test, so no
page is ever added unprotected.
"""

from typing import Any

import pytest
from flask import url_for

from tests.conftest import csrf_token
from tracker.auth.models import Role

PUBLIC = "public"
GONE = "gone"
ALL = frozenset(Role)
EDITORS = frozenset({Role.ADMIN, Role.STAFF, Role.ADVOCATE})
MANAGERS = frozenset({Role.ADMIN, Role.STAFF})
ADMINS = frozenset({Role.ADMIN})

ACCESS: dict[tuple[str, str], Any] = {
    ("index", "GET"): ALL,
    ("health", "GET"): PUBLIC,
    ("static", "GET"): PUBLIC,
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): PUBLIC,
    ("auth.setup", "GET"): GONE,
    ("auth.setup", "POST"): GONE,
    ("auth.logout", "POST"): ALL,
    ("auth.password", "GET"): ALL,
    ("auth.password", "POST"): ALL,
    ("auth.accept_invitation", "GET"): PUBLIC,
    ("auth.accept_invitation", "POST"): PUBLIC,
    ("auth.reset_password", "GET"): PUBLIC,
    ("auth.reset_password", "POST"): PUBLIC,
    ("admin.list_users", "GET"): ADMINS,
    ("admin.new_user", "GET"): ADMINS,
    ("admin.new_user", "POST"): ADMINS,
    ("admin.edit_user", "GET"): ADMINS,
    ("admin.edit_user", "POST"): ADMINS,
    ("admin.make_link", "POST"): ADMINS,
    ("agencies.list_agencies", "GET"): ALL,
    ("agencies.show_agency", "GET"): ALL,
    ("agencies.new_agency", "GET"): MANAGERS,
    ("agencies.new_agency", "POST"): MANAGERS,
    ("agencies.edit_agency", "GET"): MANAGERS,
    ("agencies.edit_agency", "POST"): MANAGERS,
    ("organizations.list_organizations", "GET"): ALL,
    ("organizations.new_organization", "GET"): EDITORS,
    ("organizations.new_organization", "POST"): EDITORS,
    ("organizations.edit_organization", "GET"): EDITORS,
    ("organizations.edit_organization", "POST"): EDITORS,
    ("requests.list_requests", "GET"): ALL,
    ("requests.show_request", "GET"): ALL,
    ("requests.new_request", "GET"): EDITORS,
    ("requests.new_request", "POST"): EDITORS,
    ("requests.edit_request", "GET"): EDITORS,
    ("requests.edit_request", "POST"): EDITORS,
    ("requests.add_request_note", "POST"): EDITORS,
    ("requests.import_requests", "GET"): EDITORS,
    ("requests.import_requests", "POST"): EDITORS,
    ("letters.index", "GET"): ALL,
    ("letters.show_template", "GET"): ALL,
    ("letters.new_requests", "GET"): EDITORS,
    ("letters.new_requests", "POST"): EDITORS,
    ("letters.new_letter", "GET"): EDITORS,
    ("letters.new_letter", "POST"): EDITORS,
    ("letters.edit_letter", "GET"): EDITORS,
    ("letters.edit_letter", "POST"): EDITORS,
    ("letters.show_letter", "GET"): ALL,
    ("letters.finalize_letter", "POST"): EDITORS,
    ("letters.mark_letter_sent", "POST"): EDITORS,
    ("letters.mark_filed_portal", "POST"): EDITORS,
    ("letters.letter_pdf", "GET"): ALL,
    ("letters.print_letters", "GET"): ALL,
    ("documents.new_response", "GET"): EDITORS,
    ("documents.new_response", "POST"): EDITORS,
    ("documents.answer_items", "GET"): EDITORS,
    ("documents.answer_items", "POST"): EDITORS,
    ("documents.upload", "POST"): EDITORS,
    ("documents.download", "GET"): ALL,
    ("documents.view", "GET"): ALL,
    ("documents.text_status", "GET"): ALL,
    ("documents.show", "GET"): ALL,
    ("documents.show", "POST"): EDITORS,
    ("documents.delete", "POST"): MANAGERS,
    ("documents.download_zip", "GET"): ALL,
    ("items.edit_items", "GET"): EDITORS,
    ("items.add", "POST"): EDITORS,
    ("items.reword", "GET"): EDITORS,
    ("items.reword", "POST"): EDITORS,
    ("items.split", "GET"): EDITORS,
    ("items.split", "POST"): EDITORS,
    ("items.merge", "GET"): EDITORS,
    ("items.merge", "POST"): EDITORS,
    ("items.remove", "POST"): EDITORS,
    ("items.withdraw", "GET"): EDITORS,
    ("items.withdraw", "POST"): EDITORS,
    ("mail.upload_mail", "POST"): EDITORS,
    ("mail.email_letter", "GET"): EDITORS,
    ("mail.email_letter", "POST"): EDITORS,
    ("mail.held", "GET"): MANAGERS,
    ("mail.assign_held", "POST"): MANAGERS,
    ("mail.discard_held", "POST"): MANAGERS,
    ("mail.confirm", "POST"): EDITORS,
    ("mail.dismiss", "POST"): EDITORS,
    ("mail.settle_no_answer", "POST"): EDITORS,
    ("mail.check_mailbox", "POST"): MANAGERS,
    ("deadlines.dashboard", "GET"): ALL,
    ("deadlines.calculator", "GET"): PUBLIC,
    ("deadlines.agency_calendar", "GET"): ALL,
    ("deadlines.add_calendar_day", "POST"): MANAGERS,
    ("deadlines.remove_calendar_day", "POST"): MANAGERS,
    ("deadlines.log_extension", "GET"): EDITORS,
    ("deadlines.log_extension", "POST"): EDITORS,
    ("deadlines.draft_follow_up", "GET"): EDITORS,
    ("deadlines.feed_settings", "GET"): ALL,
    ("deadlines.renew_feed", "POST"): ALL,
    ("deadlines.revoke_feed", "POST"): ALL,
    ("deadlines.feed", "GET"): PUBLIC,
    ("search.results", "GET"): ALL,
    ("fees.add_fee", "POST"): EDITORS,
    ("fees.remove", "GET"): EDITORS,
    ("fees.remove", "POST"): EDITORS,
    ("scorecards.compare", "GET"): ALL,
    ("scorecards.compare_csv", "GET"): ALL,
    ("scorecards.compare_chart", "GET"): ALL,
    ("scorecards.agency", "GET"): ALL,
    ("scorecards.agency_csv", "GET"): ALL,
    ("scorecards.agency_chart", "GET"): ALL,
    ("publishing.publish", "POST"): MANAGERS,
    ("publishing.withdraw", "POST"): MANAGERS,
    ("publishing.review", "GET"): MANAGERS,
    ("publishing.review", "POST"): MANAGERS,
    ("publishing.unpublish", "GET"): MANAGERS,
    ("publishing.unpublish", "POST"): MANAGERS,
    ("series.list_series", "GET"): ALL,
    ("series.show_series", "GET"): ALL,
    ("series.new_series", "GET"): MANAGERS,
    ("series.new_series", "POST"): MANAGERS,
    ("series.stop", "POST"): MANAGERS,
    ("series.public_room", "POST"): MANAGERS,
    ("series.mark_period_report", "POST"): MANAGERS,
    ("public.index", "GET"): PUBLIC,
    ("public.show_request", "GET"): PUBLIC,
    ("public.show_document", "GET"): PUBLIC,
    ("public.download_document", "GET"): PUBLIC,
    ("public.search", "GET"): PUBLIC,
    ("public.feed", "GET"): PUBLIC,
    ("public.agencies", "GET"): PUBLIC,
    ("public.agency", "GET"): PUBLIC,
    ("public.show_series", "GET"): PUBLIC,
}


def test_every_route_and_method_has_an_entry(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - ACCESS.keys() == set(), "add the new routes to ACCESS"
    assert ACCESS.keys() - routes == set(), "remove routes that no longer exist"


def call(client, app, world, endpoint, method):
    with app.test_request_context():
        url = url_for(endpoint, **world["args"].get(endpoint, {}))
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf_token(client)})
    response.close()
    return response


@pytest.mark.parametrize(("endpoint", "method"), sorted(ACCESS))
def test_anonymous_visitors_reach_only_public_pages(app, client, world, endpoint, method):
    response = call(client, app, world, endpoint, method)
    expected = ACCESS[(endpoint, method)]
    if expected == PUBLIC and endpoint == "deadlines.feed":
        # The matrix names no real feed token: an unknown one is not found.
        assert response.status_code in (200, 401, 404)
    elif expected == PUBLIC:
        assert response.status_code in (200, 401)
    elif expected == GONE:
        assert response.status_code == 404
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
@pytest.mark.parametrize(("endpoint", "method"), sorted(ACCESS))
def test_each_role_may_do_only_what_the_table_allows(
    app, client, auth, world, role, endpoint, method
):
    auth.login(world["users"][role])
    response = call(client, app, world, endpoint, method)
    expected = ACCESS[(endpoint, method)]
    if expected == GONE:
        assert response.status_code == 404
    elif expected == PUBLIC and endpoint == "deadlines.feed":
        assert response.status_code == 404
    elif expected == PUBLIC or role in expected:
        assert response.status_code in (200, 302), response.status_code
        if response.status_code == 302 and endpoint != "auth.logout":
            assert not response.headers["Location"].startswith("/login")
    else:
        assert response.status_code == 403


# What the world keeps out of the public records room, each by the address it would have.
NOT_PUBLIC = ("embargoed", "unpublished", "withdrawn")


@pytest.mark.parametrize("hidden", NOT_PUBLIC)
@pytest.mark.parametrize("role", [None, *Role], ids=lambda role: role.value if role else "anyone")
def test_no_one_reaches_a_document_that_is_not_public(client, auth, world, role, hidden):
    if role is not None:
        auth.login(world["users"][role])
    key = world["public"][hidden]
    for path in (f"/public/documents/{key}", f"/public/documents/{key}/download"):
        response = client.get(path)
        assert response.status_code == 404, (path, role)
        assert "Set-Cookie" not in response.headers


def test_an_advocate_cannot_change_another_advocates_request(
    app, client, auth, make_user, make_request
):
    owner, other = make_user(Role.ADVOCATE), make_user(Role.ADVOCATE)
    record = make_request(created_by=owner)
    auth.login(other)
    assert client.get(f"/requests/{record.reference}").status_code == 200
    assert client.get(f"/requests/{record.reference}/edit").status_code == 403
    token = csrf_token(client)
    response = client.post(
        f"/requests/{record.reference}/notes", data={"csrf_token": token, "note": "mine now"}
    )
    assert response.status_code == 403


def test_an_advocate_may_change_a_request_assigned_to_them(client, auth, make_user, make_request):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(assignee=advocate)
    auth.login(advocate)
    assert client.get(f"/requests/{record.reference}/edit").status_code == 200


def test_a_viewer_is_offered_no_way_to_change_anything(client, auth, make_user, make_request):
    record = make_request(created_by=make_user(Role.ADVOCATE))
    auth.login(make_user(Role.VIEWER))
    pages = [
        "/requests",
        f"/requests/{record.reference}",
        "/agencies",
        f"/agencies/{record.agency.id}",
        "/organizations",
    ]
    for path in pages:
        page = client.get(path).get_data(as_text=True)
        assert "/edit" not in page, path
        assert "/new" not in page, path
        assert 'action="/requests/' not in page, path
