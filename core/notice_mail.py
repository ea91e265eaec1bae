"""The worker's notice mail: what notices put in /mail, sent after their transaction committed.

A notice a person wants by e-mail is queued as an ``OutgoingMail`` (``resources/mailqueue.py``)
in the transaction of the act it tells of, so an act that aborts leaves no mail and a mail
that is queued is kept in the database until it has gone. Every
``lienthong.worker.notice_mail_seconds`` one worker (under the lease ``job:notice-mail``)
reads the pending mails in a read-only snapshot and renders them in the site's language,
hands them to the SMTP server outside any transaction (``core/mail.py``), then records what
went in one transaction: sent ones move to ``sent``, refused ones wait longer each time. A
worker that dies between the send and the record sends those mails again next time: at
least once, never lost.
"""

import logging
import time

from .clock import iso
from .i18n import site_localizer
from .mail import MailConfig, Mailer, MailError, build_message
from .services import notices
from .services.digest import public_url

log = logging.getLogger(__name__)

LEASE = "notice-mail"
BATCH = 50


def send_pending(worker, limit=BATCH):
    """Send what is due in /mail; returns ``(sent, failed)``. ``worker``: a ``core.worker.Worker``."""
    env = worker.env
    settings = env.settings or {}
    localizer = site_localizer(worker.registry)
    now = worker.clock()
    batch = worker.read(
        lambda site: notices.mail_batch(site, localizer, public_url(settings), iso(now), limit)
    )
    if not batch:
        return 0, 0
    config = MailConfig.from_settings(settings)
    results = {}
    try:
        with Mailer(config) as mailer:
            for key, address, name, subject, text in batch:
                try:
                    mailer.send(build_message(config, address, subject, text, to_name=name))
                    results[key] = None
                except MailError as exc:
                    if exc.fatal:
                        raise
                    results[key] = str(exc)
    except MailError as exc:  # the server is away: what was not sent waits for the next round
        log.warning("notice mail: %s", exc)
        for key, *_rest in batch:
            results.setdefault(key, str(exc))
    worker.write(lambda site: notices.mark_mailed(site, results, iso(now)))
    sent = sum(1 for error in results.values() if error is None)
    if sent:
        log.info("notice mail: %d sent, %d waiting", sent, len(results) - sent)
    return sent, len(results) - sent


def run_due(worker):
    """The worker loop's call: send when the interval has passed and the lease is ours."""
    if time.monotonic() < worker.next_notice_mail:
        return 0
    worker.next_notice_mail = time.monotonic() + worker.notice_mail_seconds
    if not worker.read(notices.mail_waiting):
        return 0  # nothing queued: no lease taken, nothing written
    lease = f"job:{LEASE}"
    if not worker._take_lease(lease):
        return 0
    try:
        return send_pending(worker)[0]
    except Exception:
        log.exception("notice mail: the round failed")
        return 0
    finally:
        worker._drop_lease(lease)
