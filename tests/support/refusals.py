"""Proving that a refused service call stored nothing."""

import pytest

from lienthong.core.errors import ServiceError

from .app import with_site


def refused(app, fn, snapshot, exc_type=ServiceError):
    """Run ``fn(site)``, expect ``exc_type``, and prove ``snapshot(site)`` is unchanged; returns the error."""
    before = with_site(app, snapshot)

    def attempt(site):
        with pytest.raises(exc_type) as info:
            fn(site)
        return info.value

    error = with_site(app, attempt)
    assert with_site(app, snapshot) == before
    return error
