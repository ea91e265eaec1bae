"""The JSON shapes of /api/v1/documents: request bodies and answers, as OpenAPI schemas.

Kept apart from the operations (``api/documents.py``) so each reads on its own: this module
says what goes over the wire, that one what the hub does with it.
"""

from .. import doctypes
from ..edxml import STATUS_CODES
from ..resources.documents import DRAFT, ISSUED
from ..services import documents as ds, paper, workflow
from ..signing import BADGES
from .common import NULLABLE_STRING
from .openapi import add_schema

DOCUMENT_STATES = (DRAFT, "pending", "approved", ISSUED)
DELIVERY_STATES = ("",) + STATUS_CODES
DOC_TYPES = [t.code for t in doctypes.TYPES]
ACTION_NAMES = list(workflow.ACTIONS)


# -- schemas ---------------------------------------------------------------------------------
def _text(limit, description=""):
    return {"type": "string", "maxLength": limit, **({"description": description} if description else {})}


ORGAN_REF = {
    "type": "object",
    "properties": {
        "organ_id": _text(20),
        "code": _text(100, "The earlier document's number/notation."),
        "promulgation_date": {"type": "string", "format": "date"},
        "document_id": _text(100),
    },
    "additionalProperties": False,
}

ATTACHMENT_IN = {
    "type": "object",
    "properties": {
        "name": _text(255, "The file name; its extension must fit the content."),
        "content_type": _text(200, "Ignored: the type is judged from the content."),
        "description": _text(1000),
        "content_base64": {
            "type": "string",
            "contentEncoding": "base64",
            "description": "The file's bytes in standard base64 (line breaks allowed).",
        },
    },
    "required": ["name", "content_base64"],
    "additionalProperties": False,
}

_META_IN = {
    "doc_type": {"type": "string", "enum": DOC_TYPES, "description": "Type of document (core/doctypes.py)."},
    "subject": {"type": "string", "minLength": 1, "maxLength": ds.MAX_SUBJECT},
    "content": _text(ds.MAX_CONTENT, "Content summary."),
    "promulgation_place": _text(200),
    "signer_name": _text(50),  # Decree 30, annex VI (core/metadata.py)
    "signer_position": _text(100),
    "signer_competence": _text(200),
    "sphere_of_promulgation": _text(200),
    "priority": {
        "type": "integer",
        "minimum": 0,
        "maximum": 4,
        "description": "0 normal, 1 urgent, 2 very urgent, 3 express, 4 express on time.",
    },
    "steering_type": {"type": "integer", "minimum": 0, "maximum": 99},
    "promulgation_amount": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
    "page_amount": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
    "due_date": {"type": "string", "format": "date"},
    "to_places": {"type": "array", "items": _text(500), "maxItems": 100},
    "appendixes": {"type": "array", "items": _text(500), "maxItems": 100},
    "response_for": {
        "type": "array",
        "items": ORGAN_REF,
        "maxItems": 100,
        "description": "Earlier documents this one answers.",
    },
    "classification": {
        "type": "string",
        "enum": list(doctypes.CLASSIFICATIONS),
        "description": "Secret classifications are refused at issue (R11).",
    },
    "recipients": {"type": "array", "items": _text(20), "maxItems": 2000, "description": "Unit codes."},
    "groups": {
        "type": "array",
        "items": _text(60),
        "maxItems": 50,
        "description": f"Named groups ({', '.join(ds.GROUPS)}) or children:<unit code>.",
    },
    "persons": {
        "type": "array",
        "items": _text(64),
        "maxItems": 500,
        "description": "Logins (personal mailboxes).",
    },
    "business_doc_type": {
        "type": "integer",
        "enum": [0, 1, 2, 3],
        "description": "0 new, 1 revoke, 2 update, 3 replace an earlier document.",
    },
    "business_document_id": _text(100, "The earlier document (its id or edXML DocumentId) for 1-3."),
    "business_reason": _text(2000),
}

SEND_BODY = {
    "type": "object",
    "description": (
        "The document's metadata and recipients. As multipart/form-data: a `metadata` part "
        "with this object (without content) and one `file` part per attachment."
    ),
    "properties": {
        "unit": _text(20, "The sending unit's code; the caller's unit by default."),
        "draft": {"type": "boolean", "default": False, "description": "Only write the draft; do not issue."},
        **_META_IN,
        "attachments": {"type": "array", "items": ATTACHMENT_IN, "maxItems": 50},
    },
    "required": ["doc_type", "subject"],
    "additionalProperties": False,
}

SEND_MULTIPART = {
    "type": "object",
    "properties": {
        "metadata": {**SEND_BODY, "description": "The JSON object of application/json, as a JSON part."},
        "file": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "One part per attachment; its file name names the attachment.",
        },
    },
    "required": ["metadata"],
}

