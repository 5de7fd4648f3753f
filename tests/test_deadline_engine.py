"""The deadline engine against deadlines counted by hand from the statutes.

Every expected date in the tables below was counted on a printed calendar from
the rules, not produced by the engine or the ``holidays`` package:

CPRA (Gov. Code § 7922.535(a)): 10 calendar days; the day of receipt is excluded
and the last day included (Code Civ. Proc. § 12); a last day that is a Saturday,
Sunday, judicial holiday (Code Civ. Proc. § 135) or a day the office is closed
(§ 12b) moves to the next day that is none of those (§ 12a). An extension adds at
most 14 days: received + 24 calendar days, rolled the same way (§ 7922.535(b)).
Judicial holidays on a Saturday are observed on the Friday before and those on a
Sunday on the Monday after (Code Civ. Proc. § 135; Cal. Rules of Court, rule 1.11).

FOIA (5 U.S.C. § 552(a)(6)(A)(i)): 20 working days after receipt, skipping
Saturdays, Sundays and legal public holidays (5 U.S.C. § 6103(a); a Saturday
holiday is kept on the Friday before, a Sunday one on the Monday after, § 6103(b),
E.O. 11582). An extension makes it 30 working days (§ 552(a)(6)(B)(i)).
"""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.deadlines.calendars import AgencyCalendar
from tracker.deadlines.engine import Deadlines, Extension, Facts, compute, standing
from tracker.laws import all_laws

CPRA = all_laws()["ca-cpra"]
FOIA = all_laws()["us-foia"]
CA = AgencyCalendar("ca-judicial")
US = AgencyCalendar("us-federal")

FURLOUGH_APR_13_2026 = AgencyCalendar("ca-judicial", closures={date(2026, 4, 13): "Furlough day"})
# The City of Los Angeles has closed on a Monday near March 31 for Cesar Chavez Day.
LA_CHAVEZ_MONDAY_2026 = AgencyCalendar(
    "ca-judicial", closures={date(2026, 3, 30): "Cesar Chavez Day (City of Los Angeles)"}
)
# Staff correcting the base calendar: Native American Day became a judicial
# holiday only on Jan 1, 2022 (AB 855, Stats. 2021, ch. 283, amending Code Civ.
# Proc. § 135), and Juneteenth only in 2023 (AB 1655, Stats. 2022).
OPEN_NATIVE_AMERICAN_DAY_2021 = AgencyCalendar(
    "ca-judicial", openings={date(2021, 9, 24): "Not a judicial holiday before 2022"}
)
OPEN_JUNETEENTH_OBSERVED_2022 = AgencyCalendar(
    "ca-judicial", openings={date(2022, 6, 20): "Not a judicial holiday before 2023"}
)
# Executive-order closure of federal offices on Christmas Eve 2024.
US_CHRISTMAS_EVE_2024 = AgencyCalendar(
    "us-federal", closures={date(2024, 12, 24): "Executive order closure"}
)


def cpra(received, due, sentence, calendar=CA, extended=False):
    return pytest.param(CPRA, calendar, received, extended, due, id=sentence)


def foia(received, due, sentence, calendar=US, extended=False):
    return pytest.param(FOIA, calendar, received, extended, due, id=sentence)


D = date

