"""The content base: BTree folders, ACLs with local roles."""

import pytest
from pyramid.interfaces import ISecurityPolicy
from pyramid.request import Request

from lienthong.core import make_config, permissions as sec
from lienthong.core.app_objects import app_objects
from lienthong.core.edxml import valid_code
from lienthong.core.resources.directory import Organization
from lienthong.core.resources.folder import Folder
from lienthong.core.resources.mailbox import MAIL_PERMISSIONS
from lienthong.core.resources.site import TOP_LEVEL

from .support.app import with_site


def test_folder_keeps_children_in_a_btree_with_a_counter():
    folder = Folder()
    child = folder.add("a", Folder())
    folder.add("b", Folder())
    assert child.__parent__ is folder and child.__name__ == "a"
    assert len(folder) == 2 and list(folder) == ["a", "b"] and "a" in folder
    with pytest.raises(KeyError):
        folder.add("a", Folder())  # never a silent overwrite
    for bad in ("", "x/y", None):
        with pytest.raises(ValueError):
            folder.add(bad, Folder())
    folder.remove("a")
    assert len(folder) == 1 and "a" not in folder
    from BTrees.OOBTree import OOBTree

    assert isinstance(folder.data, OOBTree)


def test_site_has_the_top_level_containers_of_the_design(demo_app):
    names = with_site(demo_app, lambda site: sorted(site.keys()))
    assert names == sorted(TOP_LEVEL)


def test_identifier_codes_follow_qcvn_102():
    assert valid_code("000.00.12.H49")
    for bad in ("000.00.12.h49", "00.00.12.H49", "000.00.12.H4", "000-00-12-H49", ""):
        assert not valid_code(bad)
    # the resource takes a remote system's dotted code (the directory service issues QCVN 102 ones)
    assert Organization("28.22.H17", "UBND xã Hòa Sơn").code == "28.22.H17"
    for bad in ("So-Noi-vu", "000 00 12 H49", ""):
        with pytest.raises(ValueError):
            Organization(bad, "Sở Sai Mã")


def _permits(app, site, login, context, permission):
    """Ask the configured security policy, as a view would, for ``login`` on ``context``."""
    request = Request.blank("/")
    request.registry = app.registry
    request.site = site
    policy = app.registry.getUtility(ISecurityPolicy)
    policy.identity_cache.set(request, site["users"][login])
    return bool(policy.permits(request, context, permission))


@pytest.mark.parametrize(
    "login,unit,permission,expected",
    [
        ("vanthu.snv", "000.00.02.H49", sec.REGISTER, True),  # clerk registers in own unit
        ("vanthu.snv", "000.00.31.H49", sec.REGISTER, False),  # ... never in another
        ("vanthu.snv", "000.00.02.H49", sec.ASSIGN, False),  # clerks do not assign
        ("lanhdao.snv", "000.00.02.H49", sec.ASSIGN, True),  # leaders do
        ("lanhdao.snv", "000.00.31.H49", sec.READ_MAILBOX, False),
        ("chuyenvien.vungtau", "000.00.31.H49", sec.PROCESS, True),
        ("chuyenvien.vungtau", "000.00.31.H49", sec.SEND, False),
        ("admin", "000.00.31.H49", sec.READ_MAILBOX, False),  # the system admin manages, never reads mail
        ("admin", "000.00.31.H49", sec.MANAGE_UNIT, True),  # ... but manages every unit
        ("kiemtoan", "000.00.31.H49", sec.READ_MAILBOX, False),  # auditor never reads contents
        ("quantri.stttt", "000.00.12.H49", sec.MANAGE_UNIT, True),
        ("quantri.stttt", "000.00.02.H49", sec.MANAGE_UNIT, False),
    ],
)
def test_local_roles_on_units_drive_the_acls(demo_app, login, unit, permission, expected):
    """Mail permissions are checked on the unit's mailbox, management on the unit."""

    def check(site):
        context = site["directory"][unit]
        if permission in MAIL_PERMISSIONS:
            context = context["mailbox"]
        return _permits(demo_app, site, login, context, permission)

    assert with_site(demo_app, check) is expected


def test_audit_log_is_readable_by_auditor_and_admin_only(demo_app):
    def check(site):
        return {
            login: _permits(demo_app, site, login, site["audit"], sec.VIEW_AUDIT)
            for login in ("admin", "kiemtoan", "vanthu.snv", "quantri.stttt")
        }

    assert with_site(demo_app, check) == {
        "admin": True,
        "kiemtoan": True,
        "vanthu.snv": False,
        "quantri.stttt": False,
    }


def test_local_roles_can_be_revoked():
    folder = Folder()
    folder.grant_local_role("user:x", sec.CLERK)
    folder.grant_local_role("user:x", sec.LEADER)
    assert folder.local_roles_of("user:x") == (sec.CLERK, sec.LEADER)
    folder.revoke_local_role("user:x", sec.CLERK)
    assert folder.local_roles_of("user:x") == (sec.LEADER,)
    folder.revoke_local_role("user:x", sec.LEADER)
    assert folder.local_roles_of("user:x") == ()


def test_resources_provide_their_interfaces(demo_app):
    from zope.interface.verify import verifyObject

    from lienthong.core import interfaces as i
    from lienthong.plugins.blobstore_zodb import ZODBBlobStore

    def check(site):
        verifyObject(i.ISite, site)
        verifyObject(i.IDirectory, site["directory"])
        verifyObject(i.IOrganization, site["directory"]["000.00.12.H49"])
        verifyObject(i.IUser, site["users"]["admin"])
        verifyObject(i.IAuditLog, site["audit"])
        return True

    assert with_site(demo_app, check)
    assert verifyObject(i.IBlobStore, ZODBBlobStore())
    assert app_objects(demo_app.registry).blob_store.name == "zodb"
