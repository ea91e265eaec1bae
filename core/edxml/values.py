"""edXML values: the codec's constants, its checks, and the canonical dicts it builds from.

Formats in the XML, as the field writes them: dates ``yyyy/MM/dd`` (also read: ``yyyy-MM-dd``,
``dd/MM/yyyy``, and a date with a time after it), timestamps ``yyyy/MM/dd HH:mm:ss`` in
Vietnam time (also read: ISO 8601 with or without an offset, ``dd/MM/yyyy HH:mm:ss``). The
dict side is always ISO.

Identifier codes: this hub's own units carry the QCVN 102 shape ``ddd.dd.dd.Xdd`` (the
directory checks it when it issues one, ``valid_code``); a package names remote units as
their systems do (``28.22.H17``, ``001.00.20.TT2``, ``vxp.saas.03``), so the codec takes any
dotted code (``remote_code``) and leaves it to the inbound service to say which it knows.

The metadata of a document or status, built or parsed, goes through the same checks
(required fields, unit codes, numbers, dates, priority, business type, status code), so
what we build we can read back, and what we refuse we never build.
"""

import datetime
import re
from collections.abc import Mapping
from typing import Any

from pyramid.i18n import TranslationString

from ..errors import ServiceError
from ..i18n import _
from ..timezones import VIETNAM

#: a document's or status message's header fields, in the codec's dict shape
Meta = dict[str, Any]

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
PREFIX = "edXML"
DIGEST_ALGORITHM = "http://www.w3.org/2001/04/xmlenc#sha256"

# The edXML status codes of a delivery, the one definition: the delivery state machine
# (services/workflow.py) names its states with these.
ARRIVED = "01"  # arrived at the recipient's system
REFUSED = "02"  # refused on receipt
ACCEPTED = "03"  # accepted and registered as incoming
ASSIGNED = "04"  # assigned by a leader
IN_PROGRESS = "05"  # being processed by a specialist
COMPLETED = "06"
RECALL_ASKED = "13"  # the sender asks to take the document back
RECALL_AGREED = "15"  # take-back / update agreed
RECALL_REFUSED = "16"  # take-back / update refused
STATUS_CODES = (
    ARRIVED,
    REFUSED,
    ACCEPTED,
    ASSIGNED,
    IN_PROGRESS,
    COMPLETED,
    RECALL_ASKED,
    RECALL_AGREED,
    RECALL_REFUSED,
)

BUSINESS_DOC_TYPES = (0, 1, 2, 3)  # new, revoke, update, replace
PRIORITIES = range(0, 5)

#: an organ's elements in the order the field's common library writes them; the reader also
#: takes ``OrganInCharge`` (what this codec wrote before) for ``OrganizationInCharge``
ORGAN_FIELDS = (
    ("OrganId", "organ_id"),
    ("OrganizationInCharge", "organ_in_charge"),
    ("OrganName", "organ_name"),
    ("OrganAdd", "organ_add"),
    ("Email", "email"),
    ("Telephone", "telephone"),
    ("Fax", "fax"),
    ("Website", "website"),
)
STAFF_FIELDS = (("Department", "department"), ("Staff", "staff"), ("Mobile", "mobile"), ("Email", "email"))

#: a unit's QCVN 102:2016 identifier code, e.g. 000.00.12.H49 (the shape this hub issues)
UNIT_CODE_RE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
#: a code as a remote system may name a unit: dotted segments (28.22.H17, vxp.saas.03)
REMOTE_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,20}(\.[A-Za-z0-9_-]{1,20}){1,7}$")
#: a document number: digits here, letters too in the field (74fass22, BINTEST123)
CODE_NUMBER_RE = re.compile(r"^[\w.-]{1,30}$")
CODE_NOTATION_RE = re.compile(r"^\w[\w./&()-]{0,99}$")
FULL_CODE_RE = re.compile(r"^[\w.-]{1,30}/\w[\w./&()-]{0,99}$")
DOCUMENT_ID_RE = re.compile(r"^[^\s<>&\"']{1,200}$")
CONTENT_TYPE_RE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;.{0,200})?$")
XML_DATE_RE = re.compile(
    r"^(\d{4})([/-])(\d{2})\2(\d{2})([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?)?$"
)
#: ``dd/MM/yyyy``, as one vendor writes its dates (optionally with a time)
DMY_DATE_RE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})( \d{2}:\d{2}(:\d{2})?)?$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OLD_TIMESTAMP_RE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}(:\d{2})?$")
#: a trace hop's OrganId as the axis sometimes writes it: nothing, or the text "null"
NO_CODE = ("", "null")
INT_RE = re.compile(r"^[+-]?\d{1,9}$")
BAD_NAME_RE = re.compile(r"[/\\\x00-\x1f\x7f]")


