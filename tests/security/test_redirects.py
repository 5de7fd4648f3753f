"""No address the tracker sends a browser to can lead off the site.

The one redirect that takes a target from the user is ``next`` on the sign-in
page (in the form and in the query string). Links built from the query string
(the pagers, the due-list tabs) are checked too: ``url_for``'s own options such
as ``_external`` and ``_method`` must never be taken from the address bar.
"""

import re
from html import unescape
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PASSWORD, csrf_token
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.requests.models import Organization
from tracker.security import is_safe_redirect

SITE = "https://tracker.example"

HOSTILE = [
    "https://evil.example/",
    "https://evil.example",
    "http://evil.example",
    "//evil.example/",
    "//evil.example",
    "///evil.example/",
    "////evil.example",
    "/\\evil.example/",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%09/evil.example",
    "/%5Cevil.example",
    "http:evil.example",
    "http:/evil.example",
    "https:evil.example",
    " //evil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "//evil.example\t",
    "/\r\nLocation: https://evil.example",
    "\x00//evil.example",
    "/\x00/evil.example",
    "//evil.example@tracker.example",
    "https://tracker.example@evil.example",
    "/requests@evil.example",
    "evil.example",
    "。/evil.example",
    "/\u3000/evil.example",
]

LOCAL = ["/", "/requests", "/agencies?q=police&law=ca-cpra", "/requests?page=2#top", "/due"]


def where_a_browser_goes(location: str) -> tuple[str, str]:
    """(scheme, host) a browser on SITE/login would go to, parsing as browsers do.

    Browsers drop tabs and newlines anywhere in a URL, trim leading and trailing
    spaces and control characters, and read a backslash as a slash.
    """
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("\x00- ").replace("\\", "/")
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", cleaned):
        parts = urlsplit(cleaned)
        return parts.scheme.lower(), parts.netloc.lower()
    if cleaned.startswith("//"):
        return "https", urlsplit("https:" + cleaned).netloc.lower()
    return "https", "tracker.example"


def assert_on_site(response) -> None:
    assert response.status_code in (302, 303)
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location
    assert where_a_browser_goes(location) == ("https", "tracker.example"), location
    assert location.startswith("/"), location


def test_the_check_itself_recognises_an_escape():
    # The helper must call these off-site, or the tests below prove nothing.
    for escape in ("//evil.example", "/\\evil.example", "\t//evil.example", "https://e.example"):
        assert where_a_browser_goes(escape) != ("https", "tracker.example"), escape
    assert where_a_browser_goes("javascript:alert(1)")[0] == "javascript"


@pytest.fixture
def user(make_user):
    return make_user(Role.STAFF)


def post_sign_in(client, user, target: str):
    token = csrf_token(client)
    return client.post(
        "/login",
        data={"csrf_token": token, "email": user.email, "password": PASSWORD, "next": target},
    )


def off_site(responses: dict[str, object]) -> list[str]:
    """The targets whose response is not a redirect to this site, with where it went."""
    escapes = []
    for target, response in responses.items():
        try:
            assert_on_site(response)
        except AssertionError:
            escapes.append(f"{target!r} -> {response.headers.get('Location')!r}")  # type: ignore[attr-defined]
    return escapes


def test_next_in_the_sign_in_form_never_leads_off_the_site(app, user):
    client = app.test_client()
    assert off_site({target: post_sign_in(client, user, target) for target in HOSTILE}) == []


def test_next_in_the_query_string_never_leads_off_the_site(client, auth, user):
    # A signed-in visitor to /login is sent straight on to ``next``.
    auth.login(user)
    responses = {target: client.get(f"/login?next={quote(target, safe='')}") for target in HOSTILE}
    assert off_site(responses) == []


def test_next_carried_from_the_link_to_the_form_never_leads_off_the_site(app, user):
    # The whole journey: a link to /login?next=..., the form it shows, the sign-in.
    responses = {}
    for target in HOSTILE:
        client = app.test_client()
        page = client.get(f"/login?next={quote(target, safe='')}").get_data(as_text=True)
        carried = re.search(r'<input[^>]*name="next"[^>]*>', page)
        assert carried is not None
        value = re.search(r'value="([^"]*)"', carried.group(0))
        responses[target] = post_sign_in(client, user, unescape(value.group(1) if value else ""))
    assert off_site(responses) == []


def test_local_paths_with_query_strings_still_work(client, auth, user):
    for target in LOCAL:
        assert post_sign_in(client, user, target).headers["Location"] == target
        assert client.get(f"/login?next={quote(target, safe='')}").headers["Location"] == target


def test_next_returns_to_the_page_that_asked_for_sign_in(client, make_user):
    user = make_user()
    first = client.get("/agencies?q=police")
    assert first.status_code == 302
    assert first.headers["Location"] == "/login?next=/agencies?q%3Dpolice"
    login_page = client.get(first.headers["Location"])
    assert 'value="/agencies?q=police"' in login_page.get_data(as_text=True)
    response = post_sign_in(client, user, "/agencies?q=police")
    assert response.headers["Location"] == "/agencies?q=police"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(
        alphabet=st.sampled_from(list("/\\:@.%?#\t\n\r \x00 \u3000。evilhtpsjavcr")),
        max_size=24,
    )
)
def test_whatever_next_holds_is_either_refused_or_on_the_site(target):
    if is_safe_redirect(target):
        assert where_a_browser_goes(target) == ("https", "tracker.example"), repr(target)


# Links built from the query string


# Each page that builds links from its own query string, and a link it builds there.
BUILDS_LINKS = {  # the admin's user list uses the same pager as agencies
    "/due": "section=",
    "/agencies": "page=2",
    "/organizations": "page=2",
    "/search?q=detainer": "page=2",
}
OPTIONS = [
    "_method=POST",
    "_external=1",
    "_external=1&_scheme=javascript",
    "_scheme=javascript",
    "_anchor=x",
]


@pytest.mark.parametrize("path", sorted(BUILDS_LINKS))
def test_links_built_from_the_query_string_take_no_url_options_from_it(
    client, auth, make_user, make_agency, make_request, path
):
    # More than a page of each, so that the pagers show.
    if path.startswith("/search"):
        agency = make_agency()
        for number in range(21):
            make_request(title=f"Detainer records {number}", agency=agency)
    for number in range(26):
        make_agency()
        db.session.add(Organization(name=f"Organization {number}"))
    db.session.commit()
    auth.login(make_user(Role.ADMIN))
    for option in OPTIONS:
        response = client.get(f"{path}{'&' if '?' in path else '?'}{option}")
        assert response.status_code == 200, option
        hrefs = re.findall(r'href="([^"]*)"', response.get_data(as_text=True))
        assert any(BUILDS_LINKS[path] in href for href in hrefs), option
        for href in hrefs:
            assert not href.startswith(("http:", "https:", "javascript:", "//")), (option, href)
            assert "#x" not in href, (option, href)
