"""A simulator of the national document axis (VXP, "Trục liên thông văn bản quốc gia").

We cannot reach the Government Office's axis from the tests or the bench, so this stands in
for it, served over real HTTP (waitress in a daemon thread on 127.0.0.1). It is not a
plugin module: nothing of the plugin imports it, and it is never served by the hub. It is written from the contract in
``shared/interop/README.md`` ("The national axis API (VXP), as its SDK calls it") as the lead
engineer's brief reads it, and it imports nothing from ``lienthong``: an independent
implementation, so that it cross-checks our client instead of agreeing with it by construction.

    sim = AxisSimulator()
    sim.add_centre("vxp.saas.03", "secret-a")
    sim.serve_codes("vxp.saas.03", ["000.00.02.H49"])
    with serve_axis(sim) as base_url:
        requests.post(base_url + "/countReceiveEdoc", headers=signed_headers(...))

Signing (every call). Headers ``XroadVnpt-systemid``, ``XroadVnpt-timestamp``
(``ddMMyyyy'T'HHmmss+SSSS``: a literal ``+`` then the milliseconds in 4 digits, Vietnam
local time UTC+07:00) and one ``XroadVnpt-<param>`` per parameter, the parameter named as
the README spells it (``docId``, ``hash-file``...). ``XroadVnpt-sign-header`` is a JSON object
of those header names (full names) to their values, ``XroadVnpt-sign-header-key`` the same
names joined by ``;``, ``XroadVnpt-hash-header`` the lowercase hex HMAC-SHA256 of the exact
sign-header string (UTF-8) keyed by the centre's secret, ``XroadVnpt-version: 3.0.201608``.
Readings this module had to choose (the README does not say):

- The parameter ``version`` of ``getSynchronizeUnit`` has the same header name as the protocol
  marker ``XroadVnpt-version``. When ``XroadVnpt-version`` is among the signed headers it is the
  parameter (and replaces the marker on that call); otherwise it is the marker, which is
  neither signed nor checked.
- Header values must be ASCII. A parameter value that is not (a unit's Vietnamese ``name`` for
  ``registerAgency``) travels percent-encoded as UTF-8; ``%`` itself is sent as ``%25``; all
  other printable ASCII is sent as is. The simulator percent-decodes every parameter value
  after checking the signature (which covers the encoded form), so ordinary ASCII values are
  unchanged. A raw non-ASCII header value is refused (BAD_PARAMETER).
- The keys of the sign-header JSON must equal the sign-header-key list in the same order, with
  no duplicates. An ``XroadVnpt-*`` header on the request that is not signed (other than the
  three signature headers and the protocol marker) is refused: an unsigned parameter could
  otherwise slip in. Header names are compared case-insensitively with the request (HTTP),
  exactly between the JSON and the key list.
- The timestamp may be at most ``window`` seconds in the past or in the future. The same
  hash-header within the window is a replay, so two identical calls in the same millisecond
  are too: a client must not send them.

Replies are JSON ``{"status": "OK"|"FAIL", "ErrorCode", "ErrorDesc", ...}`` with HTTP 200 for
OK and for every FAIL below, except: an unknown path answers 404 (NOT_FOUND), a known path
with the wrong method 405 (METHOD_NOT_ALLOWED), and a simulator set ``down()`` 503
(UNAVAILABLE) to every call. ``ErrorCode`` is ``"0"`` on OK. The ErrorCodes:

==================  =============================================================================
UNKNOWN_SYSTEM      no ``XroadVnpt-systemid``, or a system id the axis does not know
SIGNATURE_INVALID   a signature header is missing, or the HMAC does not match
HEADER_MISMATCH     sign-header not a JSON object of strings; its keys differ from sign-header-key;
                    systemid or timestamp not signed; a signed header absent from the request or
                    with another value; an unsigned ``XroadVnpt-*`` parameter header
TIMESTAMP_INVALID   the timestamp is not ``ddMMyyyy'T'HHmmss+SSSS`` (or not a real date)
TIMESTAMP_EXPIRED   the timestamp is more than ``window`` seconds from the axis's clock
REPLAY              the same hash-header was already accepted within the window
BAD_PARAMETER       a parameter missing or malformed (``to`` not a JSON list of codes, no
                    ``file_doc`` part, ``version`` not an integer, an unknown status, a sender
                    code the calling centre does not serve, a code another centre serves, ...)
HASH_MISMATCH       ``hash-file`` is not the SHA-256 of ``file_doc``
AGENCY_NOT_FOUND    no recipient code of a send is served by any centre; an unknown agency
                    (``deleteAgency``) or parent id (``registerAgency``)
NOT_FOUND           an unknown docId, or one the calling centre did not receive; an unknown path
METHOD_NOT_ALLOWED  a known path with the wrong HTTP method
UNAVAILABLE         the simulator is down (HTTP 503)
INTERNAL            a bug of the simulator (logged); junk from a client never leads here
==================  =============================================================================

Other readings: the receiving rows' ``to`` is the list of the codes that centre serves; items
start ``pending``; ``done`` is final (``done`` again is OK, ``fail``/``processing`` after it
BAD_PARAMETER) but the file can still be fetched; a withdrawn (deleted) agency is served by no
centre and is left out of ``getAgenciesList`` (``getSynchronizeUnit`` reports it ``deleted``);
``registerAgency``'s ``pid`` is the parent's integer ``id``; times in replies are
``yyyy/MM/dd HH:mm:ss`` Vietnam time, "" when there is none yet; ``downloadEdoc`` answers a
FAIL as JSON (``application/json``) and the file as ``application/octet-stream``;
``getSentEdocList`` rows also carry ``messageType``; notation is ``CodeNumber/CodeNotation`` and
title the ``Subject`` of the package, read outside any ``ResponseFor``, so a status
message has none. ``/getAgenciesListQD20`` (in the README, not in the brief) adds ``level`` and
``code102``.
"""

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import random
import re
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, unquote
from xml.parsers import expat

