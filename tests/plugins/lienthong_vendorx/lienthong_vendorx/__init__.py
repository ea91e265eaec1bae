"""lienthong-vendorx: a LienThong adapter for the (fictional) VendorX eOffice.

VendorX does not speak edXML. Its API takes JSON:

* ``POST <url>/api/vanban`` a document::

      {"ma_dinh_danh": DocumentId, "so_ky_hieu": "15/QĐ-SNV", "trich_yeu": subject,
       "ngay_ban_hanh": "2026-01-02", "noi_gui": sender code, "noi_nhan": recipient code,
       "files": [{"ten": name, "kieu": content type, "du_lieu": base64}]}

* ``POST <url>/api/trangthai`` a status: ``{"ma_dinh_danh", "trang_thai", "thoi_gian", "don_vi"}``

with the header ``X-VendorX-Key: <api_key>``. It answers ``{"ma_loi": 0}`` when it took
the message, ``{"ma_loi": 2}`` when it already has it, another ``ma_loi`` (with
``mo_ta``) when it refuses it.

The plugin only uses LienThong's public plugin API: ``lienthong.core.hookspecs.hookimpl``,
the adapter contract of ``lienthong.core.transports`` and the edXML codec
``lienthong.core.edxml``. The core never imports it by name.
"""

import base64
import threading

import requests

from lienthong.core import edxml
from lienthong.core.hookspecs import hookimpl
from lienthong.core.transports import Adapter, PermanentError, Setting, TransportError

ALREADY_HAVE_IT = 2


def vanban(message):
    """The VendorX JSON of an edXML document package."""
    meta = edxml.parse_document(message.payload)
    try:
        number, notation = meta.get("code_number") or "", meta.get("code_notation") or ""
        return {
            "ma_dinh_danh": meta["document_id"],
            "so_ky_hieu": f"{number}/{notation}" if number else notation,
            "trich_yeu": meta.get("subject") or "",
            "ngay_ban_hanh": meta.get("promulgation_date") or "",
            "noi_gui": message.sender,
            "noi_nhan": message.recipient,
            "files": [
                {
                    "ten": a["name"],
                    "kieu": a["content_type"],
                    "du_lieu": base64.b64encode(a["file"].read()).decode("ascii"),
                }
                for a in meta["attachments"]
            ],
        }
    finally:
        for attachment in meta.get("attachments") or ():
            attachment["file"].close()


def trangthai(message):
    """The VendorX JSON of an edXML status message."""
    status = edxml.parse_status(message.payload)
    return {
        "ma_dinh_danh": status["response_for"]["document_id"],
        "trang_thai": status["status_code"],
        "thoi_gian": status["timestamp"],
        "don_vi": status["from"]["organ_id"],
    }


class VendorX(Adapter):
    name = "vendorx"
    title = "VendorX eOffice (JSON API)"
    settings = (
        Setting("url", "Base address of the VendorX server", required=True),
        Setting("api_key", "API key issued by VendorX", required=True, secret=True),
    )
    batch_size = 10

    def __init__(self):
        self.local = threading.local()

    def check_settings(self, values):
        reasons = super().check_settings(values)
        if values.get("url") and not str(values["url"]).startswith(("http://", "https://")):
            reasons.append("url must start with http:// or https://")
        return reasons

    def deliver(self, message, env):
        problems = self.check_settings(message.settings)
        if problems:
            raise PermanentError("; ".join(problems))
        if message.kind == "document":
            path, body = "/api/vanban", vanban(message)
        else:
            path, body = "/api/trangthai", trangthai(message)
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        url = message.settings["url"].rstrip("/") + path
        try:
            response = session.post(
                url, json=body, timeout=30, headers={"X-VendorX-Key": message.settings["api_key"]}
            )
        except requests.RequestException as exc:
            self.local.session = None
            raise TransportError(f"VendorX at {url} cannot be reached: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise TransportError(f"VendorX answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise PermanentError(f"VendorX answered HTTP {response.status_code} without JSON") from None
        code = answer.get("ma_loi")
        if code in (0, ALREADY_HAVE_IT):  # taken now, or already taken: delivered either way
            return
        raise PermanentError(f"VendorX refused the {message.kind}: {answer.get('mo_ta') or code}")


@hookimpl
def lienthong_transports():
    return [VendorX()]
