"""Directory import and export (R10.3): /manage/directory/export.csv|json, /manage/directory/import,
and the public address book's /directory/export.csv (active units, public fields only).

The rules live in ``services.directory_io``; these views read the upload, call it and show
its report. A rejected file shows every bad row and stores nothing.
"""

from datetime import date

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from .. import permissions as sec
from ..db import get_database
from ..errors import ServiceError
from ..factories import site_factory
from ..i18n import _, translate
from ..plugins import transport_adapters
from ..services import audit, directory_io
from .base import page, refused

MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}
SHOWN_ERRORS = 500  # a table longer than this helps nobody; the count says how many there are


def _download(request, text, fmt, name):
    response = Response(body=text.encode("utf-8"), content_type=MEDIA_TYPES[fmt], charset="utf-8")
    response.content_disposition = f'attachment; filename="{name}-{date.today().isoformat()}.{fmt}"'
    response.cache_control = "no-store"
    return response


@view_config(route_name="directory_export_csv", permission=sec.MANAGE, request_method="GET")
@view_config(route_name="directory_export_json", permission=sec.MANAGE, request_method="GET")
def export_directory(request):
    fmt = "json" if request.matched_route.name.endswith("json") else "csv"
    site = request.site
    text = directory_io.export(site, fmt, adapters=transport_adapters(request.registry))
    audit.record(
        site, request.actor, "directory.export", "/directory", format=fmt, units=len(site["directory"])
    )
    return _download(request, text, fmt, "directory")


@view_config(route_name="public_directory_export", permission=NO_PERMISSION_REQUIRED, request_method="GET")
def public_export(request):
    """The address book as CSV: active units and their public fields, for anyone."""
    return _download(request, directory_io.export(request.site, "csv", public=True), "csv", "address-book")


def _form(request, **values):
    values.setdefault("fmt", "csv")
    values.setdefault("row_errors", [])
    values.setdefault("more_errors", 0)
    values.setdefault("report", None)
    values.setdefault("error", None)
    values.setdefault("max_bytes", directory_io.max_bytes_of(request.registry.settings))
    return page(request, translate(request, _("Import the directory")), **values)


@view_config(
    route_name="directory_import", renderer="manage_import.pt", permission=sec.MANAGE, request_method="GET"
)
def import_form(request):
    return _form(request)


def _upload(request):
    """(bytes, file name) of the uploaded file, or (None, "")."""
    upload = request.POST.get("file")
    if upload is None or not hasattr(upload, "file"):
        return None, ""
    return upload.file.read(), upload.filename or ""


@view_config(
    route_name="directory_import", renderer="manage_import.pt", permission=sec.MANAGE, request_method="POST"
)
def import_post(request):
    fmt = (request.POST.get("format") or "").strip().lower()
    data, filename = _upload(request)
    if fmt not in directory_io.FORMATS:
        fmt = "json" if filename.lower().endswith(".json") else "csv"
    if not data:
        request.response.status = 400
        return _form(
            request,
            fmt=fmt,
            error=translate(request, _("Choose a CSV or JSON file to import.")),
            errors={"file": translate(request, _("Choose a CSV or JSON file to import."))},
        )
    site = request.site
    actor = request.actor
    try:
        report = directory_io.import_(
            site,
            actor,
            data,
            fmt,
            known_adapters=transport_adapters(request.registry),
            max_bytes=directory_io.max_bytes_of(request.registry.settings),
        )
    except directory_io.ImportRejected as exc:
        message = refused(request, exc)  # nothing of the import is committed
        audit.record_in_own_transaction(
            get_database(request.registry),
            actor,
            "directory.import_rejected",
            "/directory",
            format=fmt,
            errors=len(exc.errors),
            file=filename[:200],
        )
        request.response.status = 400
        rows = [
            {"row": e["row"], "field": e["field"] or "", "message": request.localizer.translate(e["message"])}
            for e in exc.errors[:SHOWN_ERRORS]
        ]
        return _form(
            request,
            fmt=fmt,
            error=message,
            row_errors=rows,
            more_errors=max(0, len(exc.errors) - SHOWN_ERRORS),
        )
    except ServiceError as exc:
        request.response.status = exc.status
        return _form(request, fmt=fmt, error=refused(request, exc))
    return _form(request, fmt=fmt, report=report.counts())


def includeme(config):
    config.add_route("directory_export_csv", "/manage/directory/export.csv", factory=site_factory)
    config.add_route("directory_export_json", "/manage/directory/export.json", factory=site_factory)
    config.add_route("directory_import", "/manage/directory/import", factory=site_factory)
    config.add_route("public_directory_export", "/directory/export.csv", factory=site_factory)