from webob import Request, Response

log = logging.getLogger(__name__)

VN = timezone(timedelta(hours=7))
PROTOCOL_VERSION = "3.0.201608"
PREFIX = "XroadVnpt-"
SYSTEMID = PREFIX + "systemid"
TIMESTAMP = PREFIX + "timestamp"
SIGN_HEADER = PREFIX + "sign-header"
SIGN_HEADER_KEY = PREFIX + "sign-header-key"
HASH_HEADER = PREFIX + "hash-header"
VERSION = PREFIX + "version"
SIGNATURE_HEADERS = frozenset((SIGN_HEADER.lower(), SIGN_HEADER_KEY.lower(), HASH_HEADER.lower()))

#: printable ASCII but ``%``: sent as is in a header value, the rest percent-encoded
_SAFE = " !\"#$&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
_TIMESTAMP = re.compile(r"(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{4})")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_CODE = re.compile(r"[!-~]{1,64}")  # printable ASCII, no space: codes in the field vary in shape
MESSAGE_TYPES = ("edoc", "status")
STATUSES = ("processing", "done", "fail")


class Refusal(Exception):
    def __init__(self, code, desc, http=200):
        super().__init__(f"{code}: {desc}")
        self.code, self.desc, self.http = code, desc, http


# -- the reference signer ---------------------------------------------------------------------


def format_timestamp(moment):
    """``ddMMyyyy'T'HHmmss+SSSS`` in Vietnam time, ``moment`` an aware datetime."""
    local = moment.astimezone(VN)
    return local.strftime("%d%m%YT%H%M%S") + "+%04d" % (local.microsecond // 1000)


def parse_timestamp(text):
    """The aware datetime of an ``XroadVnpt-timestamp``, or None when it is malformed."""
    match = _TIMESTAMP.fullmatch(text or "")
    if not match:
        return None
    day, month, year, hour, minute, second, millis = (int(g) for g in match.groups())
    if millis > 999:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=VN)
    except ValueError:
        return None


def _moment(now):
    if now is None:
        return datetime.now(VN)
    if isinstance(now, (int, float)):
        return datetime.fromtimestamp(now, VN)
    if now.tzinfo is None:  # a naive datetime is Vietnam local time, as the timestamp is
        return now.replace(tzinfo=VN)
    return now


def encode_value(value):
    """A parameter value as a header value: ``str`` as is, a list/dict as JSON, anything else
    ``str()``; then percent-encoding of ``%`` and of what is not printable ASCII."""
    if isinstance(value, (list, dict)):
        value = json.dumps(value)
    elif not isinstance(value, str):
        value = str(value)
    return quote(value, safe=_SAFE)


def signed_headers(system_id, secret, params=None, now=None):
    """The headers of one call of centre ``system_id`` with ``params`` ({name: value}, in the
    order they are signed), at ``now`` (epoch seconds or a datetime, naive = Vietnam time;
    default: the clock). The simulator's reading of the contract; see the module docstring."""
    headers = {SYSTEMID: system_id, TIMESTAMP: format_timestamp(_moment(now))}
    for name, value in (params or {}).items():
        headers[PREFIX + name] = encode_value(value)
    sign_header = json.dumps(headers, separators=(",", ":"))
    digest = hmac.new(secret.encode("utf-8"), sign_header.encode("utf-8"), hashlib.sha256).hexdigest()
    result = {VERSION: PROTOCOL_VERSION, **headers}  # a ``version`` parameter overrides the marker
    result[SIGN_HEADER] = sign_header
    result[SIGN_HEADER_KEY] = ";".join(headers)
    result[HASH_HEADER] = digest
    return result


# -- reading the package's notation and title, safely -----------------------------------------


class _Refused(Exception):
    pass


def _refuse(*_args):
    raise _Refused("DOCTYPE or entity declaration")


def read_notation_title(data):
    """(notation, title) of an edXML package: ``CodeNumber/CodeNotation`` and ``Subject``, the
    first ones outside any ``ResponseFor``, by local name (any prefix, bound or not). ("", "")
    when the bytes are not well-formed or declare a DOCTYPE or entities."""
    found = {}
    stack = []
    text = []

    def start(name, _attrs):
        stack.append(name.rpartition(":")[2])
        text.clear()

    def end(_name):
        local = stack.pop()
        if local in ("CodeNumber", "CodeNotation", "Subject") and local not in found:
            if "ResponseFor" not in stack:
                found[local] = "".join(text).strip()
        text.clear()

    parser = expat.ParserCreate()  # no namespace processing: an unbound prefix is no error here
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(data, True)
    except (_Refused, expat.ExpatError, ValueError, RecursionError):
        return "", ""
    number, notation = found.get("CodeNumber", ""), found.get("CodeNotation", "")
    code = f"{number}/{notation}" if number and notation else number or notation
    return code, found.get("Subject", "")


# -- the simulator ----------------------------------------------------------------------------


def _vn_time(epoch):
    return datetime.fromtimestamp(epoch, VN).strftime("%Y/%m/%d %H:%M:%S") if epoch else ""