class EdxmlError(ServiceError):
    """An edXML package (or the data to build one) that the codec refuses."""

    status = 400


class EdxmlTooLarge(EdxmlError):
    """A package whose content is over a size limit once decoded or unwrapped."""

    status = 413


class EdxmlWarning:
    """Something the codec read but a person should know (an unknown code, a lying ContentType).

    Kept with the parsed package (``meta["warnings"]``); shown by ``lienthong edxml inspect``
    and the operator's page. Translatable like an error, never raised.
    """

    def __init__(self, message: str, field: str | None = None, **mapping: Any) -> None:
        self.message = TranslationString(message, domain="lienthong", mapping=mapping or None)
        self.field = field

    def text(self) -> str:
        return self.message.interpolate()

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "message": self.text()}

    def __repr__(self) -> str:
        return f"EdxmlWarning({self.text()!r}, field={self.field!r})"


def q(name: str) -> str:
    """The qualified tag of an edXML element."""
    return "{%s}%s" % (NS, name)


def valid_code(code: str | None) -> bool:
    """Whether ``code`` is a unit identifier code (``ddd.dd.dd.Xdd``): the shape this hub issues."""
    return bool(UNIT_CODE_RE.match(code or ""))


def remote_code(code: str | None) -> bool:
    """Whether ``code`` may name a unit in a package: this hub's shape or a remote system's."""
    return bool(code) and len(code or "") <= 64 and bool(REMOTE_CODE_RE.match(code or ""))


def excerpt(value: object, limit: int = 60) -> str:
    """A hostile value made safe to quote in a message."""
    value = str(value)
    shown = "".join(ch if ch.isprintable() else "?" for ch in value[:limit])
    return shown + ("…" if len(value) > limit else "")


def required_error(field: str) -> EdxmlError:
    """The refusal of an element that is missing or empty."""
    return EdxmlError(
        _("The edXML element ${element} is required and may not be empty."), field=field, element=field
    )


# --------------------------------------------------------------------------- values


def xml_date_to_iso(value: str | None, field: str, required: bool = False) -> str:
    """``yyyy/MM/dd``, ``yyyy-MM-dd`` or ``dd/MM/yyyy`` (a time after it ignored) → ISO; "" stays "" unless required."""
    value = (value or "").strip()
    if not value:
        if required:
            raise required_error(field)
        return ""
    try:
        match = XML_DATE_RE.match(value)
        if match:
            return datetime.date(int(match[1]), int(match[3]), int(match[4])).isoformat()
        match = DMY_DATE_RE.match(value)
        if match:
            return datetime.date(int(match[3]), int(match[2]), int(match[1])).isoformat()
        raise ValueError(value)
    except ValueError:
        raise EdxmlError(
            _("${element} is not a valid date (yyyy/MM/dd): ${value}."),
            field=field,
            element=field,
            value=excerpt(value),
        ) from None


def _iso_date(value: object, field: str, required: bool = False) -> str:
    """A dict-side ISO date checked, for building."""
    value = "" if value is None else str(value).strip()
    if not value:
        if required:
            raise required_error(field)
        return ""
    try:
        if not ISO_DATE_RE.match(value):
            raise ValueError(value)
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise EdxmlError(
            _("${element} is not a valid date (yyyy-mm-dd): ${value}."),
            field=field,
            element=field,
            value=excerpt(value),
        ) from None


def timestamp_to_iso(value: object, field: str, required: bool = True) -> str:
    """ISO 8601 (offset optional, Vietnam time if absent) or ``yyyy/MM/dd HH:mm:ss`` → ISO."""
    value = "" if value is None else str(value).strip()
    if not value:
        if required:
            raise required_error(field)
        return ""
    try:
        dmy = DMY_DATE_RE.match(value)
        if dmy:
            value = f"{dmy[3]}-{dmy[2]}-{dmy[1]}" + (dmy[4] or "").replace(" ", "T")
        elif OLD_TIMESTAMP_RE.match(value):
            value = value.replace("/", "-").replace(" ", "T")
        if len(value) > 40:
            raise ValueError(value)
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise EdxmlError(
            _("${element} is not a valid timestamp: ${value}."),
            field=field,
            element=field,
            value=excerpt(value),
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM)
    return moment.astimezone(VIETNAM).isoformat()  # the wire carries local time, no zone


