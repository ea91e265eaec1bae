"""Working-day calendar (R7.3): Viet Nam's holidays, compensating days, settings, time zone."""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from lienthong.core.workcalendar import WorkCalendar

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def cal():
    return WorkCalendar.from_settings({}, tz=HCM)


def d(text):
    return date.fromisoformat(text)


def test_tet_2026_is_the_eve_and_four_first_days_of_the_lunar_year(cal):
    # Lunar 1/1 of 2026 is Tuesday 17 February; 2025's 12th lunar month has 29 days, so the
    # eve is 29/12 = 16 February (not 30/12). Dates fixed here rather than recomputed with a
    # lunar library, so the test checks the calendar against known dates.
    tet = sorted(day for day, name in cal.holidays(2026).items() if name == "Tết Nguyên đán")
    assert tet == [d("2026-02-16") + timedelta(days=i) for i in range(5)]
    assert tet[-1] == d("2026-02-20")
    assert not any(cal.is_working_day(day) for day in tet)
    assert cal.is_working_day(d("2026-02-23"))  # Monday after


def test_tet_eve_on_the_30th_when_the_12th_month_is_full(cal):
    # 2023's lunar 12th month has 30 days: the eve of Tết 2024 (Saturday 10 Feb) is 30/12,
    # Friday 9 February.
    eve = d("2024-02-09")
    assert cal.holidays(2024)[eve] == "Tết Nguyên đán"
    assert cal.holidays(2024)[d("2024-02-10")] == "Tết Nguyên đán"
    assert cal.is_working_day(eve - timedelta(days=1))


def test_hung_kings_2026_on_a_sunday_gives_monday_off(cal):
    day = d("2026-04-26")  # lunar 10/3
    holidays = cal.holidays(2026)
    assert holidays[day] == "Giỗ Tổ Hùng Vương"
    assert holidays[d("2026-04-27")] == "Nghỉ bù"
    assert not cal.is_working_day(d("2026-04-27"))
    assert cal.is_working_day(d("2026-04-28"))


def test_tet_2007_follows_the_vietnamese_calendar(cal):
    # Lunar new year 2007 was Saturday 17 February in Viet Nam (UTC+7), Sunday 18 February in
    # China (UTC+8). Tết is then Fri 16 – Tue 20; Sat 17 and Sun 18 give Wed 21 and Thu 22 off.
    holidays = cal.holidays(2007)
    tet = sorted(day for day, name in holidays.items() if name == "Tết Nguyên đán")
    assert tet == [d("2007-02-16") + timedelta(days=i) for i in range(5)]
    assert holidays[d("2007-02-21")] == "Nghỉ bù"
    assert holidays[d("2007-02-22")] == "Nghỉ bù"
    assert cal.is_working_day(d("2007-02-15"))
    assert cal.is_working_day(d("2007-02-23"))  # the Chinese calendar would make it a day off
    # Giỗ Tổ 2009 (lunar 10/3) was Saturday 4 April in Viet Nam (5 April in China): Monday 6 off.
    assert cal.holidays(2009)[d("2009-04-04")] == "Giỗ Tổ Hùng Vương"
    assert cal.holidays(2009)[d("2009-04-06")] == "Nghỉ bù"
    assert cal.is_working_day(d("2009-04-07"))


def test_years_outside_the_lunar_tables_are_refused(cal):
    with pytest.raises(ValueError, match="1901–2100"):
        cal.holidays(2101)
    assert cal.holidays(2100)[d("2100-01-01")] == "Tết Dương lịch"


def test_30_april_and_1_may(cal):
    holidays = cal.holidays(2026)
    assert holidays[d("2026-04-30")] == "Ngày Chiến thắng"
    assert holidays[d("2026-05-01")] == "Ngày Quốc tế Lao động"
    assert not cal.is_working_day(d("2026-04-30"))
    assert not cal.is_working_day(d("2026-05-01"))
    assert cal.is_working_day(d("2026-04-29"))
    assert cal.is_working_day(d("2026-05-04"))


def test_both_on_a_weekend_give_two_compensating_days(cal):
    # 2022: 30/4 Saturday, 1/5 Sunday → Monday 2 and Tuesday 3 May off, as the government did.
    holidays = cal.holidays(2022)
    assert holidays[d("2022-05-02")] == "Nghỉ bù"
    assert holidays[d("2022-05-03")] == "Nghỉ bù"
    assert cal.is_working_day(d("2022-05-04"))


def test_national_day_on_a_saturday_gives_monday_off(cal):
    assert d("2023-09-02").weekday() == 5
    holidays = cal.holidays(2023)
    assert holidays[d("2023-09-01")] == "Quốc khánh"
    assert holidays[d("2023-09-02")] == "Quốc khánh"
    assert holidays[d("2023-09-04")] == "Nghỉ bù"
    assert cal.is_working_day(d("2023-09-05"))