class AxisSimulator:
    """The axis's state: centres, the directory, the items waiting, what was sent, the calls.

    Every method takes the lock; the WSGI app (``sim`` is callable) serves the API."""

    def __init__(self, window=300, clock=time.time):
        self.window = window
        self.clock = clock
        self.lock = threading.RLock()
        self.secrets = {}  # system id -> secret
        self.served = {}  # agency code -> system id serving it
        self.agencies = {}  # code -> {id, pid, code, name, mail, oldCode, level, version, deleted, modifyDate}
        self.by_id = {}
        self.next_id = 1
        self.version = 0
        self.docs = {}  # receiver docId -> item
        self.sent = {}  # sender docId -> {system, from, to, time, items: [docId], not_found: [code], ...}
        self.seen = {}  # hash-header -> until (epoch)
        self.pruned_at = 0.0  # when spent hash-headers were last dropped from ``seen``
        self.calls = []  # (path, system id, ErrorCode or "OK")
        self.is_down = False
        self.holds = {}  # (path, system id) -> Event: such calls wait, then are dropped unapplied
        self.held = {}  # (path, system id) -> how many calls are waiting or were dropped

    # centres and directory

    def add_centre(self, system_id, secret):
        with self.lock:
            self.secrets[system_id] = secret

    def serve_codes(self, system_id, codes):
        """Centre ``system_id`` serves these codes (added to the directory when absent)."""
        with self.lock:
            if system_id not in self.secrets:
                raise KeyError(f"unknown centre {system_id}")
            for code in codes:
                agency = self.agencies.get(code)
                if agency is None or agency["deleted"]:
                    self._put_agency(code, f"Đơn vị {code}", None, self._bump())
                self.served[code] = system_id

    def _bump(self):
        self.version += 1
        return self.version

    def _put_agency(self, code, name, pid, version, mail="", old_code="", level=None):
        agency = self.agencies.get(code)
        if agency is None:
            agency = {"id": self.next_id, "code": code}
            self.next_id += 1
            self.agencies[code] = agency
            self.by_id[agency["id"]] = agency
        if level is None:
            level = self.by_id[pid]["level"] + 1 if pid in self.by_id else 1
        agency.update(
            pid=pid, name=name, mail=mail, oldCode=old_code, level=level,
            version=version, deleted=False, modifyDate=_vn_time(self.clock()),
        )  # fmt: skip
        return agency

    def mark_changed(self, code, **fields):
        """Change fields (name, mail, oldCode, pid...) of an agency: a new directory version."""
        with self.lock:
            agency = self.agencies[code]
            agency.update(fields)
            agency.update(version=self._bump(), modifyDate=_vn_time(self.clock()))
            return self.version

    def withdraw(self, code):
        """The agency is deleted (a new version) and no centre serves it any more."""
        with self.lock:
            agency = self.agencies[code]
            agency.update(deleted=True, version=self._bump(), modifyDate=_vn_time(self.clock()))
            self.served.pop(code, None)
            return self.version

    def generate_agencies(self, n, seed=1):
        """A deterministic national directory of ``n`` agencies (one new version): ministries
        ``000.00.00.G01``… and provinces ``000.00.00.H01``…H63, then their departments and
        districts (``000.00.dd.X``), the units under those (``000.dd.dd.X``: communes, offices)
        and under these (``ddd.dd.dd.X``: schools, health stations). Codes already in the
        directory keep their entry and count among the ``n``."""
        rng = random.Random(seed)
        with self.lock:
            version = self._bump()
            count = 0

            def add(code, name, pid, mail, level):
                nonlocal count
                if count >= n:
                    return None
                count += 1
                existing = self.agencies.get(code)
                if existing is not None and not existing["deleted"]:
                    return existing
                old = ""
                if level > 1 and rng.random() < 0.06:  # some carry a code of the older, shorter scheme
                    parts = code.split(".")
                    old = f"{int(parts[1]):02d}.{int(parts[2]):02d}.{parts[3]}"
                return self._put_agency(code, name, pid, version, mail, old, level)

            roots = []
            for index, name in enumerate(MINISTRIES, 1):
                roots.append((f"G{index:02d}", name, "bo", add(f"000.00.00.G{index:02d}", name, None, "", 1)))
            for index, name in enumerate(PROVINCES, 1):
                full = (
                    ("Ủy ban nhân dân " + name)
                    if name.startswith("thành phố")
                    else f"Ủy ban nhân dân tỉnh {name}"
                )
                roots.append(
                    (f"H{index:02d}", name, "tinh", add(f"000.00.00.H{index:02d}", full, None, "", 1))
                )
            roots = [r for r in roots if r[3] is not None]

            second = []  # (root key, l2, kind, place, agency)
            for key, place, kind, parent in roots:
                domain = _ascii_slug(place)
                units = MINISTRY_UNITS if kind == "bo" else PROVINCE_DEPARTMENTS
                count2 = rng.randint(25, 45) if kind == "bo" else rng.randint(30, 60)
                for l2 in range(1, min(count2, 99) + 1):
                    if l2 <= len(units) and (kind == "bo" or l2 <= 20):
                        name = units[l2 - 1] + ("" if kind == "bo" else f" {_of(place)}")
                        sub = "sodonvi" if kind != "bo" else "vudonvi"
                    elif kind == "bo":
                        name = f"{rng.choice(('Cục', 'Viện', 'Trung tâm'))} {rng.choice(FIELDS)}"
                        sub = "vudonvi"
                    else:
                        name = f"Ủy ban nhân dân {rng.choice(('huyện', 'thị xã', 'huyện'))} {_place(rng)}"
                        sub = "huyen"
                    mail = f"vanthu.{l2:02d}@{domain}.gov.vn" if rng.random() < 0.7 else ""
                    agency = add(f"000.00.{l2:02d}.{key}", name, parent["id"], mail, 2)
                    if agency is None:
                        break
                    second.append((key, l2, sub, agency["name"], agency, domain))

            third = []
            for key, l2, sub, _name, parent, domain in second:
                for l3 in range(1, rng.randint(8, 40) + 1):
                    if sub == "huyen":
                        name = (
                            f"Ủy ban nhân dân {rng.choice(('xã', 'xã', 'phường', 'thị trấn'))} {_place(rng)}"
                        )
                    elif sub == "sodonvi":
                        name = f"{rng.choice(('Phòng', 'Chi cục', 'Trung tâm'))} {rng.choice(FIELDS)}"
                    else:
                        name = f"Phòng {rng.choice(FIELDS)}"
                    mail = f"vt.{l3:02d}.{l2:02d}@{domain}.gov.vn" if rng.random() < 0.4 else ""
                    agency = add(f"000.{l3:02d}.{l2:02d}.{key}", name, parent["id"], mail, 3)
                    if agency is None:
                        break
                    third.append((key, l2, l3, agency, sub))

            # the fourth level (schools, health stations) under communes, spread, until n
            third = [t for t in third if t[4] == "huyen"] or third
            rng.shuffle(third)
            next_l4 = [1] * len(third)
            while count < n and third:
                progressed = False
                for index, (key, l2, l3, parent, _sub) in enumerate(third):
                    for _ in range(rng.randint(0, 3)):
                        if next_l4[index] > 999 or count >= n:
                            break
                        code = f"{next_l4[index]:03d}.{l3:02d}.{l2:02d}.{key}"
                        next_l4[index] += 1
                        add(code, f"{rng.choice(LEVEL4)} {_place(rng)}", parent["id"], "", 4)
                        progressed = True
                    if count >= n:
                        break
                if not progressed and all(v > 999 for v in next_l4):
                    break
            return count

    # inspection

    def items(self, system_id=None):
        """Copies of the items (one per receiving centre of each send), for ``system_id``'s
        receiving side when given: docId, senderDocId, state, redeliveries, fetches, history…"""
        with self.lock:
            return [
                {k: (list(v) if isinstance(v, list) else v) for k, v in item.items() if k != "data"}
                for item in self.docs.values()
                if system_id is None or item["receiver"] == system_id
            ]

    def count(self, system_id=None, message_type=None, state=None):
        """How many items (``items``' rows) are for ``system_id``'s receiving side, of
        ``message_type``, in ``state`` (each None: any), counted without copying them."""
        with self.lock:
            return sum(
                1
                for item in self.docs.values()
                if (system_id is None or item["receiver"] == system_id)
                and (message_type is None or item["messageType"] == message_type)
                and (state is None or item["state"] == state)
            )

    def sent_rows(self, system_id):
        """What ``getSentEdocList`` answers to ``system_id``."""
        with self.lock:
            rows = []
            for sent in self.sent.values():
                if sent["system"] != system_id:
                    continue
                for doc_id in sent["items"]:
                    item = self.docs[doc_id]
                    receive, desc = {
                        "pending": ("pending", "waiting for the receiving centre"),
                        "processing": ("pending", "processing"),
                        "done": ("done", "received"),
                        "fail": ("fail", "the receiving centre answered fail"),
                    }[item["state"]]
                    for code in item["to"]:
                        rows.append(self._row(sent, code, doc_id, "sent", "", receive, desc, item["done_at"]))
                for code in sent["not_found"]:
                    rows.append(
                        self._row(
                            sent,
                            code,
                            "",
                            "fail",
                            "no centre serves this agency",
                            "not_found",
                            "agency not found",
                            None,
                        )
                    )
            return rows

    @staticmethod
    def _row(sent, code, doc_id, send, send_desc, receive, receive_desc, received_at):
        return {
            "senderDocId": sent["docId"],
            "receiverDocId": doc_id,
            "fromCode": sent["from"],
            "toCode": code,
            "messageType": sent["messageType"],
            "sendStatus": send,
            "sendStatusDesc": send_desc,
            "receiveStatus": receive,
            "receiveStatusDesc": receive_desc,
            "sentTime": _vn_time(sent["time"]),
            "receivedTime": _vn_time(received_at),
            "notation": sent["notation"],
            "title": sent["title"],
        }

    def offer_again(self, system_id):
        """Offer ``system_id`` again every item it acknowledged (as after an acknowledgement the
        axis lost): the receiving centre must store each once only."""
        with self.lock:
            for item in self.docs.values():
                if item["receiver"] == system_id and item["state"] == "done":
                    item["state"], item["done_at"] = "pending", None
                    item["redeliveries"] += 1

    def hold(self, path, system_id):
        """From now on, calls of ``path`` by ``system_id`` hang until ``release``, then fail
        unapplied (503): a centre stopped between its commit and its acknowledgement."""
        with self.lock:
            self.holds[(path, system_id)] = threading.Event()
            self.held[(path, system_id)] = 0

    def release(self, path, system_id):
        with self.lock:
            event = self.holds.pop((path, system_id), None)
        if event is not None:
            event.set()

    def down(self):
        with self.lock:
            self.is_down = True

    def up(self):
        with self.lock:
            self.is_down = False

    # the WSGI application

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = request.path_info
        system_id = request.headers.get(SYSTEMID)
        try:
            with self.lock:
                if self.is_down:
                    raise Refusal("UNAVAILABLE", "the axis is down", http=503)
                hold = self.holds.get((path, system_id))
                if hold is not None:
                    self.held[(path, system_id)] += 1
            if hold is not None:
                hold.wait(60)
                raise Refusal("UNAVAILABLE", "the call was held and dropped", http=503)
            route = ROUTES.get(path)
            if route is None:
                raise Refusal("NOT_FOUND", f"no such call {path}", http=404)
            method, handler = route
            if request.method != method:
                raise Refusal("METHOD_NOT_ALLOWED", f"{path} takes {method}", http=405)
            with self.lock:
                params = self._verify(request)
                result = handler(self, request, system_id, params)
            if isinstance(result, Response):
                self._record(path, system_id, "OK")
                return result(environ, start_response)
            body, http = {"status": "OK", "ErrorCode": "0", "ErrorDesc": "", **result}, 200
            outcome = "OK"
        except Refusal as refusal:
            body = {"status": "FAIL", "ErrorCode": refusal.code, "ErrorDesc": refusal.desc}
            http, outcome = refusal.http, refusal.code
        except Exception:  # a bug of the simulator: a FAIL all the same, never a 500
            log.exception("VXP simulator: %s failed", path)
            body = {"status": "FAIL", "ErrorCode": "INTERNAL", "ErrorDesc": "internal error of the simulator"}
            http, outcome = 200, "INTERNAL"
        self._record(path, system_id, outcome)
        response = Response(
            json.dumps(body, ensure_ascii=False).encode("utf-8"),
            status=http,
            content_type="application/json",
            charset="utf-8",
        )
        return response(environ, start_response)

    def _record(self, path, system_id, outcome):
        with self.lock:
            self.calls.append((path, system_id, outcome))

    def _verify(self, request):
        """The checks of every call; the parameters ({lowercase name: decoded value})."""
        headers = request.headers
        system_id = headers.get(SYSTEMID)
        if not system_id or system_id not in self.secrets:
            raise Refusal("UNKNOWN_SYSTEM", f"unknown system {system_id!r}")
        for name, value in headers.items():
            if name.lower().startswith(PREFIX.lower()) and not value.isascii():
                raise Refusal("BAD_PARAMETER", f"{name} is not ASCII")
        sign_header, key_list, digest = (headers.get(h) for h in (SIGN_HEADER, SIGN_HEADER_KEY, HASH_HEADER))
        if sign_header is None or key_list is None or digest is None:
            raise Refusal("SIGNATURE_INVALID", "a signature header is missing")
        secret = self.secrets[system_id].encode("utf-8")
        expected = hmac.new(secret, sign_header.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, digest):
            raise Refusal("SIGNATURE_INVALID", "the hash-header does not match the sign-header")
        try:
            signed = json.loads(sign_header)
        except ValueError:
            raise Refusal("HEADER_MISMATCH", "the sign-header is not JSON")
        if not isinstance(signed, dict) or not all(isinstance(v, str) for v in signed.values()):
            raise Refusal("HEADER_MISMATCH", "the sign-header is not a JSON object of strings")
        keys = key_list.split(";")
        if list(signed) != keys or len(set(keys)) != len(keys):
            raise Refusal("HEADER_MISMATCH", "the sign-header keys differ from the sign-header-key list")
        lowered = [k.lower() for k in keys]
        if SYSTEMID.lower() not in lowered or TIMESTAMP.lower() not in lowered:
            raise Refusal("HEADER_MISMATCH", "systemid and timestamp must be signed")
        if len(set(lowered)) != len(lowered):
            raise Refusal("HEADER_MISMATCH", "a header is signed twice")
        for name, value in signed.items():
            if headers.get(name) != value:
                raise Refusal("HEADER_MISMATCH", f"{name} on the request differs from the signed value")
        for name in headers.keys():
            low = name.lower()
            if low.startswith(PREFIX.lower()) and low not in lowered and low not in SIGNATURE_HEADERS:
                if low != VERSION.lower():
                    raise Refusal("HEADER_MISMATCH", f"{name} is not signed")
        moment = parse_timestamp(headers.get(TIMESTAMP))
        if moment is None:
            raise Refusal("TIMESTAMP_INVALID", "the timestamp is not ddMMyyyy'T'HHmmss+SSSS")
        now = self.clock()
        if now - self.pruned_at >= 1:  # spent hash-headers go once a second, not at every call
            self.seen = {h: until for h, until in self.seen.items() if until >= now}
            self.pruned_at = now
        if abs(moment.timestamp() - now) > self.window:
            raise Refusal("TIMESTAMP_EXPIRED", "the timestamp is outside the window")
        if self.seen.get(digest, now - 1) >= now:
            raise Refusal("REPLAY", "this request was already received")
        self.seen[digest] = max(moment.timestamp(), now) + self.window
        params = {}
        for name, value in signed.items():
            low = name.lower()
            if low in (SYSTEMID.lower(), TIMESTAMP.lower()):
                continue
            try:
                params[low[len(PREFIX) :]] = unquote(value, errors="strict")
            except UnicodeDecodeError:
                raise Refusal("BAD_PARAMETER", f"{name} is not percent-encoded UTF-8")
        return params


