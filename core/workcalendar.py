"""Working days for processing deadlines (R7.3): weekends, Viet Nam's public holidays, local time.

Built-in holidays follow the Labour Code 2019, art. 112:

- Tết Dương lịch, 1 January;
- Tết Nguyên đán, 5 days: the last day of the lunar year and lunar 1–4 of the first month
  (the government fixes the exact days each year, often swapping a few with weekends);
- Giỗ Tổ Hùng Vương, lunar 10 of the third month;
- Ngày Chiến thắng, 30 April, and Ngày Quốc tế Lao động, 1 May;
- Quốc khánh, 2 September plus one adjacent day: 1 September, as the government usually picks.

Art. 112 cl. 3 gives a compensating day off ("Nghỉ bù") for each holiday that falls on a weekly
day off; it is taken on the next working day that is not already a holiday. This applies to every
holiday above, lunar ones included (e.g. Giỗ Tổ on Sunday 26 April 2026 gives Monday 27 April).

The government's yearly schedule can differ from these rules (swapped days, a working Saturday).
``lienthong.calendar.extra_holidays`` and ``lienthong.calendar.extra_workdays`` adjust it; an
extra working day wins over everything else.

Lunar dates follow the Vietnamese calendar (new moons reckoned in UTC+7), which in some years
differs by a day from the Chinese one (UTC+8): Tết 2007 was 17 February in Viet Nam, 18 February
in China. They come from python-holidays' lunisolar tables (``_ChineseLunisolar`` with
``VIETNAMESE_CALENDAR``, MIT), which cover 1901–2100; only the two solar dates we need are taken
from it (lunar new year, Giỗ Tổ), the rules above stay ours. We do not use its ready-made "VN"
holidays: they follow a different policy (e.g. swapping Tết days with weekends, 24 November).
"""

import re
from datetime import UTC, date, datetime, timedelta

from holidays.calendars.chinese import VIETNAMESE_CALENDAR, _ChineseLunisolar

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

NEW_YEAR = "Tết Dương lịch"
TET = "Tết Nguyên đán"
HUNG_KINGS = "Giỗ Tổ Hùng Vương"
VICTORY = "Ngày Chiến thắng"
LABOUR = "Ngày Quốc tế Lao động"
NATIONAL = "Quốc khánh"
COMPENSATING = "Nghỉ bù"


def _split(value):
    return [part for part in re.split(r"[\s,;]+", value or "") if part]


def _parse_weekend(value):
    """``"sat sun"`` → {5, 6}; full English names and 0–6 (Monday 0) are understood too."""
    days = set()
    for part in _split(value):
        key = part.lower()
        if key in _DAY_NAMES:
            days.add(_DAY_NAMES[key])
        else:
            raise ValueError(
                f"lienthong.calendar.weekend: {part!r} is not a day of the week "
                "(use mon tue wed thu fri sat sun)"
            )
    return frozenset(days)


_DAY_NAMES = {
    **WEEKDAYS,
    **{str(n): n for n in range(7)},
    **{
        name: n
        for n, name in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}


def _parse_dates(value, setting):
    found = set()
    for part in _split(value):
        try:
            found.add(date.fromisoformat(part))
        except ValueError:
            raise ValueError(f"{setting}: {part!r} is not an ISO date (YYYY-MM-DD)") from None
    return frozenset(found)


def _asbool(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "yes", "on", "1")


# Underscore-named but exported by ``holidays.calendars`` and used by its country classes.
_LUNISOLAR = _ChineseLunisolar(calendar=VIETNAMESE_CALENDAR)


def _lunar_day(method, year, what):
    """Solar date of a lunar day in ``year`` (Vietnamese calendar); the tables end at 1901–2100."""
    day, _estimated = method(year)  # "estimated" only means not yet confirmed by a government
    if day is None:
        raise ValueError(f"{what} of {year} is unknown: the lunar calendar covers 1901–2100")
    return day


def _lunar_new_year(year):
    return _lunar_day(_LUNISOLAR.lunar_new_year_date, year, "Tết")


def _hung_kings(year):
    """Lunar 10/3 of ``year``."""
    return _lunar_day(_LUNISOLAR.hung_kings_date, year, "Giỗ Tổ Hùng Vương")


def _as_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)


