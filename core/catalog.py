"""The mailbox catalog: hypatia indexes over plain *records* for listing and full-text search.

The document-exchange service describes each Document (in its sender's outbox) and each
Delivery (in its recipient's inbox or a person's mailbox) as a plain dict and files it under
a string *path key* ("doc/<id>", "dlv/<id>/<code>"); this module never sees the resources.

Record fields (all optional but ``box``):

========== ===================================================================
box        list of mailbox keys: "in:<code>", "out:<code>", "personal:<login>", …
state      edXML status code "01".."16", or "draft" / "pending" / "approved" / "issued"
sender     unit code; ``recipient`` unit code or login; ``doc_type``; ``document`` id
date       ISO datetime of sending/arrival: the default sort, newest first
due        ISO date or None
open       bool, still needs handling (overdue = open and due before the day asked)
read       bool, opened by its recipient
text       subject + notation + content summary + sender name: full-text, accent-free
========== ===================================================================

Records of one document (the ``document`` field) form a group: the text is indexed once
per group and its records get neighbouring docids (see :class:`Catalog`).

Concurrency: many sends index at once, so there is no shared counter but BTrees' ``Length``
(which merges); groups and lexicon word ids are drawn at random like Substance D's
objectmap, so concurrent inserts land in different BTree buckets, and the text index
never keeps dicts in BTree buckets (:class:`FoldedOkapiIndex`). Two sends that split the
same bucket still conflict; the request is retried (pyramid_retry).

Persistence: the discriminators and pipeline elements below are pickled by their
module-level names; renaming them needs an evolve step.

Longer than 600 lines because those stored names pin every class here to this module path:
splitting it would move pickled classes and need an evolve step for no gain to a reader.
"""

import hashlib
import itertools
import random
import re
from datetime import UTC, date as _date, datetime

import BTrees
from BTrees.Length import Length
from hypatia.catalog import Catalog as _IndexMapping
from hypatia.field import FieldIndex
from hypatia.interfaces import FWSCAN, NBEST, TIMSORT
from hypatia.keyword import KeywordIndex
from hypatia.text import TextIndex
from hypatia.text.lexicon import Lexicon
from hypatia.text.okapiindex import OkapiIndex
from hypatia.text.parsetree import AndNode, AtomNode, GlobNode
from persistent import Persistent

from .text import fold
from .timezones import VIETNAM

FAMILY = BTrees.family64
#: attribute of ``site['catalog']`` that holds the Catalog
ATTRIBUTE = "index"
#: sort names accepted by :meth:`Catalog.query`
SORTS = ("date", "due", "relevance")

#: query text beyond this is ignored (a pasted paragraph is not a search)
MAX_TEXT = 300
#: at most this many words of a query are used
MAX_TERMS = 8
#: a last-word prefix that expands to more lexicon words than this is matched exactly
MAX_PREFIX_WORDS = 500


class _AllBoxes:
    def __repr__(self):
        return "ALL_BOXES"


#: pass as ``box`` to search every mailbox (the caller has authorized that)
ALL_BOXES = _AllBoxes()


# -- text: folding lexicon ---------------------------------------------------------------

_WORD = re.compile(r"\w+")
_WORD_GLOB = re.compile(r"\w+[\w*?]*")


class FoldingSplitter:
    """A hypatia/zope.index splitter that folds before splitting.

    Folding (NFD, drop combining marks, đ→d, lower-case) must come first: combining marks
    are not word characters, so splitting "Quyết" before folding would cut it in two.
    "15/QĐ-UBND" gives "15", "qd", "ubnd".
    """

    def process(self, lst):
        words = []
        for text in lst:
            words += _WORD.findall(fold(text))
        return words

    def processGlob(self, lst):
        words = []
        for text in lst:
            words += _WORD_GLOB.findall(fold(text))
        return words


class FoldingNormalizer:
    """Pipeline element that folds single words (idempotent after FoldingSplitter).

    Kept as its own element so that a lexicon built with another splitter still folds.
    """

    def process(self, lst):
        return [fold(w) for w in lst]