# -- the calls (run under the lock, after _verify) --------------------------------------------


def _param(params, name, required=True):
    value = params.get(name.lower())
    if required and (value is None or value == ""):
        raise Refusal("BAD_PARAMETER", f"the parameter {name} is missing")
    return value


def _choice(params, name, allowed):
    value = _param(params, name)
    if value not in allowed:
        raise Refusal("BAD_PARAMETER", f"{name} must be one of {', '.join(allowed)}")
    return value


def _code(value, name):
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise Refusal("BAD_PARAMETER", f"{name} is not an agency code")
    return value


def send_edoc(sim, request, system_id, params):
    sender = _code(_param(params, "from"), "from")
    try:
        recipients = json.loads(_param(params, "to"))
    except ValueError:
        raise Refusal("BAD_PARAMETER", "to is not a JSON list of codes")
    if not isinstance(recipients, list) or not recipients:
        raise Refusal("BAD_PARAMETER", "to is not a non-empty JSON list of codes")
    recipients = list(dict.fromkeys(_code(c, "a code of to") for c in recipients))
    _choice(params, "servicetype", ("eDoc",))
    message_type = _choice(params, "messagetype", MESSAGE_TYPES)
    hash_file = _param(params, "hash-file")
    if not _HEX64.fullmatch(hash_file):
        raise Refusal("BAD_PARAMETER", "hash-file is not a SHA-256 in hex")
    if sim.served.get(sender) != system_id:
        raise Refusal("BAD_PARAMETER", f"this centre does not serve the sender {sender}")
    try:
        part = request.POST.get("file_doc")
    except Exception:
        raise Refusal("BAD_PARAMETER", "the body is not multipart/form-data")
    if part is None or part == "":
        raise Refusal("BAD_PARAMETER", "the part file_doc is missing")
    data = part.encode("utf-8") if isinstance(part, str) else part.file.read()
    if not data:
        raise Refusal("BAD_PARAMETER", "file_doc is empty")
    if hashlib.sha256(data).hexdigest() != hash_file.lower():
        raise Refusal("HASH_MISMATCH", "hash-file is not the SHA-256 of file_doc")
    by_centre, not_found = {}, []
    for code in recipients:
        centre = sim.served.get(code)
        if centre is None:
            not_found.append(code)
        else:
            by_centre.setdefault(centre, []).append(code)
    if not by_centre:
        raise Refusal("AGENCY_NOT_FOUND", "no centre serves any of the recipients")
    now = sim.clock()
    notation, title = read_notation_title(data)
    sender_doc = str(uuid.uuid4())
    sent = {
        "docId": sender_doc, "system": system_id, "from": sender, "to": recipients,
        "messageType": message_type, "time": now, "items": [], "not_found": not_found,
        "notation": notation, "title": title,
    }  # fmt: skip
    for centre, codes in by_centre.items():
        doc_id = str(uuid.uuid4())
        sim.docs[doc_id] = {
            "docId": doc_id, "senderDocId": sender_doc, "sender": system_id, "receiver": centre,
            "from": sender, "to": codes, "serviceType": "eDoc", "messageType": message_type,
            "state": "pending", "created": now, "updated": now, "done_at": None,
            "redeliveries": 0, "fetches": 0, "history": [], "data": data,
        }  # fmt: skip
        sent["items"].append(doc_id)
    sim.sent[sender_doc] = sent
    return {"DocId": sender_doc}