TABLE = [
    # --- plain counting --------------------------------------------------------------
    cpra(D(2023, 4, 10), D(2023, 4, 20), "CPRA received Mon Apr 10 2023 is due Thu Apr 20"),
    cpra(D(2026, 4, 1), D(2026, 4, 13), "CPRA day 10 on Sat Apr 11 2026 moves to Mon Apr 13"),
    cpra(D(2026, 10, 2), D(2026, 10, 12), "CPRA day 10 on Columbus Day 2026 is not moved"),
    # --- Thanksgiving and the day after ----------------------------------------------
    cpra(D(2026, 11, 16), D(2026, 11, 30), "CPRA day 10 on Thanksgiving 2026 is due Mon Nov 30"),
    cpra(
        D(2026, 11, 17),
        D(2026, 11, 30),
        "CPRA day 10 on the day after Thanksgiving 2026 is due Mon Nov 30",
    ),
    cpra(
        D(2025, 11, 17),
        D(2025, 12, 1),
        "CPRA received Mon Nov 17 2025, day 10 Thanksgiving, is due Mon Dec 1",
    ),
    # --- year ends ---------------------------------------------------------------------
    cpra(D(2026, 12, 15), D(2026, 12, 28), "CPRA day 10 on Christmas 2026 is due Mon Dec 28"),
    cpra(D(2026, 12, 22), D(2027, 1, 4), "CPRA received Dec 22 2026 is due Mon Jan 4 2027"),
    cpra(
        D(2022, 12, 16),
        D(2022, 12, 27),
        "CPRA day 10 on Mon Dec 26 2022, Christmas observed, is due Tue Dec 27",
    ),
    cpra(
        D(2022, 12, 22),
        D(2023, 1, 3),
        "CPRA day 10 on Sunday New Year's Day 2023 passes Mon Jan 2 observed to Tue Jan 3",
    ),
    cpra(
        D(2021, 12, 22),
        D(2022, 1, 3),
        "CPRA day 10 on Saturday New Year's Day 2022 is due Mon Jan 3",
    ),
    cpra(
        D(2021, 12, 21),
        D(2022, 1, 3),
        "CPRA day 10 on Fri Dec 31 2021, New Year's observed by the courts, is due Mon Jan 3",
    ),
    cpra(
        D(2021, 12, 14),
        D(2021, 12, 27),
        "CPRA day 10 on Fri Dec 24 2021, Christmas observed by the courts, is due Mon Dec 27",
    ),
    # --- holidays on weekends ----------------------------------------------------------
    cpra(
        D(2023, 10, 31),
        D(2023, 11, 13),
        "CPRA day 10 on Fri Nov 10 2023, Saturday Veterans Day observed, is due Mon Nov 13",
    ),
    cpra(
        D(2029, 11, 2),
        D(2029, 11, 13),
        "CPRA day 10 on Mon Nov 12 2029, Sunday Veterans Day observed, is due Tue Nov 13",
    ),
    cpra(D(2025, 11, 1), D(2025, 11, 12), "CPRA day 10 on Veterans Day 2025 is due Wed Nov 12"),
    cpra(
        D(2026, 6, 23),
        D(2026, 7, 6),
        "CPRA day 10 on Fri Jul 3 2026, Saturday Independence Day observed, is due Mon Jul 6",
    ),
    # --- Cesar Chavez Day --------------------------------------------------------------
    cpra(D(2026, 3, 21), D(2026, 4, 1), "CPRA day 10 on Cesar Chavez Day 2026 is due Wed Apr 1"),
    cpra(
        D(2024, 3, 21),
        D(2024, 4, 2),
        "CPRA day 10 on Sunday Cesar Chavez Day 2024 passes Mon Apr 1 observed to Tue Apr 2",
    ),
    cpra(
        D(2023, 3, 21),
        D(2023, 4, 3),
        "CPRA day 10 on Cesar Chavez Day, Fri Mar 31 2023, is due Mon Apr 3",
    ),
    # --- Lincoln Day and Washington's Birthday ---------------------------------------
    cpra(D(2026, 2, 2), D(2026, 2, 13), "CPRA day 10 on Lincoln Day 2026 is due Fri Feb 13"),
    cpra(
        D(2026, 2, 4),
        D(2026, 2, 17),
        "CPRA day 10 on Sat Feb 14 2026 passes Presidents' Day to Tue Feb 17",
    ),
    cpra(
        D(2023, 2, 3),
        D(2023, 2, 14),
        "CPRA day 10 on Mon Feb 13 2023, Sunday Lincoln Day observed, is due Tue Feb 14",
    ),
    cpra(
        D(2022, 2, 1),
        D(2022, 2, 14),
        "CPRA day 10 on Fri Feb 11 2022, Saturday Lincoln Day observed, is due Mon Feb 14",
    ),
    # --- Native American Day (4th Friday of September) --------------------------------
    cpra(
        D(2026, 9, 15),
        D(2026, 9, 28),
        "CPRA day 10 on Native American Day 2026 is due Mon Sep 28",
    ),
    cpra(
        D(2025, 9, 16),
        D(2025, 9, 29),
        "CPRA day 10 on Native American Day 2025 is due Mon Sep 29",
    ),
    cpra(
        D(2021, 9, 14),
        D(2021, 9, 24),
        "CPRA day 10 on Native American Day 2021, before it was a judicial holiday, stays Fri",
    ),
    # --- Juneteenth --------------------------------------------------------------------
    cpra(D(2026, 6, 9), D(2026, 6, 22), "CPRA day 10 on Juneteenth 2026 is due Mon Jun 22"),
    cpra(D(2025, 6, 9), D(2025, 6, 20), "CPRA day 10 on Juneteenth 2025 is due Fri Jun 20"),
    cpra(
        D(2022, 6, 10),
        D(2022, 6, 20),
        "CPRA day 10 on Mon Jun 20 2022, before Juneteenth was a California holiday, stays",
    ),
    # --- other judicial holidays -------------------------------------------------------
    cpra(D(2026, 1, 9), D(2026, 1, 20), "CPRA day 10 on MLK Day 2026 is due Tue Jan 20"),
    cpra(D(2026, 5, 15), D(2026, 5, 26), "CPRA day 10 on Memorial Day 2026 is due Tue May 26"),
    cpra(D(2026, 8, 28), D(2026, 9, 8), "CPRA day 10 on Labor Day 2026 is due Tue Sep 8"),
    # --- leap years --------------------------------------------------------------------
    cpra(D(2028, 2, 19), D(2028, 2, 29), "CPRA received Feb 19 2028 is due leap day Tue Feb 29"),
    cpra(D(2028, 2, 21), D(2028, 3, 2), "CPRA received Feb 21 2028 counts leap day to Thu Mar 2"),
    cpra(D(2024, 2, 19), D(2024, 2, 29), "CPRA received Feb 19 2024 is due leap day Thu Feb 29"),
    cpra(
        D(2026, 2, 19),
        D(2026, 3, 2),
        "CPRA received Feb 19 2026, no leap day, Sun Mar 1 moves to Mon Mar 2",
    ),
    # --- agency closures and openings ---------------------------------------------------
    cpra(
        D(2026, 4, 3),
        D(2026, 4, 14),
        "CPRA day 10 on a furlough day Mon Apr 13 2026 is due Tue Apr 14",
        calendar=FURLOUGH_APR_13_2026,
    ),
    cpra(
        D(2026, 4, 1),
        D(2026, 4, 14),
        "CPRA day 10 on Sat Apr 11 2026 passes the weekend and a furlough day to Tue Apr 14",
        calendar=FURLOUGH_APR_13_2026,
    ),
    cpra(
        D(2026, 3, 20),
        D(2026, 4, 1),
        "CPRA day 10 on the City's Cesar Chavez closure Mon Mar 30 2026 passes Mar 31 to Apr 1",
        calendar=LA_CHAVEZ_MONDAY_2026,
    ),
    cpra(
        D(2021, 9, 14),
        D(2021, 9, 24),
        "CPRA with Native American Day 2021 opened by staff is due Fri Sep 24",
        calendar=OPEN_NATIVE_AMERICAN_DAY_2021,
    ),
    cpra(
        D(2022, 6, 10),
        D(2022, 6, 20),
        "CPRA with Mon Jun 20 2022 opened by staff is due that Monday",
        calendar=OPEN_JUNETEENTH_OBSERVED_2022,
    ),
    # --- CPRA extensions: received + 24 days, rolled ----------------------------------
    cpra(
        D(2026, 12, 1),
        D(2026, 12, 28),
        "CPRA extended, day 24 on Christmas 2026, is due Mon Dec 28",
        extended=True,
    ),
    cpra(
        D(2022, 12, 8),
        D(2023, 1, 3),
        "CPRA extended, day 24 on Sunday New Year's Day 2023, is due Tue Jan 3",
        extended=True,
    ),
    cpra(
        D(2028, 2, 5),
        D(2028, 2, 29),
        "CPRA extended from Feb 5 2028 is due leap day Tue Feb 29",
        extended=True,
    ),
    cpra(
        D(2026, 2, 5),
        D(2026, 3, 2),
        "CPRA extended from Feb 5 2026, day 24 Sun Mar 1, is due Mon Mar 2",
        extended=True,
    ),
    cpra(
        D(2025, 3, 7),
        D(2025, 4, 1),
        "CPRA extended, day 24 on Cesar Chavez Day 2025, is due Tue Apr 1",
        extended=True,
    ),
    cpra(
        D(2023, 10, 17),
        D(2023, 11, 13),
        "CPRA extended, day 24 on Veterans Day observed Fri Nov 10 2023, is due Mon Nov 13",
        extended=True,
    ),
    cpra(
        D(2023, 10, 18),
        D(2023, 11, 13),
        "CPRA extended, day 24 on Saturday Veterans Day 2023, is due Mon Nov 13",
        extended=True,
    ),
    cpra(
        D(2026, 11, 2),
        D(2026, 11, 30),
        "CPRA extended, day 24 on Thanksgiving 2026, is due Mon Nov 30",
        extended=True,
    ),
    # --- FOIA: 20 working days ---------------------------------------------------------
    foia(
        D(2026, 11, 24),
        D(2026, 12, 23),
        "FOIA received the Tuesday before Thanksgiving 2026 is due Wed Dec 23",
    ),
    foia(
        D(2026, 11, 20),
        D(2026, 12, 21),
        "FOIA received Fri Nov 20 2026 skips Thanksgiving only and is due Mon Dec 21",
    ),
    foia(
        D(2026, 11, 24),
        D(2027, 1, 8),
        "FOIA extended from Nov 24 2026 skips Thanksgiving, Christmas, New Year to Fri Jan 8",
        extended=True,
    ),
    foia(
        D(2026, 11, 20),
        D(2027, 1, 6),
        "FOIA extended from Nov 20 2026 is due Wed Jan 6 2027",
        extended=True,
    ),
    foia(
        D(2026, 6, 5),
        D(2026, 7, 7),
        "FOIA received Jun 5 2026 skips Juneteenth and Fri Jul 3 observed to Tue Jul 7",
    ),
    foia(
        D(2021, 6, 4),
        D(2021, 7, 6),
        "FOIA received Jun 4 2021 skips Fri Jun 18 and Mon Jul 5 observed to Tue Jul 6",
    ),
    foia(
        D(2021, 12, 8),
        D(2022, 1, 7),
        "FOIA received Dec 8 2021 skips Fri Dec 24 and Fri Dec 31 observed to Fri Jan 7",
    ),
    foia(
        D(2022, 12, 15),
        D(2023, 1, 17),
        "FOIA received Dec 15 2022 skips Dec 26, Jan 2 observed and MLK Day to Tue Jan 17",
    ),
    foia(
        D(2026, 10, 15),
        D(2026, 11, 13),
        "FOIA received Oct 15 2026 skips Veterans Day to Fri Nov 13",
    ),
    foia(
        D(2023, 11, 1),
        D(2023, 12, 1),
        "FOIA received Nov 1 2023 skips Fri Nov 10 observed and Thanksgiving to Fri Dec 1",
    ),
    foia(
        D(2029, 11, 1),
        D(2029, 12, 3),
        "FOIA received Nov 1 2029 skips Mon Nov 12 observed and Thanksgiving to Mon Dec 3",
    ),
    foia(
        D(2026, 1, 22),
        D(2026, 2, 20),
        "FOIA received Jan 22 2026 counts Lincoln Day, skips Presidents' Day, due Fri Feb 20",
    ),
    foia(
        D(2028, 2, 10),
        D(2028, 3, 10),
        "FOIA received Feb 10 2028 counts leap day and is due Fri Mar 10",
    ),
    foia(
        D(2026, 5, 15),
        D(2026, 6, 15),
        "FOIA received May 15 2026 skips Memorial Day to Mon Jun 15",
    ),
    foia(D(2026, 8, 1), D(2026, 8, 28), "FOIA received Sat Aug 1 2026 is due Fri Aug 28"),
    foia(
        D(2024, 11, 26),
        D(2024, 12, 26),
        "FOIA received Nov 26 2024 skips Thanksgiving and Christmas to Thu Dec 26",
    ),
    foia(
        D(2024, 11, 26),
        D(2024, 12, 27),
        "FOIA received Nov 26 2024 with Christmas Eve closed is due Fri Dec 27",
        calendar=US_CHRISTMAS_EVE_2024,
    ),
]


