"""The pages' forms refuse text that XML cannot carry, in one place for every form.

A view deriver (``form_text``) looks at every text field of a form that is posted
(``application/x-www-form-urlencoded`` or ``multipart/form-data``) before the view runs,
after the permission and CSRF checks: a field with a NUL, another control character but
tab and line breaks, or a non-character (``text.xml_carries``) is refused with a 400 that
names it, in the user's language (``errors.xml_text`` raises the ``ServiceError``; the
error views answer it as a page or, for an API client, as problem+json). Nothing is
stored. File parts are left to the attachment checks (``filetypes.check_name``).

A browser never sends a lone surrogate: WebOb decodes form bytes as UTF-8 and replaces
what is not UTF-8 with U+FFFD, which XML carries.
"""

from ..errors import xml_text

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def form_text_view(view, info):
    """The view, behind a check of every text field of a posted form; a view registered with
    ``text_checked=True`` checks its fields itself, through its service, and shows the
    refusal beside the field with what was typed (the compose form)."""
    if info.exception_only or info.options.get("text_checked"):
        return view

    def checked(context, request):
        if (
            request.method in ("POST", "PUT", "PATCH")
            and (request.content_type or "") in FORM_TYPES
            and getattr(request, "exception", None) is None
        ):
            for name, value in request.POST.items():
                xml_text(name, "form")
                if isinstance(value, str):
                    xml_text(value, name)
        return view(context, request)

    return checked


form_text_view.options = ("text_checked",)


def includeme(config):
    config.add_view_deriver(form_text_view, "form_text")
