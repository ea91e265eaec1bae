"""A real SoftHSM2 token holding the test PKI's unit key and certificate.

SoftHSM2 reads ``SOFTHSM2_CONF`` when the library is initialised, once per process: the
fixture is session-scoped and sets it in ``os.environ`` before anything loads the library.
A test that runs the app in a subprocess passes ``token.env`` (or at least
``SOFTHSM2_CONF``) in that subprocess's environment.
"""

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass, field

import pytest

from tests.support.app import need
from tests.support.pki import UNIT

MODULE_PATHS = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/*/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
)
TOKEN_LABEL = "lienthong-test"
KEY_LABEL = "snv-signing"
KEY_ID = "01"
PIN = "123456"
SO_PIN = "12345678"


def find_module():
    for pattern in MODULE_PATHS:
        for path in sorted(glob.glob(pattern)):
            if os.path.exists(path):
                return path
    return None


@dataclass
class SoftHSMToken:
    module: str
    conf: str
    token_dir: str
    token_label: str = TOKEN_LABEL
    key_label: str = KEY_LABEL
    pin: str = PIN
    so_pin: str = SO_PIN
    cert_name: str = UNIT
    env: dict = field(default_factory=dict)  # what a subprocess needs in its environment


def _util(*args, env):
    result = subprocess.run(["softhsm2-util", *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"softhsm2-util {' '.join(args)} failed: {result.stdout}{result.stderr}")
    return result.stdout


def _store_certificate(module, token_label, pin, label, key_id, cert_der):
    """Put the certificate on the token under the key's label and id (what pyHanko looks up)."""
    import pkcs11
    from asn1crypto import x509
    from pkcs11 import Attribute, CertificateType, ObjectClass

    cert = x509.Certificate.load(cert_der)
    token = pkcs11.lib(module).get_token(token_label=token_label)
    with token.open(rw=True, user_pin=pin) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.LABEL: label,
                Attribute.ID: bytes.fromhex(key_id),
                Attribute.SUBJECT: cert.subject.dump(),
                Attribute.ISSUER: cert.issuer.dump(),
                Attribute.SERIAL_NUMBER: cert["tbs_certificate"]["serial_number"].dump(),
                Attribute.VALUE: cert_der,
            }
        )


_CREATED = {}


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory, pki):
    """A SoftHSM2 token with the PKI's unit key (label ``snv-signing``) and its certificate.

    One per process (the library reads its configuration once): test modules that import
    this fixture all get the same token.
    """
    module = find_module()
    need("SoftHSM2", module and shutil.which("softhsm2-util"))
    if "token" not in _CREATED:
        _CREATED["token"] = _create(tmp_path_factory.mktemp("softhsm"), module, pki)
    return _CREATED["token"]


def _create(directory, module, pki):
    token_dir = directory / "tokens"
    token_dir.mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {token_dir}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)  # before anything in this process loads the library
    env = dict(os.environ)
    _util("--init-token", "--free", "--label", TOKEN_LABEL, "--pin", PIN, "--so-pin", SO_PIN, env=env)
    _util(
        "--import",
        pki.key_path(UNIT),
        "--token",
        TOKEN_LABEL,
        "--label",
        KEY_LABEL,
        "--id",
        KEY_ID,
        "--pin",
        PIN,
        env=env,
    )
    _store_certificate(module, TOKEN_LABEL, PIN, KEY_LABEL, KEY_ID, pki.cert_der(UNIT))
    return SoftHSMToken(
        module=module, conf=str(conf), token_dir=str(token_dir), env={"SOFTHSM2_CONF": str(conf)}
    )
