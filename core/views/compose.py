"""The compose and edit pages of a draft: the form, its choices, and what saving it does.

Compose is a view on the unit's Mailbox, edit a view on the draft Document, so their ACLs
decide who may write (``DRAFT``). The form is read into the service's ``data``
(``data_of``) and saved by ``services.documents.compose``/``update_draft``; a refused save
re-shows the form with the message beside its field and commits nothing. Saving may also
submit the draft for approval or issue it, as the button pressed says (``_after_save``).
"""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from .. import doctypes, permissions as sec
from ..errors import NotFound, ServiceError
from ..i18n import _, translate
from ..resources.documents import Document
from ..resources.mailbox import Mailbox
from ..resources.registers import OUTGOING
from ..services import directory as directory_service, documents as ds
from .base import field_errors, page
from .labels import BUSINESS_TITLES, PRIORITY_TITLES, STEERING_TITLES
from .mailboxes import document_url
from .registers import flash_duplicates

TEXT_FIELDS = (
    "doc_type",
    "subject",
    "content",
    "signer_name",
    "signer_position",
    "signer_competence",
    "promulgation_place",
    "priority",
    "due_date",
    "steering_type",
    "to_places",
    "classification",
    "persons",
    "response_for",
    "business_doc_type",
    "business_document_id",
    "business_reason",
)


# -- the compose form -----------------------------------------------------------------------
def empty_form():
    form = {name: "" for name in TEXT_FIELDS}
    form.update(priority="0", steering_type="0", business_doc_type="0", recipients=[], groups=[])
    return form


def form_of_document(document):
    """A draft's values for the edit form."""
    meta = document.meta
    form = empty_form()
    for name in (
        "doc_type",
        "subject",
        "content",
        "signer_name",
        "signer_position",
        "signer_competence",
        "promulgation_place",
        "due_date",
        "business_document_id",
        "business_reason",
    ):
        form[name] = str(meta.get(name) or "")
    for name in ("priority", "steering_type", "business_doc_type"):
        form[name] = str(meta.get(name) or 0)
    form["to_places"] = "\n".join(meta.get("to_places") or ())
    form["classification"] = document.classification
    form["recipients"] = list(document.recipients)
    form["persons"] = ", ".join(document.persons)
    form["response_for"] = ", ".join(r.get("document_id", "") for r in meta.get("response_for") or ())
    return form


def posted_form(request):
    post = request.POST
    form = {name: (post.get(name) or "").strip() for name in TEXT_FIELDS}
    form["recipients"] = [c for c in post.getall("recipients") if c]
    form["groups"] = [g for g in post.getall("groups") if g]
    form["recipient_query"] = (post.get("recipient_query") or "").strip()[:200]
    return form


def _split(text):
    return [
        part.strip() for part in (text or "").replace(";", ",").replace("\n", ",").split(",") if part.strip()
    ]


def data_of(request, site, form):
    """The service's ``data`` from the posted form; raise ``ServiceError`` on a bad reference."""
    # the text fields as typed; persons and answered documents are references, read below
    data = {name: form[name] for name in TEXT_FIELDS if name not in ("persons", "response_for")}
    data["recipients"] = form["recipients"]
    data["groups"] = form["groups"]
    data["persons"] = [p.lower() for p in _split(form["persons"])]
    response_for = []
    for ref in _split(form["response_for"]):
        try:
            earlier = ds.get_document(site, ref)
        except NotFound:
            earlier = None
        if earlier is None or not request.has_permission(sec.READ_MAILBOX, earlier):
            raise ServiceError(_("No document ${id}."), field="response_for", id=ref[:60])
        response_for.append(
            {
                "organ_id": earlier.sender_code,
                "code": earlier.notation,
                "promulgation_date": earlier.meta.get("promulgation_date", ""),
                "document_id": earlier.document_id,
            }
        )
    data["response_for"] = response_for
    return data


def uploads(request):
    """``[(name, file, description)]`` of the files chosen in the form (empty inputs skipped)."""
    found = []
    for item in request.POST.getall("attachments"):
        if hasattr(item, "file") and getattr(item, "filename", ""):
            found.append((item.filename, item.file, ""))
    return found


def compose_page(request, unit, form, errors=None, document=None):
    site = request.site
    units, matching = directory_service.picker_units(
        site, form.get("recipient_query", ""), chosen=form.get("recipients") or (), exclude=(unit.code,)
    )
    groups = [{"value": key, "title": translate(request, title)} for key, (_kind, title) in ds.GROUPS.items()]
    groups.append(
        {
            "value": f"children:{unit.code}",
            "title": translate(request, _("All sub-units of ${unit}"), unit=unit.short_name),
        }
    )
    business = (
        int(form.get("business_doc_type") or 0) if str(form.get("business_doc_type") or "0").isdigit() else 0
    )
    original = None
    if form.get("business_document_id"):
        try:
            original = ds.get_document(site, form["business_document_id"])
        except NotFound:
            original = None
    title = (
        translate(request, _("Edit the draft"))
        if document is not None
        else translate(request, BUSINESS_TITLES.get(business, BUSINESS_TITLES[0]))
        if business
        else translate(request, _("Compose a document"))
    )
    action = (
        f"{document_url(request, document)}/edit"
        if document is not None
        else f"{request.application_url}/directory/{unit.code}/mailbox/compose"
    )
    return page(
        request,
        title,
        unit=unit,
        form=form,
        errors=errors or {},
        document=document,
        action_url=action,
        types=doctypes.TYPES,
        units=units,
        units_matching=matching,
        units_more=matching > directory_service.PICKER_LIMIT,
        picker_limit=directory_service.PICKER_LIMIT,
        recipient_query=form.get("recipient_query", ""),
        groups=groups,
        classifications=doctypes.CLASSIFICATIONS,
        priorities={k: translate(request, v) for k, v in PRIORITY_TITLES.items()},
        steering={k: translate(request, v) for k, v in STEERING_TITLES.items()},
        approval=bool(unit.policy("approval")),
        business=business,
        original=original,
        business_title=translate(request, BUSINESS_TITLES.get(business, BUSINESS_TITLES[0])),
        attachments=list(document.attachments.values()) if document is not None else [],
    )


