"""What the two signing plugins share (not a plugin itself): opening a unit's signing key —
a PKCS#12 file or an object on a PKCS#11 token — and validating certificates.

Every failure to open a key is a
``SigningError`` naming the reason: a PKCS#12 file that is not in the operator's key folder
(outside it, missing, unreadable: one message, ``signing.confined_key_path``), wrong
passphrase, token not found, wrong PIN, key or certificate not on the token, certificate
expired or not yet valid.
"""

import asyncio
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asn1crypto import keys as asn1_keys, x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

from lienthong.core.i18n import _
from lienthong.core.signing import (
    KEY_PATH_REFUSED,
    PKCS11,
    PKCS12,
    SigningError,
    confined_key_path,
    key_dir,
    secret,
)

MODULE_SETTING = "lienthong.signing.pkcs11_module"
DEFAULT_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)


@dataclass
class OpenedKey:
    """A key ready to sign: its certificate, the chain that came with it, and two views of the key."""

    cert: x509.Certificate  # the signer's certificate (cryptography)
    chain: list = field(default_factory=list)  # other certificates (cryptography), intermediates first
    private_key: object = None  # cryptography-compatible private key (RSA or EC)
    pyhanko_signer: object = None  # a pyHanko ``Signer`` over the same key

    @property
    def common_name(self):
        names = self.cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return names[0].value if names else self.cert.subject.rfc4514_string()


def _check_validity(cert, now=None):
    now = now or datetime.now(UTC)
    if cert.not_valid_after_utc < now:
        raise SigningError(
            _("The signing certificate expired on ${date}; it can no longer sign."),
            date=cert.not_valid_after_utc.date().isoformat(),
        )
    if cert.not_valid_before_utc > now:
        raise SigningError(
            _("The signing certificate is valid only from ${date}."),
            date=cert.not_valid_before_utc.date().isoformat(),
        )


def _passphrase(key, settings):
    value = secret(settings, key.secret_name)
    if key.secret_name and value is None:
        raise SigningError(
            _(
                "The secret ${name} (passphrase or PIN) is not configured: set "
                "lienthong.signing.secret.${name} or the environment."
            ),
            name=key.secret_name,
        )
    return value


def _open_pkcs12(key, settings):
    from cryptography.hazmat.primitives.serialization import pkcs12
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    path = confined_key_path(key.path, settings)  # in the operator's key folder, or refused
    passphrase = _passphrase(key, settings)
    try:  # the resolved path, not following a link put there since
        with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as f:
            data = f.read()
    except OSError as e:  # the same words as any other refused path
        raise SigningError(KEY_PATH_REFUSED, dir=key_dir(settings)) from e
    try:
        private_key, cert, others = pkcs12.load_key_and_certificates(
            data, passphrase.encode("utf-8") if passphrase else None
        )
    except ValueError as e:
        raise SigningError(
            _("The PKCS#12 key file ${path} cannot be opened: wrong passphrase or not a PKCS#12 file."),
            path=key.path,
        ) from e
    if private_key is None or cert is None:
        raise SigningError(
            _("The PKCS#12 key file ${path} holds no private key with its certificate."), path=key.path
        )
    _check_validity(cert)
    chain = list(others or [])
    key_der = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain]
        ),
    )
    return OpenedKey(cert=cert, chain=chain, private_key=private_key, pyhanko_signer=signer)


def module_path(key, settings):
    path = key.path or (settings or {}).get(MODULE_SETTING) or ""
    if not path:
        path = next((p for p in DEFAULT_MODULES if os.path.exists(p)), "")
    if not path or not os.path.exists(path):
        raise SigningError(_("The PKCS#11 module ${path} is not installed."), path=path or MODULE_SETTING)
    return path


class _TokenKey:
    """The part of a ``cryptography`` private key that signing needs, done by the token.

    signxml (and anything written against ``cryptography``) calls ``sign(data, padding,
    algorithm)`` / ``sign(data, ECDSA(algorithm))``; the data is hashed and signed on the
    token with the matching PKCS#11 mechanism. The key never leaves the token.
    """

    def __init__(self, p11_key, cert):
        self._key = p11_key
        self._public = cert.public_key()

    def public_key(self):
        return self._public

    @property
    def key_size(self):
        return self._public.key_size

    # what a key on a token never gives out
    def private_numbers(self):
        raise NotImplementedError

    def private_bytes(self, *args, **kwargs):
        raise NotImplementedError

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


