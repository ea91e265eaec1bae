"""/edxml/v1: the edXML API for eOffice products that pull (R3.3, R4).

A unit's eOffice product authenticates with the unit's API token (``Authorization: Bearer``);
a person's token is refused (403, on the record): this is a machine interface, and what a
product does counts as the unit's. The product sends packages and status messages, lists
the packages waiting for it, fetches and acknowledges them, and reads the statuses of what
its unit sent with a cursor. Bodies are edXML (application/xml or application/edxml+xml),
measured before they are read and spooled to disk, not held in memory; every answer other
than a package is JSON, every error RFC 9457 problem details.

The rules are the inbound service's (``services/inbound.py``), the same for a hot folder or
a peer hub. The routes are described by their own OpenAPI document,
``/edxml/v1/openapi.json``, built with the JSON API's machinery (``openapi.py``).
"""

from datetime import timedelta

from pyramid.security import NO_PERMISSION_REQUIRED

from .. import permissions as sec
from ..downloads import file_response
from ..edxml import EdxmlError
from ..errors import NotFound
from ..i18n import _, translate, translate_message
from ..problems import problem, status_texts
from ..resources.documents import path_of
from ..security import SystemIdentity
from ..services import audit, edxml_io, edxml_pull, inbound, outbound
from . import openapi
from .bodies import media_type
from .common import NULLABLE_STRING
from .json import body_size, respond
from .openapi import Operation, Param

PREFIX = "/edxml/v1"
XML_TYPES = ("application/xml", "application/edxml+xml", "text/xml")
TAGS = ("edxml",)
DEFAULT_SETTLE_SECONDS = 30

XML_TEXT = {"type": "string", "description": "An edXML package or status message (QCVN 102:2016)."}
UNIT_REF = {
    "type": "object",
    "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
    "required": ["code", "name"],
}

RECEIVED = {
    "type": "object",
    "properties": {
        "document_id": {"type": "string", "description": "The package's edXML DocumentId."},
        "id": {"type": "string", "description": "The document's id on the hub."},
        "created": {"type": "boolean", "description": "false: the package had been received before."},
        "identical": {
            "type": "boolean",
            "description": "For a repeat: whether it carries the same document as the first time.",
        },
        "detail": {"type": "string"},
        "recipients": {"type": "array", "items": {"type": "string"}},
        "url": {"type": "string", "description": "The document in the JSON API."},
    },
    "required": ["document_id", "id", "created", "detail"],
}

PENDING_ITEM = {
    "type": "object",
    "properties": {
        "cursor": {"type": "string"},
        "document_id": {"type": "string"},
        "id": {"type": "string"},
        "sender": UNIT_REF,
        "notation": {"type": "string"},
        "subject": {"type": "string"},
        "arrived_at": NULLABLE_STRING,
        "size": {
            "type": "integer",
            "description": "Bytes of the attachments (the package is about 4/3 of it).",
        },
        "attachment_count": {"type": "integer"},
        "state": {"type": "string"},
        "url": {"type": "string", "description": "Where the package is fetched."},
        "ack_url": {"type": "string"},
    },
    "required": ["cursor", "document_id", "id", "sender", "notation", "subject", "arrived_at", "size", "url"],
}

PENDING_PAGE = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": PENDING_ITEM},
        "pending": {"type": "integer", "description": "How many packages wait for acknowledgement in all."},
        "next": {**NULLABLE_STRING, "description": "Pass as `after` for the next page; null at the end."},
    },
    "required": ["items", "pending", "next"],
}

ACKED = {
    "type": "object",
    "properties": {
        "document_id": {"type": "string"},
        "acknowledged": {"type": "boolean"},
        "was_pending": {"type": "boolean"},
        "fetched_at": {"type": "string"},
    },
    "required": ["document_id", "acknowledged", "was_pending", "fetched_at"],
}

APPLIED = {
    "type": "object",
    "properties": {
        "document_id": {"type": "string"},
        "status_code": {"type": "string"},
        "applied": {"type": "boolean", "description": "false: the same status had been applied before."},
        "deliveries": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"recipient": {"type": "string"}, "state": {"type": "string"}},
                "required": ["recipient", "state"],
            },
        },
    },
    "required": ["document_id", "status_code", "applied", "deliveries"],
}

STATUS_ITEM = {
    "type": "object",
    "properties": {
        "cursor": {"type": "string"},
        "document_id": {"type": "string"},
        "id": {"type": "string"},
        "notation": {"type": "string"},
        "recipient": {"type": "string"},
        "status_code": {"type": "string"},
        "time": {"type": "string"},
        "status": {"type": "string", "description": "The edXML status message (XML text)."},
    },
    "required": ["cursor", "document_id", "recipient", "status_code", "time", "status"],
}

