"""One-time values of signed calls (``resources.nonces``): what a plugin that checks a
signature calls to refuse a replay, in the request's transaction."""

import time

from ..resources.nonces import NAME, NonceRegister


def register(site):
    """``site["nonces"]``, added on first use (a site older than it has none until then)."""
    found = site.get(NAME)
    if found is None:
        found = site.add(NAME, NonceRegister())
    return found


def use(site, scope, value, window, now=None):
    """Record ``value`` of ``scope`` (a peer's name, ``vxp``...) for ``window`` seconds on each
    side of ``now``; False when it was already used within that time (a replay). Committed
    with the call's transaction: a call refused later leaves nothing behind."""
    now = time.time() if now is None else now
    return register(site).use(scope, value, now + 2 * float(window), now)