class WorkCalendar:
    """Which days are working days, and deadlines counted in them.

    Plain Python, cheap to build; holidays are computed once per year and cached.
    """

    def __init__(
        self, weekend=frozenset({5, 6}), extra_holidays=(), extra_workdays=(), builtin_holidays=True, tz=None
    ):
        self.weekend = frozenset(weekend)
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        self.builtin_holidays = builtin_holidays
        if tz is None:
            from .i18n import site_timezone
            from .timezones import DEFAULT_TIMEZONE

            tz = site_timezone({"lienthong.timezone": DEFAULT_TIMEZONE})
        self.tz = tz
        self._years = {}

    @classmethod
    def from_settings(cls, settings, tz=None):
        """Build from ``lienthong.calendar.*``; ``tz`` defaults to ``lienthong.timezone``.

        A malformed value raises ValueError naming the setting, so start-up stops clearly.
        """
        if tz is None:
            from .i18n import site_timezone

            tz = site_timezone(settings)
        return cls(
            weekend=_parse_weekend(settings.get("lienthong.calendar.weekend", "sat sun")),
            extra_holidays=_parse_dates(
                settings.get("lienthong.calendar.extra_holidays", ""), "lienthong.calendar.extra_holidays"
            ),
            extra_workdays=_parse_dates(
                settings.get("lienthong.calendar.extra_workdays", ""), "lienthong.calendar.extra_workdays"
            ),
            builtin_holidays=_asbool(settings.get("lienthong.calendar.builtin_holidays", "true")),
            tz=tz,
        )

    # -- holidays ---------------------------------------------------------------------------

    def _builtin(self, year):
        days = {date(year, 1, 1): NEW_YEAR}
        new_year = _lunar_new_year(year)
        # The last day of the lunar year is 29 or 30 of the 12th month: take the eve of 1/1.
        for offset in range(-1, 4):
            days[new_year + timedelta(days=offset)] = TET
        days[_hung_kings(year)] = HUNG_KINGS
        days[date(year, 4, 30)] = VICTORY
        days[date(year, 5, 1)] = LABOUR
        days[date(year, 9, 1)] = NATIONAL
        days[date(year, 9, 2)] = NATIONAL
        taken = set(days)
        for day in sorted(days):
            if day.weekday() in self.weekend:
                comp = day + timedelta(days=1)
                while comp.weekday() in self.weekend or comp in taken:
                    comp += timedelta(days=1)
                taken.add(comp)
                days.setdefault(comp, COMPENSATING)
        for day in list(days):
            if day.year != year:  # never for these rules, but keep each year self-contained
                del days[day]
        return days

    def holidays(self, year):
        """{date: Vietnamese name} of the year's days off other than the weekend.

        Extra working days are left out: they are worked even if a rule made them a holiday.
        """
        found = self._years.get(year)
        if found is None:
            found = self._builtin(year) if self.builtin_holidays else {}
            for day in self.extra_holidays:
                if day.year == year:
                    found.setdefault(day, COMPENSATING)
            for day in self.extra_workdays:
                found.pop(day, None)
            self._years[year] = found
        return dict(found)

    def is_working_day(self, day):
        day = _as_date(day)
        if day in self.extra_workdays:
            return True
        if day.weekday() in self.weekend:
            return False
        found = self._years.get(day.year)
        if found is None:
            self.holidays(day.year)
            found = self._years[day.year]
        return day not in found

    # -- deadlines --------------------------------------------------------------------------

    def add_working_days(self, start, n):
        """The day ``n`` working days after ``start`` (``start`` itself does not count).

        ``n == 0`` gives ``start`` if it is a working day, else the next working day;
        a negative ``n`` counts backwards.
        """
        day = _as_date(start)
        if n == 0:
            while not self.is_working_day(day):
                day += timedelta(days=1)
            return day
        step = timedelta(days=1 if n > 0 else -1)
        left = abs(n)
        if not self.weekend and not self.builtin_holidays and not self.extra_holidays:
            return day + step * left
        while left:
            day += step
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, a, b):
        """Working days in (a, b]: 0 when a == b, negative when b is before a.

        So ``working_days_between(a, add_working_days(a, n)) == n`` for any n > 0.
        """
        a, b = _as_date(a), _as_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        count = 0
        day = a
        while day < b:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def today(self, now=None):
        """Today's date in the calendar's time zone; ``now`` (an aware datetime) defaults to now."""
        if now is None:
            now = datetime.now(UTC)
        elif now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        return now.astimezone(self.tz).date()

    def is_overdue(self, due, today=None):
        """True when ``today`` is past ``due``; a missing due date ("" or None) is never overdue.

        ``due`` may be a date or an ISO date string (metadata's ``due_date``).
        """
        if not due:
            return False
        if today is None:
            today = self.today()
        return _as_date(today) > _as_date(due)
