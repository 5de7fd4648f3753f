"""Each person's calendar feed: a secret address their calendar app reads without signing in."""

import re
from datetime import date

from icalendar import Calendar

from tests.conftest import post_form
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.requests.models import RequestStatus

SETTINGS = "/account/calendar-feed"
FEED_URL_RE = re.compile(r'value="(http://localhost/feeds/[^"]+\.ics)"')


def turn_on(client):
    response = post_form(client, f"{SETTINGS}/renew", {}, token_from=SETTINGS)
    assert response.status_code == 302
    page = client.get(SETTINGS).get_data(as_text=True)
    match = FEED_URL_RE.search(page)
    assert match, page
    return match.group(1)


def events(response):
    assert response.status_code == 200
    calendar = Calendar.from_ical(response.data)
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def test_anonymous_visitors_are_sent_to_sign_in(client, make_user):
    make_user(Role.STAFF)
    response = client.get(SETTINGS)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_password_page_links_to_the_feed_settings(client, auth, make_user):
    auth.login(make_user(Role.VIEWER))
    page = client.get("/account/password").get_data(as_text=True)
    assert f'href="{SETTINGS}"' in page
    assert "Calendar feed of your deadlines" in page


def test_the_feed_shows_each_open_deadline_as_an_all_day_event(
    app, client, auth, make_user, make_agency, make_request
):
    advocate = make_user(Role.ADVOCATE)
    lapd = make_agency(short_name="LAPD", name="Los Angeles Police Department")
    mine = make_request(
        title="Task-force agreements", agency=lapd, assignee=advocate,
        status=RequestStatus.SENT, received_on=date(2026, 3, 2),
        records_promised_on=date(2026, 4, 15),
    )  # fmt: skip
    created = make_request(
        advocate, title="ICE detainers", agency=lapd, status=RequestStatus.SENT,
        received_on=date(2026, 3, 10),
    )  # fmt: skip
    someone_elses = make_request(status=RequestStatus.SENT, received_on=date(2026, 3, 2))
    closed = make_request(
        advocate, agency=lapd, status=RequestStatus.DENIED, received_on=date(2026, 1, 5),
        closed_on=date(2026, 1, 20),
    )  # fmt: skip
    auth.login(advocate)
    assert "You have no calendar feed." in client.get(SETTINGS).get_data(as_text=True)
    url = turn_on(client)

    response = app.test_client().get(url)  # a calendar app has no session
    assert response.mimetype == "text/calendar"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    found = events(response)
    assert set(found) == {
        f"{mine.reference}-due@records-tracker",
        f"{mine.reference}-promised@records-tracker",
        f"{created.reference}-due@records-tracker",
    }
    due = found[f"{mine.reference}-due@records-tracker"]
    assert due.decoded("dtstart") == date(2026, 3, 12)
    assert due.decoded("dtend") == date(2026, 3, 13)
    assert str(due["summary"]) == f"Due: {mine.reference} Task-force agreements — LAPD"
    assert "10 calendar days" in str(due["description"])
    assert "dtstamp" in due
    promised = found[f"{mine.reference}-promised@records-tracker"]
    assert promised.decoded("dtstart") == date(2026, 4, 15)
    assert str(promised["summary"]).startswith(f"Records promised: {mine.reference} ")
    assert someone_elses.reference not in response.get_data(as_text=True)
    assert closed.reference not in response.get_data(as_text=True)


def test_revoking_the_feed_makes_its_address_unknown(client, auth, make_user):
    user = make_user(Role.STAFF)
    auth.login(user)
    url = turn_on(client)
    assert client.get(url).status_code == 200
    response = post_form(client, f"{SETTINGS}/revoke", {}, token_from=SETTINGS)
    assert response.status_code == 302
    assert client.get(url).status_code == 404
    assert db.session.get(type(user), user.id).feed_token is None
    assert "You have no calendar feed." in client.get(SETTINGS).get_data(as_text=True)


def test_renewing_gives_a_new_address_and_the_old_one_stops_working(client, auth, make_user):
    auth.login(make_user(Role.VIEWER))
    old = turn_on(client)
    new = turn_on(client)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_a_deactivated_persons_feed_is_gone(client, auth, make_user):
    user = make_user(Role.STAFF)
    auth.login(user)
    url = turn_on(client)
    user.active = False
    db.session.commit()
    assert client.get(url).status_code == 404


def test_an_unknown_token_is_not_found(client, make_user):
    make_user(Role.STAFF)
    assert client.get("/feeds/no-such-token.ics").status_code == 404


def test_changing_the_feed_needs_the_form_token(client, auth, make_user):
    auth.login(make_user(Role.STAFF))
    assert client.post(f"{SETTINGS}/renew").status_code == 400


