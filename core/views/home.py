"""The home page: one panel per role the user holds."""

from pyramid.view import view_config

from .. import permissions as sec
from ..i18n import _, translate
from ..resources.site import Site
from ..services.accounts import role_grants, roles_of
from .base import page

# role -> (panel title, what the panel will list)
PANELS = {
    sec.SYSTEM_ADMIN: (_("System administration"), _("Units, accounts, transport queues and plugins.")),
    sec.UNIT_ADMIN: (_("My unit"), _("Accounts, tokens and policies of your unit.")),
    sec.CLERK: (_("Clerical work"), _("Incoming documents to register and outgoing documents to issue.")),
    sec.LEADER: (_("Direction"), _("Documents waiting for your assignment or approval.")),
    sec.SPECIALIST: (_("My assignments"), _("Documents assigned to you and their deadlines.")),
    sec.AUDITOR: (_("Audit"), _("The audit log and the operating reports.")),
}
ROLE_TITLES = {
    sec.SYSTEM_ADMIN: _("System administrator"),
    sec.UNIT_ADMIN: _("Unit administrator"),
    sec.CLERK: _("Clerk"),
    sec.LEADER: _("Leader"),
    sec.SPECIALIST: _("Specialist"),
    sec.AUDITOR: _("Auditor"),
}


def panel_links(request, site, user, role):
    """``[{url, title}]`` shown in a role's panel."""
    links = []
    if role == sec.SYSTEM_ADMIN:
        links.append(
            {"url": request.application_url + "/manage/users", "title": translate(request, _("Accounts"))}
        )
    elif role == sec.UNIT_ADMIN:
        for code, granted in role_grants(site, user):
            unit = site["directory"].get(code) if code else None
            if granted == sec.UNIT_ADMIN and unit is not None:
                links.append(
                    {
                        "url": request.application_url + "/manage/users?unit=" + code,
                        "title": translate(request, _("Accounts of ${unit}"), unit=unit.short_name),
                    }
                )
    elif role in (sec.CLERK, sec.LEADER, sec.SPECIALIST):
        links += mail_links(request, site, user)
    return links


def mail_links(request, site, user):
    """The unit inbox with its unread and overdue counts (two catalog queries), and the personal mailbox."""
    from ..services import mailboxes

    links = []
    unit = site["directory"].get(user.unit_code or "")
    if unit is not None and request.has_permission(sec.READ_MAILBOX, unit["mailbox"]):
        env = request.env
        inbox = [mailboxes.box_key(mailboxes.INBOX, unit.code)]
        unread = mailboxes.listing(site, env, inbox, unread=True, size=1)[0]
        overdue = mailboxes.overdue_count(site, env, inbox)
        url = request.application_url + f"/directory/{unit.code}/mailbox"
        links.append(
            {
                "url": url,
                "title": translate(
                    request, _("Inbox: ${unread} unread, ${overdue} overdue"), unread=unread, overdue=overdue
                ),
            }
        )
    links.append(
        {
            "url": request.application_url + f"/users/{user.login}/mailbox",
            "title": translate(request, _("Personal mailbox")),
        }
    )
    return links


@view_config(context=Site, renderer="home.pt", permission=sec.VIEW)
def home(request):
    site = request.site
    user = request.identity
    roles = roles_of(site, user)
    unit = site["directory"].get(user.unit_code) if user.unit_code else None
    panels = [
        {
            "role": role,
            "title": translate(request, PANELS[role][0]),
            "text": translate(request, PANELS[role][1]),
            "role_title": translate(request, ROLE_TITLES[role]),
            "links": panel_links(request, site, user, role),
        }
        for role in roles
        if role in PANELS
    ]
    return page(
        request,
        translate(request, _("Home")),
        panels=panels,
        unit=unit,
        role_titles=[translate(request, ROLE_TITLES[r]) for r in roles if r in ROLE_TITLES],
    )
