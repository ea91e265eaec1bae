"""/manage/units: the operator's list of units, and each unit's management screen.

- ``/manage/units`` (context: the site, permission MANAGE): list, search, new unit.
- ``/manage/units/{code}`` and its actions (context: the unit, so its ACL decides):
  the unit's admin (MANAGE_UNIT) edits contact fields and policies and handles the
  unit's API tokens and system credentials; only MANAGE holders (the system admin) change the structure
  (kind, parent), the eOffice product and adapter, the connection state, and
  reorganize (rename, merge, split, dissolve).

Forms post back; a refused request re-shows the form with the message next to the
field (nothing is stored), a success redirects with a flash message.
"""

from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from .. import permissions as sec
from ..errors import ServiceError
from ..factories import site_factory, unit_factory
from ..i18n import _, translate
from ..plugins import transport_adapters
from ..resources import directory as d
from ..services import credentials, directory as directory_service, tokens
from .base import field_errors, hub_units, local_time, page
from .directory import KIND_TITLES, STATE_TITLES, STATUS_TITLES, day, titles
from .home import ROLE_TITLES

PAGE_SIZE = 50

#: fields of the "new unit" form: every field a unit has
NEW_FIELDS = directory_service.FIELDS
#: what a unit's admin may change on their unit
UNIT_ADMIN_FIELDS = ("email", "phone", "address")
#: what only the operator changes: the unit's place in the hierarchy and its eOffice binding
OPERATOR_FIELDS = ("kind", "parent_code", "eoffice_product", "adapter", "adapter_settings")
POLICY_FIELDS = directory_service.POLICY_FIELDS

#: form name -> the fields it shows (an error on another field is shown at the form's head)
FORM_FIELDS = {
    "new": NEW_FIELDS,
    "edit": UNIT_ADMIN_FIELDS + OPERATOR_FIELDS + POLICY_FIELDS,
    "connection": ("connection_state", "date", "note"),
    "rename": ("name", "short_name"),
    "merge": ("codes",),
    "split": ("successors",),
    "dissolve": ("successor",),
    "token": ("label",),
    "credential": ("credential_label",),
}


#: the state a unit usually moves to next on the R11 roadmap (the form's preselected choice)
NEXT_STATE = {d.NOT_CONNECTED: d.PILOT, d.PILOT: d.OFFICIAL, d.OFFICIAL: d.NOT_CONNECTED}


def known_adapters(request):
    """The transport adapters the enabled plugins offer, by name (their declared settings are checked)."""
    return transport_adapters(request.registry)


def adapter_forms(request, unit, submitted):
    """Per adapter that declares settings: its fields for the unit's form (secrets never shown back)."""
    forms = []
    for name, adapter in sorted(known_adapters(request).items()):
        fields = []
        for setting in getattr(adapter, "settings", ()) or ():
            key = f"setting.{name}.{setting.name}"
            stored = (unit.adapter_settings or {}).get(setting.name, "") if unit.adapter == name else ""
            value = submitted.get(key, stored) if submitted else stored
            fields.append(
                {
                    "name": setting.name,
                    "key": key,
                    "title": translate(request, setting.title),
                    "required": setting.required,
                    "secret": setting.secret,
                    "value": "" if setting.secret else value,
                    "placeholder": (
                        translate(request, _("(unchanged)")) if setting.secret and stored else setting.default
                    ),
                }
            )
        if fields:
            title = getattr(adapter, "title", "") or name
            forms.append({"name": name, "title": translate(request, title), "fields": fields})
    return forms


def posted_adapter_settings(post, adapter):
    """The chosen adapter's fields as settings; an empty secret field keeps the stored secret."""
    values = {}
    for setting in adapter.settings:
        value = post.get(f"setting.{adapter.name}.{setting.name}", "").strip()
        if setting.secret and not value:
            value = directory_service.MASK
        values[setting.name] = value
    return values


