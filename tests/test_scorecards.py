"""Agency scorecards: how long each agency takes to decide and to release, how often it
answers in time, what becomes of the items, the exemptions it cites, and what is overdue,
checked against a small world whose every number is worked out by hand below."""

import csv
import html
import io
import re
from datetime import date

import pytest
from sqlalchemy import delete, select, update

from tracker.auth.models import Role
from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
from tracker.extensions import db
from tracker.items.models import ExemptionCitation, ItemAnswer, ItemState, RequestItem
from tracker.laws import all_laws, exemption_label
from tracker.requests.models import Organization, RecordsRequest, RequestStatus
from tracker.scorecards.figures import rebuild
from tracker.scorecards.models import CitationFigures, RequestFigures
from tracker.scorecards.queries import Scope, citations, figures

TODAY = date(2026, 12, 14)
S = ItemState


@pytest.fixture
def app(make_app):
    app = make_app(TODAY=TODAY)
    with app.app_context():
        yield app


def respond(record, kind, day):
    response = AgencyResponse(
        request_id=record.id, kind=kind, received_on=day, channel=ResponseChannel.EMAIL
    )
    db.session.add(response)
    db.session.flush()
    return response


def give_items(record, *states, cited=()):
    """The request's items, in these states; the withheld ones cite ``cited``."""
    db.session.execute(delete(RequestItem).where(RequestItem.request_id == record.id))
    response = None
    for position, state in enumerate(states, 1):
        item = RequestItem(request_id=record.id, position=position, state=state)
        db.session.add(item)
        db.session.flush()
        if state is S.WITHHELD:
            response = response or respond(record, ResponseKind.OTHER, TODAY)
            answer = ItemAnswer(response_id=response.id, item_id=item.id, outcome=state)
            db.session.add(answer)
            db.session.flush()
            for code in cited:
                flagged = code == "overly broad"
                db.session.add(
                    ExemptionCitation(
                        answer_id=answer.id,
                        law=record.agency.law,
                        code="" if flagged else code,
                        reason=code if flagged else "",
                        not_an_exemption=flagged,
                    )
                )
    db.session.commit()


@pytest.fixture
def scores(make_user, make_agency, make_request):
    """LAPD: five requests. Days to the first determination 3, 9 and 30; to the last
    release 19 and 50; answered within the deadline 2 of the 4 whose deadline has come;
    one overdue now. ICE: one request, decided in 30 days, late."""
    staff = make_user(Role.STAFF)
    chirla = Organization(name="CHIRLA")
    other = Organization(name="Other coalition")
    db.session.add_all([chirla, other])
    db.session.commit()
    lapd = make_agency(name="Los Angeles Police Department", short_name="LAPD", law="ca-cpra")
    ice = make_agency(name="Immigration and Customs Enforcement", short_name="ICE", law="us-foia")

    def filed(title, agency, received, **fields):
        fields.setdefault("organization", chirla)
        return make_request(
            title=title, agency=agency, sent_on=received, received_on=received,
            status=fields.pop("status", RequestStatus.SENT), **fields,
        )  # fmt: skip

    r1 = filed("Fulfilled fast", lapd, date(2026, 10, 1), determination_on=date(2026, 10, 4),
               status=RequestStatus.FULFILLED, closed_on=date(2026, 10, 20))  # fmt: skip
    respond(r1, ResponseKind.FULL_RELEASE, date(2026, 10, 20))
    # Its determination typed as Oct 20, but a response logged says it came on Oct 14;
    # then two installments.
    r2 = filed("Two installments", lapd, date(2026, 10, 5), determination_on=date(2026, 10, 20),
               status=RequestStatus.PARTIALLY_FULFILLED)  # fmt: skip
    respond(r2, ResponseKind.DETERMINATION, date(2026, 10, 14))
    respond(r2, ResponseKind.PARTIAL_RELEASE, date(2026, 11, 4))
    respond(r2, ResponseKind.PARTIAL_RELEASE, date(2026, 11, 24))
    r3 = filed("Decided late", lapd, date(2026, 10, 10), determination_on=date(2026, 11, 9),
               status=RequestStatus.DENIED)  # fmt: skip
    r4 = filed("Never answered", lapd, date(2026, 11, 2))
    r5 = filed("Not yet due", lapd, date(2026, 12, 10), organization=other, tags=",ice,")
    i1 = filed("Federal", ice, date(2026, 9, 1), determination_on=date(2026, 10, 1))
    db.session.commit()
    give_items(r1, S.RELEASED)
    give_items(r2, S.PARTIAL, S.WITHHELD, S.NO_RECORDS, cited=["7923.600"])
    give_items(r3, S.WITHHELD, S.PENDING, cited=["7923.600", "7922.000", "overly broad"])
    give_items(r4, S.PENDING)
    give_items(r5, S.PENDING)
    give_items(i1, S.WITHHELD, cited=["b5"])
    assert r1.due_on >= date(2026, 10, 4) and r2.due_on >= date(2026, 10, 14)
    assert r3.due_on < date(2026, 11, 9) and i1.due_on < date(2026, 10, 1)
    assert r5.due_on > TODAY
    return {"staff": staff, "lapd": lapd, "ice": ice, "chirla": chirla, "other": other}


