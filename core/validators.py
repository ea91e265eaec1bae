"""The core's own check on outgoing documents, registered like any plugin's.

R11: every document goes electronically except secret ones. A document classified Mật,
Tối mật or Tuyệt mật never leaves through the hub, whoever sends it.
"""

from .doctypes import SECRET_CLASSIFICATIONS
from .hookspecs import hookimpl
from .i18n import _


@hookimpl
def lienthong_validate_outgoing(document, sender):
    if getattr(document, "classification", "") in SECRET_CLASSIFICATIONS:
        return [
            _(
                "a document classified \u201c${level}\u201d is secret and is never sent through the hub",
                mapping={"level": document.classification},
            )
        ]
    return []
