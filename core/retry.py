"""The pause before a transaction is tried again after a conflict.

Parallel senders of one unit conflict on its register's counter (numbers must never repeat
nor skip, so it cannot merge): one commits, the others try again. Tried again at once, they
meet again and again until the attempts run out (a 503); a growing pause with jitter spreads
them, and each finds the counter free in turn. The same pause serves a request's retries
(``pyramid_retry``, ``retry.attempts``) and ``db.run_in_site``'s (the CLI, the worker).
"""

import random
import time

BASE_SECONDS = 0.01  # the pause after the first conflict, about
CAP_SECONDS = 1.0  # the longest pause


def pause_seconds(attempt, rand=random.random):
    """min(cap, base·2^attempt) × jitter 0.5–1.5: ``attempt`` is the one that conflicted (0 = first)."""
    return min(CAP_SECONDS, BASE_SECONDS * 2 ** max(0, attempt)) * (0.5 + rand())


def pause(attempt):
    time.sleep(pause_seconds(attempt))


def before_retry(event):
    """``pyramid_retry.IBeforeRetry``: pause before the request runs again."""
    pause(event.environ.get("retry.attempt", 0))


def includeme(config):
    from pyramid_retry import IBeforeRetry

    config.add_subscriber(before_retry, IBeforeRetry)