def by_agency(scope=None):
    return {f.name: f for f in figures(scope or Scope(), TODAY)}


LAPD = "Los Angeles Police Department (LAPD)"
ICE = "Immigration and Customs Enforcement (ICE)"


def test_median_and_90th_percentile_days_are_nearest_rank(scores):
    lapd = by_agency()[LAPD]
    assert lapd.filed == 5
    # 3, 9, 30 days: the median is the 2nd (ceil 1.5), the 90th percentile the 3rd.
    assert (lapd.first_determination.count, lapd.first_determination.median) == (3, 9)
    assert lapd.first_determination.p90 == 30
    # Kept apart: 19 and 50 days to the last release (the later installment counts).
    assert lapd.last_release.count == 2
    assert (lapd.last_release.median, lapd.last_release.p90) == (19, 50)
    ice = by_agency()[ICE]
    assert (ice.first_determination.median, ice.first_determination.p90) == (30, 30)
    assert ice.last_release.count == 0 and ice.last_release.median is None


def test_share_within_the_deadline_counts_the_unanswered_overdue_as_late(scores):
    lapd = by_agency()[LAPD]
    assert (lapd.within_deadline, lapd.deadline_judged) == (2, 4)
    assert lapd.within_share == 0.5
    assert lapd.overdue == 1
    assert by_agency()[ICE].within_share == 0.0


def test_items_are_shared_out_by_where_they_stand(scores):
    lapd = by_agency()[LAPD]
    assert lapd.item_total == 8
    assert lapd.item_share(S.RELEASED) == lapd.item_share(S.PARTIAL) == 1 / 8
    assert lapd.item_share(S.WITHHELD) == 2 / 8
    assert lapd.item_share(S.NO_RECORDS) == 1 / 8
    assert lapd.items_other == 3


def test_the_exemptions_cited_most_come_first_and_a_non_exemption_is_flagged(scores):
    cited = citations(Scope(agency_id=scores["lapd"].id))
    assert [(c.code, c.count) for c in cited] == [("7923.600", 2), ("", 1), ("7922.000", 1)]
    assert cited[1].label == "A reason that is no exemption (flagged)"
    assert cited[0].label == exemption_label("ca-cpra", "7923.600")


def test_a_period_an_organization_and_a_tag_narrow_what_counts(scores):
    autumn = by_agency(Scope(start=date(2026, 10, 1), end=date(2026, 10, 31)))
    assert set(autumn) == {LAPD}
    assert autumn[LAPD].filed == 3
    assert by_agency(Scope(organization_id=scores["other"].id))[LAPD].filed == 1
    tagged = by_agency(Scope(tag="ICE"))
    assert set(tagged) == {LAPD} and tagged[LAPD].filed == 1
    assert by_agency(Scope(start=date(2027, 1, 1))) == {}


# The pages ----------------------------------------------------------------------------


def text(response):
    return html.unescape(response.get_data(as_text=True))


