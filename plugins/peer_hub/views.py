"""The peer endpoints under ``/peer/v1``: what another hub sends us, and the units we host.

Outside the ``/api/v1`` token scheme: every request must carry a peer's signature
(``auth.py``), every answer is signed back. Not browser forms, so no CSRF token; the body
is limited (``lienthong.peer_hub.max_body``). A refusal of the caller is a 401 problem
and an audit entry ``peer.refuse``.
"""

import base64
import binascii
import io
import json
import logging

from lxml import etree
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from lienthong.core.edxml import RECALL_ASKED, EdxmlError, build_status, parse_status
from lienthong.core.errors import ServiceError
from lienthong.core.json_input import NotJson, read_json
from lienthong.core.services import audit

from . import auth, config as peer_config
from .hosting import hosted_by, hosted_here

log = logging.getLogger(__name__)
PREFIX = "/peer/v1"
MAX_ITEMS = 500


class Refused(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _signed_path(request):
    """The path as the caller signed it: relative to the hub's base URL (a proxy prefix is not in it)."""
    query = request.query_string
    return request.path_info + (f"?{query}" if query else "")


def _client(request):
    return request.client_address or ""


def _json(data, status=200):
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return status, body


def _problem(status, title, detail):
    return _json({"type": "about:blank", "title": title, "status": status, "detail": detail}, status)


def _respond(request, hub, peer, nonce, status, body, content_type="application/json"):
    response = Response(body=body, status=status)
    response.headers["Content-Type"] = (
        "application/problem+json" if status >= 400 else content_type
    ) + "; charset=utf-8"
    if peer is not None:
        response.headers.update(
            auth.sign_response(hub, peer, status, request.method, _signed_path(request), nonce, body)
        )
    return response


def _on_record(request, site, peer_name, reason):
    log.warning(
        "peer_hub: refused %s %s from %s (%s): %s",
        request.method,
        request.path,
        peer_name or "?",
        _client(request),
        reason,
    )
    audit.record(
        site,
        audit.Actor(login=f"peer:{peer_name or '?'}", client=_client(request)),
        "peer.refuse",
        request.path,
        peer=peer_name,
        reason=reason,
    )


def _read_body(request, hub):
    length = request.content_length
    if length is not None and length > hub.max_body:
        raise Refused(f"the request body ({length} bytes) is larger than the {hub.max_body} bytes allowed")
    body = request.body_file.read(hub.max_body + 1) if length is None else request.body
    if len(body) > hub.max_body:
        raise Refused(f"the request body is larger than the {hub.max_body} bytes allowed")
    return body


def peer_view(handler, hub):
    """Authenticate the caller, run ``handler(request, site, env, hub, peer, body) -> (status, body)``,
    sign the answer. A caller that does not authenticate gets 401 and is on the audit record.

    ``hub`` is this application's ``HubConfig``: it lives as long as the application, never in
    the module; the nonces seen are in the database (``auth.SiteNonces``)."""

    def view(request):
        site = request.site
        try:
            body = _read_body(request, hub)
        except Refused as exc:
            _on_record(request, site, request.headers.get(auth.H_PEER, "")[:80], exc.reason)
            status, text = _problem(413, "Request too large", exc.reason)
            return _respond(request, hub, None, "", status, text)
        try:  # again after a database conflict too: the nonce's record went with the attempt
            peer = auth.verify_request(
                hub, request.headers, request.method, _signed_path(request), body, auth.SiteNonces(site)
            )
        except auth.PeerAuthError as exc:
            _on_record(request, site, exc.peer, exc.reason)
            status, text = _problem(401, "Peer hub not authenticated", exc.reason)
            response = _respond(request, hub, None, "", status, text)
            response.headers["WWW-Authenticate"] = 'LienThong-Peer realm="lienthong"'
            return response
        nonce = request.headers.get(auth.H_NONCE, "")
        try:
            status, text = handler(request, site, request.env, hub, peer, body)
        except Refused as exc:
            _on_record(request, site, peer.name, exc.reason)
            status, text = _problem(400, "Bad request", exc.reason)
        return _respond(request, hub, peer, nonce, status, text)

    return view


# -- the units we host --------------------------------------------------------------------------
def directory(request, site, env, hub, peer, body):
    units = [
        {
            "code": u.code,
            "name": u.name,
            "short_name": u.short_name,
            "kind": u.kind,
            "parent_code": u.parent_code,
            "status": u.status,
        }
        for u in site["directory"].values()
        if hosted_here(u)
    ]
    units.sort(key=lambda u: u["code"])
    return _json({"hub": hub.name, "units": units})


# -- packages and statuses ----------------------------------------------------------------------
def _items(body, name):
    try:  # nesting counted before parsing, every text checked after: 400, never a 500
        data = read_json(body)
    except NotJson:
        raise Refused("the request body is not JSON") from None
    except ServiceError as exc:  # a peer is a program: the field it got wrong, then why
        raise Refused(f"{exc.field}: {exc.text()}" if exc.field else exc.text()) from None
    items = data.get(name) if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise Refused(f"the body must be an object with a non-empty list {name!r}")
    if len(items) > MAX_ITEMS:
        raise Refused(f"at most {MAX_ITEMS} {name} per request")
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("data"), str):
            raise Refused(f"{name}[{index}] must be an object with 'key' and base64 'data'")
        out.append((str(item.get("key") or index)[:200], item["data"], str(item.get("recipient") or "")[:40]))
    if len({key for key, _d, _r in out}) != len(out):
        raise Refused(f"the keys of the {name} must be unique")
    return out


