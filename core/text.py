"""Text helpers for Vietnamese: accent- and case-insensitive matching, lists typed as text,
plain JSON-able copies of values to store or show, and the one rule on what text XML can carry."""

import re
import unicodedata

_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text):
    """``text`` without accents, lower-cased: "Sở Thông tin" -> "so thong tin".

    NFD splits letters from their tone and vowel marks, which are then dropped; "đ" is a
    letter of its own in Unicode and is mapped to "d" by hand.
    """
    decomposed = unicodedata.normalize("NFD", (text or "").translate(_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def word_matches(part, word):
    """The search rule for one folded query word: it finds the words it is part of; a single
    character alone finds the words it begins, as an address book's letters do (anywhere in
    a word, one letter would find nearly every unit of the national directory)."""
    return word.startswith(part) if len(part) == 1 else part in word


def finds_word(part, words):
    """``word_matches(part, w)`` for any ``w`` of ``words`` (folded words without spaces), in
    one ``in`` over the words joined: the index filters thousands of units with it."""
    joined = " " + " ".join(words)
    return (" " + part if len(part) == 1 else part) in joined


def matches(query, *fields):
    """True when every word of ``query`` finds a word of ``fields`` (folded, ``word_matches``)."""
    words = " ".join(fold(f) for f in fields if f).split()
    return all(any(word_matches(part, word) for word in words) for part in fold(query).split())


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_email(text):
    """The shape of an e-mail address (one @, a dot in the domain, no spaces): enough to catch typos."""
    return bool(_EMAIL_RE.match(text or ""))


def as_list(value):
    """A list of non-empty, stripped strings from a list, or from text split on lines and ";"."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", "\n").splitlines() if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def plain(value):
    """A JSON-able copy of ``value``: dicts with text keys, lists for tuples, anything else
    that is not a number, text, a boolean or None as its text (so no plugin or codec object
    ends up in the database or a JSON answer)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


#: what XML 1.0 cannot carry (its ``Char`` production): the control characters but tab, line
#: feed and carriage return (NUL among them), the surrogates (alone, they are no character at
#: all, and no encoder writes them) and the non-characters U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_carries(text):
    """True when XML 1.0 can carry ``text`` as it is (so an edXML package can hold it).

    The one rule: every input (the APIs, the pages' forms, the imports) refuses text that
    fails it, and the edXML codec checks the same before it writes an element.
    """
    return _NOT_XML.search(text) is None


def first_not_xml(text):
    """The first character of ``text`` that XML cannot carry, as ``U+XXXX``, or None."""
    found = _NOT_XML.search(text)
    return f"U+{ord(found.group()):04X}" if found else None
