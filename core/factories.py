"""Route factories: URL-dispatch routes (/manage/..., /api/v1/...) get the resource they act
on as their context, so the resource's ACL decides, exactly as under traversal."""

from pyramid.httpexceptions import HTTPNotFound

from .security import SystemIdentity


def site_factory(request):
    return request.site


def unit_factory(request):
    """The unit named by ``{code}`` in the route; 404 when there is none."""
    unit = request.site["directory"].get(request.matchdict.get("code", ""))
    if unit is None:
        raise HTTPNotFound()
    return unit


def user_factory(request):
    """The user named by ``{login}`` in the route; 404 when there is none."""
    user = request.site["users"].get((request.matchdict.get("login") or "").lower())
    if user is None:
        raise HTTPNotFound()
    return user


def container_factory(name):
    """A factory returning the top-level container ``name`` (its ACL guards the route)."""

    def factory(request):
        return request.site[name]

    return factory


def self_factory(request):
    """The logged-in person's own User; the site (which grants no EDIT_SELF) for anyone else,
    an eOffice product's token included."""
    user = request.identity
    if user is not None and not isinstance(user, SystemIdentity):
        return user
    return request.site
