"""``/vxp/``: the hub as the national axis for its own units (the axis's API, as its SDK calls it).

A product built on the axis's SDK connects to the hub by changing its base URL, system id
and secret only: same calls, same ``XroadVnpt-*`` signed headers (``xroad.py``), same
parameters, same answers ``{"status": "OK"|"FAIL", "ErrorCode", "ErrorDesc", …}`` (HTTP
200 for OK and for a FAIL, as the axis answers; 404 for an unknown call, 405 for a wrong
method). The system id and secret are the unit's *system credential*
(``lienthong.core.services.credentials``), made on the unit's management page; what a call
does counts as the unit's product (``system:<unit code>``), as with its API token.

The rules are the hub's, not copied here: what arrives goes through the one inbound door
(``services.inbound``); what waits for the unit is the pending list ``/edxml/v1`` lists
(``services.edxml_pull``); ``updateStatus(done)`` is its acknowledgement; the statuses of
what the unit sent are offered as ``messagetype=status`` items until acknowledged.

Every refused call (a bad signature, an old timestamp, a replay, a docId not the unit's,
junk in a parameter) is a FAIL and an audit entry ``vxp.refuse``; a package or status the
door refuses is already on the record as ``edxml.refuse`` (with ``via`` naming this face).
Nothing here answers 500: an unexpected error is logged and answered FAIL ``INTERNAL``.
"""

import base64
import hashlib
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from transaction.interfaces import TransientError

from lienthong.core.errors import ServiceError
from lienthong.core.json_input import NotJson, read_json
from lienthong.core.services import audit, credentials, edxml_io, edxml_pull, inbound, mailboxes, nonces

from . import xroad

log = logging.getLogger(__name__)

PREFIX = "/vxp"
VIA = "vxp-face"
DEFAULT_WINDOW = 300  # seconds a timestamp may be away from the hub's clock
LIST_LIMIT = 500  # rows of one getReceivedEdocList / getSentEdocList (documents)
COUNT_LIMIT = 10000  # countReceiveStatus counts up to here
STATUS_DOC = "status:"  # the docId of a status item: this, then the key of the unit's status feed
MESSAGE_TYPES = ("edoc", "status")
STATUSES = ("processing", "done", "fail")
DOC_NAMESPACE = "5b0c1f7e-3c55-4d0a-9a53-6e2f7f1a9b10"  # uuid5 namespace of the DocIds of status messages

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_CODE = re.compile(r"[!-~]{1,64}")
_DOC_ID = re.compile(r"[!-~]{1,200}")


class Refusal(Exception):
    """A FAIL answer: the axis's ErrorCode, a description (English, for the record; shown
    translated), the HTTP status (200 as the axis answers a FAIL)."""

    def __init__(self, code, desc, http=200, field=None, recorded=False, message=None):
        super().__init__(f"{code}: {desc}")
        self.code, self.desc, self.http, self.field = code, desc, http, field
        self.recorded = recorded  # already on the record (the inbound door's edxml.refuse)
        self.message = message  # a translatable text, when there is one


# -- the signature ------------------------------------------------------------------------
def verify(site, settings, headers, guard, window, now):
    """The credential that signed ``headers`` and the call's parameters ({lower-case name: value});
    ``Refusal`` says why not, with the axis's ErrorCode (the check itself: ``xroad.verify``)."""
    found = {}

    def secret_of(system_id):
        credential = credentials.find(site, system_id) if system_id and system_id.isascii() else None
        if credential is None or not credential.is_valid():
            raise xroad.SignatureRefused(
                "UNKNOWN_SYSTEM", f"unknown or revoked system {str(system_id)[:80]!r}"
            )
        try:
            secret = credentials.secret_of(settings, credential)
        except credentials.CredentialUnreadable as exc:
            log.error("vxp face: the secret of %s cannot be read: %s", credential.system_id, exc)
            raise xroad.SignatureRefused(
                "SIGNATURE_INVALID", "the hub cannot read this system's secret: ask for a new one"
            ) from None
        found["credential"] = credential
        return secret

    try:
        params = xroad.verify(headers, secret_of, guard, window, now)
    except xroad.SignatureRefused as exc:
        raise Refusal(exc.code, exc.desc) from None
    return found["credential"], params