STATUS_DESC = {
    "pending": "waiting to be received",
    "processing": "the receiving centre is processing it",
    "fail": "the receiving centre failed; offered again",
}


def _waiting(sim, system_id, message_type):
    return [
        item
        for item in sim.docs.values()
        if item["receiver"] == system_id and item["messageType"] == message_type and item["state"] != "done"
    ]


def get_received_edoc_list(sim, request, system_id, params):
    message_type = _choice(params, "messagetype", MESSAGE_TYPES)
    rows = [
        {
            "docId": item["docId"],
            "serviceType": item["serviceType"],
            "messageType": item["messageType"],
            "from": item["from"],
            "to": list(item["to"]),
            "status": item["state"],
            "status_desc": STATUS_DESC[item["state"]],
            "created_time": _vn_time(item["created"]),
            "updated_time": _vn_time(item["updated"]),
        }
        for item in _waiting(sim, system_id, message_type)
    ]
    return {"data": rows}


def _received_item(sim, system_id, params):
    doc_id = _param(params, "docId")
    item = sim.docs.get(doc_id)
    if item is None or item["receiver"] != system_id:
        raise Refusal("NOT_FOUND", f"no document {doc_id} for this centre")
    return item


def get_edoc(sim, request, system_id, params):
    item = _received_item(sim, system_id, params)
    item["fetches"] += 1
    return {"docId": item["docId"], "data": base64.b64encode(item["data"]).decode("ascii")}


