"""/mail: e-mails waiting to leave the hub, kept in the database until they are sent (R8.1).

A notice that is to be mailed puts an ``OutgoingMail`` here in the transaction that made the
notice, so the mail exists if and only if that transaction committed; the worker
(``core/notice_mail.py``) sends what is pending afterwards and marks it sent. A process that
dies before the send leaves the mail pending for the next round (at least once: a crash
between the send and its mark sends it again, never loses it).
"""

import random

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, Deny, Everyone

from .folder import Folder

#: how many sent mails are kept (for the operator to look at); older ones go
KEEP_SENT = 1000


class OutgoingMail(Persistent):
    """One mail for one person: what to say (a msgid with its mapping, rendered in the site's
    language when it is sent), to whom, and what became of it."""

    sent_at = None  # ISO time it was handed to the mail server
    attempts = 0
    last_error = ""
    next_attempt = ""  # ISO time before which it is not tried again ("" = at once)

    def __init__(self, created, login, address, message, mapping=None, link="", kind=""):
        self.created = created
        self.login = login
        self.address = address
        self.message = message
        self.mapping = dict(mapping or {})
        self.link = link
        self.kind = kind


class MailQueue(Folder):
    """``pending``: key -> OutgoingMail not yet sent; ``sent``: the newest ``KEEP_SENT`` sent.

    The keys are the creation time plus a random suffix, so concurrent transactions queue
    mails without conflicting on a counter, and the oldest go first.
    """

    content_type = "MailQueue"
    __acl__ = [(Deny, Everyone, ALL_PERMISSIONS)]  # nothing here is browsable
    pending = None
    sent = None
    sent_count = None  # Length: every mail sent since the queue was made

    def __init__(self):
        super().__init__()
        self.pending = OOBTree()
        self.sent = OOBTree()
        self.sent_count = Length()

    def put(self, mail):
        key = f"{mail.created}-{random.randrange(16**8):08x}"
        while key in self.pending:
            key += "0"
        self.pending[key] = mail
        return key

    def mark_sent(self, key, when):
        mail = self.pending.pop(key, None)
        if mail is None:
            return False
        mail.sent_at = when
        self.sent[key] = mail
        self.sent_count.change(1)
        while len(self.sent) > KEEP_SENT:
            del self.sent[self.sent.minKey()]
        return True
