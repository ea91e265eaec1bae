"""/manage/edxml: the operator uploads an edXML package and sees what the hub reads in it.

System admins only (permission MANAGE on the site, like the other /manage screens). The
page is the CLI's ``lienthong edxml inspect`` in a browser: the service
(``services.edxml_inspect``) parses the package and stores nothing; the POST's
transaction is doomed besides, so a package looked at here can never leave a trace.
"""

from pyramid.view import view_config

from .. import permissions as sec
from ..factories import site_factory
from ..filetypes import human_size
from ..i18n import _, translate, translate_message
from ..services import edxml_inspect, workflow
from ..signing import BADGE_TITLES
from .base import page

#: the page's words for the report's keys (the report itself is language-neutral)
BUSINESS_TITLES = {
    "new": _("New document"),
    "revocation": _("Revocation"),
    "update": _("Update"),
    "replacement": _("Replacement"),
}
KIND_TITLES = {"document": _("Document package"), "status": _("Status message")}
VERDICT_TITLES = {
    "none": _("Not signed"),
    "unverifiable": _("Cannot be verified here"),
    **BADGE_TITLES,
}


def _form(request, **values):
    values.setdefault("report", None)
    values.setdefault("view", None)
    values.setdefault("filename", "")
    values.setdefault("max_size", human_size(request.env.edxml_max_bytes))
    return page(request, translate(request, _("Inspect an edXML package")), **values)


def _title(request, titles, key):
    title = titles.get(key)
    return request.localizer.translate(title) if title is not None else key


def _view(request, report):
    """What the template shows of ``report``, with the report's keys turned into the reader's words."""
    if not report["readable"]:
        return {}
    signature = report["signature"]
    view = {
        "kind": _title(request, KIND_TITLES, report["kind"]),
        "fields": edxml_inspect.field_rows(report),
        "verdict": _title(request, VERDICT_TITLES, signature["verdict"]),
    }
    if report.get("business"):
        view["business"] = _title(request, BUSINESS_TITLES, report["business"]["label"])
    if report["kind"] == "status":
        view["status"] = _title(request, workflow.STATE_TITLES, report.get("status_code", ""))
    return view


@view_config(
    route_name="manage_edxml", renderer="manage_edxml.pt", permission=sec.MANAGE, request_method="GET"
)
def inspect_form(request):
    return _form(request)


@view_config(
    route_name="manage_edxml", renderer="manage_edxml.pt", permission=sec.MANAGE, request_method="POST"
)
def inspect_upload(request):
    request.tm.doom()  # an inspection stores nothing, whatever happens below
    upload = request.POST.get("package")
    stream = getattr(upload, "file", None)
    filename = (getattr(upload, "filename", "") or "")[:200]
    if stream is None or not _has_bytes(stream):
        request.response.status = 400
        message = translate(request, _("Choose an edXML file (.xml or .edxml) to inspect."))
        return _form(request, errors={"package": message}, filename=filename)
    report = edxml_inspect.inspect(
        request.site,
        request.env,
        stream,
        translate=lambda message: translate_message(request.localizer, message),
    )
    if not report["readable"]:
        request.response.status = 413 if report.get("field") == "body" else 400
    return _form(request, report=report, view=_view(request, report), filename=filename)


def _has_bytes(stream):
    """Whether the uploaded file holds anything (browsers send an empty part when none is chosen)."""
    stream.seek(0)
    empty = stream.read(1) == b""
    stream.seek(0)
    return not empty


def includeme(config):
    config.add_route("manage_edxml", "/manage/edxml", factory=site_factory)