def test_new_year_and_a_plain_weekend(cal):
    assert cal.holidays(2026)[d("2026-01-01")] == "Tết Dương lịch"
    assert not cal.is_working_day(d("2026-01-01"))
    assert cal.is_working_day(d("2026-01-02"))
    assert not cal.is_working_day(d("2026-01-03"))  # Saturday
    assert not cal.is_working_day(d("2026-01-04"))  # Sunday
    # 1/1/2023 was a Sunday: Monday 2 January off.
    assert cal.holidays(2023)[d("2023-01-02")] == "Nghỉ bù"


def test_extra_holidays_and_working_saturdays_from_settings():
    cal = WorkCalendar.from_settings(
        {
            "lienthong.calendar.extra_holidays": "2026-01-02, 2026-02-13\n2026-02-23",
            "lienthong.calendar.extra_workdays": "2026-01-10 2026-02-28",
        },
        tz=HCM,
    )
    assert not cal.is_working_day(d("2026-01-02"))
    assert not cal.is_working_day(d("2026-02-13"))
    assert not cal.is_working_day(d("2026-02-23"))
    assert cal.holidays(2026)[d("2026-02-13")] == "Nghỉ bù"
    assert cal.is_working_day(d("2026-01-10"))  # a Saturday worked in exchange
    assert cal.is_working_day(d("2026-02-28"))
    assert not cal.is_working_day(d("2026-01-17"))  # other Saturdays stay off


def test_an_extra_workday_wins_over_a_built_in_holiday():
    cal = WorkCalendar.from_settings({"lienthong.calendar.extra_workdays": "2026-09-01"}, tz=HCM)
    assert cal.is_working_day(d("2026-09-01"))
    assert d("2026-09-01") not in cal.holidays(2026)


def test_built_in_holidays_can_be_switched_off_and_weekend_changed():
    cal = WorkCalendar.from_settings(
        {"lienthong.calendar.builtin_holidays": "false", "lienthong.calendar.weekend": "sun"}, tz=HCM
    )
    assert cal.holidays(2026) == {}
    assert cal.is_working_day(d("2026-09-02"))
    assert cal.is_working_day(d("2026-01-03"))  # Saturday is worked
    assert not cal.is_working_day(d("2026-01-04"))


@pytest.mark.parametrize(
    "key,value",
    [
        ("lienthong.calendar.weekend", "sat funday"),
        ("lienthong.calendar.extra_holidays", "2026-13-01"),
        ("lienthong.calendar.extra_workdays", "tomorrow"),
    ],
)
def test_malformed_settings_name_the_setting(key, value):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        WorkCalendar.from_settings({key: value}, tz=HCM)


def test_add_working_days_across_a_weekend(cal):
    friday = d("2026-03-06")
    assert cal.add_working_days(friday, 1) == d("2026-03-09")
    assert cal.add_working_days(friday, 5) == d("2026-03-13")
    assert cal.add_working_days(d("2026-03-07"), 1) == d("2026-03-09")  # from a Saturday


def test_add_working_days_zero(cal):
    assert cal.add_working_days(d("2026-03-06"), 0) == d("2026-03-06")
    assert cal.add_working_days(d("2026-03-07"), 0) == d("2026-03-09")
    assert cal.add_working_days(d("2026-02-14"), 0) == d("2026-02-23")  # Saturday before Tết


def test_add_working_days_across_tet(cal):
    # Thursday 12 Feb 2026 + 3 working days: Fri 13, then Tết (16–20) and the weekends, Mon 23, Tue 24.
    assert cal.add_working_days(d("2026-02-12"), 3) == d("2026-02-24")
    assert cal.working_days_between(d("2026-02-12"), d("2026-02-24")) == 3
    assert cal.add_working_days(d("2026-02-24"), -3) == d("2026-02-12")


def test_working_days_between_matches_add(cal):
    start = d("2026-04-24")
    for n in range(1, 30):
        end = cal.add_working_days(start, n)
        assert cal.working_days_between(start, end) == n
        assert cal.working_days_between(end, start) == -n
    assert cal.working_days_between(start, start) == 0


def test_today_is_local_to_ho_chi_minh_city(cal):
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert late.date() == d("2026-03-01")
    assert cal.today(now=late) == d("2026-03-02")
    assert cal.today(now=datetime(2026, 3, 1, 16, 59, tzinfo=UTC)) == d("2026-03-01")
    assert WorkCalendar.from_settings({}).tz.utcoffset(late) == timedelta(hours=7)


def test_time_zone_from_settings():
    cal = WorkCalendar.from_settings({"lienthong.timezone": "UTC"})
    assert cal.today(now=datetime(2026, 3, 1, 23, 30, tzinfo=UTC)) == d("2026-03-01")


def test_is_overdue(cal):
    due = d("2026-03-10")
    assert not cal.is_overdue(due, today=d("2026-03-10"))
    assert cal.is_overdue(due, today=d("2026-03-11"))
    assert cal.is_overdue("2026-03-10", today=d("2026-03-11"))
    assert not cal.is_overdue("", today=d("2030-01-01"))
    assert not cal.is_overdue(None)
    assert cal.is_overdue(d("2000-01-01"))  # against the real clock
    assert not cal.is_overdue(cal.today())


def test_holidays_are_cached_and_copies_are_returned(cal):
    first = cal.holidays(2026)
    first.clear()
    assert cal.holidays(2026)
    assert 2026 in cal._years