# -- parameters ---------------------------------------------------------------------------
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


def _doc_id(params):
    value = _param(params, "docId")
    if not _DOC_ID.fullmatch(value):
        raise Refusal("BAD_PARAMETER", "docId is not an id")
    return value


def axis_time(iso_text):
    """An ISO time of the hub as the axis writes times: ``yyyy/MM/dd HH:mm:ss``, Viet Nam time."""
    if not iso_text:
        return ""
    try:
        moment = datetime.fromisoformat(iso_text)
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(xroad.AXIS_TIME).strftime("%Y/%m/%d %H:%M:%S")


# -- what a call works on -----------------------------------------------------------------
class Call:
    """One accepted call: the request, the credential, its unit, the actor, the parameters."""

    def __init__(self, request, credential, params):
        self.request = request
        self.site = request.site
        self.env = request.env
        self.credential = credential
        self.unit_code = credential.unit_code
        self.params = params
        self.actor = credentials.actor_for(credential, request.client_address)

    @property
    def via(self):
        return f"{VIA} {self.credential.system_id} {self.request.client_address or ''}".strip()

    def status_start(self):
        """Statuses before the unit's first credential are not offered (its product was not here)."""
        return min((c.created for c in credentials.of_unit(self.site, self.unit_code)), default="")

    def settled(self, face):
        moment = self.env.now() - timedelta(seconds=face.settle_seconds)
        return moment.isoformat(timespec="microseconds") + edxml_pull.SEPARATOR

    def own_delivery(self, doc_id):
        document = self.site["documents"].get(doc_id)
        delivery = document.delivery_for(self.unit_code) if document is not None else None
        if delivery is None or delivery.is_personal or not delivery.state:
            raise Refusal("NOT_FOUND", f"no document {doc_id[:100]} for this unit")
        return delivery

    def own_status(self, doc_id):
        key = doc_id[len(STATUS_DOC) :]
        entry = edxml_pull.status_entry(self.site, self.unit_code, key)
        document = self.site["documents"].get(entry["document"]) if entry is not None else None
        delivery = document.delivery_for(entry["delivery"]) if document is not None else None
        if delivery is None or document.sender_code != self.unit_code:
            raise Refusal("NOT_FOUND", f"no status {doc_id[:100]} for this unit")
        return key, entry, delivery

    def package(self, doc_id):
        """The bytes getEdoc answers: a package delivered to the unit, or a status of what it sent."""
        if doc_id.startswith(STATUS_DOC):
            _key, entry, delivery = self.own_status(doc_id)
            data = edxml_pull.status_message(self.site, self.env, delivery, entry)
            audit.record(
                self.site,
                self.actor,
                "document.export",
                f"/documents/{delivery.document.id}",
                format="edxml-status",
                via=self.via,
                status=entry["state"],
            )
            return data
        delivery = self.own_delivery(doc_id)
        return edxml_io.export_document(self.site, self.env, delivery.document, actor=self.actor)


# -- the calls ----------------------------------------------------------------------------
def _refused_by_door(request, exc):
    """A ``ServiceError`` of the inbound door as a FAIL (the door put it on the record)."""
    code = {404: "NOT_FOUND", 403: "FORBIDDEN", 409: "CONFLICT"}.get(exc.status, "BAD_PARAMETER")
    if exc.status == 400 and (exc.field or "").endswith("To/OrganId"):
        code = "AGENCY_NOT_FOUND"
    return Refusal(
        code, exc.text(), field=exc.field, recorded=getattr(exc, "recorded", False), message=exc.message
    )


def _file_doc(call, face):
    request = call.request
    length = request.content_length
    if length is not None and length > call.env.edxml_max_bytes + 1024 * 1024:
        raise Refusal("BAD_PARAMETER", f"the body ({length} bytes) is larger than the hub takes")
    try:
        part = request.POST.get("file_doc")
    except Exception:
        raise Refusal("BAD_PARAMETER", "the body is not multipart/form-data") from None
    if part is None or part == "":
        raise Refusal("BAD_PARAMETER", "the part file_doc is missing")
    if isinstance(part, str):
        data = part.encode("utf-8")
        stream = None
    else:
        stream = part.file
        digest = hashlib.sha256()
        size = 0
        stream.seek(0)
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
        stream.seek(0)
        if not size:
            raise Refusal("BAD_PARAMETER", "file_doc is empty")
        return stream, digest.hexdigest()
    if not data:
        raise Refusal("BAD_PARAMETER", "file_doc is empty")
    return data, hashlib.sha256(data).hexdigest()