def facts_for(received: date, extended: bool) -> Facts:
    extension = Extension(notice_on=received + timedelta(days=2), claimed_on=None)
    return Facts(received_on=received, extension=extension if extended else None)


def test_the_table_is_big_enough():
    assert len(TABLE) >= 40


@pytest.mark.parametrize(("law", "calendar", "received", "extended", "due"), TABLE)
def test_deadline_counted_by_hand(law, calendar, received, extended, due):
    deadlines = compute(law, calendar, facts_for(received, extended))

    assert deadlines.due_on == due
    assert deadlines.warnings == ()
    if extended:
        assert deadlines.lawful_latest_on == due
    else:
        assert deadlines.first_due_on == due
        assert deadlines.lawful_latest_on is None


@pytest.mark.parametrize(
    ("law", "calendar", "received", "extended", "fragments"),
    [
        pytest.param(
            CPRA,
            CA,
            D(2026, 11, 17),
            False,
            (
                "Received Tue Nov 17, 2026.",
                "10 calendar days (Gov. Code § 7922.535(a)) end Fri Nov 27, 2026",
                "Day after Thanksgiving",
                "the deadline moves to Mon Nov 30, 2026 (Code Civ. Proc. §§ 12, 12a).",
            ),
            id="CPRA explanation names the day after Thanksgiving and Code Civ. Proc. 12, 12a",
        ),
        pytest.param(
            CPRA,
            CA,
            D(2026, 3, 21),
            False,
            ("Cesar Chavez Day", "Gov. Code § 7922.535(a)", "Wed Apr 1, 2026"),
            id="CPRA explanation names Cesar Chavez Day",
        ),
        pytest.param(
            CPRA,
            CA,
            D(2023, 10, 31),
            False,
            ("Veterans Day", "Mon Nov 13, 2023", "Code Civ. Proc. §§ 12, 12a"),
            id="CPRA explanation names Veterans Day observed on Friday",
        ),
        pytest.param(
            CPRA,
            FURLOUGH_APR_13_2026,
            D(2026, 4, 3),
            False,
            ("Furlough day", "a day the office is closed", "Code Civ. Proc. § 12b", "Apr 14, 2026"),
            id="CPRA explanation names the furlough day and Code Civ. Proc. 12b",
        ),
        pytest.param(
            CPRA,
            CA,
            D(2026, 12, 1),
            True,
            ("Gov. Code § 7922.535(b)", "Christmas Day", "Mon Dec 28, 2026"),
            id="CPRA extension explanation cites 7922.535(b) and names Christmas",
        ),
        pytest.param(
            FOIA,
            US,
            D(2026, 11, 24),
            True,
            (
                "20 working days (5 U.S.C. § 552(a)(6)(A)(i))",
                "Thanksgiving Day Nov 26",
                "5 U.S.C. § 552(a)(6)(B)(i)",
                "Christmas Day Dec 25",
                "New Year's Day Jan 1",
                "Fri Jan 8, 2027",
            ),
            id="FOIA explanation lists the holidays skipped and both citations",
        ),
    ],
)
def test_explanation_names_holiday_and_citation(law, calendar, received, extended, fragments):
    explanation = compute(law, calendar, facts_for(received, extended)).explanation
    for fragment in fragments:
        assert fragment in explanation


