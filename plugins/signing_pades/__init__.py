"""PAdES signatures on PDF attachments (pyHanko): signs at issue, verifies on arrival.

Keys from a PKCS#12 file or a PKCS#11 token (``keys.py``); settings
``lienthong.signing.tsa_url`` (RFC 3161 timestamps: PAdES B-T), ``lienthong.signing.pkcs11_module``,
``lienthong.signing.stamp_font``. See docs/signing.md.
"""

from lienthong.core.hookspecs import hookimpl

from .signer import PadesSigner


@hookimpl
def lienthong_signers():
    return [PadesSigner()]
