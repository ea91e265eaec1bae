"""The axis's call signature, as its SDK makes it (``XroadVnpt-*`` headers, HMAC-SHA256).

Every call carries ``XroadVnpt-systemid``, ``XroadVnpt-timestamp`` and one
``XroadVnpt-<param>`` header per parameter; ``XroadVnpt-sign-header`` holds those headers
as one JSON object, ``XroadVnpt-sign-header-key`` their names joined by ``;``, and
``XroadVnpt-hash-header`` the hex HMAC-SHA256 of that JSON with the centre's secret.

A header value is ASCII: a value with other characters (a Vietnamese name) travels
percent-encoded as UTF-8, ``%`` itself as ``%25``. A call whose parameter is ``version``
(``getSynchronizeUnit``) sends that parameter as ``XroadVnpt-version`` instead of the
protocol's version marker, the two sharing one header name.
"""

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote

PREFIX = "XroadVnpt-"
VERSION = "3.0.201608"
#: the axis writes its times in Viet Nam's local time, without a zone
AXIS_TIME = timezone(timedelta(hours=7))


def timestamp(now):
    """``ddMMyyyy'T'HHmmss+SSSS`` (Java's pattern: a literal ``+``, then milliseconds in 4 digits)."""
    local = now.astimezone(AXIS_TIME)
    return local.strftime("%d%m%YT%H%M%S") + f"+{local.microsecond // 1000:04d}"


def parse_timestamp(text):
    """The aware datetime of an axis timestamp; ``ValueError`` when it is not one."""
    head, _, millis = (text or "").partition("+")
    if len(millis) != 4 or not millis.isdigit():
        raise ValueError(f"not an axis timestamp: {text!r}")
    moment = datetime.strptime(head, "%d%m%YT%H%M%S").replace(tzinfo=AXIS_TIME)
    return moment + timedelta(milliseconds=int(millis))


#: what a header value keeps as it is: printable ASCII but ``%`` (``quote`` keeps letters,
#: digits and ``_.-~`` anyway)
_KEPT = " !\"#$&'()*+,/:;<=>?@[\\]^`{|}"


def encode(value):
    """A parameter's text as a header value (see the module doc)."""
    return quote(str(value), safe=_KEPT)


def decode(value):
    return unquote(value or "")


def sign(system_id, secret, params, now):
    """The headers of a call with ``params`` (name -> text), signed with ``secret`` (bytes)."""
    signed = {PREFIX + "systemid": system_id, PREFIX + "timestamp": timestamp(now)}
    for name, value in params.items():
        signed[PREFIX + name] = encode(value)
    header = json.dumps(signed, separators=(",", ":"))
    digest = hmac.new(secret, header.encode("utf-8"), hashlib.sha256).hexdigest()
    return {
        PREFIX + "version": VERSION,  # a ``version`` parameter, signed below, takes the name
        **signed,
        PREFIX + "sign-header": header,
        PREFIX + "sign-header-key": ";".join(signed),
        PREFIX + "hash-header": digest,
    }