def test_an_opening_removes_a_base_holiday_from_the_calendar():
    opened = AgencyCalendar("ca-judicial", openings={D(2026, 9, 25): "Open this year"})
    assert CA.holiday(D(2026, 9, 25)) == "Native American Day"
    assert opened.holiday(D(2026, 9, 25)) is None


# Extension warnings ---------------------------------------------------------------------


def test_claim_beyond_the_lawful_latest_warns_and_is_cut_to_it():
    facts = Facts(
        received_on=D(2026, 12, 1),
        extension=Extension(notice_on=D(2026, 12, 4), claimed_on=D(2027, 1, 15)),
    )
    deadlines = compute(CPRA, CA, facts)

    assert deadlines.first_due_on == D(2026, 12, 11)
    assert deadlines.lawful_latest_on == D(2026, 12, 28)
    assert deadlines.due_on == D(2026, 12, 28)
    assert deadlines.warnings == (
        "The agency claims until Fri Jan 15, 2027, 18 days past the lawful latest date, "
        "Mon Dec 28, 2026.",
    )


def test_foia_claim_beyond_the_lawful_latest_warns_and_is_cut_to_it():
    facts = Facts(
        received_on=D(2026, 11, 24),
        extension=Extension(notice_on=D(2026, 12, 1), claimed_on=D(2027, 2, 1)),
    )
    deadlines = compute(FOIA, US, facts)

    assert deadlines.lawful_latest_on == D(2027, 1, 8)
    assert deadlines.due_on == D(2027, 1, 8)
    assert len(deadlines.warnings) == 1
    assert "24 days past the lawful latest date, Fri Jan 8, 2027" in deadlines.warnings[0]


