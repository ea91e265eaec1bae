"""The directory of units (Organization) keyed by their QCVN 102 identifier codes."""

from bisect import bisect_right

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from persistent.list import PersistentList
from persistent.mapping import PersistentMapping
from zope.interface import implementer

from .. import permissions as sec
from ..edxml import remote_code
from ..interfaces import IDirectory, IOrganization
from ..text import finds_word, fold, word_matches
from .folder import Folder
from .mailbox import Mailbox

KINDS = ("operator", "province", "department", "district", "agency", "commune", "other")

# R11: a unit's road to electronic exchange
NOT_CONNECTED = "not_connected"
PILOT = "pilot"
OFFICIAL = "official"
CONNECTION_STATES = (NOT_CONNECTED, PILOT, OFFICIAL)

# life of a unit through reorganizations
ACTIVE = "active"
MERGED = "merged"
SPLIT = "split"
DISSOLVED = "dissolved"
STATUSES = (ACTIVE, MERGED, SPLIT, DISSOLVED)

# policy keys and their defaults (R7.5): every unit has them, the admin changes them
DEFAULT_POLICIES = {
    "deadline_days": 10,  # processing deadline in working days
    "must_sign": False,  # outgoing documents must carry a digital signature
    "issuers": (sec.CLERK,),  # roles that may issue an outgoing document
    "approval": False,  # a leader approves a draft before the clerk issues it
}


def unit_words(unit):
    """The folded words a search finds ``unit`` by: its names (former ones too), code (former
    ones too) and address. A query word matches a unit when it finds one of these
    (``text.word_matches``: it is part of it; a single character, it begins it)."""
    fields = [unit.name, unit.short_name, unit.code, unit.address]
    fields += [f.get("name", "") for f in unit.former_names or ()]
    fields += list(getattr(unit, "former_codes", ()) or ())
    return tuple(sorted({word for field in fields if field for word in fold(field).split()}))


class VocabularyChunk(Persistent):
    """A run of the index's vocabulary in word order: word -> the code of the one unit that has
    it, or None when several have it (their codes are then in ``DirectoryIndex.words``). Big
    chunks keep a full scan of the vocabulary to a few dozen objects."""

    _v_text = None  # the keys as one text, to find a part of a word with str.find (not stored)
    _v_starts = None  # where each key starts in that text
    _v_words = None  # the keys in that order

    def __init__(self, entries=None):
        self.entries = dict(entries or {})

    def changed(self):
        """Mark the chunk changed (its entries were changed in place) and drop the text."""
        self._p_changed = True
        self._v_text = self._v_starts = None

    def _text(self):
        if self._v_text is None:
            words = sorted(self.entries)
            starts, offset = [], 1
            for word in words:
                starts.append(offset)
                offset += len(word) + 1
            self._v_text, self._v_starts, self._v_words = "\n" + "\n".join(words) + "\n", starts, words
        return self._v_text

    @staticmethod
    def _needle(part):
        return ("\n" + part, 1) if len(part) == 1 else (part, 0)

    def count(self, part):
        """About how many of the chunk's words ``part`` finds (its occurrences), at C speed."""
        return self._text().count(self._needle(part)[0])

    def containing(self, part):
        """The (word, only) entries whose word ``part`` finds (``text.word_matches``): one
        ``str.find`` per match in the words joined by newlines, instead of a test of each of
        ~2,000 words (a single character is looked for after a newline: at a word's start)."""
        text = self._text()
        starts, words, entries, found = self._v_starts, self._v_words, self.entries, []
        needle, skip = self._needle(part)
        if text.count(needle) * 8 > len(words):  # in many of them: testing each is quicker
            return [(word, entries[word]) for word in words if word_matches(part, word)]
        at = text.find(needle)
        while at != -1:
            i = bisect_right(starts, at + skip) - 1
            word = words[i]
            found.append((word, entries[word]))
            at = text.find(needle, starts[i] + len(word))  # from this word's newline on
        return found


