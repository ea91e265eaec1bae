"""BTree-backed folders: the container every part of the tree is built from.

Children live in an ``OOBTree`` with a ``Length`` counter so that large containers
never load whole and concurrent inserts of different keys do not conflict.
"""

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from persistent.mapping import PersistentMapping
from zope.interface import implementer

from ..interfaces import IFolder


class LocalRolesMixin:
    """Plone's idea of local roles: principal -> roles granted on this object and below."""

    __local_roles__ = None

    def grant_local_role(self, principal, role):
        if self.__local_roles__ is None:
            self.__local_roles__ = PersistentMapping()
        roles = set(self.__local_roles__.get(principal, ()))
        roles.add(role)
        self.__local_roles__[principal] = tuple(sorted(roles))

    def revoke_local_role(self, principal, role):
        if not self.__local_roles__ or principal not in self.__local_roles__:
            return
        roles = set(self.__local_roles__[principal]) - {role}
        if roles:
            self.__local_roles__[principal] = tuple(sorted(roles))
        else:
            del self.__local_roles__[principal]

    def local_roles_of(self, principal):
        if not self.__local_roles__:
            return ()
        return self.__local_roles__.get(principal, ())


@implementer(IFolder)
class Folder(LocalRolesMixin, Persistent):
    """An ordered-by-key container of named, located children."""

    __name__ = None
    __parent__ = None
    content_type = "Folder"

    def __init__(self):
        super().__init__()
        self.data = OOBTree()
        self._num = Length()

    # -- mapping protocol -------------------------------------------------
    def __getitem__(self, name):
        return self.data[name]

    def get(self, name, default=None):
        return self.data.get(name, default)

    def __contains__(self, name):
        return name in self.data

    def __len__(self):
        return self._num()

    def __iter__(self):
        return iter(self.data.keys())

    def keys(self, min=None, max=None):
        return self.data.keys(min, max)

    def values(self):
        return self.data.values()

    def items(self):
        return self.data.items()

    def add(self, name, obj):
        """Add ``obj`` under ``name``; an existing name is an error, never a silent overwrite."""
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"invalid name {name!r}")
        if name in self.data:
            raise KeyError(f"{name!r} already exists in {self.__name__!r}")
        obj.__name__ = name
        obj.__parent__ = self
        self.data[name] = obj
        self._num.change(1)
        return obj

    __setitem__ = add

    def remove(self, name):
        obj = self.data.pop(name)
        self._num.change(-1)
        return obj