def test_claim_within_the_lawful_latest_is_the_deadline():
    facts = Facts(
        received_on=D(2026, 12, 1),
        extension=Extension(notice_on=D(2026, 12, 4), claimed_on=D(2026, 12, 18)),
    )
    deadlines = compute(CPRA, CA, facts)

    assert deadlines.due_on == D(2026, 12, 18)
    assert deadlines.warnings == ()


def test_extension_without_written_notice_warns_and_does_not_extend():
    facts = Facts(
        received_on=D(2026, 12, 1),
        extension=Extension(notice_on=D(2026, 12, 4), claimed_on=D(2026, 12, 22), written=False),
    )
    deadlines = compute(CPRA, CA, facts)

    assert deadlines.due_on == D(2026, 12, 11)
    assert deadlines.lawful_latest_on == D(2026, 12, 28)
    assert len(deadlines.warnings) == 1
    assert "No written notice" in deadlines.warnings[0]
    assert "Gov. Code § 7922.535(b)" in deadlines.warnings[0]
    assert "The deadline stays Fri Dec 11, 2026." in deadlines.explanation


def test_notice_after_the_original_deadline_warns_and_does_not_extend():
    facts = Facts(
        received_on=D(2026, 12, 1),
        extension=Extension(notice_on=D(2026, 12, 14), claimed_on=D(2026, 12, 22)),
    )
    deadlines = compute(CPRA, CA, facts)

    assert deadlines.due_on == D(2026, 12, 11)
    assert deadlines.warnings == (
        "The extension notice of Mon Dec 14, 2026 came after the Fri Dec 11, 2026 deadline "
        "had passed; a late notice extends nothing.",
    )