ACTION_BODY = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ACTION_NAMES},
        "reason": _text(2000, "Required to refuse, recall and refuse a recall."),
        "assignees": {
            "type": "array",
            "items": _text(64),
            "maxItems": 50,
            "description": "assign: logins of the unit's specialists: the first leads (chủ trì), "
            "the others co-operate (phối hợp).",
        },
        "informed": {
            "type": "array",
            "items": _text(64),
            "maxItems": 50,
            "description": "assign: logins told for information (để biết).",
        },
        "deadline": {"type": "string", "format": "date", "description": "assign: the processing deadline."},
        "note": _text(2000),
    },
    "required": ["action"],
    "additionalProperties": False,
}

PAPER_BODY = {
    "type": "object",
    "properties": {
        "unit": _text(20, "The receiving unit's code; the caller's unit by default."),
        "sender_code": _text(20, "The sender's unit code, when it is in the directory."),
        "sender_name": _text(300, "The sender's name, when it is not."),
        "notation": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "description": 'Number and notation written on the paper ("15/QĐ-UBND").',
        },
        "promulgation_date": {"type": "string", "format": "date"},
        "subject": _text(ds.MAX_SUBJECT),
        "scan": {
            "type": "object",
            "properties": {
                "name": _text(255),
                "content_base64": {"type": "string", "contentEncoding": "base64"},
            },
            "required": ["name", "content_base64"],
            "additionalProperties": False,
        },
    },
    "required": ["notation", "promulgation_date"],
    "additionalProperties": False,
}

UNIT_REF = add_schema(
    "UnitRef",
    {
        "type": "object",
        "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
        "required": ["code", "name"],
    },
)

HISTORY_ENTRY = {
    "type": "object",
    "properties": {
        "state": {"type": "string", "enum": list(DELIVERY_STATES)},
        "time": {"type": "string"},
        "actor": {"type": "string"},
        "on_behalf_of": NULLABLE_STRING,
        "reason": {"type": "string"},
        "note": {"type": "string"},
        "assignees": {"type": "array", "items": {"type": "string"}},
        "lead": {"type": "string"},
        "cooperating": {"type": "array", "items": {"type": "string"}},
        "informed": {"type": "array", "items": {"type": "string"}},
        "deadline": NULLABLE_STRING,
        "register": {"type": "string"},
    },
    "required": ["state", "time", "actor"],
}

SIGNATURE_REPORT = add_schema(
    "SignatureReport",
    {  # core/signing.py SignatureReport
        "type": "object",
        "properties": {
            "badge": {"type": "string", "enum": list(BADGES)},
            "format": {
                "type": "string",
                "description": "pades (a PDF attachment) or xmldsig (the edXML envelope).",
            },
            "target": {"type": "string", "description": "The attachment's name, or edxml for the envelope."},
            "signer": {"type": "string"},
            "issuer": {"type": "string"},
            "serial": {"type": "string"},
            "signed_at": {"type": "string"},
            "timestamped": {"type": "boolean"},
            "reason": {"type": "string", "description": "Why it is not valid (English)."},
        },
        "required": ["badge", "format", "target"],
    },
)

DELIVERY_SCHEMA = add_schema(
    "Delivery",
    {
        "type": "object",
        "description": "The document's journey at one recipient (edXML status codes).",
        "properties": {
            "key": {"type": "string", "description": "The unit code, or ~login for a personal mailbox."},
            "recipient": {"oneOf": [{"type": "null"}, UNIT_REF]},
            "recipient_login": NULLABLE_STRING,
            "personal": {"type": "boolean"},
            "state": {
                "type": "string",
                "enum": list(DELIVERY_STATES),
                "description": '"": queued for an adapter.',
            },
            "state_title": {"type": "string"},
            "arrived_at": NULLABLE_STRING,
            "due": NULLABLE_STRING,
            "overdue": {"type": "boolean"},
            "read_at": NULLABLE_STRING,
            "read_by": NULLABLE_STRING,
            "register_number": {"type": ["integer", "null"]},
            "register_year": {"type": ["integer", "null"]},
            "assignees": {"type": "array", "items": {"type": "string"}},
            "lead": NULLABLE_STRING,
            "cooperating": {"type": "array", "items": {"type": "string"}},
            "informed": {"type": "array", "items": {"type": "string"}},
            "completed_at": NULLABLE_STRING,
            "transport": {"type": "string"},
            "history": {"type": "array", "items": HISTORY_ENTRY},
            "signatures": {
                "type": "array",
                "items": SIGNATURE_REPORT,
                "description": "The signatures of the attachments, verified once when the delivery arrived.",
            },
            "signatures_checked_at": NULLABLE_STRING,
            "actions": {
                "type": "array",
                "items": {"type": "string", "enum": ACTION_NAMES},
                "description": "What the caller may do next.",
            },
            "actions_url": {"type": "string"},
        },
        "required": ["key", "personal", "state", "state_title", "overdue"],
    },
)

