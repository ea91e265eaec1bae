"""Signed calls to a peer hub, with the answer's signature checked before it is believed."""

import json

import requests

from . import auth


class PeerCallError(Exception):
    """A call to a peer that failed: ``reason`` in English; ``status`` the HTTP status (0: no answer)."""

    def __init__(self, reason, status=0):
        super().__init__(reason)
        self.reason = reason
        self.status = status


def call(hub, peer, method, path, data=None, session=None):
    """``method path`` on ``peer`` with ``data`` as JSON; the answer's JSON once its signature checks.

    ``session``: a ``requests.Session`` to keep the connection alive between calls (the
    adapter keeps one per worker thread); without it, the call opens and closes its own.

    ``PeerCallError`` for no answer, an unsigned or badly signed answer, or a status other
    than 2xx (its problem ``detail`` in the reason).
    """
    body = (
        b"" if data is None else json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    )
    headers = auth.sign_request(hub, peer, method, path, body)
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        response = (session or requests).request(
            method, peer.url + path, data=body, headers=headers, timeout=hub.timeout, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise PeerCallError(
            f"peer {peer.name} at {peer.url} did not answer: {type(exc).__name__}: {str(exc)[:300]}"
        ) from exc
    content = response.content
    if response.status_code == 401:
        raise PeerCallError(f"peer {peer.name} refused our signature: {_detail(content)}", 401)
    if response.status_code == 413:
        raise PeerCallError(f"peer {peer.name} refused the request as too large: {_detail(content)}", 413)
    try:
        auth.verify_response(
            hub, peer, response.status_code, response.headers, method, path, headers[auth.H_NONCE], content
        )
    except auth.PeerAuthError as exc:
        raise PeerCallError(f"{exc.reason} (HTTP {response.status_code})", response.status_code) from exc
    if not 200 <= response.status_code < 300:
        raise PeerCallError(
            f"peer {peer.name} answered {response.status_code}: {_detail(content)}", response.status_code
        )
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PeerCallError(
            f"peer {peer.name} answered with something that is not JSON", response.status_code
        ) from exc


def _detail(content):
    try:
        data = json.loads(content.decode("utf-8"))
        return str(data.get("detail") or data.get("title") or data)[:500]
    except (UnicodeDecodeError, ValueError, AttributeError):
        return content[:200].decode("utf-8", "replace")
