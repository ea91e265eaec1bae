"""The worker's settings (``lienthong.transport.*``, ``lienthong.worker.*``), read once at
start-up so that a bad one stops the start naming it, not the worker later."""

DEFAULTS = {
    "lienthong.transport.max_attempts": 8,
    "lienthong.transport.backoff_base": 10.0,  # seconds before the first retry
    "lienthong.transport.backoff_cap": 3600.0,  # the longest wait between attempts
    "lienthong.transport.lease_seconds": 60.0,
    "lienthong.transport.poll_seconds": 30.0,
    "lienthong.transport.idle_seconds": 1.0,  # how often an idle worker looks for due messages
    "lienthong.transport.threads": 4,  # an adapter's network calls at once (acknowledging a poll's packages)
    "lienthong.transport.inbound_batch": 20,  # inbound messages imported in one transaction
    "lienthong.worker.housekeeping_seconds": 3600.0,  # how often the chores run (spent login tokens)
    "lienthong.worker.notice_mail_seconds": 30.0,  # how often notices' mails are sent (core/notice_mail.py)
    "lienthong.worker.digest_at": "",  # HH:MM local: the daily digest; empty: cron runs it
}


def setting(settings, name):
    value = (settings or {}).get(name)
    default = DEFAULTS[name]
    if value in (None, ""):
        return default
    if name == "lienthong.worker.digest_at":
        return digest_time(value)
    try:
        number = type(default)(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number <= 0:
        raise ValueError(f"{name} = {value!r}: expected a positive number")
    return number


def check_settings(settings):
    """Every worker setting read once, so a bad one stops start-up naming it (not the worker later)."""
    for name in DEFAULTS:
        setting(settings, name)


def digest_time(value):
    """``"HH:MM"`` normalized (``"6:30"`` → ``"06:30"``), or "" when the worker sends no digest."""
    value = str(value or "").strip()
    if not value:
        return ""
    try:
        hours, minutes = (int(part) for part in value.split(":"))
    except ValueError:
        raise ValueError(f"lienthong.worker.digest_at = {value!r}: expected HH:MM") from None
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"lienthong.worker.digest_at = {value!r}: expected HH:MM")
    return f"{hours:02d}:{minutes:02d}"
