"""Mailboxes: a unit's mailbox and each user's personal mailbox.

Deliveries (the document-exchange issue) are filed here. Whoever holds the mailbox reads
it; nobody else does, the system administrator and the auditor included (R6.1, R6.3):
managing the hub does not mean reading its mail.
"""

from pyramid.authorization import Allow, Deny, Everyone

from .. import permissions as sec
from .folder import Folder

MAIL_PERMISSIONS = (
    sec.READ_MAILBOX,
    sec.DRAFT,
    sec.SEND,
    sec.APPROVE,
    sec.ISSUE,
    sec.REGISTER,
    sec.ASSIGN,
    sec.PROCESS,
)


class Mailbox(Folder):
    """/directory/<code>/mailbox and /users/<login>/mailbox."""

    content_type = "Mailbox"
    owner_login = None  # set on personal mailboxes

    @property
    def __acl__(self):
        acl = []
        if self.owner_login:
            acl.append(
                (Allow, sec.user_principal(self.owner_login), (sec.VIEW, sec.READ_MAILBOX, sec.PROCESS))
            )
            # a personal mailbox is its owner's only: unit roles do not reach it
            acl.append((Deny, Everyone, MAIL_PERMISSIONS))
        else:
            acl.extend(sec.UNIT_MAIL_ACL)
            acl.append((Deny, Everyone, MAIL_PERMISSIONS))
        return acl

    @property
    def title(self):
        return self.__parent__.title if self.__parent__ is not None else ""
