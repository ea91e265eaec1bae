"""Test-only plugin: a signer without ``verify`` (start-up must refuse it in one line naming this plugin).

Registered with ``lienthong.plugins.extra = tests.support.bad_signer``.
"""

from lienthong.core.hookspecs import hookimpl


class HalfSigner:
    name = "half"
    format = "pdf"

    def handles(self, name, mime_type):
        return name.endswith(".pdf")

    def sign(self, data, key, settings, *, reason="", location="", signer_name=""):
        return data


@hookimpl
def lienthong_signers():
    return [HalfSigner()]