def can_manage(request):
    """May the user change what only the operator changes on the context unit?"""
    return bool(request.has_permission(sec.MANAGE, request.context))


def form_errors(request, exc, form):
    """``field_errors`` with fields the form does not show moved to the form's head (``_form``)."""
    errors = field_errors(request, exc)
    request.response.status = exc.status
    field = next(iter(errors))
    if field not in FORM_FIELDS.get(form, ()):
        errors = {"_form": errors[field]}
    return errors


def flash(request, message, **mapping):
    request.session.flash(translate(request, message, **mapping))


def unit_url(request, unit, *parts):
    return "/".join([request.application_url, "manage", "units", unit.code, *parts])


def _page_number(value):
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


# -- the list -------------------------------------------------------------------------------
def _units_page(request, errors=None, form=None):
    site = request.site
    query = request.GET.get("q", "").strip()[:200]
    include_inactive = request.GET.get("include_inactive") == "1"
    number = _page_number(request.GET.get("page"))
    total, units = directory_service.find(
        site, query, include_inactive=include_inactive, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    last = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    if number > last:
        number = last
        total, units = directory_service.find(
            site, query, include_inactive=include_inactive, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )

    def page_url(n):
        values = {"q": query, "page": n}
        if include_inactive:
            values["include_inactive"] = "1"
        return request.application_url + "/manage/units?" + urlencode(values)

    return page(
        request,
        translate(request, _("Units")),
        units=units,
        total=total,
        query=query,
        include_inactive=include_inactive,
        newer_url=page_url(number - 1) if number > 1 else None,
        older_url=page_url(number + 1) if number < last else None,
        overdue={u.code for u in directory_service.pilot_overdue(site, request.env.today())},
        form=form or {"kind": "agency"},
        errors=errors or {},
        parents=hub_units(request),
        adapters=sorted(known_adapters(request)),
        kinds=d.KINDS,
        kind_titles=titles(request, KIND_TITLES),
        state_titles=titles(request, STATE_TITLES),
        status_titles=titles(request, STATUS_TITLES),
    )


@view_config(
    route_name="manage_units", renderer="manage_units.pt", permission=sec.MANAGE, request_method="GET"
)
def units_list(request):
    return _units_page(request)


@view_config(
    route_name="manage_units", renderer="manage_units.pt", permission=sec.MANAGE, request_method="POST"
)
def unit_create(request):
    site = request.site
    data = {name: request.POST.get(name, "") for name in NEW_FIELDS}
    try:
        unit = directory_service.add_unit(site, request.actor, data, known_adapters=known_adapters(request))
    except ServiceError as exc:
        return _units_page(request, errors=form_errors(request, exc, "new"), form=data)
    flash(request, _("Unit ${code} (${name}) was added."), code=unit.code, name=unit.name)
    return HTTPSeeOther(unit_url(request, unit))


# -- one unit -------------------------------------------------------------------------------
def unit_form(unit, adapters=None):
    """The edit form's values from the stored unit; an adapter in ``adapters`` that declares its
    settings has fields of its own (``adapter_forms``), the others take free ``name=value`` lines."""
    values = {name: getattr(unit, name, "") or "" for name in UNIT_ADMIN_FIELDS + OPERATOR_FIELDS}
    own_fields = getattr((adapters or {}).get(unit.adapter or ""), "settings", ())
    free = {} if own_fields else dict(unit.adapter_settings or {})
    values["adapter_settings"] = "\n".join(f"{k}={v}" for k, v in sorted(free.items()))
    values["deadline_days"] = unit.policy("deadline_days")
    values["must_sign"] = bool(unit.policy("must_sign"))
    values["approval"] = bool(unit.policy("approval"))
    values["issuers"] = tuple(unit.policy("issuers") or ())
    return values


def unit_users(site, unit):
    """The users of ``unit`` with the roles they hold on it."""
    rows = []
    for user in site["users"].values():
        if user.unit_code != unit.code and unit.code not in user.extra_units:
            continue
        roles = unit.local_roles_of(sec.user_principal(user.login))
        rows.append({"user": user, "roles": roles})
    return sorted(rows, key=lambda r: r["user"].login)


def _unit_page(request, posted=None, errors=None, values=None, status=None):
    """The management screen of the context unit; ``posted`` names the form being re-shown."""
    site = request.site
    unit = request.context
    operator = can_manage(request)
    form = unit_form(unit, known_adapters(request))
    if posted == "edit" and values:
        form.update(values)
    others = hub_units(request, exclude=(unit.code,))
    end = directory_service.pilot_end(unit)
    history = [dict(h) for h in (unit.connection_history or ())][::-1]
    token_rows = [
        {
            "token": t,
            "created": local_time(request, t.created),
            "last_used": local_time(request, t.last_used) if t.last_used else "",
            "revoked": local_time(request, t.revoked) if t.revoked else "",
        }
        for t in tokens.of_unit(site, unit.code)
    ]
    credential_rows = [
        {
            "credential": c,
            "created": local_time(request, c.created),
            "last_used": local_time(request, c.last_used) if c.last_used else "",
            "revoked": local_time(request, c.revoked) if c.revoked else "",
        }
        for c in credentials.of_unit(site, unit.code)
    ]
    adapters = sorted(set(known_adapters(request)) | ({unit.adapter} if unit.adapter else set()))
    return page(
        request,
        translate(request, _("Manage ${name}"), name=unit.short_name),
        unit=unit,
        operator=operator,
        form=form,
        posted=posted,
        errors=errors or {},
        submitted=values or {},
        others=others,
        parents=[u for u in others if u.code != unit.code],
        adapters=adapters,
        adapter_forms=adapter_forms(request, unit, values if posted == "edit" else None),
        history=history,
        tokens=token_rows,
        credentials=credential_rows,
        users=unit_users(site, unit),
        pilot_end=end,
        pilot_over=bool(end and end <= request.env.today()),
        today=request.env.today().isoformat(),
        day=day,
        next_state=NEXT_STATE.get(unit.connection_state, d.PILOT),
        issuer_roles=directory_service.ISSUER_ROLES,
        role_titles=titles(request, ROLE_TITLES),
        kinds=d.KINDS,
        states=d.CONNECTION_STATES,
        kind_titles=titles(request, KIND_TITLES),
        state_titles=titles(request, STATE_TITLES),
        status_titles=titles(request, STATUS_TITLES),
        directory=site["directory"],
    )


@view_config(
    route_name="manage_unit", renderer="manage_unit.pt", permission=sec.MANAGE_UNIT, request_method="GET"
)
def unit_manage(request):
    return _unit_page(request)


def parse_settings(text):
    """``name=value`` lines into a dict; a line without ``=`` is refused."""
    settings = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise directory_service.DirectoryError(
                _("Write one setting per line as name=value."), field="adapter_settings"
            )
        settings[name.strip()] = value.strip()
    return settings


@view_config(
    route_name="manage_unit", renderer="manage_unit.pt", permission=sec.MANAGE_UNIT, request_method="POST"
)
def unit_edit(request):
    """Contact fields and policies; the hierarchy and eOffice binding for the operator only."""
    site = request.site
    unit = request.context
    operator = can_manage(request)
    post = request.POST
    if not operator and any(name in post for name in OPERATOR_FIELDS):
        # the unit admin's form has no such fields: someone forged the request
        raise HTTPForbidden()
    values = {name: post.get(name, "") for name in UNIT_ADMIN_FIELDS + (OPERATOR_FIELDS if operator else ())}
    values["deadline_days"] = post.get("deadline_days", "")
    values["must_sign"] = "must_sign" in post
    values["approval"] = "approval" in post
    values["issuers"] = tuple(post.getall("issuers"))
    try:
        data = dict(values)
        if operator:
            chosen = known_adapters(request).get(values["adapter"])
            if getattr(chosen, "settings", ()):
                data["adapter_settings"] = posted_adapter_settings(post, chosen)
                values.update({k: v for k, v in post.items() if k.startswith("setting.")})
            else:
                data["adapter_settings"] = parse_settings(values["adapter_settings"])
        changed = directory_service.update_unit(
            site, request.actor, unit, data, known_adapters=known_adapters(request)
        )
    except ServiceError as exc:
        return _unit_page(request, "edit", form_errors(request, exc, "edit"), values)
    if changed:
        flash(request, _("The changes to ${code} were saved."), code=unit.code)
    else:
        flash(request, _("Nothing was changed."))
    return HTTPSeeOther(unit_url(request, unit))


def _act(request, form, values, change, message, mapping=lambda unit: {}):
    """Run ``change(site, actor, unit)``; on a refusal re-show ``form`` with the message next to the field,
    on success flash ``message`` (its ``mapping`` read after the change) and go back to the unit."""
    unit = request.context
    try:
        change(request.site, request.actor, unit)
    except ServiceError as exc:
        return _unit_page(request, form, form_errors(request, exc, form), values)
    flash(request, message, **mapping(unit))
    return HTTPSeeOther(unit_url(request, unit))


@view_config(
    route_name="manage_unit_connection",
    renderer="manage_unit.pt",
    permission=sec.MANAGE,
    request_method="POST",
)
def unit_connection(request):
    values = {name: request.POST.get(name, "") for name in FORM_FIELDS["connection"]}
    return _act(
        request,
        "connection",
        values,
        lambda site, actor, unit: directory_service.set_connection_state(
            site,
            actor,
            unit,
            values["connection_state"],
            on=values["date"].strip() or request.env.today(),
            note=values["note"].strip(),
        ),
        _("The connection state of ${code} is now: ${state}."),
        lambda unit: {"code": unit.code, "state": translate(request, STATE_TITLES[unit.connection_state])},
    )


@view_config(
    route_name="manage_unit_rename", renderer="manage_unit.pt", permission=sec.MANAGE, request_method="POST"
)
def unit_rename(request):
    values = {name: request.POST.get(name, "") for name in FORM_FIELDS["rename"]}
    return _act(
        request,
        "rename",
        values,
        lambda site, actor, unit: directory_service.rename(
            site, actor, unit, values["name"], values["short_name"]
        ),
        _("The unit ${code} is now called ${name}."),
        lambda unit: {"code": unit.code, "name": unit.name},
    )


def _codes(request, name):
    """Codes chosen in a multiple select, or typed in one field separated by spaces or commas."""
    codes = []
    for value in request.POST.getall(name):
        codes.extend(v for v in value.replace(",", " ").split() if v)
    return codes


@view_config(
    route_name="manage_unit_merge", renderer="manage_unit.pt", permission=sec.MANAGE, request_method="POST"
)
def unit_merge(request):
    """The chosen units are merged into this one."""
    codes = _codes(request, "codes")
    return _act(
        request,
        "merge",
        {"codes": codes},
        lambda site, actor, unit: directory_service.merge(site, actor, codes, unit.code),
        _("${codes} merged into ${code}."),
        lambda unit: {"codes": ", ".join(codes), "code": unit.code},
    )


@view_config(
    route_name="manage_unit_split", renderer="manage_unit.pt", permission=sec.MANAGE, request_method="POST"
)
def unit_split(request):
    codes = _codes(request, "successors")
    return _act(
        request,
        "split",
        {"successors": codes},
        lambda site, actor, unit: directory_service.split(site, actor, unit.code, codes),
        _("${code} was split into ${codes}."),
        lambda unit: {"code": unit.code, "codes": ", ".join(codes)},
    )


@view_config(
    route_name="manage_unit_dissolve", renderer="manage_unit.pt", permission=sec.MANAGE, request_method="POST"
)
def unit_dissolve(request):
    successor = request.POST.get("successor", "").strip()
    return _act(
        request,
        "dissolve",
        {"successor": successor},
        lambda site, actor, unit: directory_service.dissolve(site, actor, unit.code, successor or None),
        _("${code} was dissolved."),
        lambda unit: {"code": unit.code},
    )


# -- API tokens of the unit -----------------------------------------------------------------
@view_config(
    route_name="manage_unit_tokens",
    renderer="manage_unit_token.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def token_create(request):
    """Make a token and show its secret on this response only: it is not stored and never shown again."""
    site = request.site
    unit = request.context
    label = request.POST.get("label", "")
    try:
        token, secret = tokens.create(site, request.actor, unit.code, label)
    except ServiceError as exc:
        request.override_renderer = "manage_unit.pt"
        return _unit_page(request, "token", form_errors(request, exc, "token"), {"label": label})
    request.response.headers["Cache-Control"] = "no-store"
    return page(
        request,
        translate(request, _("New API token")),
        unit=unit,
        token=token,
        secret=secret,
        created=local_time(request, token.created),
    )


@view_config(route_name="manage_unit_token_revoke", permission=sec.MANAGE_UNIT, request_method="POST")
def token_revoke(request):
    site = request.site
    unit = request.context
    token = site["tokens"].get(request.matchdict["token_id"])
    if token is None or token.unit_code != unit.code or token.kind != tokens.SYSTEM:
        raise HTTPNotFound()
    tokens.revoke(site, request.actor, token.token_id)
    flash(request, _("The token ${label} was revoked."), label=token.label)
    return HTTPSeeOther(unit_url(request, unit) + "#tokens")


# -- system credentials of the unit (an id and a secret its product signs calls with) ------
@view_config(
    route_name="manage_unit_credentials",
    renderer="manage_unit_credential.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def credential_create(request):
    """Make a credential and show its secret on this response only (kept encrypted, never shown again)."""
    site = request.site
    unit = request.context
    label = request.POST.get("credential_label", "")
    try:
        credential, secret = credentials.create(site, request.env, request.actor, unit.code, label)
    except ServiceError as exc:
        if exc.field == "label":
            exc.field = "credential_label"
        request.override_renderer = "manage_unit.pt"
        return _unit_page(
            request, "credential", form_errors(request, exc, "credential"), {"credential_label": label}
        )
    request.response.headers["Cache-Control"] = "no-store"
    return page(
        request,
        translate(request, _("New system credential")),
        unit=unit,
        credential=credential,
        secret=secret,
        created=local_time(request, credential.created),
    )


@view_config(route_name="manage_unit_credential_revoke", permission=sec.MANAGE_UNIT, request_method="POST")
def credential_revoke(request):
    site = request.site
    unit = request.context
    found = credentials.find(site, request.matchdict["system_id"])
    if found is None or found.unit_code != unit.code:
        raise HTTPNotFound()
    credentials.revoke(site, request.actor, found.system_id, unit.code)
    flash(request, _("The system credential ${label} was revoked."), label=found.label)
    return HTTPSeeOther(unit_url(request, unit) + "#credentials")


def includeme(config):
    config.add_route("manage_units", "/manage/units", factory=site_factory)
    config.add_route("manage_unit", "/manage/units/{code}", factory=unit_factory)
    for action in ("connection", "rename", "merge", "split", "dissolve", "tokens", "credentials"):
        config.add_route(f"manage_unit_{action}", f"/manage/units/{{code}}/{action}", factory=unit_factory)
    config.add_route(
        "manage_unit_token_revoke", "/manage/units/{code}/tokens/{token_id}/revoke", factory=unit_factory
    )
    config.add_route(
        "manage_unit_credential_revoke",
        "/manage/units/{code}/credentials/{system_id}/revoke",
        factory=unit_factory,
    )
