"""XML-DSig of the edXML envelope (signxml): signs the package's header Signature, verifies on import.

Keys as for PAdES (PKCS#12 file or PKCS#11 token, ``lienthong.plugins.signing_common``).
See docs/signing.md.
"""

from lienthong.core.hookspecs import hookimpl

from .signer import XmldsigSigner


@hookimpl
def lienthong_signers():
    return [XmldsigSigner()]
