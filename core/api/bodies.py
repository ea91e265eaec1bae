"""Reading API request bodies that carry files: measured before parsed, refused with a reason.

A body is measured against its limit (413, ``json.body_size``) before anything reads it, its media type is
checked (415), JSON must be one object that matches its schema, and base64 content is
size-checked before it is decoded, so an oversized or malformed upload costs no memory.
Shared by every route that takes files: documents, paper checks and edXML.
"""

import binascii
import re

from ..errors import ServiceError
from ..filetypes import AttachmentTooLarge, human_size
from ..i18n import _
from .json import BadRequest, check_object, parse_json

MiB = 1024 * 1024
#: room for the metadata beside the files in a request body
METADATA_ROOM = 1 * MiB
XML_TYPES = ("application/xml", "text/xml")
MULTIPART = "multipart/form-data"


class UnsupportedMediaType(ServiceError):
    status = 415


def base64_limit(policy, total=True):
    """The largest body that carries files of the policy's limit in base64, with room for the rest."""
    decoded = policy.max_document_bytes if total else policy.max_file_bytes
    return int((decoded + 2) // 3 * 4 * 1.02) + METADATA_ROOM  # 2 %: line breaks in wrapped base64


def media_type(request, accepted):
    """The body's media type, if it is one of ``accepted`` (415 otherwise)."""
    kind = (request.content_type or "").lower()
    if kind not in accepted:
        raise UnsupportedMediaType(
            _("Send the body as ${types}, not ${type}."),
            field="Content-Type",
            types=" or ".join(accepted),
            type=kind or "-",
        )
    return kind


def json_body(raw, schema, field="body"):
    """The JSON object in ``raw``, checked against ``schema`` (400 with the field otherwise)."""
    return check_object(parse_json(raw, field), schema)


_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


def decode_base64(text, name, field, policy):
    """The bytes of standard base64 ``text``; line breaks are allowed, nothing else. Size-checked first."""
    cleaned = text.replace("\r", "").replace("\n", "").encode("ascii", "replace")
    if len(cleaned) // 4 * 3 > policy.max_file_bytes + 2:
        raise AttachmentTooLarge(
            _("The file ${name} is larger than the limit of ${limit}."),
            name=name[:60],
            limit=human_size(policy.max_file_bytes),
        )
    if len(cleaned) % 4 or not _BASE64.fullmatch(cleaned):
        raise BadRequest(_("The content of ${name} is not valid base64."), field=field, name=name[:60])
    try:
        return binascii.a2b_base64(cleaned, strict_mode=True)
    except binascii.Error:
        raise BadRequest(
            _("The content of ${name} is not valid base64."), field=field, name=name[:60]
        ) from None