FEED_URLS_RE = re.compile(
    r'<label for="feed-url-(\w+)">([^<]+)</label>\s*<input[^>]*value="([^"]+)"'
)


def feed_addresses(client):
    """The feeds the settings page offers: {kind: (label, address)}."""
    page = client.get(SETTINGS).get_data(as_text=True)
    return {kind: (label, url) for kind, label, url in FEED_URLS_RE.findall(page)}


def test_staff_have_feeds_of_all_open_and_of_unassigned_requests_besides_their_own(
    app, client, auth, make_user, make_agency, make_request
):
    staff = make_user(Role.STAFF, name="Sam Staff")
    advocate = make_user(Role.ADVOCATE, name="Ana Advocate")
    lapd = make_agency(short_name="LAPD")
    sent = {"agency": lapd, "status": RequestStatus.SENT, "received_on": date(2026, 3, 2)}
    theirs = make_request(title="Assigned to staff", assignee=staff, **sent)
    nobodys = make_request(advocate, title="Nobody on it", **sent)
    advocates = make_request(title="The advocate's", assignee=advocate, **sent)
    draft = make_request(title="Not sent yet", agency=lapd)
    closed = make_request(
        title="Denied", agency=lapd, status=RequestStatus.DENIED, received_on=date(2026, 1, 5),
        closed_on=date(2026, 1, 20),
    )  # fmt: skip
    auth.login(staff)
    page = client.get(SETTINGS).get_data(as_text=True)
    # Before the feed is on, the page says what each feed will hold.
    assert "Open requests assigned to nobody" in page
    url = turn_on(client)

    offered = feed_addresses(client)
    assert list(offered) == ["mine", "all", "unassigned"]
    assert offered["mine"] == ("Your requests", url)  # the address it always had
    assert offered["all"] == ("All open requests", f"{url}?show=all")
    assert offered["unassigned"] == ("Unassigned requests", f"{url}?show=unassigned")
    page = client.get(SETTINGS).get_data(as_text=True)
    assert "Open requests you created or that are assigned to you." in page
    assert "Every open request, whoever created it and whoever is assigned to it" in page
    assert "drafts and closed requests are left out" in page

    reader = app.test_client()  # a calendar app has no session

    def references(address):
        response = reader.get(address)
        return {uid.split("-due@")[0] for uid in events(response) if "-due@" in uid}

    assert references(offered["mine"][1]) == {theirs.reference}
    assert references(offered["all"][1]) == {
        theirs.reference, nobodys.reference, advocates.reference,
    }  # fmt: skip
    unassigned = reader.get(offered["unassigned"][1])
    assert set(events(unassigned)) == {f"{nobodys.reference}-due@records-tracker"}
    assert "Assigned to nobody." in str(
        events(unassigned)[f"{nobodys.reference}-due@records-tracker"]["description"]
    )
    calendar = Calendar.from_ical(unassigned.data)
    assert str(calendar["x-wr-calname"]) == "Records Tracker deadlines: unassigned requests"
    for left_out in (draft, closed):
        assert left_out.reference not in reader.get(offered["all"][1]).get_data(as_text=True)


def test_admins_have_the_wider_feeds_too(client, auth, admin):
    auth.login(admin)
    turn_on(client)
    assert list(feed_addresses(client)) == ["mine", "all", "unassigned"]


def test_an_advocate_keeps_one_feed_of_their_own_requests(
    app, client, auth, make_user, make_request
):
    advocate = make_user(Role.ADVOCATE)
    make_request(status=RequestStatus.SENT, received_on=date(2026, 3, 2))
    auth.login(advocate)
    url = turn_on(client)
    assert list(feed_addresses(client)) == ["mine"]
    page = client.get(SETTINGS).get_data(as_text=True)
    assert "All open requests" not in page
    assert "?show=" not in page
    reader = app.test_client()
    assert events(reader.get(url)) == {}
    # Their secret does not open anyone else's requests.
    assert reader.get(f"{url}?show=all").status_code == 404
    assert reader.get(f"{url}?show=unassigned").status_code == 404


def test_someone_no_longer_staff_loses_the_wider_feeds(app, client, auth, make_user):
    staff = make_user(Role.STAFF)
    auth.login(staff)
    url = turn_on(client)
    reader = app.test_client()
    assert reader.get(f"{url}?show=all").status_code == 200
    staff.role = Role.ADVOCATE
    db.session.commit()
    assert reader.get(f"{url}?show=all").status_code == 404
    assert reader.get(f"{url}?show=unassigned").status_code == 404
    assert reader.get(url).status_code == 200


def test_an_unknown_feed_is_not_found(app, client, auth, make_user):
    auth.login(make_user(Role.STAFF))
    url = turn_on(client)
    assert app.test_client().get(f"{url}?show=everything").status_code == 404