STATUS_PAGE = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": STATUS_ITEM},
        "next": {
            "type": "string",
            "description": (
                "Pass as `since` next time. It may stop short of the last item by a few seconds' worth, so a "
                "status committed late is never skipped: deduplicate by `cursor`."
            ),
        },
    },
    "required": ["items", "next"],
}

LIMIT = Param(
    "limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "At most this many items."
)
AFTER = Param("after", {"type": "string", "maxLength": 200}, "The `next` of the previous page.")
SINCE = Param("since", {"type": "string", "maxLength": 200}, "The `next` of the previous answer.")
RECIPIENT = Param(
    "recipient",
    {"type": "string", "maxLength": 20},
    "A sender's recall (13): the recipient unit it concerns (default: every delivery still open).",
)


# -- who is calling ---------------------------------------------------------------------------
def unit_mailbox_factory(request):
    """The caller's unit mailbox (a person's own unit, whose refusal comes from the view)."""
    site = request.site
    unit = site["directory"].get(getattr(request.identity, "unit_code", None) or "")
    return unit["mailbox"] if unit is not None else site["documents"]


def product_unit(request):
    """The unit whose product calls; a person is refused (the API is for eOffice products)."""
    identity = request.identity
    if not isinstance(identity, SystemIdentity):
        openapi.refuse(
            request,
            _("The edXML API is for eOffice products: use your unit's API token, not a person's."),
            field="Authorization",
        )
    return request.site["directory"][identity.unit_code]


def _own_delivery(request, unit):
    site = request.site
    wanted = request.matchdict.get("document_id", "")
    name = site["documents"].name_for(wanted)
    document = site["documents"].get(name) if name else None
    delivery = document.delivery_for(unit.code) if document is not None else None
    if delivery is None or delivery.is_personal or not delivery.state:
        raise NotFound(
            _("No package ${id} was delivered to unit ${unit}."),
            field="document_id",
            id=wanted[:100],
            unit=unit.code,
        )
    return delivery


def _via(request):
    return f"edxml-api {request.client_address or ''}".strip()


def _read_xml(request, env):
    media_type(request, XML_TYPES)
    body_size(request, env.edxml_max_bytes)
    return request.body_file_seekable


# -- the operations ---------------------------------------------------------------------------
def send_package(request, body, query):
    unit = product_unit(request)
    site, env = request.site, request.env
    stream = _read_xml(request, env)
    receipt = inbound.receive(site, env, unit.code, stream, _via(request), actor=request.actor)
    document, created, identical = receipt
    if receipt.revoked:
        detail = request.localizer.translate(_("Received: the document was revoked at its recipients."))
    elif created:
        detail = request.localizer.translate(_("Received and delivered."))
    elif identical:
        detail = request.localizer.translate(
            _("Already received: the package was stored before, nothing changed.")
        )
    else:
        detail = request.localizer.translate(
            _(
                "Already received, but this package differs from the one received first: nothing changed; the "
                "conflict is on the record."
            )
        )
    out = {
        "document_id": document.document_id,
        "id": document.id,
        "created": created,
        "identical": identical,
        "detail": detail,
        "recipients": [d.recipient_code for d in receipt.revoked] or list(document.recipients),
        "business_doc_type": int(parsed_kind(receipt)),
        "url": request.route_url("api.document", id=document.id),
    }
    return respond(out, status=201 if created else 200)


def parsed_kind(receipt):
    """The business type of what the receipt answers: 1 for a revocation, else the document's."""
    return 1 if receipt.revoked else receipt.document.business_doc_type


def _pending_item(request, key, delivery):
    document = delivery.document
    meta = document.meta
    sender = request.site["directory"].get(document.sender_code)
    return {
        "cursor": key,
        "document_id": document.document_id,
        "id": document.id,
        "sender": {
            "code": document.sender_code,
            "name": sender.name if sender is not None else (meta.get("from") or {}).get("organ_name", ""),
        },
        "notation": document.notation,
        "subject": meta.get("subject", ""),
        "arrived_at": delivery.arrived_at,
        "size": sum(a.size for a in document.attachments.values()),
        "attachment_count": len(document.attachments),
        "state": delivery.state,
        "url": request.route_url("edxml.package", document_id=document.document_id),
        "ack_url": request.route_url("edxml.package.ack", document_id=document.document_id),
    }