class RandomWidLexicon(Lexicon):
    """hypatia's Lexicon with random word ids.

    The stock lexicon numbers new words from a shared counter, so two transactions that
    each meet a new word both take the same wid and conflict; random wids do not.
    """

    def _new_wid(self):
        self.word_count.change(1)
        while True:
            wid = random.randrange(1, 2**28)  # widcode encodes wids below 2**28
            if wid not in self._words:
                return wid


class FoldedOkapiIndex(OkapiIndex):
    """hypatia's Okapi index whose per-word maps are always BTrees, never dicts.

    The stock index keeps a word's first ten docids in a dict stored inside the shared
    word -> map bucket and re-stores every map on each add. On Python 3 BTrees cannot
    compare two dicts while resolving a conflict, so any two concurrent sends that touch
    the same bucket conflicted. Here each word has its own LFBTree from the start, the
    bucket is written only when a word is new, and a word whose map empties keeps it (a
    delete racing an add would otherwise drop the add).
    """

    def _word_map(self, wid):
        doc2score = self._wordinfo.get(wid)
        if doc2score is None:
            doc2score = self._wordinfo[wid] = self.family.IF.BTree()
            self.word_count.change(1)
        elif isinstance(doc2score, dict):  # written by the stock index
            doc2score = self._wordinfo[wid] = self.family.IF.BTree(doc2score)
        return doc2score

    def _add_wordinfo(self, wid, f, docid):
        self._word_map(wid)[docid] = f

    def _mass_add_wordinfo(self, wid2weight, docid):
        for wid, weight in wid2weight.items():
            self._word_map(wid)[docid] = weight

    def _del_wordinfo(self, wid, docid):
        doc2score = self._wordinfo.get(wid)
        if doc2score is not None and docid in doc2score:
            del doc2score[docid]

    def _remove_oov_wids(self, wids):
        # an emptied word map stays: skip it like an unknown word (and its idf of 1/0)
        return [wid for wid in wids if self._wordinfo.get(wid)]


def words_of(text):
    """The folded words of ``text`` as the index sees them."""
    return FoldingSplitter().process([text or ""])


# -- discriminators (module-level: they are pickled by name) -----------------------------


def _str(value):
    return value if isinstance(value, str) and value else None


