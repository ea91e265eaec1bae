"""Translation catalog upkeep: ``python -m lienthong.core.i18n_tools compile|update|check``.

The catalog lives in ``lienthong.skins:locale``: ``lienthong.pot`` (extracted with lingua's
``pot-create -o skins/locale/lienthong.pot core plugins skins``, as ``make i18n`` does) and one
``<lang>/LC_MESSAGES/lienthong.po`` per language, compiled to ``lienthong.mo`` next to it.

- ``compile``: every .po -> .mo (fuzzy entries are left out, as gettext does);
- ``update``: merge the .pot into every .po (new msgids are added untranslated, vanished
  ones are kept as obsolete), like ``msgmerge``;
- ``check``: list msgids of the .pot that a language does not translate; exit 1 if any.
"""

import argparse
import glob
import io
import os
import sys

from babel.messages import mofile, pofile

DOMAIN = "lienthong"


def locale_dir():
    from pyramid.path import AssetResolver

    return AssetResolver().resolve("lienthong.skins:locale").abspath()


def po_files(directory=None):
    directory = directory or locale_dir()
    return sorted(glob.glob(os.path.join(directory, "*", "LC_MESSAGES", f"{DOMAIN}.po")))


def read_po(path):
    with open(path, "rb") as f:
        return pofile.read_po(f, domain=DOMAIN)


def read_pot(directory=None):
    return read_po(os.path.join(directory or locale_dir(), f"{DOMAIN}.pot"))


def mo_bytes(catalog):
    buf = io.BytesIO()
    mofile.write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def compile_po(po_path, mo_path=None):
    """Compile ``po_path`` to ``mo_path`` (default: next to it); return (mo path, messages)."""
    catalog = read_po(po_path)
    mo_path = mo_path or os.path.splitext(po_path)[0] + ".mo"
    data = mo_bytes(catalog)
    tmp = mo_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, mo_path)
    translated = sum(1 for m in catalog if m.id and m.string and not m.fuzzy)
    return mo_path, translated


def untranslated(catalog, template):
    """msgids of ``template`` that ``catalog`` lacks, leaves empty or marks fuzzy."""
    missing = []
    for message in template:
        if not message.id:
            continue
        have = catalog.get(message.id, context=message.context)
        strings = have.string if have is not None else None
        if isinstance(strings, (tuple, list)):
            ok = all(strings)
        else:
            ok = bool(strings)
        if have is None or have.fuzzy or not ok:
            missing.append(message.id)
    return missing


def cmd_compile(args):
    for po in po_files(args.dir):
        mo, n = compile_po(po)
        print(f"{os.path.relpath(mo)}: {n} messages")
    return 0


def cmd_update(args):
    template = read_pot(args.dir)
    for po in po_files(args.dir):
        catalog = read_po(po)
        catalog.update(template, no_fuzzy_matching=True)
        with open(po, "wb") as f:
            pofile.write_po(f, catalog, width=100, omit_header=False, ignore_obsolete=False)
        print(f"{os.path.relpath(po)}: {len(untranslated(catalog, template))} untranslated")
    return 0


def cmd_check(args):
    template = read_pot(args.dir)
    status = 0
    for po in po_files(args.dir):
        missing = untranslated(read_po(po), template)
        for msgid in missing:
            print(f"{os.path.relpath(po)}: untranslated: {msgid!r}")
        status = status or (1 if missing else 0)
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m lienthong.core.i18n_tools",
        description="Compile, update and check the translation catalogs.",
    )
    parser.add_argument("--dir", default=None, help="locale directory (default: lienthong.skins:locale)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("compile", help="compile every .po into its .mo").set_defaults(func=cmd_compile)
    sub.add_parser("update", help="merge the .pot into every .po").set_defaults(func=cmd_update)
    sub.add_parser("check", help="list untranslated msgids; exit 1 if any").set_defaults(func=cmd_check)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