def download_edoc(sim, request, system_id, params):
    item = _received_item(sim, system_id, params)
    item["fetches"] += 1
    return Response(body=item["data"], content_type="application/octet-stream")


def update_status(sim, request, system_id, params):
    item = _received_item(sim, system_id, params)
    status = _choice(params, "status", STATUSES)
    if item["state"] == "done" and status != "done":
        raise Refusal("BAD_PARAMETER", "the document is already done")
    now = sim.clock()
    if status == "fail":
        item["redeliveries"] += 1
    if status == "done" and item["done_at"] is None:
        item["done_at"] = now
    item["state"], item["updated"] = status, now
    item["history"].append((status, now))
    return {"docId": item["docId"]}


def get_sent_edoc_list(sim, request, system_id, params):
    return {"data": sim.sent_rows(system_id)}


def count_receive_edoc(sim, request, system_id, params):
    return {"total": len(_waiting(sim, system_id, "edoc"))}


def count_receive_status(sim, request, system_id, params):
    return {"total": len(_waiting(sim, system_id, "status"))}


def _public(agency, qd20=False):
    row = {k: agency[k] for k in ("id", "pid", "code", "name", "mail", "oldCode")}
    if qd20:
        row.update(level=agency["level"], code102=agency["code"])
    return row


def get_agencies_list(sim, request, system_id, params):
    return {"data": [_public(a) for a in sim.agencies.values() if not a["deleted"]]}