class TokenRSAKey(_TokenKey, rsa.RSAPrivateKey):
    MECHANISMS = {
        "sha256": "SHA256_RSA_PKCS",
        "sha384": "SHA384_RSA_PKCS",
        "sha512": "SHA512_RSA_PKCS",
        "sha1": "SHA1_RSA_PKCS",
    }

    def sign(self, data, padding, algorithm):  # noqa: F811 (cryptography's parameter names)
        from pkcs11 import Mechanism

        if isinstance(algorithm, utils.Prehashed) or not isinstance(padding, PKCS1v15):
            raise SigningError(_("The token key signs only PKCS#1 v1.5 over unhashed data."))
        mechanism = getattr(Mechanism, self.MECHANISMS[algorithm.name])
        return bytes(self._key.sign(data, mechanism=mechanism))

    def decrypt(self, ciphertext, padding):
        raise NotImplementedError


class TokenECKey(_TokenKey, ec.EllipticCurvePrivateKey):
    MECHANISMS = {"sha256": "ECDSA_SHA256", "sha384": "ECDSA_SHA384", "sha512": "ECDSA_SHA512"}

    @property
    def curve(self):
        return self._public.curve

    def sign(self, data, signature_algorithm):
        from pkcs11 import Mechanism
        from pkcs11.util.ec import encode_ecdsa_signature

        name = signature_algorithm.algorithm.name
        raw = bytes(self._key.sign(data, mechanism=getattr(Mechanism, self.MECHANISMS[name])))
        return encode_ecdsa_signature(raw)

    def exchange(self, algorithm, peer_public_key):
        raise NotImplementedError


@contextmanager
def _open_pkcs11(key, settings):
    import pkcs11
    from pkcs11 import Attribute, ObjectClass, exceptions as p11
    from pyhanko.sign.pkcs11 import PKCS11Signer

    module = module_path(key, settings)
    pin = _passphrase(key, settings)
    if not key.token_label:
        raise SigningError(_("No token label is set for the PKCS#11 key."))
    try:
        lib = pkcs11.lib(module)
    except Exception as e:  # a module that does not load: OSError, RuntimeError
        raise SigningError(
            _("The PKCS#11 module ${path} cannot be loaded: ${error}"), path=module, error=str(e)
        ) from e
    try:
        token = lib.get_token(token_label=key.token_label)
    except (
        p11.NoSuchToken,
        p11.TokenNotPresent,
        p11.TokenNotRecognised,
        p11.SlotIDInvalid,
        p11.DeviceRemoved,
    ) as e:
        raise SigningError(
            _("The token ${token} is not present (slot gone or token removed)."), token=key.token_label
        ) from e
    except p11.MultipleTokensReturned as e:
        raise SigningError(_("More than one token is labelled ${token}."), token=key.token_label) from e
    try:
        session = token.open(user_pin=pin) if pin is not None else token.open()
    except p11.PinIncorrect as e:
        raise SigningError(_("Wrong PIN for the token ${token}."), token=key.token_label) from e
    except p11.PinLocked as e:
        raise SigningError(_("The PIN of the token ${token} is locked."), token=key.token_label) from e
    except (p11.PinLenRange, p11.PinInvalid) as e:
        raise SigningError(
            _("Wrong PIN for the token ${token} (not a valid PIN)."), token=key.token_label
        ) from e
    except (p11.TokenNotPresent, p11.DeviceRemoved, p11.SlotIDInvalid) as e:
        raise SigningError(
            _("The token ${token} is not present (slot gone or token removed)."), token=key.token_label
        ) from e
    except p11.PKCS11Error as e:
        raise SigningError(
            _("The token ${token} cannot be opened: ${error}"), token=key.token_label, error=type(e).__name__
        ) from e
    try:
        label = key.key_label or None
        try:
            p11_key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
        except p11.NoSuchKey as e:
            raise SigningError(
                _("No private key labelled ${label} on the token ${token}."),
                label=key.key_label or "-",
                token=key.token_label,
            ) from e
        except p11.MultipleObjectsReturned as e:
            raise SigningError(
                _("More than one private key labelled ${label} on the token ${token}."),
                label=key.key_label or "-",
                token=key.token_label,
            ) from e
        template = {Attribute.CLASS: ObjectClass.CERTIFICATE}
        if label:
            template[Attribute.LABEL] = label
        certs = [
            x509.load_der_x509_certificate(bytes(o[Attribute.VALUE])) for o in session.get_objects(template)
        ]
        if not certs:
            raise SigningError(
                _("No certificate labelled ${label} on the token ${token}."),
                label=key.key_label or "-",
                token=key.token_label,
            )
        cert = certs[0]
        _check_validity(cert)
        others = [
            x509.load_der_x509_certificate(bytes(o[Attribute.VALUE]))
            for o in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
        ]
        chain = [c for c in others if c != cert]
        adapter = TokenECKey if isinstance(cert.public_key(), ec.EllipticCurvePublicKey) else TokenRSAKey
        signer = PKCS11Signer(
            session,
            key_label=label,
            signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
            ca_chain=[asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain],
        )
        yield OpenedKey(cert=cert, chain=chain, private_key=adapter(p11_key, cert), pyhanko_signer=signer)
    finally:
        session.close()