def send_edoc(call, face):
    params = call.params
    sender = _code(_param(params, "from"), "from")
    try:  # nesting counted before parsing (core/json_input.py)
        recipients = read_json(_param(params, "to"), field="to")
    except (NotJson, ServiceError):
        raise Refusal("BAD_PARAMETER", "to is not a JSON list of codes") from None
    if not isinstance(recipients, list) or not recipients:
        raise Refusal("BAD_PARAMETER", "to is not a non-empty JSON list of codes")
    recipients = list(dict.fromkeys(_code(c, "a code of to") for c in recipients))
    _choice(params, "servicetype", ("eDoc",))
    messagetype = _choice(params, "messagetype", MESSAGE_TYPES)
    hash_file = _param(params, "hash-file")
    if not _HEX64.fullmatch(hash_file):
        raise Refusal("BAD_PARAMETER", "hash-file is not a SHA-256 in hex")
    if sender != call.unit_code:
        raise Refusal("BAD_PARAMETER", f"this system does not serve the sender {sender}", field="from")
    data, digest = _file_doc(call, face)
    if digest != hash_file.lower():
        raise Refusal("HASH_MISMATCH", "hash-file is not the SHA-256 of file_doc")
    site, env = call.site, call.env
    try:
        if messagetype == "edoc":
            receipt = inbound.receive(
                site, env, call.unit_code, data, call.via, deliver_to=recipients, actor=call.actor
            )
            return {"DocId": receipt.document.id}
        _moved, _applied, status = inbound.apply_status_message(
            site, env, call.unit_code, data, call.via, actor=call.actor
        )
    except ServiceError as exc:
        raise _refused_by_door(call.request, exc) from None
    key = "|".join(
        (
            call.unit_code,
            status["response_for"].get("document_id") or "",
            status["status_code"],
            status["timestamp"],
        )
    )
    return {"DocId": str(uuid.uuid5(uuid.UUID(DOC_NAMESPACE), key))}


STATUS_DESC = "waiting to be received"


def get_received_edoc_list(call, face):
    messagetype = _choice(call.params, "messagetype", MESSAGE_TYPES)
    site, unit = call.site, call.unit_code
    rows = []
    if messagetype == "edoc":
        for _key, delivery in edxml_pull.pending(site, unit, limit=LIST_LIMIT):
            document = delivery.document
            rows.append(
                {
                    "docId": document.id,
                    "serviceType": "eDoc",
                    "messageType": "edoc",
                    "from": document.sender_code,
                    "to": [unit],
                    "status": "pending",
                    "status_desc": STATUS_DESC,
                    "created_time": axis_time(delivery.arrived_at),
                    "updated_time": axis_time(delivery.arrived_at),
                }
            )
        return {"data": rows}
    for key, entry in edxml_pull.unacknowledged_statuses(site, unit, call.status_start(), limit=LIST_LIMIT):
        moment = key.split(edxml_pull.SEPARATOR, 1)[0]
        rows.append(
            {
                "docId": STATUS_DOC + key,
                "serviceType": "eDoc",
                "messageType": "status",
                "from": entry["delivery"],
                "to": [unit],
                "status": "pending",
                "status_desc": STATUS_DESC,
                "created_time": axis_time(moment),
                "updated_time": axis_time(moment),
            }
        )
    return {"data": rows}


def get_edoc(call, face):
    doc_id = _doc_id(call.params)
    data = call.package(doc_id)
    return {"docId": doc_id, "data": base64.b64encode(data).decode("ascii")}