def get_agencies_list_qd20(sim, request, system_id, params):
    return {"data": [_public(a, True) for a in sim.agencies.values() if not a["deleted"]]}


def get_synchronize_unit(sim, request, system_id, params):
    text = _param(params, "version")
    if not re.fullmatch(r"\d{1,18}", text):
        raise Refusal("BAD_PARAMETER", "version is not a non-negative integer")
    since = int(text)
    rows = [
        {**_public(a), "version": a["version"], "deleted": a["deleted"], "modifyDate": a["modifyDate"]}
        for a in sim.agencies.values()
        if a["version"] > since
    ]
    return {"data": rows, "version": sim.version}


def register_agency(sim, request, system_id, params):
    code = _code(_param(params, "code"), "code")
    name = _param(params, "name").strip()
    if not name or len(name) > 500 or not name.isprintable():
        raise Refusal("BAD_PARAMETER", "name is empty, too long or not printable")
    pid_text = _param(params, "pid", required=False)
    pid = None
    if pid_text not in (None, ""):
        if not re.fullmatch(r"\d{1,18}", pid_text):
            raise Refusal("BAD_PARAMETER", "pid is not an integer id")
        parent = sim.by_id.get(int(pid_text))
        if parent is None or parent["deleted"]:
            raise Refusal("AGENCY_NOT_FOUND", f"no parent agency with id {pid_text}")
        pid = parent["id"]
    owner = sim.served.get(code)
    if owner is not None and owner != system_id:
        raise Refusal("BAD_PARAMETER", f"{code} is served by another centre")
    existing = sim.agencies.get(code)
    agency = sim._put_agency(
        code,
        name,
        pid,
        sim._bump(),
        existing["mail"] if existing else "",
        existing["oldCode"] if existing else "",
    )
    sim.served[code] = system_id
    return {"data": _public(agency), "version": sim.version}


def delete_agency(sim, request, system_id, params):
    code = _code(_param(params, "code"), "code")
    agency = sim.agencies.get(code)
    if agency is None or agency["deleted"]:
        raise Refusal("AGENCY_NOT_FOUND", f"no agency {code}")
    if sim.served.get(code) != system_id:
        raise Refusal("BAD_PARAMETER", f"{code} is not served by this centre")
    sim.withdraw(code)
    return {"version": sim.version}


ROUTES = {
    "/sendEdoc": ("POST", send_edoc),
    "/getReceivedEdocList": ("POST", get_received_edoc_list),
    "/getEdoc": ("POST", get_edoc),
    "/downloadEdoc": ("GET", download_edoc),
    "/updateStatus": ("POST", update_status),
    "/getSentEdocList": ("POST", get_sent_edoc_list),
    "/countReceiveEdoc": ("GET", count_receive_edoc),
    "/countReceiveStatus": ("GET", count_receive_status),
    "/getAgenciesList": ("POST", get_agencies_list),
    "/getAgenciesListQD20": ("POST", get_agencies_list_qd20),
    "/getSynchronizeUnit": ("POST", get_synchronize_unit),
    "/registerAgency": ("POST", register_agency),
    "/deleteAgency": ("POST", delete_agency),
}


# -- serving over HTTP ------------------------------------------------------------------------


@contextlib.contextmanager
def serve_axis(sim, threads=4):
    """Serve ``sim`` with waitress on 127.0.0.1 and a free port, in a daemon thread; yield
    the base URL (``http://127.0.0.1:PORT``); shut the server down on exit."""
    from waitress.server import create_server

    server = create_server(sim, host="127.0.0.1", port=0, threads=threads, clear_untrusted_proxy_headers=True)
    stopping = threading.Event()

    def run():  # the loop in steps, so that it stops, and closes its channels, in its own thread
        while not stopping.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)
        for channel in list(server._map.values()):
            (channel.close if channel is server else channel.handle_close)()

    runner = threading.Thread(target=run, name="vxp-axis", daemon=True)
    runner.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stopping.set()
        runner.join(5)
        server.task_dispatcher.shutdown()


# -- the material of the generated directory --------------------------------------------------


def _of(place):
    return place if place.startswith("thành phố") else f"tỉnh {place}"


def _ascii_slug(text):
    import unicodedata

    text = text.replace("đ", "d").replace("Đ", "D")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", plain.lower()) or "donvi"


def _place(rng):
    return f"{rng.choice(SYLLABLES)} {rng.choice(SYLLABLES)}"