def table_of(page, name):
    """The rows of a table on the page, as the cells' text."""
    start = page.index(f'id="{name}-table"')
    body = page[start : page.index("</table>", start)]
    cells = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells.findall(row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_comparison_page_shows_each_chart_with_its_table_and_csv(client, auth, scores):
    auth.login(scores["staff"])
    agencies = text(client.get("/agencies"))
    assert 'href="/scorecards"' in agencies
    page = text(client.get("/scorecards"))
    assert "6 requests filed in the period." in page
    days = table_of(page, "days")
    assert days[0][0] == "Agency"
    assert [ICE, "1", "30", "30", "0", "—", "—"] in days
    assert [LAPD, "3", "9", "30", "2", "19", "50"] in days
    deadline = table_of(page, "deadline")
    assert [LAPD, "5", "4", "2", "50.0", "1"] in deadline
    items = table_of(page, "items")
    assert [LAPD, "8", "12.5", "12.5", "25.0", "12.5", "37.5"] in items
    for name in ("days", "deadline", "items", "exemptions"):
        assert f'src="/scorecards/{name}.svg"' in page
        assert f'href="/scorecards/{name}.csv"' in page


def test_each_csv_holds_the_table_beside_its_chart(client, auth, scores):
    auth.login(scores["staff"])
    query = "?start=2026-09-01&organization=" + str(scores["chirla"].id)
    page = text(client.get(f"/scorecards{query}"))
    for name in ("days", "deadline", "items", "exemptions"):
        assert f"/scorecards/{name}.csv{query}" in page.replace("&amp;", "&")
        response = client.get(f"/scorecards/{name}.csv{query}")
        assert response.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
        # The page shows a missing figure as a dash; the CSV leaves the cell empty.
        shown = [[cell.replace("—", "") for cell in row] for row in table_of(page, name)]
        assert len(rows) > 1
        assert rows == shown


def test_charts_are_svg_images_without_script(client, auth, scores):
    auth.login(scores["staff"])
    for url in ("/scorecards/days.svg", f"/agencies/{scores['lapd'].id}/scorecard/items.svg"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        body = response.get_data(as_text=True)
        assert body.startswith("<svg") and "<script" not in body.lower()
        assert "javascript:" not in body.lower()
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert client.get("/scorecards/nothing.svg").status_code == 404
    assert client.get("/scorecards/nothing.csv").status_code == 404


def test_an_agencys_scorecard_is_linked_from_its_page(client, auth, scores):
    auth.login(scores["staff"])
    lapd = scores["lapd"].id
    assert f'href="/agencies/{lapd}/scorecard"' in text(client.get(f"/agencies/{lapd}"))
    page = text(client.get(f"/agencies/{lapd}/scorecard"))
    assert "5 requests filed in the period." in page
    assert ["To the first determination", "3", "9", "30"] in table_of(page, "days")
    assert ["To the last release", "2", "19", "50"] in table_of(page, "days")
    assert ["Answered within the deadline", "2", "50.0"] in table_of(page, "deadline")
    assert ["Withheld", "2", "25.0"] in table_of(page, "items")
    exemptions = table_of(page, "exemptions")
    assert exemptions[1] == [exemption_label("ca-cpra", "7923.600"), "ca-cpra", "2"]
    assert "b5" not in str(exemptions)


def test_an_empty_period_says_so(client, auth, scores):
    auth.login(scores["staff"])
    for url in ("/scorecards", f"/agencies/{scores['lapd'].id}/scorecard"):
        page = text(client.get(url + "?start=2027-01-01"))
        assert "No requests in this period." in page
        assert "<img" not in page


def test_a_period_that_ends_before_it_starts_is_refused_at_the_field(client, auth, scores):
    auth.login(scores["staff"])
    page = text(client.get("/scorecards?start=2026-11-01&end=2026-10-01&tag=kept"))
    assert 'id="end-error"' in page
    assert "cannot come before its start" in page
    assert 'value="kept"' in page
    page = text(client.get("/scorecards?start=not-a-date"))
    assert 'id="start-error"' in page
    assert "6 requests filed" in page


def test_the_pages_follow_every_change_at_once(client, auth, scores, make_request):
    auth.login(scores["staff"])
    assert "6 requests filed in the period." in text(client.get("/scorecards"))
    record = make_request(
        agency=scores["ice"], status=RequestStatus.SENT, received_on=date(2026, 12, 1),
        sent_on=date(2026, 12, 1),
    )  # fmt: skip
    assert "7 requests filed in the period." in text(client.get("/scorecards"))
    give_items(record, S.WITHHELD, cited=["b7c"])
    page = text(client.get(f"/agencies/{scores['ice'].id}/scorecard"))
    assert [exemption_label("us-foia", "b7c"), "us-foia", "1"] in table_of(page, "exemptions")
    # ICE's one decided request took 30 days; it answers a second in 5.
    respond(record, ResponseKind.DENIAL, date(2026, 12, 6))
    db.session.commit()
    page = text(client.get(f"/agencies/{scores['ice'].id}/scorecard"))
    assert ["To the first determination", "2", "5", "30"] in table_of(page, "days")


def stored():
    """Every stored figure, as plain rows (the citations' own ids aside)."""
    requests = db.session.execute(select(RequestFigures.__table__)).all()
    cited = db.session.execute(
        select(*(c for c in CitationFigures.__table__.c if c.name != "id"))
    ).all()
    return sorted(map(tuple, requests)), sorted(map(tuple, cited))


def test_each_change_leaves_the_figures_as_working_them_out_afresh_would(scores, make_request):
    """Whatever changes a request, its responses, items, answers or citations (by object
    or by statement), the rows kept are those a rebuild from scratch makes."""
    lapd, ice = scores["lapd"], scores["ice"]
    records = {r.title: r for r in db.session.scalars(select(RecordsRequest))}
    fast, two, late, never = (records[t] for t in
                              ("Fulfilled fast", "Two installments", "Decided late",
                               "Never answered"))  # fmt: skip
    before = stored()
    assert len(before[0]) == 6 and before[1]

    # Received two days later; the last installment taken back; moved to another agency;
    # tagged; an exemption withdrawn; an item answered; the first determination logged.
    two.received_on = date(2026, 10, 7)
    last = db.session.scalars(
        select(AgencyResponse)
        .where(AgencyResponse.request_id == two.id)
        .where(AgencyResponse.received_on == date(2026, 11, 24))
    ).one()
    db.session.delete(last)
    late.agency_id = ice.id
    never.tags = ",ice,"
    cited = db.session.scalars(
        select(ExemptionCitation).join(ItemAnswer).join(RequestItem)
        .where(RequestItem.request_id == late.id, ExemptionCitation.code == "7922.000")
    ).one()  # fmt: skip
    db.session.delete(cited)
    [pending] = [i for i in db.session.scalars(select(RequestItem).where(
        RequestItem.request_id == late.id, RequestItem.state == S.PENDING))]  # fmt: skip
    pending.state = S.NO_RECORDS
    respond(never, ResponseKind.DETERMINATION, date(2026, 11, 20))
    db.session.commit()
    # Statements rather than objects.
    db.session.execute(
        update(RecordsRequest)
        .where(RecordsRequest.id == fast.id)
        .values(received_on=date(2026, 9, 30), sent_on=date(2026, 9, 30))
    )
    db.session.execute(delete(ExemptionCitation).where(ExemptionCitation.law == "us-foia"))
    db.session.execute(
        update(RequestItem).where(RequestItem.request_id == two.id).values(state=S.RELEASED)
    )
    db.session.commit()
    kept = stored()
    assert kept != before
    with db.engine.begin() as connection:
        rebuild(connection)
    assert stored() == kept
    lapd_now = by_agency(Scope(agency_id=lapd.id))[LAPD]
    assert lapd_now.items[S.RELEASED] == 1 + 3 and lapd_now.filed == 4
    assert not citations(Scope(agency_id=ice.id, end=date(2026, 9, 30)))


def test_an_exemption_is_labelled_from_its_laws_list_when_the_law_has_one():
    cpra = all_laws()["ca-cpra"].exemption("7923.600")
    assert cpra is not None
    assert exemption_label("ca-cpra", "7923.600") == f"{cpra.citation} {cpra.name}"
    assert exemption_label("ca-cpra", "7923.600").startswith("Gov. Code § 7923.600 ")
    assert exemption_label("us-foia", "b5").startswith("5 U.S.C. § 552(b)(5) ")
    # A code the law does not list, or a law the tracker does not know, shows as typed.
    assert exemption_label("us-foia", "b99") == "b99"
    assert exemption_label("ny-foil", "x") == "x"


def test_drawing_charts_leaves_no_old_style_import_hook_behind():
    import sys

    import tracker.scorecards.charts  # noqa: F401

    # One without find_spec makes every later import warn, and the suite fails on warnings.
    assert all(hasattr(hook, "find_spec") for hook in sys.meta_path)


@pytest.mark.parametrize(
    ("largest", "marks"),
    [(18, [0, 10, 20]), (3, [0, 1, 2, 3, 4]), (None, [0, 1]), (50, [0, 10, 20, 30, 40, 50, 60]),
     (140, [0, 20, 40, 60, 80, 100, 120, 140, 160])],
)  # fmt: skip
def test_a_charts_marks_are_whole_numbers_at_most_about_eight(largest, marks):
    from tracker.scorecards.charts import ticks

    assert ticks([largest]) == [float(n) for n in marks]


def test_two_changes_to_one_request_at_once_both_count_and_neither_fails(app, scores):
    """Staff log a response while the worker files another for the same request: each
    transaction refreshes the request's figures, one after the other, and both count."""
    import threading

    from sqlalchemy.orm import Session

    record = db.session.scalars(
        select(RecordsRequest).where(RecordsRequest.title == "Never answered")
    ).one()
    record_id = record.id
    db.session.commit()

    def respond_in(session, day):
        session.add(
            AgencyResponse(request_id=record_id, kind=ResponseKind.DETERMINATION,
                           received_on=day, channel=ResponseChannel.EMAIL)
        )  # fmt: skip
        session.flush()

    first, second = Session(db.engine), Session(db.engine)
    errors = []
    respond_in(first, date(2026, 11, 20))

    def other():
        try:
            respond_in(second, date(2026, 11, 10))
            second.commit()
        except Exception as error:  # noqa: BLE001 - the failure is what the test reports
            errors.append(error)
            second.rollback()

    thread = threading.Thread(target=other)
    thread.start()
    # The second waits for the first (its request's row, or SQLite's one writer) until it
    # commits.
    thread.join(timeout=1)
    first.commit()
    thread.join(timeout=30)
    first.close()
    second.close()
    assert errors == []
    kept = stored()
    with db.engine.begin() as connection:
        rebuild(connection)
    assert stored() == kept
    # Received Nov 2: the earlier of the two determinations, 8 days.
    figures_ = {row[0]: row for row in kept[0]}
    assert figures_[record_id][5] == 8