def download_edoc(call, face):
    doc_id = _doc_id(call.params)
    data = call.package(doc_id)
    response = Response(body=data, content_type="application/octet-stream")
    response.headers["Content-Disposition"] = 'attachment; filename="edoc.edxml"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def update_status(call, face):
    doc_id = _doc_id(call.params)
    status = _choice(call.params, "status", STATUSES)
    site = call.site
    if doc_id.startswith(STATUS_DOC):
        key, _entry, _delivery = call.own_status(doc_id)
        if status == "done":
            edxml_pull.acknowledge_status(site, call.unit_code, key, call.settled(face), call.status_start())
        return {"docId": doc_id}
    delivery = call.own_delivery(doc_id)
    if status == "done":
        if edxml_pull.acknowledge(site, call.env, delivery):
            audit.record(
                site,
                call.actor,
                "edxml.ack",
                f"/documents/{delivery.document.id}/deliveries/{delivery.key}",
                document_id=delivery.document.document_id,
                via=call.via,
            )
    elif delivery.fetched_at is not None:
        raise Refusal("BAD_PARAMETER", "the document is already done")
    return {"docId": doc_id}


RECEIVED_STATES = ("03", "04", "05", "06", "13", "15", "16")


def _sent_row(document, delivery):
    state = delivery.state or ""
    if not state:
        send, receive = "pending", "pending"
    elif state == "02":
        send, receive = "sent", "fail"
    elif state in RECEIVED_STATES or delivery.fetched_at:
        send, receive = "sent", "done"
    else:
        send, receive = "sent", "pending"
    last = delivery.history[-1] if delivery.history else {}
    return {
        "senderDocId": document.id,
        "receiverDocId": delivery.remote_reference or (document.id if state else ""),
        "fromCode": document.sender_code,
        "toCode": delivery.recipient_code,
        "messageType": "edoc",
        "sendStatus": send,
        "sendStatusDesc": "" if state else "queued on the hub",
        "receiveStatus": receive,
        "receiveStatusDesc": state,
        "statusCode": state,
        "statusReason": last.get("reason") or "",
        "sentTime": axis_time(document.issued_at or document.created_at),
        "receivedTime": axis_time(delivery.arrived_at),
        "notation": document.notation,
        "title": document.title,
    }


def get_sent_edoc_list(call, face):
    box = mailboxes.box_key(mailboxes.OUTBOX, call.unit_code)
    _total, documents = mailboxes.listing(call.site, call.env, [box], size=mailboxes.MAX_PAGE_SIZE)
    rows = []
    for document in documents:
        for delivery in document.deliveries.values():
            if delivery.recipient_code and not delivery.is_personal:
                rows.append(_sent_row(document, delivery))
    return {"data": rows}


def count_receive_edoc(call, face):
    return {"total": edxml_pull.pending_count(call.site, call.unit_code)}


def count_receive_status(call, face):
    found = edxml_pull.unacknowledged_statuses(
        call.site, call.unit_code, call.status_start(), limit=COUNT_LIMIT
    )
    return {"total": len(found)}


def agency_id(code):
    """A stable integer id of a unit code (the axis's ids are integers): 52 bits of its SHA-256."""
    return int(hashlib.sha256(code.encode("utf-8")).hexdigest()[:13], 16)


def get_agencies_list(call, face):
    rows = []
    for unit in call.site["directory"].values():
        if not unit.is_active():
            continue
        parent = unit.parent_code or ""
        rows.append(
            {
                "id": agency_id(unit.code),
                "pid": agency_id(parent) if parent else None,
                "code": unit.code,
                "name": unit.name,
                "mail": unit.email or "",
                "oldCode": (tuple(unit.predecessors or ()) or ("",))[0],
            }
        )
    return {"data": rows}


CALLS = {
    "sendEdoc": ("POST", send_edoc),
    "getReceivedEdocList": ("POST", get_received_edoc_list),
    "getEdoc": ("POST", get_edoc),
    "downloadEdoc": ("GET", download_edoc),
    "updateStatus": ("POST", update_status),
    "getSentEdocList": ("POST", get_sent_edoc_list),
    "countReceiveEdoc": ("GET", count_receive_edoc),
    "countReceiveStatus": ("GET", count_receive_status),
    "getAgenciesList": ("POST", get_agencies_list),
}


# -- the view -----------------------------------------------------------------------------
def _answer(body, http=200):
    return Response(
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        status=http,
        content_type="application/json",
        charset="utf-8",
    )