MINISTRIES = (
    "Bộ Quốc phòng", "Bộ Công an", "Bộ Ngoại giao", "Bộ Nội vụ", "Bộ Tư pháp",
    "Bộ Kế hoạch và Đầu tư", "Bộ Tài chính", "Bộ Công Thương", "Bộ Nông nghiệp và Phát triển nông thôn",
    "Bộ Giao thông vận tải", "Bộ Xây dựng", "Bộ Tài nguyên và Môi trường", "Bộ Thông tin và Truyền thông",
    "Bộ Lao động - Thương binh và Xã hội", "Bộ Văn hóa, Thể thao và Du lịch", "Bộ Khoa học và Công nghệ",
    "Bộ Giáo dục và Đào tạo", "Bộ Y tế", "Ủy ban Dân tộc", "Ngân hàng Nhà nước Việt Nam",
    "Thanh tra Chính phủ", "Văn phòng Chính phủ", "Đài Truyền hình Việt Nam", "Thông tấn xã Việt Nam",
    "Đài Tiếng nói Việt Nam", "Học viện Chính trị quốc gia Hồ Chí Minh", "Viện Hàn lâm Khoa học và Công nghệ Việt Nam",
    "Viện Hàn lâm Khoa học xã hội Việt Nam", "Bảo hiểm xã hội Việt Nam", "Ủy ban Quản lý vốn nhà nước tại doanh nghiệp",
)  # fmt: skip

PROVINCES = (
    "An Giang", "Bà Rịa - Vũng Tàu", "Bắc Giang", "Bắc Kạn", "Bạc Liêu", "Bắc Ninh", "Bến Tre",
    "Bình Định", "Bình Dương", "Bình Phước", "Bình Thuận", "Cà Mau", "thành phố Cần Thơ", "Cao Bằng",
    "thành phố Đà Nẵng", "Đắk Lắk", "Đắk Nông", "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai",
    "Hà Giang", "Hà Nam", "thành phố Hà Nội", "Hà Tĩnh", "Hải Dương", "thành phố Hải Phòng", "Hậu Giang",
    "Hòa Bình", "Hưng Yên", "Khánh Hòa", "Kiên Giang", "Kon Tum", "Lai Châu", "Lâm Đồng", "Lạng Sơn",
    "Lào Cai", "Long An", "Nam Định", "Nghệ An", "Ninh Bình", "Ninh Thuận", "Phú Thọ", "Phú Yên",
    "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị", "Sóc Trăng", "Sơn La",
    "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế", "Tiền Giang",
    "thành phố Hồ Chí Minh", "Trà Vinh", "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
)  # fmt: skip

PROVINCE_DEPARTMENTS = (
    "Văn phòng Ủy ban nhân dân", "Sở Nội vụ", "Sở Tư pháp", "Sở Kế hoạch và Đầu tư", "Sở Tài chính",
    "Sở Công Thương", "Sở Nông nghiệp và Phát triển nông thôn", "Sở Giao thông vận tải", "Sở Xây dựng",
    "Sở Tài nguyên và Môi trường", "Sở Thông tin và Truyền thông", "Sở Lao động - Thương binh và Xã hội",
    "Sở Văn hóa, Thể thao và Du lịch", "Sở Khoa học và Công nghệ", "Sở Giáo dục và Đào tạo", "Sở Y tế",
    "Thanh tra", "Ban Dân tộc", "Sở Ngoại vụ", "Ban Quản lý các khu công nghiệp",
)  # fmt: skip

MINISTRY_UNITS = (
    "Văn phòng", "Vụ Tổ chức cán bộ", "Vụ Pháp chế", "Vụ Kế hoạch - Tài chính", "Vụ Hợp tác quốc tế",
    "Thanh tra", "Vụ Khoa học và Công nghệ", "Cục Công nghệ thông tin", "Trung tâm Thông tin",
    "Vụ Thi đua - Khen thưởng", "Vụ Tổng hợp", "Cục Quản lý chất lượng",
)  # fmt: skip

FIELDS = (
    "Hành chính - Tổng hợp", "Tổ chức - Biên chế", "Quản lý giá", "Kiểm định chất lượng", "Đào tạo",
    "Thông tin - Lưu trữ", "Văn thư - Lưu trữ", "Kế hoạch - Đầu tư", "Quản lý đất đai", "Bảo vệ môi trường",
    "Y tế dự phòng", "Quản lý thị trường", "Thủy lợi", "Kiểm lâm", "Phát triển nông thôn",
    "Giáo dục thường xuyên", "Xúc tiến thương mại", "Chính quyền địa phương", "Công tác thanh niên",
    "Tôn giáo", "Cải cách hành chính", "Hạ tầng kỹ thuật", "Quy hoạch - Kiến trúc", "Chăn nuôi và Thú y",
)  # fmt: skip

LEVEL4 = (
    "Trường Mầm non", "Trường Tiểu học", "Trường Trung học cơ sở", "Trạm Y tế", "Ban Chỉ huy Quân sự",
    "Công an", "Hợp tác xã", "Nhà văn hóa",
)  # fmt: skip

SYLLABLES = (
    "An", "Bình", "Hòa", "Phú", "Thạnh", "Đông", "Tây", "Nam", "Bắc", "Xuân", "Thuận", "Hưng", "Lộc",
    "Tân", "Long", "Mỹ", "Phước", "Quảng", "Sơn", "Trung", "Vĩnh", "Yên", "Đức", "Hải", "Hà", "Kim",
    "Lạc", "Minh", "Nghĩa", "Phong", "Quang", "Thành", "Thịnh", "Tiến", "Việt", "Cẩm", "Điền", "Giang",
    "Hiệp", "Khánh", "Lâm", "Ngọc", "Phúc", "Thái", "Thủy", "Trường", "Vạn", "Ân", "Cường", "Định",
)  # fmt: skip