def to_micros(value):
    """Microseconds since the epoch of an ISO date/datetime (naive read as Vietnam time)."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if value.endswith("Z"):
            value = value[:-1] + "+00:00"
        value = datetime.fromisoformat(value)
    if isinstance(value, _date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=VIETNAM)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _iso_day(value):
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, _date):
        return value.isoformat()
    if isinstance(value, str) and value.strip():
        return value.strip()[:10]
    return None


def disc_box(record, default):
    box = record.get("box")
    if isinstance(box, str):
        box = [box]
    return list(box) if box else default


def _text_field(record, name, default):
    value = _str(record.get(name))
    return default if value is None else value


def disc_state(record, default):
    return _text_field(record, "state", default)


def disc_sender(record, default):
    return _text_field(record, "sender", default)


def disc_recipient(record, default):
    return _text_field(record, "recipient", default)


def disc_doc_type(record, default):
    return _text_field(record, "doc_type", default)


def disc_document(record, default):
    return _text_field(record, "document", default)


def disc_date(record, default):
    """Negated microseconds, so that ascending index order is newest first.

    hypatia's fast forward scan only runs ascending; negating the key lets the inbox's
    "newest first" use it.
    """
    micros = to_micros(record.get("date"))
    return default if micros is None else -micros


def disc_due(record, default):
    return _iso_day(record.get("due")) or default


def disc_open(record, default):
    value = record.get("open")
    return default if value is None else bool(value)


def disc_read(record, default):
    value = record.get("read")
    return default if value is None else bool(value)


def disc_text(record, default):
    text = record.get("text")
    return text if isinstance(text, str) and text.strip() else default


# -- the catalog ---------------------------------------------------------------------------

#: a docid is ``group | slot``: a document's records share the high bits (the group, whose
#: slot 0 carries the text) and take slots 1.. in the low bits
SLOT_BITS = 16
SLOT_MASK = (1 << SLOT_BITS) - 1
GROUP_MASK = ~SLOT_MASK


class Catalog(Persistent):
    """Mailbox records by path key, with hypatia indexes for filtering, sorting and search.

    Records of one document (its outbox record and every delivery: the ``document`` field,
    else the key itself) form a *group*. The group's text is indexed once, under the
    group's docid, however many deliveries it has: a fan-out to 300 units writes the word
    maps once, not 300 times; and the group's records have neighbouring docids, so they
    share BTree buckets in every index. Groups themselves are placed at random, so
    concurrent sends touch different buckets.
    """

    family = FAMILY

    def __init__(self):
        super().__init__()
        self.docid_of = FAMILY.OI.BTree()  # path key -> docid
        self.key_of = FAMILY.IO.BTree()  # docid -> path key
        self.group_of = FAMILY.OI.BTree()  # group name -> group docid (slot 0)
        self.group_name = FAMILY.IO.BTree()  # group docid -> (group name, text hash)
        self.count = Length()
        self.indexes = _IndexMapping(family=FAMILY)
        self.indexes["box"] = KeywordIndex(disc_box, family=FAMILY)
        for name in ("state", "sender", "recipient", "doc_type", "document", "date", "due", "open", "read"):
            self.indexes[name] = FieldIndex(globals()[f"disc_{name}"], family=FAMILY)
        lexicon = RandomWidLexicon(FoldingSplitter(), FoldingNormalizer())
        # not in ``indexes``: it is keyed by group, not by record
        self.text = TextIndex(
            disc_text, lexicon=lexicon, index=FoldedOkapiIndex(lexicon, family=FAMILY), family=FAMILY
        )

    # -- writing ------------------------------------------------------------------------
    def __len__(self):
        return self.count()

    def __contains__(self, key):
        return key in self.docid_of

    def _group(self, name):
        """The group docid of ``name``, made (at a random place) if new."""
        group = self.group_of.get(name)
        if group is None:
            while True:
                group = random.randrange(1, 2 ** (62 - SLOT_BITS)) << SLOT_BITS
                if group not in self.group_name:
                    break
            self.group_of[name] = group
            self.group_name[group] = (name, "")  # "" not None: values must compare
        return group

    def _members(self, group):
        return self.key_of.keys(group + 1, group + SLOT_MASK)

    def _new_docid(self, group):
        try:
            last = self.key_of.maxKey(group + SLOT_MASK)
        except ValueError:  # no key that low
            last = 0
        slot = last - group + 1 if last > group else 1
        if slot > SLOT_MASK:
            raise ValueError(f"more than {SLOT_MASK} records for one document")
        return group + slot

    def _index_text(self, group, text):
        name, indexed = self.group_name[group]
        digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()
        if digest != indexed:  # the same text, as for every delivery of a fan-out, is skipped
            self.text.index_doc(group, {"text": text})
            self.group_name[group] = (name, digest)

    def index(self, key, record):
        """Index ``record`` under ``key``, replacing what was indexed there before.

        Records with the same ``document`` share one text: the last one indexed with a
        non-empty text sets it for all of them; a record without text leaves it.
        """
        if not isinstance(key, str) or not key:
            raise ValueError("a catalog key is a non-empty string")
        if not disc_box(record, None):
            raise ValueError(f"record {key!r} has no box")
        group = self._group(_str(record.get("document")) or key)
        docid = self.docid_of.get(key)
        if docid is not None and docid & GROUP_MASK != group:
            self.unindex(key)  # moved to another document
            docid = None
        if docid is None:
            docid = self._new_docid(group)
            self.docid_of[key] = docid
            self.key_of[docid] = key
            self.count.change(1)
            self.indexes.index_doc(docid, record)
        else:
            self.indexes.reindex_doc(docid, record)
        text = disc_text(record, None)
        if text is not None:
            self._index_text(group, text)
        return docid

    def unindex(self, key):
        """Forget ``key``; a key not indexed is no error."""
        docid = self.docid_of.get(key)
        if docid is None:
            return False
        self.indexes.unindex_doc(docid)
        del self.docid_of[key]
        del self.key_of[docid]
        self.count.change(-1)
        group = docid & GROUP_MASK
        if not self._members(group):  # the group's last record: drop its text
            self.text.unindex_doc(group)
            name, _ = self.group_name.pop(group)
            del self.group_of[name]
        return True

    # -- reading ------------------------------------------------------------------------
    def _any_of(self, name, values):
        index = self.indexes[name]
        if isinstance(values, (str, bool)):
            values = [values]
        return index.apply({"query": list(values), "operator": "or"})

    def _text_terms(self, text):
        """The user's text as (exact words, last-word prefix or None): words, never syntax."""
        text = (text or "")[:MAX_TEXT]
        words = words_of(text)[:MAX_TERMS]
        if not words:
            return [], None
        # The last word is a prefix while it is being typed (no space or punctuation after).
        if text == text.rstrip() and fold(text).endswith(words[-1]):
            return words[:-1], words[-1]
        return words, None

    def _text_docids(self, text):
        """Docids whose text has every word (the last one as a prefix), unscored.

        Works on the Okapi index's word -> {docid: score} maps directly: intersecting their
        keys is C work, where scoring every hit of a common word is not.
        """
        words, prefix = self._text_terms(text)
        textindex = self.text
        lexicon, wordinfo = textindex.lexicon, textindex.index._wordinfo
        IF = FAMILY.IF
        sets = []
        for word in dict.fromkeys(words):
            hits = wordinfo.get(lexicon.get_wid(word))
            if not hits:
                return IF.Set()
            sets.append(hits)
        if prefix is not None:
            wids = self._prefix_wids(prefix)
            hits = [wordinfo[w] for w in wids if w in wordinfo]
            if not hits:
                return IF.Set()
            sets.append(
                IF.multiunion([h if not isinstance(h, dict) else IF.Set(h) for h in hits])
                if len(hits) > 1
                else hits[0]
            )
        result = None
        for hits in sorted(sets, key=_size):
            if isinstance(hits, dict):
                hits = IF.Set(hits)
            result = IF.intersection(result, hits) if result is not None else hits
            if not result:
                return IF.Set()
        return result

    def _prefix_wids(self, prefix):
        lexicon = self.text.lexicon
        wids = []
        for word in lexicon._wids.keys(prefix):
            if not word.startswith(prefix):
                break
            wids.append(lexicon._wids[word])
            if len(wids) > MAX_PREFIX_WORDS:
                wid = lexicon.get_wid(prefix)
                return [wid] if wid else []
        return wids

    def _text_scored(self, text):
        """Okapi-weighted hits for sorting by relevance (hypatia's own parse tree nodes)."""
        words, prefix = self._text_terms(text)
        nodes = [AtomNode(w) for w in dict.fromkeys(words)]
        if prefix is not None:
            nodes.append(GlobNode(prefix + "*"))
        tree = nodes[0] if len(nodes) == 1 else AndNode(nodes)
        return tree.executeQuery(self.text.index)

    def query(
        self,
        box,
        state=None,
        sender=None,
        doc_type=None,
        date_from=None,
        date_to=None,
        overdue_on=None,
        unread=None,
        text=None,
        recipient=None,
        document=None,
        open=None,
        sort="date",
        reverse=True,
        offset=0,
        limit=20,
    ):
        """``(total, [keys])`` of the records in ``box`` (a key, a list: any of, or ALL_BOXES).

        Filters combine with AND; ``state``, ``sender``, ``doc_type``, ``recipient`` and
        ``document`` take one value or a list (any of). ``date_from``/``date_to`` are ISO
        dates or datetimes, inclusive (a bare ``date_to`` day includes that whole day).
        ``overdue_on`` (ISO date): open and due before that day. ``unread``: True for
        unread only, False for read only. ``text``: every word must occur, accents and
        case ignored, the last word as a prefix; it is never parsed as query syntax.
        ``sort``: "date" (reverse=True: newest first), "due" (reverse=False: earliest
        first) or "relevance" (text queries only; best first).
        """
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
        offset = max(0, int(offset or 0))
        limit = int(limit) if limit is not None else None
        if limit is not None and limit < 1:
            raise ValueError("limit must be 1 or more")
        if text is not None and not words_of(str(text)[:MAX_TEXT]):
            text = None
        if sort == "relevance" and text is None:
            sort = "date"

        IF = FAMILY.IF
        sets = []
        if box is not ALL_BOXES:
            boxes = [box] if isinstance(box, str) else list(box or ())
            if not boxes:
                return 0, []
            sets.append(self._any_of("box", boxes))
        for name, value in (
            ("state", state),
            ("sender", sender),
            ("doc_type", doc_type),
            ("recipient", recipient),
            ("document", document),
        ):
            if value is not None:
                sets.append(self._any_of(name, value))
        if open is not None:
            sets.append(self._any_of("open", bool(open)))
        if unread is not None:
            sets.append(self._any_of("read", not unread))
        if date_from is not None or date_to is not None:
            sets.append(self._date_range(date_from, date_to))
        if overdue_on is not None:
            day = _iso_day(overdue_on)
            sets.append(self.indexes["due"].applyLt(day))
            sets.append(self._any_of("open", True))

        groups = scored = None
        if text is not None:
            if sort == "relevance":
                scored = self._text_scored(text)
                groups = scored
            else:
                groups = self._text_docids(text)
            if not groups:
                return 0, []

        result = None
        for docids in sorted(sets, key=_size):
            result = docids if result is None else IF.intersection(result, docids)
            if not result:
                return 0, []
        if groups is not None:
            result = self._in_groups(groups, result)
        elif result is None:  # ALL_BOXES and no filter
            result = IF.TreeSet(self.key_of.keys())
        if not result:
            return 0, []
        total = len(result)
        if offset >= total:
            return total, []
        want = None if limit is None else offset + limit

        if sort == "relevance":
            # each record weighs what its document's text does
            weighted = IF.Bucket({d: scored[d & GROUP_MASK] for d in result})
            ordered = self.text.sort(weighted, reverse=not reverse, limit=want)
        else:
            ordered = self._sorted(result, sort, reverse, want)
        keys = []
        key_of = self.key_of
        for i, docid in enumerate(ordered):
            if i < offset:
                continue
            keys.append(key_of[docid])
            if want is not None and i + 1 >= want:
                break
        return total, keys

    def _in_groups(self, groups, candidates):
        """The records of ``groups`` (text hits) that are among ``candidates`` (None: any).

        Walks the smaller side: the candidates' group bits looked up in the hits, or each
        hit's slot range read from the candidates.
        """
        IF = FAMILY.IF
        if candidates is not None and len(candidates) <= len(groups):
            return IF.Set([d for d in candidates if d & GROUP_MASK in groups])
        source = self.key_of if candidates is None else candidates
        found = []
        for group in groups.keys():
            found.extend(source.keys(group + 1, group + SLOT_MASK))
        return IF.Set(found)

    def _date_range(self, date_from, date_to):
        # the index holds negated instants: "from" becomes the upper bound
        low = high = None
        if date_to is not None:
            end = to_micros(date_to)
            if (
                isinstance(date_to, _date)
                and not isinstance(date_to, datetime)
                or (isinstance(date_to, str) and len(date_to.strip()) == 10)
            ):
                end += 86_400_000_000 - 1  # through the end of that day
            low = -end
        if date_from is not None:
            high = -to_micros(date_from)
        return self.indexes["date"].applyInRange(low, high)

    def _sorted(self, docids, sort, reverse, want):
        """Sort with the strategy that touches least: forward scan when hits are dense."""
        index = self.indexes[sort]
        ascending = reverse if sort == "date" else not reverse  # date keys are negated
        rlen, numdocs = len(docids), max(index.indexed_count(), 1)
        if want is None:
            sort_type = TIMSORT
        elif ascending and rlen * rlen > want * numdocs * 4:
            # a scan meets ``want`` hits after about want * numdocs / rlen index entries
            sort_type = FWSCAN
        else:
            sort_type = NBEST
        ordered = index.sort(
            docids, reverse=not ascending, limit=want, sort_type=sort_type, raise_unsortable=False
        )
        # records without a value (no due date) come last, as hypatia leaves them out
        missing = FAMILY.IF.intersection(docids, index.not_indexed())
        return itertools.chain(ordered, missing) if missing else ordered


def _size(docids):
    return len(docids)


def ensure_catalog(site_catalog_folder):
    """The Catalog kept on ``site['catalog']``, created on first use (an evolve step calls it)."""
    catalog = getattr(site_catalog_folder, ATTRIBUTE, None)
    if not isinstance(catalog, Catalog):
        catalog = Catalog()
        setattr(site_catalog_folder, ATTRIBUTE, catalog)
    return catalog
