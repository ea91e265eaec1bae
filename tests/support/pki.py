"""A test PKI made with certomancer, with its OCSP, CRL, TSA and certificate services live on localhost.

The keys are generated at session start (RSA 2048), the certomancer YAML config is written
with the chosen port (certomancer puts fixed URLs into AIA and CRL distribution points),
and certomancer's Animator WSGI app is served by waitress in a background thread, so
pyHanko/certvalidator fetch OCSP responses, CRLs and RFC 3161 timestamps over real HTTP.

Certificates (``pki.cert_der(name)``, ``pki.pkcs12(name, passphrase)``, ``pki.key_pem(name)``):

- ``unit``: the Sở Nội vụ (SNV) organization certificate; OCSP + CRL
- ``person``: a person (clerk) certificate; OCSP + CRL
- ``revoked``: revoked 30 days ago; OCSP + CRL (OCSP is asked first)
- ``revoked_crl``: revoked 30 days ago; a CRL distribution point only (no OCSP in AIA)
- ``expired``: expired a year ago
- ``selfsigned``: self-signed, chains to nothing
"""

import os
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml

ARCH = "lienthong-test"
PASSPHRASE = "test-passphrase"

UNIT = "unit"
PERSON = "person"
REVOKED = "revoked"
REVOKED_CRL = "revoked_crl"
EXPIRED = "expired"
SELFSIGNED = "selfsigned"
SIGNERS = (UNIT, PERSON, REVOKED, REVOKED_CRL, EXPIRED, SELFSIGNED)
KEYS = ("root", "interm", "ocsp", "tsa") + SIGNERS

NAMES = {
    "root": "LienThong Test Root CA",
    "interm": "LienThong Test Issuing CA",
    "ocsp": "LienThong Test OCSP Responder",
    "tsa": "LienThong Test Time Stamping Authority",
    UNIT: "Sở Nội vụ",
    PERSON: "Nguyễn Văn An",
    REVOKED: "Trần Thị Thu Hồi",
    REVOKED_CRL: "Lê Văn Danh Sách",
    EXPIRED: "Phạm Văn Hết Hạn",
    SELFSIGNED: "Tự Ký",
}