class SiteCalls:
    """The signatures of the calls accepted within the window, in the hub's database
    (``services.nonces``, in the call's transaction): ``xroad.verify``'s replay guard, so a
    replay is refused after a restart and by every process of the hub."""

    def __init__(self, site, window):
        self.site, self.window = site, window

    def use(self, digest, until, now):
        return nonces.use(self.site, "vxp", digest, self.window, now)


class Face:
    """The application's face: its settings (one per application)."""

    def __init__(self, settings):
        settings = settings or {}
        self.window = float(settings.get("lienthong.vxp.face.window", DEFAULT_WINDOW) or DEFAULT_WINDOW)
        self.settle_seconds = float(settings.get("lienthong.edxml.feed_settle_seconds", 30) or 0)
        self.clock = time.time

    def fail(self, request, refusal, name, system_id, unit_code=None):
        """The FAIL answer; the refusal on the record (in the request's transaction, nothing else in it)."""
        request.tm.abort()
        request.tm.begin()
        desc = refusal.desc
        if refusal.message is not None:
            desc = request.localizer.translate(refusal.message)
        if not refusal.recorded:
            login = f"system:{unit_code}" if unit_code else f"vxp:{(system_id or '?')[:80]}"
            details = {
                "call": name,
                "code": refusal.code,
                "reason": refusal.desc[:500],
                "system_id": (system_id or "")[:80],
            }
            if refusal.field:
                details["field"] = refusal.field
            audit.record(
                request.site,
                audit.Actor(login=login, client=request.client_address),
                "vxp.refuse",
                request.path[:200],
                **details,
            )
            log.info("vxp face: refused %s from %s: %s %s", name, system_id, refusal.code, refusal.desc)
        body = {"status": "FAIL", "ErrorCode": refusal.code, "ErrorDesc": desc}
        if refusal.field:
            body["field"] = refusal.field
        return _answer(body, refusal.http)

    def view(self, name):
        method, handler = CALLS.get(name, (None, None))

        def view(request):
            system_id = request.headers.get(xroad.SYSTEMID, "")
            credential = None
            try:
                if handler is None:
                    raise Refusal("NOT_FOUND", f"no such call {request.path[:100]}", http=404)
                if request.method != method:
                    raise Refusal("METHOD_NOT_ALLOWED", f"{name} takes {method}", http=405)
                # again after a database conflict too: the signature's record went with the attempt
                credential, params = verify(
                    request.site,
                    request.registry.settings,
                    request.headers,
                    SiteCalls(request.site, self.window),
                    self.window,
                    self.clock(),
                )
                credentials.touch(credential, request.env.now().isoformat(timespec="microseconds"))
                result = handler(Call(request, credential, params), self)
            except Refusal as refusal:
                unit = credential.unit_code if credential is not None else None
                return self.fail(request, refusal, name, system_id, unit)
            except Exception as exc:
                if isinstance(exc, TransientError):
                    raise  # a database conflict: pyramid_retry runs the call again
                log.exception("vxp face: %s failed", name)
                unit = credential.unit_code if credential is not None else None
                return self.fail(
                    request, Refusal("INTERNAL", "internal error of the hub"), name, system_id, unit
                )
            if isinstance(result, Response):
                return result
            return _answer({"status": "OK", "ErrorCode": "0", "ErrorDesc": "", **result})

        return view


def _wrong_method(view):
    def wrong_method(request):
        return view(request)

    wrong_method.lienthong_method_not_allowed = True  # the 405 answer, not an operation (the matrix test)
    return wrong_method


def includeme(config):
    """The routes of ``/vxp/<call>`` (called from the plugin's ``lienthong_configure``)."""
    face = Face(config.get_settings())
    for name, (method, _handler) in CALLS.items():
        view = face.view(name)
        config.add_route(f"vxp.{name}", f"{PREFIX}/{name}")
        for kwargs in ({"request_method": method}, {}):  # the call's method; any other: 405
            config.add_view(
                view if kwargs else _wrong_method(view),
                route_name=f"vxp.{name}",
                permission=NO_PERMISSION_REQUIRED,
                require_csrf=False,
                **kwargs,
            )
    config.add_route("vxp.unknown", PREFIX + "/*rest")
    config.add_view(
        face.view(""),
        route_name="vxp.unknown",
        request_method=("GET", "POST"),
        permission=NO_PERMISSION_REQUIRED,
        require_csrf=False,
    )