class DirectoryIndex(Persistent):
    """What the directory's search reads instead of every unit (``services.directory.find``).

    A query word matches the units one of whose words contains it, so the vocabulary (every
    distinct folded word and code, ~120,000 for the national directory) is scanned for the
    words containing it: it is kept in ``chunks`` of up to ``CHUNK`` words, so a scan loads a
    few dozen objects and runs in milliseconds, and a word only one unit has (a code, a rare
    name) holds that unit's code in the chunk itself. ``words`` has the codes of a word
    several units share; the facets hold codes by kind, connection state, parent, adapter and
    whether the unit is inactive; ``entries`` keeps per code what was indexed, so a change
    touches exactly the postings that differ. Everything holds codes, so results come in code
    order without loading a unit.
    """

    CHUNK = 2000  # words per vocabulary chunk
    FILTER = 3000  # candidates checked one by one rather than by another scan of the vocabulary
    SAMPLE = 6  # the chunks read to choose the first query word: one in this many

    def __init__(self):
        self.chunks = OOBTree()  # first word -> VocabularyChunk
        self.chunks[""] = VocabularyChunk()
        self.words = OOBTree()  # folded word -> OOTreeSet of codes (a word of two units or more)
        self.entries = OOBTree()  # code -> (words, kind, state, parent, active, adapter)
        self.by_kind = OOBTree()
        self.by_state = OOBTree()
        self.by_parent = OOBTree()
        self.by_adapter = OOBTree()
        self.inactive = OOTreeSet()
        self.count = Length()

    # -- the vocabulary ---------------------------------------------------------------------
    def _chunk_key(self, word):
        return self.chunks.maxKey(word)

    def _post_word(self, word, code):
        key = self._chunk_key(word)
        chunk = self.chunks[key]
        entries = chunk.entries
        if word not in entries:
            entries[word] = code
            chunk.changed()
            if len(entries) > self.CHUNK:
                self._split(key, chunk)
            return
        only = entries[word]
        if only is None:
            self.words[word].insert(code)
        elif only != code:
            self.words[word] = OOTreeSet((only, code))
            entries[word] = None
            chunk.changed()

    def _unpost_word(self, word, code):
        chunk = self.chunks[self._chunk_key(word)]
        entries = chunk.entries
        if word not in entries:
            return
        only = entries[word]
        if only is not None:
            if only == code:
                del entries[word]
                chunk.changed()
            return
        codes = self.words[word]
        if code in codes:
            codes.remove(code)
        if len(codes) <= 1:
            entries[word] = codes.minKey() if len(codes) else None
            if entries[word] is None:
                del entries[word]
            del self.words[word]
            chunk.changed()

    def _split(self, key, chunk):
        ordered = sorted(chunk.entries)
        half = ordered[len(ordered) // 2 :]
        upper = VocabularyChunk({w: chunk.entries.pop(w) for w in half})
        chunk.changed()
        self.chunks[half[0]] = upper

    # -- facets -----------------------------------------------------------------------------
    @staticmethod
    def _post(tree, key, code):
        codes = tree.get(key)
        if codes is None:
            codes = tree[key] = OOTreeSet()
        codes.insert(code)

    @staticmethod
    def _unpost(tree, key, code):
        codes = tree.get(key)
        if codes is not None and code in codes:
            codes.remove(code)
            if not codes:
                del tree[key]

    def index(self, unit):
        """(Re)index ``unit``; only what changed is written."""
        code = unit.code
        entry = (
            unit_words(unit),
            unit.kind,
            unit.connection_state,
            unit.parent_code or "",
            unit.is_active(),
            unit.adapter or "",
        )
        old = self.entries.get(code)
        if old == entry:
            return
        if old is None:
            old = ((), None, None, None, True, None)
            self.count.change(1)
        words, kind, state, parent, active, adapter = entry
        for word in set(old[0]) - set(words):
            self._unpost_word(word, code)
        for word in set(words) - set(old[0]):
            self._post_word(word, code)
        for tree, before, now in (
            (self.by_kind, old[1], kind),
            (self.by_state, old[2], state),
            (self.by_parent, old[3], parent),
            (self.by_adapter, old[5], adapter),
        ):
            if before != now:
                if before is not None:
                    self._unpost(tree, before, code)
                self._post(tree, now, code)
        if active:
            if code in self.inactive:
                self.inactive.remove(code)
        else:
            self.inactive.insert(code)
        self.entries[code] = entry

    # -- reading ----------------------------------------------------------------------------
    def codes_of_adapter(self, adapter):
        """The codes of the units bound to ``adapter`` ("" = hosted here), any status."""
        return list(self.by_adapter.get(adapter, ()))

    def matching(self, word):
        """The codes (a set) of the units ``word`` (folded) finds by one of their words."""
        found = set()
        words = self.words
        for key, only in self.vocabulary_containing(word):
            if only is None:
                found.update(words[key])
            else:
                found.add(only)
        return found

    def vocabulary_containing(self, word):
        """The (word, only) entries of the vocabulary that ``word`` finds."""
        return [entry for chunk in self.chunks.values() for entry in chunk.containing(word)]

    def vocabulary_count(self, word):
        """About how many words of the vocabulary ``word`` finds, read in one chunk of every
        ``SAMPLE``: enough to tell which query word to start from."""
        return sum(chunk.count(word) for chunk in list(self.chunks.values())[:: self.SAMPLE])

    def search(self, words=(), kind=None, state=None, parent=None, include_inactive=False):
        """The codes (a set) matching every one of ``words`` and the filters (None: no filter);
        None stands for every unit (no word, no filter), so the caller walks the directory's
        own keys instead."""
        result = None
        # the word in the fewest words of the vocabulary first (the fewest units, as a rule);
        # once few units are left, the others are checked on what each of them was indexed
        # with instead of by gathering their own units ("y" of "y te" is in most names)
        for word in sorted(dict.fromkeys(words), key=self.vocabulary_count):
            if result is not None and len(result) <= self.FILTER:
                entries = self.entries
                result = {c for c in result if finds_word(word, entries[c][0])}
            else:
                found = self.matching(word)
                result = found if result is None else result & found
            if not result:
                return set()
        for tree, key in ((self.by_kind, kind), (self.by_state, state), (self.by_parent, parent)):
            if key is None:
                continue
            facet = tree.get(key)
            if facet is None:
                return set()
            if result is None:
                result = set(facet)
            elif len(result) < 5000:
                result = {c for c in result if c in facet}
            else:
                result &= set(facet)
        if result is None:
            return None
        if not include_inactive and self.inactive:
            if len(result) < len(self.inactive):
                result = {c for c in result if c not in self.inactive}
            else:
                result -= set(self.inactive)
        return result


@implementer(IDirectory)
class Directory(Folder):
    """/directory/<code>; ``search_index`` is its ``DirectoryIndex`` (generation 9): every unit
    added here is indexed, and the directory service reindexes a unit it changes."""

    content_type = "Directory"
    title = "Directory"
    search_index = None  # a directory stored before generation 9, until the evolve step builds it

    def __init__(self):
        super().__init__()
        self.search_index = DirectoryIndex()

    def add(self, name, obj):
        added = super().add(name, obj)
        self.reindex(added)
        return added

    def reindex(self, unit):
        """Bring the search index up to date with ``unit`` (added or changed)."""
        if self.search_index is not None:
            self.search_index.index(unit)

    def build_index(self):
        """A new search index of every unit (the evolve step, ``lienthong reindex``)."""
        self.search_index = DirectoryIndex()
        for unit in self.values():
            self.search_index.index(unit)


@implementer(IOrganization)
class Organization(Folder):
    """A unit: its identity, place in the hierarchy and, as sub-objects, its mailbox and registers.

    Fields added after generation 3 have class-level defaults so that older units read
    correctly before ``lienthong migrate`` touches them.
    """

    content_type = "Organization"
    __acl__ = sec.UNIT_ACL

    eoffice_product = ""
    adapter = ""  # the name of a transport plugin; "" = this hub's own mailbox
    adapter_settings = None  # PersistentMapping of the adapter's settings
    connection_state = NOT_CONNECTED
    pilot_start = None  # ISO date when the pilot began
    connection_history = None  # PersistentList of {state, date, actor, note}
    status = ACTIVE
    successors = ()  # codes of the units that took over (merge, split, dissolve)
    predecessors = ()  # codes of the units it took over
    former_names = ()  # ({name, short_name, until, actor}, ...) after renames
    former_codes = ()  # codes the unit was known by before (an older national scheme); search finds them
    symbol = ""  # the unit's sign in notations ("UBND" in 15/QĐ-UBND); "" = derived

    def __init__(
        self, code, name, short_name="", kind="agency", parent_code=None, email="", phone="", address=""
    ):
        super().__init__()
        if not remote_code(code):  # the directory service issues ddd.dd.dd.Xdd; a remote unit keeps its own
            raise ValueError(
                f"invalid identifier code {code!r} (expected a dotted code such as ddd.dd.dd.Xdd)"
            )
        if kind not in KINDS:
            raise ValueError(f"unknown unit kind {kind!r}")
        self.code = code
        self.name = name
        self.short_name = short_name or name
        self.kind = kind
        self.parent_code = parent_code
        self.email = email
        self.phone = phone
        self.address = address
        self.policies = PersistentMapping(DEFAULT_POLICIES)
        self.adapter_settings = PersistentMapping()
        self.connection_history = PersistentList()
        self.ensure_children()

    def ensure_children(self):
        """Every unit has its mailbox (generation 4) and its registers (generation 5)."""
        if "mailbox" not in self:
            self.add("mailbox", Mailbox())
        if "registers" not in self:
            from .registers import Registers

            self.add("registers", Registers())

    @property
    def notation_symbol(self):
        """What follows the dash in a notation: the set symbol, else the short name's first word."""
        return self.symbol or (self.short_name or self.code).split()[0]

    @property
    def title(self):
        return self.name

    @property
    def mailbox(self):
        return self["mailbox"]

    def policy(self, key):
        return (self.policies or {}).get(key, DEFAULT_POLICIES.get(key))

    def is_active(self):
        return self.status == ACTIVE
