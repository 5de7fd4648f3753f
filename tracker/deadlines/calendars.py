"""Holiday calendars: the base calendar of each law, and an agency's own closures.

The base calendars are built from the ``holidays`` package's primitives and the
rules of the statutes that define them, not from typed-in lists of dates.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

import holidays
from holidays.observed_holiday_base import (
    SAT_TO_PREV_FRI,
    SUN_TO_NEXT_MON,
    ObservedHolidayBase,
)


def next_new_year_on_saturday(calendar: ObservedHolidayBase) -> None:
    """When next January 1 is a Saturday, this December 31 is kept as the holiday."""
    if date(calendar._year + 1, 1, 1).weekday() == SATURDAY:
        calendar._add_holiday_dec_31("New Year's Day (observed)")


SATURDAY = 5


class CaliforniaJudicialHolidays(ObservedHolidayBase):
    """Judicial holidays: Gov. Code § 6700 as applied by Code Civ. Proc. § 135.

    Admission Day (Sep 9) is excluded by § 135. A fixed-date holiday on a Sunday
    is kept on the Monday after, and one on a Saturday on the Friday before
    (Code Civ. Proc. § 135; Cal. Rules of Court, rule 1.11). Native American Day
    is a judicial holiday from 2022 (Stats. 2021, ch. 283) and Juneteenth from
    2023 (Stats. 2022, AB 1655). Days the Governor appoints are entered as
    agency closures.
    """

    observed_label = "%s (observed)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("observed_rule", SAT_TO_PREV_FRI + SUN_TO_NEXT_MON)
        super().__init__(*args, **kwargs)

    def _populate_public_holidays(self) -> None:
        self._add_observed(self._add_holiday_jan_1("New Year's Day"))
        next_new_year_on_saturday(self)
        self._add_holiday_3rd_mon_of_jan("Martin Luther King Jr. Day")
        self._add_observed(self._add_holiday_feb_12("Lincoln Day"))
        self._add_holiday_3rd_mon_of_feb("Washington's Birthday")
        self._add_observed(self._add_holiday_mar_31("Cesar Chavez Day"))
        self._add_holiday_last_mon_of_may("Memorial Day")
        if self._year >= 2023:
            self._add_observed(self._add_holiday_jun_19("Juneteenth"))
        self._add_observed(self._add_holiday_jul_4("Independence Day"))
        self._add_holiday_1st_mon_of_sep("Labor Day")
        if self._year >= 2022:
            self._add_holiday_4th_fri_of_sep("Native American Day")
        self._add_observed(self._add_holiday_nov_11("Veterans Day"))
        self._add_holiday_4th_thu_of_nov("Thanksgiving Day")
        self._add_holiday_1_day_past_4th_thu_of_nov("Day after Thanksgiving")
        self._add_observed(self._add_holiday_dec_25("Christmas Day"))


class FederalLegalHolidays(ObservedHolidayBase):
    """Legal public holidays of 5 U.S.C. § 6103(a); a Saturday holiday is kept on
    the Friday before and a Sunday one on the Monday after (§ 6103(b), E.O. 11582)."""

    observed_label = "%s (observed)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("observed_rule", SAT_TO_PREV_FRI + SUN_TO_NEXT_MON)
        super().__init__(*args, **kwargs)

    def _populate_public_holidays(self) -> None:
        self._add_observed(self._add_holiday_jan_1("New Year's Day"))
        next_new_year_on_saturday(self)
        self._add_holiday_3rd_mon_of_jan("Birthday of Martin Luther King, Jr.")
        self._add_holiday_3rd_mon_of_feb("Washington's Birthday")
        self._add_holiday_last_mon_of_may("Memorial Day")
        if self._year >= 2021:
            self._add_observed(self._add_holiday_jun_19("Juneteenth National Independence Day"))
        self._add_observed(self._add_holiday_jul_4("Independence Day"))
        self._add_holiday_1st_mon_of_sep("Labor Day")
        self._add_holiday_2nd_mon_of_oct("Columbus Day")
        self._add_observed(self._add_holiday_nov_11("Veterans Day"))
        self._add_holiday_4th_thu_of_nov("Thanksgiving Day")
        self._add_observed(self._add_holiday_dec_25("Christmas Day"))


def _state(subdiv: str) -> Callable[[int], Mapping[date, str]]:
    return lambda year: holidays.country_holidays("US", subdiv=subdiv, years=year)


BASE_CALENDARS: dict[str, tuple[str, Callable[[int], Mapping[date, str]]]] = {
    "ca-judicial": (
        "California judicial holidays (Gov. Code § 6700; Code Civ. Proc. § 135)",
        lambda year: CaliforniaJudicialHolidays(years=year),
    ),
    "us-federal": (
        "Federal legal public holidays (5 U.S.C. § 6103)",
        lambda year: FederalLegalHolidays(years=year),
    ),
    "ny-state": ("New York public holidays", _state("NY")),
    "tx-state": ("Texas public holidays", _state("TX")),
}


@cache
def base_holidays(calendar: str, year: int) -> dict[date, str]:
    """The base calendar's holidays in a year, as {day: name}."""
    _, build = BASE_CALENDARS[calendar]
    # A holiday of next year can be kept on Dec 31 of this one (New Year's Day
    # on a Saturday), so the neighbouring years are built too.
    days: dict[date, str] = {}
    for source_year in (year - 1, year, year + 1):
        for day, name in build(source_year).items():
            if day.year == year:
                days.setdefault(day, str(name))
    return days


@dataclass(frozen=True)
class AgencyCalendar:
    """A law's base calendar with an agency's own changes.

    ``closures`` are extra days the office is closed (Code Civ. Proc. § 12b);
    ``openings`` are base holidays on which the office is open after all.
    """

    base: str
    closures: Mapping[date, str] = field(default_factory=dict)
    openings: Mapping[date, str] = field(default_factory=dict)

    def holiday(self, day: date) -> str | None:
        """Why the office is closed that day (a weekend day included), or None."""
        if day in self.closures:
            return f"{self.closures[day]} (agency closure)"
        if day in self.openings:
            return None if day.weekday() < 5 else day.strftime("%A")
        name = base_holidays(self.base, day.year).get(day)
        if name:
            return name
        if day.weekday() >= 5:
            return day.strftime("%A")
        return None

    def is_business_day(self, day: date) -> bool:
        return self.holiday(day) is None

    def days_off(self, year: int) -> list[tuple[date, str, str]]:
        """Every weekday the office is closed in a year: (day, name, source)."""
        rows: dict[date, tuple[str, str]] = {
            day: (name, "base") for day, name in base_holidays(self.base, year).items()
        }
        for day, note in self.openings.items():
            if day.year == year and day in rows:
                rows[day] = (f"{rows[day][0]}: open ({note})", "opening")
        for day, note in self.closures.items():
            if day.year == year:
                rows[day] = (note, "closure")
        return sorted((day, name, source) for day, (name, source) in rows.items())


def next_business_day(calendar: AgencyCalendar, day: date) -> date:
    while not calendar.is_business_day(day):
        day += timedelta(days=1)
    return day
