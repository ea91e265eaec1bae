"""The axis's call signature, as its SDK makes it (``XroadVnpt-*`` headers, HMAC-SHA256):
``sign`` for the calls this hub makes, ``verify`` for those the ``/vxp/`` face takes.

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
import re
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote

from lienthong.core.errors import ServiceError
from lienthong.core.json_input import NotJson, read_json

PREFIX = "XroadVnpt-"
VERSION = "3.0.201608"
#: the axis writes its times in Viet Nam's local time, without a zone
AXIS_TIME = timezone(timedelta(hours=7))


def timestamp(now):
    """``ddMMyyyy'T'HHmmss+SSSS`` (Java's pattern: a literal ``+``, then milliseconds in 4 digits)."""
    local = now.astimezone(AXIS_TIME)
    return local.strftime("%d%m%YT%H%M%S") + f"+{local.microsecond // 1000:04d}"


TIMESTAMP_RE = re.compile(r"(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{4})")


def parse_timestamp(text):
    """The aware datetime of an axis timestamp; ``ValueError`` when it is not one."""
    match = TIMESTAMP_RE.fullmatch(text or "")
    if not match:
        raise ValueError(f"not an axis timestamp: {str(text)[:40]!r}")
    day, month, year, hour, minute, second, millis = (int(g) for g in match.groups())
    if millis > 999:
        raise ValueError(f"not an axis timestamp: {text!r}")
    return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=AXIS_TIME)


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


# -- checking a call ------------------------------------------------------------------------
SYSTEMID, TIMESTAMP = PREFIX + "systemid", PREFIX + "timestamp"
SIGN_HEADER, SIGN_HEADER_KEY, HASH_HEADER = (
    PREFIX + "sign-header",
    PREFIX + "sign-header-key",
    PREFIX + "hash-header",
)
_UNSIGNED = frozenset(
    (SIGN_HEADER.lower(), SIGN_HEADER_KEY.lower(), HASH_HEADER.lower(), (PREFIX + "version").lower())
)


class SignatureRefused(Exception):
    """A call whose signature does not hold; ``code`` is the axis's ErrorCode."""

    def __init__(self, code, desc):
        super().__init__(f"{code}: {desc}")
        self.code, self.desc = code, desc


class ReplayGuard:
    """The hash-headers accepted within the window (one per application, never in a module)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}

    def use(self, digest, until, now):
        with self.lock:
            if len(self.seen) > 1000:
                self.seen = {d: u for d, u in self.seen.items() if u >= now}
            if self.seen.get(digest, 0) >= now:
                return False
            self.seen[digest] = until
            return True


def verify(headers, secret_of, guard, window, now):
    """The parameters ({lower-case name: decoded value}) of a call signed as ``sign`` signs;
    ``secret_of(system_id)`` gives the caller's secret (bytes) or raises ``SignatureRefused``.

    Refused (``SignatureRefused``): an unknown system, a non-ASCII header, a missing or wrong
    signature, signed keys that differ from the list or from the headers sent, an unsigned
    ``XroadVnpt-`` header, a timestamp more than ``window`` seconds from ``now`` (epoch
    seconds), a signature seen before within the window (``guard``)."""
    secret = secret_of(headers.get(SYSTEMID))
    for name, value in headers.items():
        if name.lower().startswith(PREFIX.lower()) and not value.isascii():
            raise SignatureRefused("BAD_PARAMETER", f"{name[:80]} is not ASCII (send it percent-encoded)")
    sign_header, key_list, digest = (headers.get(h) for h in (SIGN_HEADER, SIGN_HEADER_KEY, HASH_HEADER))
    if sign_header is None or key_list is None or digest is None:
        raise SignatureRefused("SIGNATURE_INVALID", "a signature header is missing")
    expected = hmac.new(secret, sign_header.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, digest.lower()):
        raise SignatureRefused("SIGNATURE_INVALID", "the hash-header does not match the sign-header")
    try:  # nesting counted before parsing (core/json_input.py)
        signed = read_json(sign_header, field=SIGN_HEADER, text=False)
    except (NotJson, ServiceError):
        raise SignatureRefused("HEADER_MISMATCH", "the sign-header is not JSON") from None
    if not isinstance(signed, dict) or not all(isinstance(v, str) for v in signed.values()):
        raise SignatureRefused("HEADER_MISMATCH", "the sign-header is not a JSON object of strings")
    keys = key_list.split(";")
    lowered = [k.lower() for k in keys]
    if list(signed) != keys or len(set(lowered)) != len(lowered):
        raise SignatureRefused("HEADER_MISMATCH", "the sign-header keys differ from the sign-header-key list")
    if SYSTEMID.lower() not in lowered or TIMESTAMP.lower() not in lowered:
        raise SignatureRefused("HEADER_MISMATCH", "systemid and timestamp must be signed")
    if not all(k.startswith(PREFIX.lower()) for k in lowered):
        raise SignatureRefused("HEADER_MISMATCH", "a signed header is not an XroadVnpt- header")
    for name, value in signed.items():
        if headers.get(name) != value:
            raise SignatureRefused(
                "HEADER_MISMATCH", f"{name[:80]} on the request differs from the signed value"
            )
    for name in headers.keys():
        low = name.lower()
        if low.startswith(PREFIX.lower()) and low not in lowered and low not in _UNSIGNED:
            raise SignatureRefused("HEADER_MISMATCH", f"{name[:80]} is not signed")
    try:
        moment = parse_timestamp(headers.get(TIMESTAMP))
    except ValueError:
        raise SignatureRefused("TIMESTAMP_INVALID", "the timestamp is not ddMMyyyy'T'HHmmss+SSSS") from None
    if abs(moment.timestamp() - now) > window:
        raise SignatureRefused(
            "TIMESTAMP_EXPIRED", f"the timestamp is more than {window} seconds away from the hub's clock"
        )
    if not guard.use(digest.lower(), max(moment.timestamp(), now) + window, now):
        raise SignatureRefused("REPLAY", "this call was already received")
    params = {}
    for name, value in signed.items():
        low = name.lower()
        if low in (SYSTEMID.lower(), TIMESTAMP.lower()):
            continue
        try:
            params[low[len(PREFIX) :]] = unquote(value, errors="strict")
        except UnicodeDecodeError:
            raise SignatureRefused("BAD_PARAMETER", f"{name[:80]} is not percent-encoded UTF-8") from None
    return params
