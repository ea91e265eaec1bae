"""What the core knows of digital signatures: keys by reference, trust, and reports.

The signing plugins (hook ``lienthong_signers``) do the cryptography; the core only says
which key a unit signs with, which roots a unit trusts, and keeps what a verification
found. A key is never stored in the database: a unit's ``KeyRef`` names a PKCS#12 file or
a PKCS#11 token slot, and the secret that opens it (passphrase, PIN) by name, looked up
in the settings (``lienthong.signing.secret.<name>``) or the environment
(``LIENTHONG_SIGNING_SECRET_<NAME>``).

A PKCS#12 file is opened only from the operator's key folder (``key_dir``: the setting
``lienthong.signing.key_dir``, by default ``keys`` in the var directory); ``confined_key_path``
is the one check, made when a key is set and again each time one is opened.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import IO, Any

from zope.interface import implementer

from .i18n import _
from .interfaces import ISigner
from .named_secrets import named_secret

#: the badge of one signature, as kept with a delivery and shown in the UI and the API
VALID = "valid"  # intact, chain to a trusted root, not revoked
INVALID = "invalid"  # the cryptography does not check out (bad signature, unreadable)
MODIFIED = "modified"  # the signed bytes were changed or more was added after signing
REVOKED = "revoked"  # the signer's certificate was revoked (OCSP/CRL)
UNTRUSTED = "untrusted"  # no chain to a root the unit or the operator trusts (self-signed, unknown CA)
EXPIRED = "expired"  # the certificate was not valid when it signed
UNVERIFIABLE = "unverifiable"  # nothing to check it with (the field's placeholder XML signatures)
BADGES = (VALID, INVALID, MODIFIED, REVOKED, UNTRUSTED, EXPIRED, UNVERIFIABLE)

BADGE_TITLES = {
    VALID: _("Valid signature"),
    INVALID: _("Invalid signature"),
    MODIFIED: _("Modified after signing"),
    REVOKED: _("Signer's certificate revoked"),
    UNTRUSTED: _("Untrusted signer"),
    EXPIRED: _("Certificate expired"),
    UNVERIFIABLE: _("Signature cannot be checked"),
}

PKCS12 = "pkcs12"
PKCS11 = "pkcs11"
KEY_KINDS = (PKCS12, PKCS11)

#: the operator's folder of PKCS#12 files; the default is ``KEY_DIR_NAME`` in the var directory
KEY_DIR_SETTING = "lienthong.signing.key_dir"
KEY_DIR_NAME = "keys"
#: said of every refused PKCS#12 path (outside the folder, missing, unreadable): nothing to probe
KEY_PATH_REFUSED = _(
    "Key files must be PKCS#12 files in the operator's key folder ${dir}; ask the operator to "
    "place the file there."
)


class SigningError(RuntimeError):
    """A signing step failed (key not found, wrong PIN, slot gone, unsignable file).

    ``message`` is a translatable string naming the reason; the service that called the
    signer turns it into a refusal naming the document, and the send stores nothing.
    """

    def __init__(self, message: str, **mapping: Any) -> None:
        super().__init__(str(message))
        self.message = message
        self.mapping = mapping


@implementer(ISigner)
class Signer:
    """What ``lienthong_signers`` returns: one per signature format (checked against ``ISigner`` at start-up).

    ``sign`` returns the signed bytes or raises ``SigningError``; ``verify`` returns one
    ``SignatureReport`` per signature found (an empty list when there is none) and never
    raises for bad input: a damaged file is a report with the badge ``invalid``. ``verify``
    gets bytes (an edXML package) or a seekable binary file (an attachment, so that a large
    one need not be read into memory).
    """

    name = ""  # "pades", "xmldsig"
    format = ""  # "pdf": attachments; "edxml": the envelope of an edXML package

    def handles(self, name: str, mime_type: str) -> bool:
        """Whether this signer signs an attachment called ``name`` of ``mime_type``."""
        return False

    def sign(
        self,
        data: bytes,
        key: KeyRef,
        settings: Mapping[str, Any],
        *,
        reason: str = "",
        location: str = "",
        signer_name: str = "",
    ) -> bytes:
        """``data`` signed with ``key`` (its secret looked up in ``settings``); ``SigningError`` if not."""
        raise NotImplementedError

    def verify(
        self, data: bytes | IO[bytes], trust: Trust, settings: Mapping[str, Any]
    ) -> list[SignatureReport]:
        """One report per signature found in ``data`` (none: an empty list); never raises for bad input."""
        raise NotImplementedError


@dataclass
class KeyRef:
    """Where a unit's signing key is: a PKCS#12 file, or an object on a PKCS#11 token."""

    kind: str = PKCS12
    path: str = ""  # PKCS#12: the file; PKCS#11: the module (.so), default from settings
    token_label: str = ""  # PKCS#11 token label
    key_label: str = ""  # PKCS#11 key (and certificate) label
    secret_name: str = ""  # the name of the passphrase or PIN in settings/environment
    signer_name: str = ""  # shown in a visible stamp; default the certificate's common name
    stamp: bool = False  # add a visible stamp on the PDF's first page
    stamp_box: tuple[float, float, float, float] = (360, 40, 560, 110)  # x1, y1, x2, y2 in PDF points
    position: str = ""  # the signer's position (chức vụ), shown in a visible stamp under the name

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> KeyRef:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in dict(data or {}).items() if k in known}
        if "stamp_box" in values:
            values["stamp_box"] = tuple(values["stamp_box"])
        return cls(**values)