def test_notice_on_the_original_deadline_still_extends():
    facts = Facts(
        received_on=D(2026, 12, 1),
        extension=Extension(notice_on=D(2026, 12, 11), claimed_on=None),
    )
    deadlines = compute(CPRA, CA, facts)

    assert deadlines.due_on == D(2026, 12, 28)
    assert deadlines.warnings == ()


# Properties -----------------------------------------------------------------------------

FIRST, LAST = D(2020, 1, 1), D(2035, 12, 31)
days = st.dates(min_value=FIRST, max_value=LAST)
# Closures near the receipt date, where they can matter: offsets in days.
closure_offsets = st.lists(st.integers(min_value=0, max_value=45), max_size=8)
laws = st.sampled_from([CPRA, FOIA])


def calendar_for(law, received, offsets):
    closures = {received + timedelta(days=n): "Furlough day" for n in offsets}
    return AgencyCalendar(law.calendar, closures=closures)


@settings(max_examples=200, deadline=None, database=None)
@given(law=laws, received=days, offsets=closure_offsets, extended=st.booleans())
def test_deadline_never_falls_on_a_day_off(law, received, offsets, extended):
    calendar = calendar_for(law, received, offsets)
    deadlines = compute(law, calendar, facts_for(received, extended))

    for day in (deadlines.first_due_on, deadlines.due_on, deadlines.lawful_latest_on):
        if day is not None:
            assert calendar.holiday(day) is None
            assert day.weekday() < 5


