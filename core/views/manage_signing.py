"""Management of digital signatures (R10.10): trust roots, and each unit's signing key.

- ``/manage/signing`` (context: the site, permission MANAGE — the system administrator):
  the operator's roots (trusted by every unit), upload and removal; each unit's own roots
  and key, listed with their expiry.
- ``/manage/units/{code}/signing`` (context: the unit, MANAGE_UNIT — its admin and the
  system administrator): the unit's signing key reference, a key test, the unit's own roots.

The secret that opens a key (passphrase, PIN) is never entered here: the key reference
names it, and the operator sets it in the settings or the environment. Every change is on
the audit record (``signing.root.add``, ``signing.root.remove``, ``signing.key.set``).
"""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from .. import permissions as sec, signing
from ..errors import ServiceError
from ..factories import site_factory, unit_factory
from ..i18n import _, translate
from ..services import signatures, trust_roots
from .base import field_errors, local_time, page


def key_words(request, key):
    """A unit's key as its admin reads it: the file's name, or the token's and the key's labels."""
    if key.kind == signing.PKCS11:
        return translate(
            request, _("the key ${key} on the token ${token}"), key=key.key_label, token=key.token_label
        )
    return translate(request, _("the PKCS#12 file ${file}"), file=key.path.rsplit("/", 1)[-1])


MAX_CERTIFICATE = 64 * 1024


def flash(request, message, **mapping):
    request.session.flash(translate(request, message, **mapping))


def _upload(request):
    """The bytes of the uploaded ``certificate`` file (at most ``MAX_CERTIFICATE``), or b""."""
    item = request.POST.get("certificate")
    if not hasattr(item, "file"):
        return b""
    data = item.file.read(MAX_CERTIFICATE + 1)
    if len(data) > MAX_CERTIFICATE:
        raise trust_roots.SignatureError(
            _("A certificate file is at most ${size} KB."), field="certificate", size=MAX_CERTIFICATE // 1024
        )
    return data


def root_rows(request, roots):
    return [
        {
            "root": r,
            "subject": r.subject,
            "issuer": r.issuer,
            "fingerprint": r.fingerprint,
            "not_after": local_time(request, r.not_after),
            "expiry": trust_roots.expiry_state(r.not_after),
            "added": local_time(request, r.added_at),
            "added_by": r.added_by,
        }
        for r in roots
    ]


EXPIRY_TITLES = {"expired": _("expired"), "expiring": _("expires within 30 days")}


def _titles(request):
    return {k: translate(request, v) for k, v in EXPIRY_TITLES.items()}


# -- the operator's page ----------------------------------------------------------------------
def _operator_page(request, errors=None):
    site = request.site
    directory = site["directory"]
    per_unit = []
    for code, found in sorted(trust_roots.unit_roots(site).items()):
        unit = directory.get(code)
        per_unit.append(
            {
                "code": code,
                "name": unit.name if unit is not None else code,
                "roots": root_rows(request, found),
            }
        )
    keys = []
    for code, key in signatures.unit_keys(site):
        unit = directory.get(code)
        if unit is not None:
            keys.append({"code": code, "name": unit.name, "key": key, "label": key_words(request, key)})
    return page(
        request,
        translate(request, _("Digital signatures")),
        errors=errors or {},
        roots=root_rows(request, trust_roots.roots(site)),
        per_unit=per_unit,
        keys=keys,
        expiry_titles=_titles(request),
        signers=[f"{s.name} ({s.format})" for s in signatures.signers(request.env)],
    )


@view_config(
    route_name="manage_signing", renderer="manage_signing.pt", permission=sec.MANAGE, request_method="GET"
)
def operator_page(request):
    return _operator_page(request)


@view_config(
    route_name="manage_signing", renderer="manage_signing.pt", permission=sec.MANAGE, request_method="POST"
)
def operator_add_root(request):
    try:
        root = trust_roots.add_root(request.site, request.actor, _upload(request))
    except ServiceError as exc:
        request.response.status = exc.status
        return _operator_page(request, field_errors(request, exc))
    flash(request, _("${subject} is now trusted by every unit."), subject=root.subject)
    return HTTPSeeOther(request.route_url("manage_signing"))


@view_config(
    route_name="manage_signing_remove",
    renderer="manage_signing.pt",
    permission=sec.MANAGE,
    request_method="POST",
)
def operator_remove_root(request):
    try:
        root = trust_roots.remove_root(request.site, request.actor, request.matchdict["fingerprint"])
    except ServiceError as exc:
        request.response.status = exc.status
        return _operator_page(request, field_errors(request, exc))
    flash(request, _("${subject} is no longer trusted."), subject=root.subject)
    return HTTPSeeOther(request.route_url("manage_signing"))


