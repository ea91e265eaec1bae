"""/audit: the audit log for auditors and the system administrator, newest first.

Reading the log is itself put on the record (who looked, with which filter).
"""

from urllib.parse import urlencode

from pyramid.view import view_config

from .. import permissions as sec
from ..i18n import _, translate
from ..resources.audit import AuditLog
from ..services import audit
from .base import local_time, page

PAGE_SIZE = 50

#: Break.kind -> what the page says
BREAK_REASONS = {
    "missing": _("entry ${seq} is missing or out of order"),
    "not_linked": _("entry ${seq} does not follow the entry before it"),
    "changed": _("entry ${seq} was changed after it was written"),
    "chunk": _("a sealed chunk does not start with entry ${seq}"),
    "missing_end": _("entries from ${seq} on are missing"),
    "head": _("the last entry is not the recorded head of the chain"),
}


def matching(log, actor, action):
    """Entries newest first whose actor is ``actor`` (exact) and action starts with ``action``."""
    for entry in log.iter_entries(reverse=True):
        if actor and entry["actor"] != actor and entry["on_behalf_of"] != actor:
            continue
        if action and not entry["action"].startswith(action):
            continue
        yield entry


@view_config(context=AuditLog, renderer="audit.pt", permission=sec.VIEW_AUDIT, request_method="GET")
def audit_log(request):
    log = request.context
    actor = request.params.get("actor", "").strip()
    action = request.params.get("action", "").strip()
    try:
        page_number = max(1, int(request.params.get("page", "1")))
    except ValueError:
        page_number = 1
    skip = (page_number - 1) * PAGE_SIZE
    entries, more = [], False
    for index, entry in enumerate(matching(log, actor, action)):
        if index < skip:
            continue
        if len(entries) == PAGE_SIZE:
            more = True
            break
        entry["when"] = local_time(request, entry["time"])
        entries.append(entry)
    total = len(log)  # before this view's own entry
    verified = chain_ok = None
    if request.params.get("verify"):
        broken = log.verify()
        chain_ok = broken is None
        verified = (
            translate(request, _("The chain is intact: ${count} entries."), count=total)
            if broken is None
            else translate(
                request,
                _("The chain is broken at entry ${seq}: ${reason}"),
                seq=broken.seq,
                reason=translate(request, BREAK_REASONS[broken.kind], seq=broken.seq),
            )
        )
    audit.record(
        request.site,
        request.actor,
        "audit.view",
        "/audit",
        filter_actor=actor or None,
        filter_action=action or None,
        page=page_number,
        verify=bool(verified),
    )

    def page_url(number):
        return (
            request.application_url
            + "/audit?"
            + urlencode({"actor": actor, "action": action, "page": number})
        )

    return page(
        request,
        translate(request, _("Audit log")),
        entries=entries,
        actor=actor,
        action=action,
        newer_url=page_url(page_number - 1) if page_number > 1 else None,
        older_url=page_url(page_number + 1) if more else None,
        verified=verified,
        chain_ok=chain_ok,
        total=total,
    )
