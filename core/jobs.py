"""A job a plugin asks the worker to run on a schedule (hook ``lienthong_scheduled_jobs``).

The worker runs each due job in a transaction of its own on the site, under a lease so that
two workers (ZEO, RelStorage) never run one job at once; a failure is logged and the job
comes again at its next time. A job that must write in several transactions (a national
directory's first import) is a command, not a job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class ScheduledJob:
    name: str  # unique among the jobs (the lease and the logs name it)
    seconds: float  # how often it runs
    run: Callable[[Any, Any], Any]  # run(site, env), in a transaction the worker commits