def sample_pdf(text="Quyet dinh so 1/QD-SNV"):
    """A small, well-formed one-page A4 PDF (pyHanko's writer) that signers accept.

    (tests/support/exchange.py's ``PDF`` has no page and no xref table: fine as an
    attachment, not signable.)
    """
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

    writer = PdfFileWriter(stream_xrefs=False)
    font = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Font"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Type1"),
            generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {
            generic.pdf_name("/Font"): generic.DictionaryObject(
                {generic.pdf_name("/F1"): writer.add_object(font)}
            )
        }
    )
    safe = text.encode("ascii", "replace").decode().replace("\\", "").replace("(", "[").replace(")", "]")
    content = generic.StreamObject(stream_data=f"BT /F1 14 Tf 72 770 Td ({safe}) Tj ET".encode())
    writer.insert_page(
        PageObject(contents=writer.add_object(content), media_box=(0, 0, 595, 842), resources=resources)
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _generate_keys(directory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    for label in KEYS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with open(os.path.join(directory, f"{label}.key.pem"), "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )


def _signer_extensions(ocsp=True, crl=True):
    extensions = [
        {
            "id": "key_usage",
            "critical": True,
            "smart-value": {"schema": "key-usage", "params": ["digital_signature", "non_repudiation"]},
        },
    ]
    if crl:
        extensions.append(
            {
                "id": "crl_distribution_points",
                "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["interm"]}},
            }
        )
    aia = {"ca-issuer-links": [{"repo": "interm"}]}
    if ocsp:
        aia["ocsp-responder-names"] = ["interm"]
    extensions.append(
        {"id": "authority_information_access", "smart-value": {"schema": "aia-urls", "params": aia}}
    )
    return extensions


def config_dict(url_prefix, key_dir, now):
    """The certomancer config for a PKI whose services live at ``url_prefix``."""
    long_ago, far = now - timedelta(days=365 * 3), now + timedelta(days=365 * 20)
    ca_usage = {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": ["digital_signature", "key_cert_sign", "crl_sign"]},
    }
    valid = {"valid-from": _iso(now - timedelta(days=365)), "valid-to": _iso(now + timedelta(days=365 * 2))}
    revoked_since = _iso(now - timedelta(days=30))
    certs = {
        "root": {
            "subject": "root",
            "issuer": "root",
            "subject-key": "root",
            "authority-key": "root",
            "validity": {"valid-from": _iso(long_ago), "valid-to": _iso(far)},
            "extensions": [{"id": "basic_constraints", "critical": True, "value": {"ca": True}}, ca_usage],
        },
        "interm": {
            "issuer": "root",
            "validity": {"valid-from": _iso(long_ago), "valid-to": _iso(far - timedelta(days=1))},
            "extensions": [
                {
                    "id": "basic_constraints",
                    "critical": True,
                    "value": {"ca": True, "path-len-constraint": 0},
                },
                ca_usage,
                {
                    "id": "crl_distribution_points",
                    "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}},
                },
            ],
        },
        "ocsp": {
            "issuer": "interm",
            "validity": valid,
            "extensions": [
                {
                    "id": "key_usage",
                    "critical": True,
                    "smart-value": {"schema": "key-usage", "params": ["digital_signature"]},
                },
                {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                {"id": "ocsp_no_check"},
            ],
        },
        "tsa": {
            "issuer": "root",
            "validity": valid,
            "extensions": [
                {
                    "id": "key_usage",
                    "critical": True,
                    "smart-value": {"schema": "key-usage", "params": ["digital_signature"]},
                },
                {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                {
                    "id": "crl_distribution_points",
                    "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}},
                },
            ],
        },
        UNIT: {"issuer": "interm", "validity": valid, "extensions": _signer_extensions()},
        PERSON: {"issuer": "interm", "validity": valid, "extensions": _signer_extensions()},
        REVOKED: {
            "issuer": "interm",
            "validity": valid,
            "extensions": _signer_extensions(),
            "revocation": {"revoked-since": revoked_since, "reason": "key_compromise"},
        },
        REVOKED_CRL: {
            "issuer": "interm",
            "validity": valid,
            "extensions": _signer_extensions(ocsp=False),
            "revocation": {"revoked-since": revoked_since, "reason": "key_compromise"},
        },
        EXPIRED: {
            "issuer": "interm",
            "validity": {
                "valid-from": _iso(now - timedelta(days=365 * 2)),
                "valid-to": _iso(now - timedelta(days=365)),
            },
            "extensions": _signer_extensions(),
        },
        SELFSIGNED: {
            "subject": SELFSIGNED,
            "issuer": SELFSIGNED,
            "subject-key": SELFSIGNED,
            "authority-key": SELFSIGNED,
            "validity": valid,
            "extensions": [
                {
                    "id": "key_usage",
                    "critical": True,
                    "smart-value": {
                        "schema": "key-usage",
                        "params": ["digital_signature", "non_repudiation"],
                    },
                }
            ],
        },
    }
    entities = {label: {"common-name": NAMES[label]} for label in KEYS}
    entities[UNIT]["organizational-unit-name"] = "SNV"
    return {
        "external-url-prefix": url_prefix,
        "keysets": {
            ARCH: {"path-prefix": key_dir, "keys": {label: {"path": f"{label}.key.pem"} for label in KEYS}}
        },
        "pki-architectures": {
            ARCH: {
                "keyset": ARCH,
                "entity-defaults": {"country-name": "VN", "organization-name": "LienThong Test"},
                "entities": entities,
                "certs": certs,
                "services": {
                    "ocsp": {
                        "interm": {"for-issuer": "interm", "responder-cert": "ocsp", "signing-key": "ocsp"}
                    },
                    "crl-repo": {
                        "root": {
                            "for-issuer": "root",
                            "signing-key": "root",
                            "simulated-update-schedule": "P90D",
                        },
                        "interm": {
                            "for-issuer": "interm",
                            "signing-key": "interm",
                            "simulated-update-schedule": "P7D",
                        },
                    },
                    "cert-repo": {
                        "root": {"for-issuer": "root", "publish-issued-certs": True},
                        "interm": {"for-issuer": "interm", "publish-issued-certs": True},
                    },
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }
        },
    }


class TestPKI:
    """The PKI, its files in ``directory`` and its services at ``base_url``."""

    def __init__(self, directory):
        import logging

        import waitress
        from certomancer.registry import CertomancerConfig

        self.directory = str(directory)
        # bind first (port 0: no race for a free port), then write the URLs into the config
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self._app = None
        self._server = waitress.create_server(self._dispatch, host="127.0.0.1", port=0, threads=4)
        self.port = self._server.effective_port
        self.base_url = f"http://127.0.0.1:{self.port}"
        key_dir = os.path.join(self.directory, "keys")
        os.makedirs(key_dir, exist_ok=True)
        _generate_keys(key_dir)
        self.now = datetime.now(UTC).replace(microsecond=0)
        config = config_dict(self.base_url, key_dir, self.now)
        self.config_path = os.path.join(self.directory, "certomancer.yml")
        with open(self.config_path, "w", encoding="utf-8") as f:
            yaml.safe_dump(config, f, allow_unicode=True, sort_keys=False)
        self.config = CertomancerConfig.from_file(self.config_path, key_search_dir=self.directory)
        self.arch = self.config.get_pki_arch(ARCH)
        self.names = dict(NAMES)
        self.tsa_url = f"{self.base_url}/{ARCH}/tsa/tsa"
        self.ocsp_url = f"{self.base_url}/{ARCH}/ocsp/interm"
        self.crl_url = f"{self.base_url}/{ARCH}/crls/interm/latest.crl"
        self._thread = None

    def _dispatch(self, environ, start_response):
        return self._app(environ, start_response)

    # -- certificates and keys

    def cert_der(self, name):
        return self.arch.get_cert(name).dump()

    def cert(self, name):
        """The certificate as a ``cryptography`` object."""
        from cryptography import x509

        return x509.load_der_x509_certificate(self.cert_der(name))

    @property
    def root_der(self):
        return self.cert_der("root")

    @property
    def intermediate_der(self):
        return self.cert_der("interm")

    def key_pem(self, name):
        """The private key (unencrypted PKCS#8 PEM)."""
        with open(os.path.join(self.directory, "keys", f"{name}.key.pem"), "rb") as f:
            return f.read()

    def key_path(self, name):
        return os.path.join(self.directory, "keys", f"{name}.key.pem")

    def pkcs12(self, name, passphrase=PASSPHRASE):
        """A PKCS#12 file with ``name``'s key, certificate and chain; returns its path."""
        path = os.path.join(self.directory, f"{name}-{abs(hash(passphrase or ''))}.p12")
        if not os.path.exists(path):
            data = self.arch.package_pkcs12(name, password=passphrase.encode() if passphrase else None)
            with open(path, "wb") as f:
                f.write(data)
        return path

    @property
    def key_dir(self):
        """Where ``pkcs12`` writes its files: the operator's key folder of the tests that sign."""
        return self.directory

    @property
    def key_settings(self):
        """The setting that lets the hub open this PKI's PKCS#12 files (``signing.key_dir``)."""
        return {"lienthong.signing.key_dir": self.key_dir}

    def trust(self, **extra):
        """A ``lienthong.core.signing.Trust`` with this PKI's root."""
        from lienthong.core.signing import Trust

        return Trust(roots=[self.root_der], **extra)

    # -- the services

    def start(self):
        from certomancer.integrations.animator import Animator, AnimatorArchStore

        self._app = Animator(
            AnimatorArchStore(self.config.pki_archs), with_web_ui=False, allow_time_override=False
        )

        def run():
            try:
                self._server.run()
            except OSError:  # the socket closed under the loop at stop(): done
                pass

        self._thread = threading.Thread(target=run, name="test-pki", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread is not None:
            self._server.close()
            self._thread.join(timeout=5)
            self._thread = None


_RUNNING = {}


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The test PKI with its services running for the whole session.

    Test modules import this fixture; pytest then sees one fixture per module, so the
    instance is kept per process (one PKI for the whole run) and stopped at session end.
    """
    created = "pki" not in _RUNNING
    if created:
        _RUNNING["pki"] = TestPKI(tmp_path_factory.mktemp("pki")).start()
    yield _RUNNING["pki"]
    if created:
        _RUNNING.pop("pki").stop()