@contextmanager
def opened(key, settings):
    """The unit's key ``key`` (a ``KeyRef``) opened for signing, closed afterwards."""
    if key is None:
        raise SigningError(_("No signing key is configured."))
    if key.kind == PKCS12:
        yield _open_pkcs12(key, settings)
    elif key.kind == PKCS11:
        with _open_pkcs11(key, settings) as result:
            yield result
    else:
        raise SigningError(_("Unknown kind of key: ${kind}."), kind=key.kind)


def pkcs11_failure(error, key):
    """A ``SigningError`` for a PKCS#11 error raised while signing (the token went away, PIN...)."""
    from pkcs11 import exceptions as p11

    if isinstance(
        error,
        (
            p11.TokenNotPresent,
            p11.DeviceRemoved,
            p11.SessionHandleInvalid,
            p11.SessionClosed,
            p11.SlotIDInvalid,
        ),
    ):
        return SigningError(_("The token ${token} went away while signing."), token=key.token_label)
    if isinstance(error, p11.UserNotLoggedIn):
        return SigningError(_("Not logged in to the token ${token} (no PIN)."), token=key.token_label)
    return SigningError(
        _("The token ${token} refused to sign: ${error}"), token=key.token_label, error=type(error).__name__
    )


def run(coro, *contexts):
    """Run a pyHanko coroutine to the end, then close the validation contexts' HTTP sessions.

    Works also from a thread that already runs an event loop (the coroutine then runs in
    a thread of its own).
    """

    async def main():
        try:
            return await coro
        finally:
            for context in contexts:
                await context.aclose()

    try:
        asyncio.get_running_loop()
        in_loop = True
    except RuntimeError:
        in_loop = False
    if not in_loop:
        return asyncio.run(main())
    result = {}

    def target():
        try:
            result["value"] = asyncio.run(main())
        except BaseException as e:  # handed to the caller's thread
            result["error"] = e

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def validation_context(trust, *, for_timestamp=False):
    """A certvalidator context from a ``Trust``: live OCSP/CRL when ``trust.fetch``, soft-fail.

    Soft-fail: a revoked certificate is reported revoked, while a responder that cannot be
    reached does not make a good signature fail (the report notes it in ``details``).
    """
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator import ValidationContext

    roots = [asn1_x509.Certificate.load(bytes(der)) for der in (trust.roots or [])]
    others = [asn1_x509.Certificate.load(bytes(der)) for der in (trust.intermediates or [])]
    return ValidationContext(
        trust_roots=roots,
        other_certs=others,
        allow_fetching=bool(trust.fetch),
        revocation_mode="soft-fail",
        moment=trust.moment,
        best_signature_time=trust.moment,
    )