# -- a unit's page ------------------------------------------------------------------------------
def _key_form(key):
    if key is None:
        return {
            "kind": "",
            "path": "",
            "token_label": "",
            "key_label": "",
            "secret_name": "",
            "signer_name": "",
            "stamp": False,
        }
    return {name: getattr(key, name) for name in signatures.KEY_FIELDS}


def _unit_page(request, errors=None, form=None, posted=None, test=None):
    site = request.site
    unit = request.context
    key = signatures.key_for(site, unit.code)
    settings = request.registry.settings or {}
    test_view = None
    if test is not None:
        test_view = dict(
            test,
            badge_title=translate(request, signatures.badge_title(test.get("badge"))),
            not_after_local=local_time(request, test.get("not_after")) if test.get("not_after") else "",
        )
    return page(
        request,
        translate(request, _("Signing for ${name}"), name=unit.short_name),
        unit=unit,
        key=key,
        key_label=key_words(request, key) if key is not None else "",
        form=form or _key_form(key),
        posted=posted,
        errors=errors or {},
        operator=bool(request.has_permission(sec.MANAGE, unit)),
        roots=root_rows(request, trust_roots.roots(site, unit.code)),
        operator_roots=root_rows(request, trust_roots.roots(site)),
        expiry_titles=_titles(request),
        modules=signatures.pkcs11_modules(settings),
        kinds=signing.KEY_KINDS,
        test=test_view,
    )


def unit_signing_url(request, unit):
    return request.route_url("manage_unit_signing", code=unit.code)


@view_config(
    route_name="manage_unit_signing",
    renderer="manage_signing_unit.pt",
    permission=sec.MANAGE_UNIT,
    request_method="GET",
)
def unit_page(request):
    return _unit_page(request)


@view_config(
    route_name="manage_unit_signing",
    renderer="manage_signing_unit.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def unit_set_key(request):
    unit = request.context
    post = request.POST
    form = {name: (post.get(name) or "").strip() for name in signatures.KEY_FIELDS if name != "stamp"}
    form["stamp"] = "stamp" in post
    try:
        key = signatures.set_key(
            request.site,
            request.actor,
            unit,
            form,
            request.registry.settings,
            operator=bool(request.has_permission(sec.MANAGE, unit)),
        )
    except ServiceError as exc:
        request.response.status = exc.status
        return _unit_page(request, field_errors(request, exc), form, posted="key")
    if key is None:
        flash(request, _("${code} no longer signs its documents."), code=unit.code)
    else:
        flash(request, _("The signing key of ${code} was saved. Test it below."), code=unit.code)
    return HTTPSeeOther(unit_signing_url(request, unit))


@view_config(
    route_name="manage_unit_signing_test",
    renderer="manage_signing_unit.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def unit_test_key(request):
    """Load the key and sign a tiny PDF: show the certificate, or why it cannot sign. Nothing is stored."""
    request.tm.doom()
    try:
        result = signatures.test_key(request.site, request.env, request.context)
    except ServiceError as exc:
        request.response.status = exc.status
        return _unit_page(request, field_errors(request, exc), posted="test")
    return _unit_page(request, posted="test", test=result)


@view_config(
    route_name="manage_unit_signing_roots",
    renderer="manage_signing_unit.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def unit_add_root(request):
    unit = request.context
    try:
        root = trust_roots.add_root(request.site, request.actor, _upload(request), unit_code=unit.code)
    except ServiceError as exc:
        request.response.status = exc.status
        return _unit_page(request, field_errors(request, exc), posted="root")
    flash(request, _("${subject} is now trusted by ${code}."), subject=root.subject, code=unit.code)
    return HTTPSeeOther(unit_signing_url(request, unit) + "#roots")


@view_config(
    route_name="manage_unit_signing_root_remove",
    renderer="manage_signing_unit.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def unit_remove_root(request):
    unit = request.context
    try:
        root = trust_roots.remove_root(
            request.site, request.actor, request.matchdict["fingerprint"], unit_code=unit.code
        )
    except ServiceError as exc:
        request.response.status = exc.status
        return _unit_page(request, field_errors(request, exc), posted="root")
    flash(request, _("${subject} is no longer trusted by ${code}."), subject=root.subject, code=unit.code)
    return HTTPSeeOther(unit_signing_url(request, unit) + "#roots")


def includeme(config):
    config.add_route("manage_signing", "/manage/signing", factory=site_factory)
    config.add_route(
        "manage_signing_remove", "/manage/signing/roots/{fingerprint}/remove", factory=site_factory
    )
    config.add_route("manage_unit_signing", "/manage/units/{code}/signing", factory=unit_factory)
    config.add_route("manage_unit_signing_test", "/manage/units/{code}/signing/test", factory=unit_factory)
    config.add_route("manage_unit_signing_roots", "/manage/units/{code}/signing/roots", factory=unit_factory)
    config.add_route(
        "manage_unit_signing_root_remove",
        "/manage/units/{code}/signing/roots/{fingerprint}/remove",
        factory=unit_factory,
    )