def key_dir(settings: Mapping[str, Any] | None) -> str:
    """The operator's folder of PKCS#12 key files (absolute): ``lienthong.signing.key_dir``, else
    ``keys`` in the var directory — next to a FileStorage's ``Data.fs``, ``var/`` of the working
    directory for ZEO and RelStorage (as ``lienthong backup`` does)."""
    configured = str((settings or {}).get(KEY_DIR_SETTING) or "").strip()
    if configured:
        return os.path.abspath(configured)
    from .db import file_storage_path

    data_fs = file_storage_path(str((settings or {}).get("zodbconn.uri") or ""))
    var = os.path.dirname(os.path.abspath(data_fs)) if data_fs else os.path.abspath("var")
    return os.path.join(var, KEY_DIR_NAME)


def confined_key_path(path: str, settings: Mapping[str, Any] | None) -> str:
    """The real path of the PKCS#12 file ``path``: an absolute path that resolves (symbolic links
    and ``..`` followed) to a readable regular file inside the real ``key_dir(settings)``.

    Anything else — outside the folder, missing, unreadable, a directory — is one and the same
    ``SigningError(KEY_PATH_REFUSED)``, so that a unit admin learns nothing of other files on
    the server. Called when a key is set and before a key file is opened: a path stored before
    the rule, or a link changed since, is refused too.
    """
    folder = key_dir(settings)
    refused = SigningError(KEY_PATH_REFUSED, dir=folder)
    if not isinstance(path, str) or not os.path.isabs(path) or "\x00" in path:
        raise refused
    root = os.path.realpath(folder)
    real = os.path.realpath(path)
    try:
        inside = real != root and os.path.commonpath([root, real]) == root
    except ValueError:
        inside = False
    if not inside or not os.path.isfile(real) or not os.access(real, os.R_OK):
        raise refused
    return real


def secret(settings: Mapping[str, Any] | None, name: str) -> str | None:
    """The passphrase or PIN called ``name``: from the settings, else the environment; None if neither."""
    return named_secret(settings, "lienthong.signing.secret.", "LIENTHONG_SIGNING_SECRET_", name)


@dataclass
class Trust:
    """What a verification trusts: the operator's and the receiving unit's roots (DER bytes)."""

    roots: list[bytes] = field(default_factory=list)
    intermediates: list[bytes] = field(default_factory=list)
    fetch: bool = True  # fetch OCSP/CRL over HTTP (and certificates named by AIA)
    moment: datetime | None = None  # datetime to validate at; None = now


@dataclass
class SignatureReport:
    """What one verification found about one signature (kept with the delivery)."""

    badge: str  # one of BADGES
    format: str  # "pades" or "xmldsig"
    target: str  # the attachment name, or "edxml" for the envelope
    signer: str = ""  # the certificate's subject common name
    issuer: str = ""
    serial: str = ""
    signed_at: str = ""  # ISO time claimed by the signature (or its timestamp)
    timestamped: bool = False  # an RFC 3161 timestamp covers it
    reason: str = ""  # why it is not valid (English; the UI translates the badge)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
