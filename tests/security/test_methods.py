"""Every route answers a method it does not take with 405, for everyone.

The access matrix (tests/security/test_access.py) requests each route with the
methods it takes. Here every route in the URL map is also requested with GET
and with POST when it does not take them, by an anonymous visitor and by each
role: the answer is 405 with an Allow header, never a page (200), a server error
(500) or the sign-in redirect.

Why 405 and not the sign-in redirect for anonymous visitors: the method is
checked when the URL is matched, before any view or login check runs, so no view
code is reached. A 405 tells a visitor only that the address exists, which the
sign-in redirect of its GET would tell them anyway.
"""

from flask import url_for

from tests.conftest import csrf_token
from tracker.auth.models import Role

METHODS = ("GET", "POST")
OTHER_METHODS = ("PUT", "PATCH", "DELETE")


def wrong_methods(app, world, methods=METHODS) -> list[tuple[str, str, str, set[str]]]:
    """(endpoint, url, method, allowed) for each route and each method its URL does not take.

    Some URLs are served by two rules (a page and the form that posts to it), so
    what a URL takes is what any of its rules takes.
    """
    urls: dict[str, tuple[str, set[str]]] = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            url = url_for(rule.endpoint, **world["args"].get(rule.endpoint, {}))
            endpoint, allowed = urls.get(url, (rule.endpoint, set()))
            urls[url] = (endpoint, allowed | set(rule.methods or ()))
    return [
        (endpoint, url, method, allowed)
        for url, (endpoint, allowed) in sorted(urls.items())
        for method in methods
        if method not in allowed
    ]


def refusals(client, calls) -> list[str]:
    """What went wrong: any call that is not a plain 405 naming the allowed methods."""
    token = csrf_token(client, "/login")
    problems = []
    for endpoint, url, method, allowed in calls:
        data = {"csrf_token": token} if method != "GET" else None
        response = client.open(url, method=method, data=data)
        page = response.get_data(as_text=True)
        response.close()
        if response.status_code != 405:
            problems.append(f"{method} {url} ({endpoint}): {response.status_code}")
        elif set(response.headers.get("Allow", "").split(", ")) != allowed:
            problems.append(f"{method} {url}: Allow {response.headers.get('Allow')}")
        elif "does not accept that kind of request" not in page or "Traceback" in page:
            problems.append(f"{method} {url}: not the tracker's 405 page")
    return problems


def test_some_routes_refuse_get_and_some_refuse_post(app, world):
    # Otherwise the tests below would check nothing.
    calls = wrong_methods(app, world)
    assert {method for _, _, method, _ in calls} == {"GET", "POST"}
    assert ("auth.logout", "GET") in {(endpoint, method) for endpoint, _, method, _ in calls}
    assert len(calls) >= 30


def test_an_anonymous_visitor_gets_405_for_a_method_a_route_does_not_take(app, client, world):
    assert refusals(client, wrong_methods(app, world)) == []


def test_each_role_gets_405_for_a_method_a_route_does_not_take(app, make_app, auth, world):
    for role in Role:
        client = app.test_client()
        type(auth)(client).login(world["users"][role])
        assert client.get("/requests").status_code == 200, role
        assert refusals(client, wrong_methods(app, world)) == [], role


def test_other_methods_are_refused_everywhere(app, client, auth, world):
    auth.login(world["users"][Role.ADMIN])
    assert refusals(client, wrong_methods(app, world, OTHER_METHODS)) == []