def _decode(text):
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("the data is not base64") from None


def header_of(data):
    """(DocumentId, From organ id, [To organ ids]) read from the package's MessageHeader only."""
    from_id, to, document_id = "", [], ""
    path = []
    try:
        for event, element in etree.iterparse(
            io.BytesIO(data),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        ):
            name = etree.QName(element).localname if isinstance(element.tag, str) else ""
            if event == "start":
                path.append(name)
                continue
            path.pop()
            if name == "OrganId" and path[-2:] == ["MessageHeader", "From"]:
                from_id = (element.text or "").strip()
            elif name == "OrganId" and path[-2:] == ["MessageHeader", "To"]:
                to.append((element.text or "").strip())
            elif name == "DocumentId" and path[-1:] == ["MessageHeader"]:
                document_id = (element.text or "").strip()
            elif name == "MessageHeader":
                break
    except etree.XMLSyntaxError as exc:
        raise Refused(f"not an edXML package: {exc}") from None
    if not from_id:
        raise Refused("not an edXML document package (no MessageHeader/From/OrganId)")
    return document_id, from_id, to


def _refuse(site, peer, request, key, reason, **details):
    audit.record(
        site,
        audit.Actor(login=f"peer:{peer.name}", client=_client(request)),
        "peer.refuse",
        request.path,
        peer=peer.name,
        key=key,
        reason=reason,
        **details,
    )
    return {"key": key, "result": "refused", "reason": reason, **details}


def _reason(exc):
    return exc.text() if hasattr(exc, "text") else f"{type(exc).__name__}: {exc}"


def _again(request):
    """Abort what the request's transaction did so far and start a new one (the connection stays)."""
    request.tm.abort()
    request.tm.begin()


def _all_or_again(request, todo, fn, answers, refusals):
    """``fn(*item)`` for each item in one transaction; an item the core refuses (``ServiceError``) is
    set aside with its reason, the transaction aborted and the others done again."""
    while todo:
        answers.clear()
        for index, item in enumerate(todo):
            try:
                answers[item[0]] = fn(*item)
            except ServiceError as exc:
                refusals.append((item[0], _reason(exc), {"document_id": item[-1]}))
                del todo[index]
                _again(request)
                break
        else:
            return


