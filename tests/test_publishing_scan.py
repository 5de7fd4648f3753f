"""The scan a person sees before publishing a document: what looks personal, in place."""

import pytest

from tracker.publishing.scan import scan


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        ("Subject A-123-456-789 was transferred.", "a_number", "A-123-456-789"),
        ("A number A12345678 on the detainer.", "a_number", "A12345678"),
        ("SSN 123-45-6789 on file", "ssn", "123-45-6789"),
        ("DOB: 04/12/1988, male", "birth_date", "DOB: 04/12/1988"),
        ("Booking No. 5512345 at MCJ", "booking_number", "Booking No. 5512345"),
        ("Call (213) 555-0147 after 5", "phone", "(213) 555-0147"),
        ("lives at 1452 W Olympic Blvd, Los Angeles", "street_address", "1452 W Olympic Blvd"),
        ("write to maria.lopez@example.org today", "email", "maria.lopez@example.org"),
    ],
)
def test_what_looks_personal_is_found_with_the_words_around_it(text, kind, found):
    [finding] = [f for f in scan(text) if f.kind == kind]
    assert finding.found == found
    assert text.startswith(finding.before) and text.endswith(finding.after)


@pytest.mark.parametrize(
    "text",
    [
        "Special Order 40 of 1979, section 7923.600",
        "Report for the quarter ending 2026-09-30, 14 requests",
        "Gov. Code § 7922.535(a)",
        "SSN 000-12-3456 is no number",
    ],
)
def test_citations_dates_and_counts_are_not_flagged(text):
    assert scan(text) == []