ATTACHMENT_OUT = add_schema(
    "Attachment",
    {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "content_type": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
            "description": {"type": "string"},
            "url": {"type": "string"},
        },
        "required": ["name", "content_type", "size", "sha256", "url"],
    },
)

_SUMMARY = {
    "id": {"type": "string"},
    "document_id": {"type": "string", "description": "edXML DocumentId."},
    "url": {"type": "string"},
    "notation": {"type": "string"},
    "subject": {"type": "string"},
    "doc_type": {"type": "string"},
    "doc_type_name": {"type": "string"},
    "state": {"type": "string", "enum": list(DOCUMENT_STATES)},
    "sender": UNIT_REF,
    "promulgation_date": {"type": "string"},
    "due_date": {"type": "string"},
    "priority": {"type": "integer"},
    "classification": {"type": "string"},
    "business_doc_type": {"type": "integer", "enum": [0, 1, 2, 3]},
    "created_at": {"type": "string"},
    "issued_at": NULLABLE_STRING,
    "attachment_count": {"type": "integer"},
    "delivery_states": {
        "type": "object",
        "additionalProperties": {"type": "integer"},
        "description": "For the sender: how many deliveries are in each state.",
    },
}
SUMMARY_REQUIRED = ["id", "document_id", "url", "notation", "subject", "state", "sender"]
DOCUMENT_SUMMARY = add_schema(
    "DocumentSummary", {"type": "object", "properties": _SUMMARY, "required": SUMMARY_REQUIRED}
)

DOCUMENT_SCHEMA = add_schema(
    "Document",
    {
        "type": "object",
        "description": (
            "A data message. The sender sees every delivery with its timeline; a recipient sees only its own."
        ),
        "properties": {
            **_SUMMARY,
            "role": {"type": "string", "enum": ["sender", "recipient"]},
            "meta": {"type": "object", "description": "The edXML MessageHeader fields."},
            "recipients": {"type": "array", "items": {"type": "string"}},
            "persons": {"type": "array", "items": {"type": "string"}},
            "created_by": {"type": "string"},
            "issued_by": NULLABLE_STRING,
            "issued_on_behalf_of": NULLABLE_STRING,
            "register_number": {"type": ["integer", "null"]},
            "register_year": {"type": ["integer", "null"]},
            "origin": {"type": "string"},
            "approval": {"type": "array", "items": {"type": "object"}},
            "attachments": {"type": "array", "items": ATTACHMENT_OUT},
            "links": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "document": {"type": "string"},
                        "business_doc_type": {"type": "integer"},
                        "notation": {"type": "string"},
                        "time": NULLABLE_STRING,
                        "url": {"type": "string"},
                    },
                },
            },
            "deliveries": {"type": "array", "items": DELIVERY_SCHEMA},
            "edxml_url": {"type": "string"},
        },
        "required": SUMMARY_REQUIRED + ["role", "meta", "attachments", "links", "deliveries"],
    },
)

PAPER_OUTCOME = add_schema(
    "PaperCheckOutcome",
    {
        "type": "object",
        "description": (
            "registered_electronic: the data message was in the mailbox and is now registered; "
            "already_registered: it was, and had been registered; registered_paper: the sender is not "
            "connected, the paper is registered; refused_connected: the sender is connected, the paper "
            "is refused, the sender told and an incident opened (R9.2)."
        ),
        "properties": {
            "outcome": {
                "type": "string",
                "enum": [
                    paper.FOUND_AND_REGISTERED,
                    paper.ALREADY_REGISTERED,
                    paper.PAPER_REGISTERED,
                    paper.REFUSED_CONNECTED,
                ],
            },
            "register_number": {"type": ["integer", "null"]},
            "register_year": {"type": ["integer", "null"]},
            "document": {"oneOf": [{"type": "null"}, DOCUMENT_SUMMARY]},
            "delivery": {"oneOf": [{"type": "null"}, DELIVERY_SCHEMA]},
            "scan": {"oneOf": [{"type": "null"}, {"type": "object"}]},
            "incident": NULLABLE_STRING,
            "notified": {"type": "array", "items": {"type": "string"}},
            "sender": {"oneOf": [{"type": "null"}, UNIT_REF]},
        },
        "required": ["outcome"],
    },
)

BINARY = {"type": "string", "format": "binary"}
XML_TEXT = {"type": "string", "description": "An edXML package (QCVN 102:2016)."}
