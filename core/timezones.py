"""Viet Nam's time zone, for the places that need it without the site's settings.

The site shows times in ``lienthong.timezone`` (``i18n.site_timezone``); the edXML codec
reads a timestamp written without an offset, and the catalog a naive datetime, as Vietnam
time. Viet Nam has kept UTC+7 without daylight saving since 1975, so a fixed offset is exact
for every date the hub handles, and it also stands in when the machine has no tz database.
"""

from datetime import timedelta, timezone

#: the default of ``lienthong.timezone``
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"

#: UTC+7, all year
VIETNAM = timezone(timedelta(hours=7), DEFAULT_TIMEZONE)
