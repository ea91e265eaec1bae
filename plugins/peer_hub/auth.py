"""Mutual authentication between two hubs: HMAC-SHA256 over the request, and over the answer.

Why HMAC with a secret per pair of hubs rather than Ed25519 keys: the two operators
configure each other anyway (address, name), a shared secret is one more line on each
side, needs no key files or certificate chain, and the same construction already signs
webhooks. Its weakness — either side could forge the other's messages — does not matter
between exactly two parties. ``key_id`` names the secret in force so it can be rotated.

A request carries its caller's name, the key id, a timestamp and a random nonce (kept in
the database for twice the window: ``SiteNonces``); the
signature covers them with the method, the path, the callee's name and the body's
SHA-256, so nothing can be replayed to another path, another hub, or with another body.
The callee refuses a timestamp outside the window and a nonce seen within it. The answer
is signed too, over its status, body and the request's nonce: the caller knows it talks
to its peer and that this answer is for this request (an old answer cannot be replayed).
"""

import hashlib
import hmac
import secrets
import time

from lienthong.core.services import nonces

VERSION = "LIENTHONG-PEER-1"
H_PEER = "X-LienThong-Peer"
H_KEY = "X-LienThong-Key-Id"
H_TIME = "X-LienThong-Timestamp"
H_NONCE = "X-LienThong-Nonce"
H_SIG = "X-LienThong-Signature"


class PeerAuthError(Exception):
    """A request or answer that does not authenticate; ``reason`` says why (English, for logs and audit)."""

    def __init__(self, reason, peer=""):
        super().__init__(reason)
        self.reason = reason
        self.peer = peer


def digest(body):
    return hashlib.sha256(body or b"").hexdigest()


def _mac(secret, *parts):
    text = "\n".join([VERSION, *(str(p) for p in parts)]).encode("utf-8")
    return hmac.new(secret, text, hashlib.sha256).hexdigest()


def request_signature(secret, method, path, caller, callee, key_id, timestamp, nonce, body):
    return _mac(
        secret, "request", method.upper(), path, caller, callee, key_id, timestamp, nonce, digest(body)
    )


def response_signature(secret, status, method, path, responder, requester, key_id, timestamp, nonce, body):
    return _mac(
        secret,
        "response",
        int(status),
        method.upper(),
        path,
        responder,
        requester,
        key_id,
        timestamp,
        nonce,
        digest(body),
    )


def sign_request(hub, peer, method, path, body, now=None):
    """The headers that authenticate a request from this hub (``hub``: ``HubConfig``) to ``peer``."""
    timestamp = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    return {
        H_PEER: hub.name,
        H_KEY: peer.key_id,
        H_TIME: timestamp,
        H_NONCE: nonce,
        H_SIG: request_signature(
            peer.secret, method, path, hub.name, peer.name, peer.key_id, timestamp, nonce, body
        ),
    }


def _fresh(timestamp, window, now):
    try:
        value = int(timestamp)
    except (TypeError, ValueError):
        return False
    return abs((now if now is not None else time.time()) - value) <= window


class SiteNonces:
    """The nonces seen within the window, in the hub's database (``services.nonces``, in the
    request's transaction): a replay is refused after a restart, and by every process."""

    def __init__(self, site):
        self.site = site

    def use(self, peer, nonce, window, now=None):
        """Record ``nonce``; False if it was already used within the window."""
        return nonces.use(self.site, f"peer:{peer}", nonce, window, now)


def verify_request(hub, headers, method, path, body, nonces, now=None):
    """The ``Peer`` that signed this request; ``PeerAuthError`` when it is not one of ours or does not check."""
    caller = (headers.get(H_PEER) or "").strip()
    if not caller:
        raise PeerAuthError("the request is not signed by a peer hub (no X-LienThong-Peer header)")
    peer = hub.peers.get(caller)
    if peer is None:
        raise PeerAuthError(f"unknown peer hub {caller[:80]!r}", caller[:80])
    key_id = headers.get(H_KEY) or ""
    if not hmac.compare_digest(key_id.encode(), peer.key_id.encode()):
        raise PeerAuthError(f"key {key_id[:40]!r} is not the key in force for {caller}", caller)
    timestamp, nonce, signature = (
        headers.get(H_TIME) or "",
        headers.get(H_NONCE) or "",
        headers.get(H_SIG) or "",
    )
    if not (16 <= len(nonce) <= 128):
        raise PeerAuthError("the request has no usable nonce", caller)
    if not _fresh(timestamp, hub.window, now):
        raise PeerAuthError(
            f"the request's timestamp {timestamp[:20]!r} is outside the {hub.window}s window "
            f"(clocks out of step, or a replay)",
            caller,
        )
    expected = request_signature(peer.secret, method, path, caller, hub.name, key_id, timestamp, nonce, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise PeerAuthError("bad signature (wrong secret, or the request was changed on the way)", caller)
    if not nonces.use(caller, nonce, hub.window, now):
        raise PeerAuthError("replayed request (this nonce was already used)", caller)
    return peer


def sign_response(hub, peer, status, method, path, nonce, body, now=None):
    timestamp = str(int(now if now is not None else time.time()))
    return {
        H_PEER: hub.name,
        H_TIME: timestamp,
        H_SIG: response_signature(
            peer.secret, status, method, path, hub.name, peer.name, peer.key_id, timestamp, nonce, body
        ),
    }


def verify_response(hub, peer, status, headers, method, path, nonce, body, now=None):
    """Check that ``peer`` signed this answer to our request ``nonce``; ``PeerAuthError`` if not."""
    responder = headers.get(H_PEER) or ""
    if responder != peer.name:
        raise PeerAuthError(
            f"the answer is not signed by {peer.name} (status {status}"
            f"{', peer ' + repr(responder[:80]) if responder else ''})",
            peer.name,
        )
    timestamp = headers.get(H_TIME) or ""
    if not _fresh(timestamp, hub.window, now):
        raise PeerAuthError(
            f"the answer's timestamp {timestamp[:20]!r} is outside the {hub.window}s window", peer.name
        )
    expected = response_signature(
        peer.secret, status, method, path, peer.name, hub.name, peer.key_id, timestamp, nonce, body
    )
    if not hmac.compare_digest(expected.encode(), (headers.get(H_SIG) or "").encode()):
        raise PeerAuthError(f"bad signature on the answer of {peer.name}", peer.name)