def _prefill(request, unit):
    """A new form, pre-filled for an update/replacement or an answer to an earlier document."""
    site = request.site
    form = empty_form()
    params = request.params
    kind = params.get("business_doc_type", "")
    if kind in ("1", "2", "3") and params.get("business_document_id"):
        try:
            original = ds.get_document(site, params["business_document_id"])
        except NotFound:
            original = None
        if (
            original is not None
            and request.has_permission(sec.READ_MAILBOX, original)
            and original.sender_code == unit.code
            and original.is_issued()
        ):
            form.update(form_of_document(original))
            form.update(business_doc_type=kind, business_document_id=original.document_id, business_reason="")
    if params.get("response_for"):
        try:
            earlier = ds.get_document(site, params["response_for"])
        except NotFound:
            earlier = None
        if earlier is not None and request.has_permission(sec.READ_MAILBOX, earlier):
            form["response_for"] = earlier.id
            form["recipients"] = [earlier.sender_code] if earlier.sender_code != unit.code else []
    return form


@view_config(
    context=Mailbox, name="compose", renderer="compose.pt", permission=sec.DRAFT, request_method="GET"
)
def compose_form(request):
    unit = request.context.__parent__
    return compose_page(request, unit, _prefill(request, unit))


def _after_save(request, document, do):
    """Submit or issue the saved draft as the button asked; return the flash message."""
    site, env, actor = request.site, request.env, request.actor
    if do == "submit":
        ds.submit(site, env, actor, document)
        return translate(request, _("The draft was sent to the leaders for approval."))
    if do == "issue":
        if not ds.may_issue(document, request.has_permission):
            return translate(
                request,
                _(
                    "The draft was saved. You may not issue documents of this unit: "
                    "whoever may will find it in the drafts."
                ),
            )
        ds.issue(site, env, actor, document)
        return translate(request, _("Document ${notation} was issued and sent."), notation=document.notation)
    return translate(request, _("The draft was saved."))


@view_config(
    context=Mailbox,
    name="compose",
    renderer="compose.pt",
    permission=sec.DRAFT,
    request_method="POST",
    text_checked=True,  # ds.compose refuses what XML cannot carry, naming the field of the form
)
def compose_post(request):
    unit = request.context.__parent__
    site = request.site
    form = posted_form(request)
    do = request.POST.get("do", "save")
    if do == "find":  # the recipient picker's search: the form again, nothing saved
        return compose_page(request, unit, form)
    try:
        document = ds.compose(
            site, request.env, request.actor, unit, data_of(request, site, form), uploads(request)
        )
        message = _after_save(request, document, do)
    except ServiceError as exc:
        request.response.status = exc.status
        return compose_page(request, unit, form, field_errors(request, exc))
    request.session.flash(message)
    if document.is_issued():
        flash_duplicates(
            request, document.sender_code, OUTGOING, document.register_year, document.register_number
        )
    return HTTPSeeOther(document_url(request, document))


@view_config(context=Document, name="edit", renderer="compose.pt", permission=sec.DRAFT, request_method="GET")
def edit_form(request):
    document = request.context
    ds.require_editable(document)  # the edit form of an issued document answers 409 too
    unit = request.site["directory"][document.sender_code]
    return compose_page(request, unit, form_of_document(document), document=document)


@view_config(
    context=Document,
    name="edit",
    renderer="compose.pt",
    permission=sec.DRAFT,
    request_method="POST",
    text_checked=True,  # ds.update_draft refuses it, naming the field
)
def edit_post(request):
    document = request.context
    ds.require_editable(document)
    site = request.site
    unit = site["directory"][document.sender_code]
    form = posted_form(request)
    do = request.POST.get("do", "save")
    if do == "find":
        return compose_page(request, unit, form, document=document)
    try:
        ds.update_draft(
            site,
            request.env,
            request.actor,
            document,
            data_of(request, site, form),
            uploads(request),
            remove=request.POST.getall("remove"),
        )
        message = _after_save(request, document, do)
    except ServiceError as exc:
        request.response.status = exc.status
        return compose_page(request, unit, form, field_errors(request, exc), document=document)
    request.session.flash(message)
    if document.is_issued():
        flash_duplicates(
            request, document.sender_code, OUTGOING, document.register_year, document.register_number
        )
    return HTTPSeeOther(document_url(request, document))