def whole_number(value: object, field: str, default: int = 0) -> int:
    """An integer element ("" → default); refuses anything else."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return value
    value = "" if value is None else str(value).strip()
    if not value:
        return default
    if not INT_RE.match(value):
        raise EdxmlError(
            _("${element} must be a whole number, not ${value}."),
            field=field,
            element=field,
            value=excerpt(value),
        )
    return int(value)


def as_text(value: object) -> str:
    """A dict value as the text of an element (None → "")."""
    return "" if value is None else str(value)


def _organ(data: Mapping[str, Any] | None) -> dict[str, str]:
    data = data or {}
    return {
        key: as_text(data.get(key)).strip() if key == "organ_id" else as_text(data.get(key))
        for _name, key in ORGAN_FIELDS
    }


def _staff(data: Mapping[str, Any] | None) -> dict[str, str]:
    data = data or {}
    return {key: as_text(data.get(key)) for _name, key in STAFF_FIELDS}


# --------------------------------------------------------------------------- checks


def _check_organ_id(value: str, field: str, required: bool = True) -> None:
    if not value:
        if required:
            raise required_error(field)
        return
    if not remote_code(value):
        raise EdxmlError(
            _("${element} is not a valid unit identifier code: ${value}."),
            field=field,
            element=field,
            value=excerpt(value),
        )


def _check_nonnegative(value: int, field: str) -> None:
    if value < 0:
        raise EdxmlError(_("${element} may not be negative."), field=field, element=field)


def _check_response_for(item: Mapping[str, str], base: str) -> None:
    _check_organ_id(item["organ_id"], base + "/OrganId")
    if not item["code"]:
        raise required_error(base + "/Code")
    if not FULL_CODE_RE.match(item["code"]):
        raise EdxmlError(
            _("${element} is not a valid document code (number/notation): ${value}."),
            field=base + "/Code",
            element=base + "/Code",
            value=excerpt(item["code"]),
        )
    if item["document_id"] and not DOCUMENT_ID_RE.match(item["document_id"]):
        raise EdxmlError(
            _("${element} is not a valid document identifier."),
            field=base + "/DocumentId",
            element=base + "/DocumentId",
        )


def check_document(meta: Meta) -> None:
    """The rules every document must meet, built or parsed (dates and ints already checked)."""
    mh = "MessageHeader"
    _check_organ_id(meta["from"]["organ_id"], mh + "/From/OrganId")
    if not meta["to"]:
        raise EdxmlError(_("A document needs at least one recipient (MessageHeader/To)."), field=mh + "/To")
    for recipient in meta["to"]:
        _check_organ_id(recipient["organ_id"], mh + "/To/OrganId")
    if not meta["document_id"]:
        raise required_error(mh + "/DocumentId")
    if not DOCUMENT_ID_RE.match(meta["document_id"]):
        raise EdxmlError(
            _("${element} is not a valid document identifier."),
            field=mh + "/DocumentId",
            element=mh + "/DocumentId",
        )
    if not meta["code_number"]:
        raise required_error(mh + "/Code/CodeNumber")
    if not CODE_NUMBER_RE.match(meta["code_number"]):
        raise EdxmlError(
            _("${element} is not a valid document number: ${value}."),
            field=mh + "/Code/CodeNumber",
            element=mh + "/Code/CodeNumber",
            value=excerpt(meta["code_number"]),
        )
    if not meta["code_notation"]:
        raise required_error(mh + "/Code/CodeNotation")
    if not CODE_NOTATION_RE.match(meta["code_notation"]):
        raise EdxmlError(
            _("${element} is not a valid notation: ${value}."),
            field=mh + "/Code/CodeNotation",
            element=mh + "/Code/CodeNotation",
            value=excerpt(meta["code_notation"]),
        )
    if not meta["subject"].strip():
        raise required_error(mh + "/Subject")
    if meta["priority"] not in PRIORITIES:
        raise EdxmlError(
            _("The priority must be between 0 and 4, not ${value}."),
            field=mh + "/OtherInfo/Priority",
            value=meta["priority"],
        )
    for key, name in (("promulgation_amount", "PromulgationAmount"), ("page_amount", "PageAmount")):
        _check_nonnegative(meta[key], mh + "/OtherInfo/" + name)
    _check_nonnegative(meta["steering_type"], mh + "/SteeringType")
    meta["response_for"] = [item for item in meta["response_for"] if any(item.values())]
    for item in meta["response_for"]:  # a reference to what this answers: checked when complete
        if item["organ_id"] and item["code"]:
            _check_response_for(item, mh + "/ResponseFor")
    for item in meta["trace"]:  # a hop the axis did not name is kept as it came
        if item["organ_id"] not in NO_CODE:
            _check_organ_id(item["organ_id"], "TraceHeaderList/TraceHeader/OrganId")
    bus = "TraceHeaderList/Bussiness"
    if meta["business_doc_type"] not in BUSINESS_DOC_TYPES:
        raise EdxmlError(
            _("Unknown BussinessDocType ${value} (0 new, 1 revoke, 2 update, 3 replace)."),
            field=bus + "/BussinessDocType",
            value=meta["business_doc_type"],
        )
    if meta["business_doc_type"] == 3 and not meta["replacement_info"] and not meta["business_document_id"]:
        raise EdxmlError(
            _("A replacement must name the documents it replaces (${element})."),
            field=bus + "/ReplacementInfoList",
            element=bus + "/ReplacementInfoList",
        )
    for receiver in meta["business_info"]["receivers"]:
        _check_organ_id(receiver["organ_id"], bus + "/BussinessDocumentInfo/ReceiverList/Receiver/OrganId")
    for item in meta["replacement_info"]:
        base = bus + "/ReplacementInfoList/ReplacementInfo"
        if not item["document_id"]:
            raise required_error(base + "/DocumentId")
        for organ_id in item["organ_id_list"]:
            _check_organ_id(organ_id, base + "/OrganIdList/OrganId")


def check_status(status: Meta) -> None:
    """The rules every status message must meet, built or parsed."""
    base = "MessageHeader"
    _check_response_for(status["response_for"], base + "/ResponseFor")
    _check_organ_id(status["from"]["organ_id"], base + "/From/OrganId")
    if not status["status_code"]:
        raise required_error(base + "/StatusCode")
    if status["status_code"] not in STATUS_CODES:
        raise EdxmlError(
            _("Unknown status code ${value} (known: ${known})."),
            field=base + "/StatusCode",
            value=excerpt(status["status_code"]),
            known=", ".join(STATUS_CODES),
        )


def check_attachment_name(name: str, field: str) -> None:
    """Refuse a file name that could escape a folder or is not a file name at all."""
    if not name or name in (".", "..") or len(name) > 255 or BAD_NAME_RE.search(name):
        raise EdxmlError(
            _("The attachment name ${name} is not allowed."), field=field, name=excerpt(name or "")
        )


def check_content_type(content_type: str, field: str) -> None:
    if not CONTENT_TYPE_RE.match(content_type):
        raise EdxmlError(
            _("${element} is not a valid content type: ${value}."),
            field=field,
            element=field,
            value=excerpt(content_type),
        )


# --------------------------------------------------------------------------- canonical forms


def canonical_document(meta: Mapping[str, Any]) -> Meta:
    """The full metadata dict from a caller's (possibly partial) one, checked for building.

    The hub stores exactly this at issue, so what is issued can always be exported.
    """
    mh = "MessageHeader"
    out = {
        "document_id": as_text(meta.get("document_id")).strip(),
        "from": _organ(meta.get("from")),
        "to": [_organ(item) for item in meta.get("to") or ()],
        "code_number": as_text(meta.get("code_number")).strip(),
        "code_notation": as_text(meta.get("code_notation")).strip(),
        "promulgation_place": as_text(meta.get("promulgation_place")),
        "promulgation_date": _iso_date(
            meta.get("promulgation_date"), mh + "/PromulgationInfo/PromulgationDate", required=True
        ),
        "doc_type": as_text(meta.get("doc_type")).strip(),
        "doc_type_name": as_text(meta.get("doc_type_name")),
        "type_detail": as_text(meta.get("type_detail")).strip(),
        "subject": as_text(meta.get("subject")),
        "content": as_text(meta.get("content")),
        "signer_competence": as_text(meta.get("signer_competence")),
        "signer_position": as_text(meta.get("signer_position")),
        "signer_name": as_text(meta.get("signer_name")),
        "due_date": _iso_date(meta.get("due_date"), mh + "/DueDate"),
        "to_places": [as_text(place) for place in meta.get("to_places") or ()],
        "priority": whole_number(meta.get("priority"), mh + "/OtherInfo/Priority"),
        "sphere_of_promulgation": as_text(meta.get("sphere_of_promulgation")),
        "typer_notation": as_text(meta.get("typer_notation")),
        "direction": as_text(meta.get("direction")).strip(),
        "promulgation_amount": whole_number(
            meta.get("promulgation_amount"), mh + "/OtherInfo/PromulgationAmount"
        ),
        "page_amount": whole_number(meta.get("page_amount"), mh + "/OtherInfo/PageAmount"),
        "appendixes": [as_text(item) for item in meta.get("appendixes") or ()],
        "steering_type": whole_number(meta.get("steering_type"), mh + "/SteeringType"),
        "response_for": [
            {
                "organ_id": as_text(item.get("organ_id")).strip(),
                "code": as_text(item.get("code")).strip(),
                "promulgation_date": _iso_date(
                    item.get("promulgation_date"), mh + "/ResponseFor/PromulgationDate"
                ),
                "document_id": as_text(item.get("document_id")).strip(),
            }
            for item in meta.get("response_for") or ()
        ],
        "business_doc_type": whole_number(
            meta.get("business_doc_type"), "TraceHeaderList/Bussiness/BussinessDocType"
        ),
        "business_reason": as_text(meta.get("business_reason")),
        "business_document_id": as_text(meta.get("business_document_id")).strip(),
        "paper": whole_number(meta.get("paper"), "TraceHeaderList/Bussiness/Paper"),
        "business_info": business_info(meta.get("business_info")),
        "staff_info": _staff(meta.get("staff_info")),
        "replacement_info": [
            {
                "document_id": as_text(item.get("document_id")).strip(),
                "organ_id_list": [as_text(code).strip() for code in item.get("organ_id_list") or ()],
            }
            for item in meta.get("replacement_info") or ()
        ],
        "trace": [
            {
                "organ_id": as_text(item.get("organ_id")).strip(),
                "timestamp": timestamp_to_iso(item.get("timestamp"), "TraceHeaderList/TraceHeader/Timestamp"),
            }
            for item in meta.get("trace") or ()
        ],
    }
    check_document(out)
    return out


def business_info(data: Mapping[str, Any] | None) -> Meta:
    """An update's ``BussinessDocumentInfo``: what changed, and the receivers it now goes to.

    ``document_info`` "1" when the information changed, ``document_receiver`` "1" when the
    receivers did; ``receivers`` the ReceiverList (``organ_id``, ``receiver_type``).
    """
    data = data or {}
    return {
        "document_info": as_text(data.get("document_info")).strip(),
        "document_receiver": as_text(data.get("document_receiver")).strip(),
        "receivers": [
            {
                "organ_id": as_text(item.get("organ_id")).strip(),
                "receiver_type": as_text(item.get("receiver_type")).strip(),
            }
            for item in data.get("receivers") or ()
        ],
    }


def canonical_status(status: Mapping[str, Any]) -> Meta:
    """The full status dict from a caller's (possibly partial) one, checked for building."""
    base = "MessageHeader"
    response = status.get("response_for") or {}
    out = {
        "response_for": {
            "organ_id": as_text(response.get("organ_id")).strip(),
            "code": as_text(response.get("code")).strip(),
            "promulgation_date": _iso_date(
                response.get("promulgation_date"), base + "/ResponseFor/PromulgationDate"
            ),
            "document_id": as_text(response.get("document_id")).strip(),
        },
        "from": _organ(status.get("from")),
        "status_code": as_text(status.get("status_code")).strip(),
        "description": as_text(status.get("description")),
        "timestamp": timestamp_to_iso(status.get("timestamp"), base + "/Timestamp"),
        "staff_info": _staff(status.get("staff_info")),
    }
    check_status(out)
    return out