def list_packages(request, body, query):
    unit = product_unit(request)
    site = request.site
    limit = query["limit"]
    found = edxml_pull.pending(site, unit.code, after=query.get("after", ""), limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    return {
        "items": [_pending_item(request, key, delivery) for key, delivery in found],
        "pending": edxml_pull.pending_count(site, unit.code),
        "next": found[-1][0] if more else None,
    }


def fetch_package(request, body, query):
    unit = product_unit(request)
    delivery = _own_delivery(request, unit)
    document = delivery.document
    try:
        data = edxml_io.export_document(request.site, request.env, document, actor=request.actor)
    except EdxmlError as exc:  # what is stored cannot be written: asking again cannot help
        return _set_aside(request, delivery, exc)
    return file_response(data, "application/xml", f"{document.document_id}.xml")


def _set_aside(request, delivery, exc):
    """410, committed: the package leaves the pending list (the product goes on with the next),
    a dead letter and an incident tell the operator (``outbound.set_aside_pulled``, once)."""
    outbound.set_aside_pulled(request.site, request.env, delivery, f"cannot build the package: {exc.text()}")
    detail = translate(
        request,
        _(
            "The package ${id} cannot be built as edXML (${reason}): it left the pending list and the "
            "hub's operator was told. It is listed again once the document is mended."
        ),
        id=delivery.document.document_id,
        reason=translate_message(request.localizer, exc.message),
    )
    return problem(request, 410, status_texts(request, 410)[0], detail, field="document_id")


def ack_package(request, body, query):
    unit = product_unit(request)
    delivery = _own_delivery(request, unit)
    site, env = request.site, request.env
    listed = edxml_pull.acknowledge(site, env, delivery)
    if listed:
        audit.record(
            site, request.actor, "edxml.ack", path_of(delivery), document_id=delivery.document.document_id
        )
    return {
        "document_id": delivery.document.document_id,
        "acknowledged": True,
        "was_pending": listed,
        "fetched_at": delivery.fetched_at,
    }


def send_status(request, body, query):
    unit = product_unit(request)
    site, env = request.site, request.env
    stream = _read_xml(request, env)
    deliveries, applied, status = inbound.apply_status_message(
        site,
        env,
        unit.code,
        stream,
        _via(request),
        actor=request.actor,
        recipient=query.get("recipient") or None,
    )
    document = deliveries[0].document
    return {
        "document_id": document.document_id,
        "status_code": status["status_code"],
        "applied": applied,
        "deliveries": [{"recipient": d.key, "state": d.state} for d in deliveries],
    }


def _settled(request, env):
    """The cursor before which every status has surely committed (see STATUS_PAGE)."""
    seconds = float(env.settings.get("lienthong.edxml.feed_settle_seconds", DEFAULT_SETTLE_SECONDS))
    moment = env.now() - timedelta(seconds=seconds)
    return moment.isoformat(timespec="microseconds") + edxml_pull.SEPARATOR


def list_statuses(request, body, query):
    unit = product_unit(request)
    site, env = request.site, request.env
    since, limit = query.get("since", ""), query["limit"]
    found = edxml_pull.statuses(site, unit.code, since=since, limit=limit)
    items = []
    for key, entry in found:
        document = site["documents"].get(entry["document"])
        delivery = document.delivery_for(entry["delivery"]) if document is not None else None
        if delivery is None:
            continue
        history = delivery.history[entry["index"]] if entry["index"] < len(delivery.history) else {}
        items.append(
            {
                "cursor": key,
                "document_id": document.document_id,
                "id": document.id,
                "notation": document.notation,
                "recipient": delivery.key,
                "status_code": entry["state"],
                "time": history.get("time", ""),
                "status": edxml_pull.status_message(site, env, delivery, entry).decode("utf-8"),
            }
        )
    if not found:
        following = since
    elif len(found) >= limit:
        following = found[-1][0]
    else:
        following = max(since, min(found[-1][0], _settled(request, env)))
    if items:
        audit.record(
            site,
            request.actor,
            "document.export",
            f"/directory/{unit.code}",
            format="edxml-status-feed",
            count=len(items),
        )
    return {"items": items, "next": following}


# -- routes and their document ----------------------------------------------------------------
def add_edxml_route(config, name, path, operations, factory=unit_mailbox_factory):
    """``openapi.add_api_route`` under /edxml/v1, into this API's own document."""
    openapi.add_api_route(config, name, path, operations, factory=factory, prefix=PREFIX, api="edxml")


INFO = {
    "title": "LienThong edXML API",
    "version": "1.0.0",
    "description": (
        "The machine interface for eOffice products (R3.3): send edXML packages and status "
        "messages, fetch what arrived for the unit, read the statuses of what it sent. "
        "Authenticate with the unit's API token; errors are RFC 9457 problem details."
    ),
}


def document(registry, server_url="/"):
    """The OpenAPI document of /edxml/v1."""
    return openapi.document(
        registry,
        server_url,
        api="edxml",
        info=INFO,
        bearer="The unit's API token (never a person's).",
        schemas={"Problem": openapi.PROBLEM_SCHEMA},
    )


def openapi_view(request, body, query):
    return respond(document(request.registry, server_url=request.application_url or "/"))


XML_MEDIA = {media: XML_TEXT for media in XML_TYPES}
PRODUCTS_ONLY = " Only a unit's API token may call it; a person's token is refused (403, on the record)."


def includeme(config):
    add_edxml_route(
        config,
        "edxml.openapi",
        "/openapi.json",
        [
            Operation(
                "GET",
                openapi_view,
                NO_PERMISSION_REQUIRED,
                "This document (OpenAPI 3.1).",
                auth=False,
                errors=(),
                tags=("meta",),
                responses={200: ("The OpenAPI document.", {"type": "object"})},
            ),
        ],
        factory=None,
    )
    add_edxml_route(
        config,
        "edxml.packages",
        "/packages",
        [
            Operation(
                "POST",
                send_package,
                sec.SEND,
                "Send an edXML package made by the unit's eOffice product.",
                media=XML_MEDIA,
                raw_body=True,
                tags=TAGS,
                errors=(400, 403, 409, 413, 415),
                description=(
                    "The package's From/OrganId must be the token's unit; every To must be a unit of "
                    "the directory that is active (or taken over) and connected to the hub (R11). "
                    "Idempotent by DocumentId: a package sent again answers 200 `created: false` "
                    "and stores nothing. A refused package stores nothing; the refusal is on the "
                    "record." + PRODUCTS_ONLY
                ),
                responses={
                    201: ("Received and delivered.", RECEIVED),
                    200: ("Already received: nothing stored.", RECEIVED),
                },
            ),
            Operation(
                "GET",
                list_packages,
                sec.READ_MAILBOX,
                "The packages delivered to the unit that its product has not acknowledged, oldest first.",
                query=(LIMIT, AFTER),
                tags=TAGS,
                errors=(400, 403),
                description=PRODUCTS_ONLY.strip(),
                responses={200: ("A page of the pending list.", PENDING_PAGE)},
            ),
        ],
    )
    add_edxml_route(
        config,
        "edxml.package",
        "/packages/{document_id}",
        [
            Operation(
                "GET",
                fetch_package,
                sec.READ_MAILBOX,
                "A package delivered to the unit (audited export); 410 when it cannot be built as "
                "edXML: it left the pending list and the operator was told.",
                tags=TAGS,
                errors=(403, 404, 410),
                description=PRODUCTS_ONLY.strip(),
                responses={200: ("The edXML package.", XML_TEXT, "application/xml")},
            ),
        ],
    )
    add_edxml_route(
        config,
        "edxml.package.ack",
        "/packages/{document_id}/ack",
        [
            Operation(
                "POST",
                ack_package,
                sec.READ_MAILBOX,
                "Acknowledge a fetched package: it leaves the pending list (idempotent).",
                tags=TAGS,
                errors=(403, 404),
                description=PRODUCTS_ONLY.strip(),
                responses={200: ("Acknowledged.", ACKED)},
            ),
        ],
    )
    add_edxml_route(
        config,
        "edxml.statuses",
        "/statuses",
        [
            Operation(
                "POST",
                send_status,
                sec.SEND,
                "Send an edXML status message about a delivery.",
                media=XML_MEDIA,
                raw_body=True,
                query=(RECIPIENT,),
                tags=TAGS,
                errors=(400, 403, 404, 409, 413, 415),
                description=(
                    "As a recipient: 01 arrived, 02 refused, 03 accepted, 04 assigned, 05 in progress, "
                    "06 completed, 15/16 the answer to a recall; as the sender: 13, ask to take back. "
                    "The same status (DocumentId, unit, code, timestamp) twice is applied once; a "
                    "move the delivery's state does not allow is 409." + PRODUCTS_ONLY
                ),
                responses={200: ("Applied, or already applied.", APPLIED)},
            ),
            Operation(
                "GET",
                list_statuses,
                sec.READ_MAILBOX,
                "The statuses of the deliveries of the documents the unit sent, after a cursor.",
                query=(LIMIT, SINCE),
                tags=TAGS,
                errors=(400, 403),
                description=PRODUCTS_ONLY.strip(),
                responses={200: ("Statuses, oldest first.", STATUS_PAGE)},
            ),
        ],
    )