def packages(request, site, env, hub, peer, body):
    """Import the batch in one transaction; a package the core refuses is set aside, the transaction
    aborted and the rest imported again (a savepoint per package would cost a third of the time)."""
    from lienthong.core.services import inbound

    directory = site["directory"]
    answers, refusals, todo = {}, [], []
    order = []
    for key, text, _recipient in _items(body, "packages"):
        order.append(key)
        try:
            data = _decode(text)
            document_id, sender, to = header_of(data)
        except Refused as exc:
            refusals.append((key, exc.reason, {}))
            continue
        if not hosted_by(directory.get(sender), peer.name):
            refusals.append(
                (
                    key,
                    f"the sender {sender} is not a unit hosted by {peer.name}",
                    {"document_id": document_id},
                )
            )
            continue
        local = [code for code in dict.fromkeys(to) if hosted_here(directory.get(code))]
        if not local:
            refusals.append(
                (
                    key,
                    f"no recipient of document {document_id} is hosted on {hub.name}",
                    {"document_id": document_id},
                )
            )
            continue
        todo.append((key, data, sender, local, document_id))

    def receive(key, data, sender, local, document_id):
        document, created = inbound.receive_package(
            site, env, sender, data, f"peer_hub:{peer.name}", deliver_to=local
        )
        return {
            "key": key,
            "result": "created" if created else "duplicate",
            "document_id": document.document_id,
            "delivered_to": local,
        }

    _all_or_again(request, todo, receive, answers, refusals)
    for key, reason, details in refusals:  # on the record in the transaction that commits
        answers[key] = _refuse(site, peer, request, key, reason, **details)
    return _json({"hub": hub.name, "results": [answers[key] for key in order if key in answers]})


def statuses(request, site, env, hub, peer, body):
    """Apply each status message to the delivery it is about, in one transaction as packages are."""
    from lienthong.core.services import inbound

    directory = site["directory"]
    answers, refusals, todo, order = {}, [], [], []
    for key, text, recipient in _items(body, "statuses"):
        order.append(key)
        try:
            data = _decode(text)
            status = parse_status(data)
        except Refused as exc:
            refusals.append((key, exc.reason, {}))
            continue
        except EdxmlError as exc:
            refusals.append((key, _reason(exc), {}))
            continue
        reporter = (status.get("from") or {}).get("organ_id", "")
        sender = (status.get("response_for") or {}).get("organ_id", "")
        document_id = (status.get("response_for") or {}).get("document_id", "")
        if hosted_by(directory.get(reporter), peer.name) and hosted_here(directory.get(sender)):
            # the peer's unit received our unit's document and reports on its delivery
            todo.append((key, data, reporter, None, document_id))
        elif (
            hosted_by(directory.get(sender), peer.name)
            and status.get("status_code") == RECALL_ASKED
            and hosted_here(directory.get(recipient or reporter))
        ):
            # the peer's unit sent the document and asks our unit to give it back: the sender speaks
            target = recipient or reporter
            if reporter != sender:
                status["from"] = {"organ_id": sender, "organ_name": directory[sender].name}
                data = build_status(status)
            todo.append((key, data, sender, target, document_id))
        else:
            refusals.append(
                (
                    key,
                    f"the status of {reporter or '?'} about a document of {sender or '?'} is not "
                    f"between a unit hosted by {peer.name} and one hosted on {hub.name}",
                    {"document_id": document_id},
                )
            )

    def apply(key, data, unit_code, recipient, document_id):
        inbound.receive_status(site, env, unit_code, data, f"peer_hub:{peer.name}", recipient=recipient)
        return {"key": key, "result": "applied", "document_id": document_id}

    _all_or_again(request, todo, apply, answers, refusals)
    for key, reason, details in refusals:
        answers[key] = _refuse(site, peer, request, key, reason, **details)
    return _json({"hub": hub.name, "results": [answers[key] for key in order if key in answers]})


def includeme(config):
    hub = peer_config.load(config.get_settings())
    for name, path, method, handler in (
        ("peer.directory", "/directory", "GET", directory),
        ("peer.packages", "/packages", "POST", packages),
        ("peer.statuses", "/statuses", "POST", statuses),
    ):
        config.add_route(name, PREFIX + path)
        config.add_view(
            peer_view(handler, hub),
            route_name=name,
            request_method=method,
            permission=NO_PERMISSION_REQUIRED,
            require_csrf=False,
        )
