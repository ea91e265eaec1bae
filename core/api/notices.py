"""/api/v1/me/notices (issue 17): the caller's notices, paged, and marking one read or unread.

People only: the routes' context is the caller's own ``User`` (``self_factory``), whose ACL
grants ``EDIT_SELF`` to its holder alone; a unit's token gets the site, which grants it
nothing (403). A notice's ``text`` is translated in the caller's language (``?lang=en``;
Vietnamese by default); ``message`` and ``mapping`` are the stored msgid and values, for a client that renders its
own. An unknown notice is a 404 problem.
"""

from .. import permissions as sec
from ..errors import NotFound
from ..factories import self_factory
from ..i18n import _
from ..services import notices
from .common import PAGING
from .openapi import Operation, Param, add_api_route, add_schema

TAGS = ("notices",)

NOTICE = add_schema(
    "Notice",
    {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "description": "The notice's key (newest the highest)."},
            "kind": {
                "type": "string",
                "description": "What it is about: " + ", ".join([*notices.KINDS, notices.ALERT]),
            },
            "text": {"type": "string", "description": "The notice in the caller's language."},
            "message": {"type": "string", "description": "The stored msgid (English, with ${placeholders})."},
            "mapping": {"type": "object", "description": "The placeholders' values."},
            "link": {
                "type": "string",
                "description": "Path of the document (or page) it is about; may be empty.",
            },
            "url": {
                "type": ["string", "null"],
                "description": "The same as an absolute URL (null without a link).",
            },
            "time": {"type": "string", "description": "When it was made (ISO 8601, UTC)."},
            "read": {"type": "boolean"},
        },
        "required": ["id", "kind", "text", "link", "time", "read"],
    },
)
NOTICE_PAGE = add_schema(
    "NoticePage",
    {
        "type": "object",
        "properties": {
            "total": {"type": "integer"},
            "unread": {
                "type": "integer",
                "description": "Unread notices of the caller, whatever the filter.",
            },
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "items": {"type": "array", "items": NOTICE},
        },
        "required": ["total", "unread", "limit", "offset", "items"],
    },
)
LIST_QUERY = (*PAGING, Param("unread", {"type": "boolean", "default": False}, "true: only unread notices."))
READ_BODY = {
    "type": "object",
    "properties": {
        "read": {"type": "boolean", "default": True, "description": "false: mark it unread again."}
    },
    "additionalProperties": False,
}


def notice_json(request, key, notice):
    return {
        "id": key,
        "kind": notice.kind or "",
        "text": notices.text_of(request.localizer, notice),
        "message": notice.message,
        "mapping": {
            k: v if isinstance(v, (int, float, bool)) or v is None else str(v)
            for k, v in notice.mapping.items()
        },
        "link": notice.link or "",
        "url": request.application_url + notice.link if notice.link else None,
        "time": notice.time,
        "read": bool(notice.read),
    }


def list_notices(request, body, query):
    user = request.context
    total, rows = notices.listing(
        user,
        unread_only=bool(query.get("unread")),
        offset=query.get("offset", 0),
        limit=query.get("limit", 50),
    )
    return {
        "total": total,
        "unread": user.unread_notices(),
        "limit": query.get("limit", 50),
        "offset": query.get("offset", 0),
        "items": [notice_json(request, key, notice) for key, notice in rows],
    }


def mark(request, body, query):
    user = request.context
    wanted = (body or {}).get("read", True)
    key = request.matchdict["notice_id"]
    if not notices.mark_read(user, key, read=bool(wanted)):
        raise NotFound(_("There is no notice ${id}."), field="notice_id", id=key[:40])
    return notice_json(request, int(key), user.notices[int(key)])


def mark_all(request, body, query):
    return {"changed": notices.mark_all_read(request.context), "unread": request.context.unread_notices()}


def includeme(config):
    add_api_route(
        config,
        "api.me.notices",
        "/me/notices",
        [
            Operation(
                "GET",
                list_notices,
                sec.EDIT_SELF,
                "The caller's notices, newest first (people only).",
                query=LIST_QUERY,
                tags=TAGS,
                errors=(400, 403),
                responses={200: ("A page of notices.", NOTICE_PAGE)},
            ),
        ],
        factory=self_factory,
    )
    add_api_route(
        config,
        "api.me.notices.read_all",
        "/me/notices/read",
        [
            Operation(
                "POST",
                mark_all,
                sec.EDIT_SELF,
                "Mark every notice of the caller read.",
                tags=TAGS,
                errors=(403,),
                responses={
                    200: (
                        "How many changed.",
                        {
                            "type": "object",
                            "properties": {"changed": {"type": "integer"}, "unread": {"type": "integer"}},
                            "required": ["changed", "unread"],
                        },
                    )
                },
            ),
        ],
        factory=self_factory,
    )
    add_api_route(
        config,
        "api.me.notice.read",
        "/me/notices/{notice_id}/read",
        [
            Operation(
                "POST",
                mark,
                sec.EDIT_SELF,
                'Mark one notice read (or, with {"read": false}, unread again).',
                body=READ_BODY,
                body_required=False,
                tags=TAGS,
                errors=(400, 403, 404),
                responses={200: ("The notice as it is now.", NOTICE)},
            ),
        ],
        factory=self_factory,
    )