@settings(max_examples=200, deadline=None, database=None)
@given(received=days, offsets=closure_offsets)
def test_cpra_deadline_is_never_before_ten_days(received, offsets):
    deadlines = compute(CPRA, calendar_for(CPRA, received, offsets), Facts(received_on=received))

    assert deadlines.due_on >= received + timedelta(days=10)
    # and it is the first open day from day 10 on: nothing open is skipped
    calendar = calendar_for(CPRA, received, offsets)
    day = received + timedelta(days=10)
    while day < deadlines.due_on:
        assert calendar.holiday(day) is not None
        day += timedelta(days=1)


@settings(max_examples=200, deadline=None, database=None)
@given(
    law=laws,
    received=days,
    later_by=st.integers(min_value=1, max_value=40),
    offsets=closure_offsets,
)
def test_a_later_receipt_never_gives_an_earlier_deadline(law, received, later_by, offsets):
    calendar = calendar_for(law, received, offsets)
    later = received + timedelta(days=later_by)

    first = compute(law, calendar, Facts(received_on=received)).due_on
    second = compute(law, calendar, Facts(received_on=later)).due_on

    assert first <= second


# Standing on the dashboard --------------------------------------------------------------


def due_nov_30_2026(**facts) -> Deadlines:
    deadlines = compute(CPRA, CA, Facts(received_on=D(2026, 11, 17), **facts))
    assert deadlines.due_on == D(2026, 11, 30)
    return deadlines


def stand(deadlines, today, **kwargs):
    options = {
        "closed": False,
        "draft": False,
        "waiting_on_us": False,
        "determination_on": None,
        "records_complete": False,
        "follow_ups_sent": (),
    }
    options.update(kwargs)
    return standing(deadlines, today=today, **options)


def test_overdue_names_the_deadline_and_counts_days():
    result = stand(due_nov_30_2026(), D(2026, 12, 12))

    assert result.overdue
    assert result.overdue_days == 12
    assert result.days_left is None
    assert result.reasons == ("No determination 12 days after the Nov 30 deadline.",)
    assert result.next_follow_up_on == D(2026, 12, 1)


def test_one_day_overdue_is_singular():
    result = stand(due_nov_30_2026(), D(2026, 12, 1))

    assert result.overdue_days == 1
    assert result.reasons == ("No determination 1 day after the Nov 30 deadline.",)


