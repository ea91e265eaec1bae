"""The unit policy "outgoing documents must be signed" (R10.10, R7.4), checked like any plugin's validator.

Registered by dotted name (``plugins.BUILTINS``: the manager calls ``SignPolicy(pm)``), so it knows which
signers are enabled: a unit whose policy ``must_sign`` is on may issue only when it has a
signing key, a signer is enabled, and the document has an attachment that signer signs.
"""

from pyramid.traversal import find_root

from ..hookspecs import hookimpl
from ..i18n import _


class SignPolicy:
    def __init__(self, pm):
        self.pm = pm

    @hookimpl
    def lienthong_validate_outgoing(self, document, sender):
        policy = getattr(sender, "policy", None)  # a unit (a test or a plugin may pass something else)
        if policy is None or not policy("must_sign"):
            return []
        from . import signatures

        site = find_root(sender)
        if signatures.key_for(site, sender.code) is None:
            return [
                _(
                    "the unit's rules ask for a digital signature and the unit has no signing key; "
                    "its administrator chooses one under Management"
                )
            ]
        found = signatures.signers(self.pm)
        if not any(signatures.attachment_signer(found, a) for a in document.attachments.values()):
            if not any(s.format != "edxml" for s in found):
                return [_("the unit's rules ask for a digital signature and no signing plugin is enabled")]
            return [
                _(
                    "the unit's rules ask for a digital signature: attach the document as a PDF file "
                    "so it can be signed"
                )
            ]
        return []