def test_on_the_deadline_day_it_is_not_overdue():
    result = stand(due_nov_30_2026(), D(2026, 11, 30))

    assert not result.overdue
    assert result.days_left == 0
    assert result.reasons == ()
    assert result.next_follow_up_on is None


def test_before_the_deadline_counts_days_left():
    result = stand(due_nov_30_2026(), D(2026, 11, 25))

    assert not result.overdue
    assert result.days_left == 5


def test_a_determination_ends_overdue():
    result = stand(due_nov_30_2026(), D(2026, 12, 12), determination_on=D(2026, 12, 4))

    assert not result.overdue
    assert result.overdue_days == 0
    assert result.reasons == ()
    assert result.next_follow_up_on is None


def test_waiting_on_us_pauses_the_clock():
    result = stand(due_nov_30_2026(), D(2026, 12, 12), waiting_on_us=True)

    assert result.waiting_on_us
    assert not result.overdue
    assert not result.past_promised
    assert result.reasons == ("Waiting on us: the clock is paused.",)
    assert result.next_follow_up_on is None


@pytest.mark.parametrize(
    "state",
    [
        pytest.param({"closed": True}, id="a closed request has no standing"),
        pytest.param({"draft": True}, id="a draft has no standing"),
    ],
)
def test_draft_and_closed_give_nothing(state):
    result = stand(
        due_nov_30_2026(promised_on=D(2026, 12, 15)),
        D(2027, 1, 20),
        follow_ups_sent=(D(2026, 12, 1),),
        **state,
    )

    assert result == type(result)()
    assert not result.overdue
    assert not result.past_promised
    assert result.reasons == ()
    assert result.next_follow_up_on is None


def test_past_the_promised_date_is_flagged_apart_from_overdue():
    deadlines = due_nov_30_2026(determination_on=D(2026, 11, 25), promised_on=D(2026, 12, 15))
    result = stand(deadlines, D(2026, 12, 18), determination_on=D(2026, 11, 25))

    assert not result.overdue
    assert result.past_promised
    assert result.past_promised_days == 3
    assert result.reasons == ("Records promised by Dec 15 not received, 3 days late.",)
    assert result.next_follow_up_on == D(2026, 12, 16)


def test_overdue_and_past_promised_are_both_reported():
    deadlines = due_nov_30_2026(promised_on=D(2026, 12, 10))
    result = stand(deadlines, D(2026, 12, 11))

    assert result.overdue_days == 11
    assert result.past_promised_days == 1
    assert result.reasons == (
        "No determination 11 days after the Nov 30 deadline.",
        "Records promised by Dec 10 not received, 1 day late.",
    )


def test_complete_records_clear_the_promised_flag():
    deadlines = due_nov_30_2026(determination_on=D(2026, 11, 25), promised_on=D(2026, 12, 15))
    result = stand(
        deadlines, D(2026, 12, 18), determination_on=D(2026, 11, 25), records_complete=True
    )

    assert not result.past_promised
    assert result.reasons == ()
    assert result.next_follow_up_on is None


def test_follow_ups_come_fourteen_days_after_the_last_one_sent():
    deadlines = due_nov_30_2026()

    first = stand(deadlines, D(2026, 12, 1))
    assert first.next_follow_up_on == D(2026, 12, 1) and first.follow_up_due_now
    after_one = stand(deadlines, D(2026, 12, 3), follow_ups_sent=(D(2026, 12, 1),))
    assert after_one.next_follow_up_on == D(2026, 12, 15) and not after_one.follow_up_due_now
    after_two = stand(deadlines, D(2026, 12, 20), follow_ups_sent=(D(2026, 12, 15), D(2026, 12, 1)))
    assert after_two.next_follow_up_on == D(2026, 12, 29)


def test_no_follow_up_once_closed():
    result = stand(
        due_nov_30_2026(), D(2026, 12, 20), closed=True, follow_ups_sent=(D(2026, 12, 1),)
    )

    assert result.next_follow_up_on is None
