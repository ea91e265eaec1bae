"""This hub as a centre on the national document axis, read from the ini (``lienthong.vxp.*``).

::

    lienthong.vxp.url = https://axis.example.gov.vn/vxp   # the axis's base URL
    lienthong.vxp.system_id = vxp.saas.03                  # this hub's id on the axis
    lienthong.vxp.secret = axis                            # the secret's NAME, looked up below
    lienthong.vxp.verify = true                            # TLS: true, false or a CA bundle path
    lienthong.vxp.poll_seconds = 30                        # how often the worker asks the axis
    lienthong.vxp.reconcile_seconds = 300                  # how often it reads getSentEdocList
    lienthong.vxp.directory_sync_seconds = 3600            # the incremental directory sync (0: off)
    lienthong.vxp.timeout = 60
    lienthong.vxp.calls_at_once = 4                        # fetches and sends in flight at once

The secret itself is never in the database and need not be in the ini: it is looked up
as ``lienthong.vxp.secret.<name>`` in the settings, else in the environment variable
``LIENTHONG_VXP_SECRET_<NAME>`` (upper case, ``-`` and ``.`` as ``_``). Without
``lienthong.vxp.url`` the hub is not on the axis and the plugin does nothing.
"""

import os
from dataclasses import dataclass, field

from lienthong.core.named_secrets import named_secret, variable

PREFIX = "lienthong.vxp."
ENV_PREFIX = "LIENTHONG_VXP_SECRET_"
DEFAULT_POLL = 30.0
DEFAULT_RECONCILE = 300.0
DEFAULT_DIRECTORY_SYNC = 3600.0
DEFAULT_TIMEOUT = 60.0
DEFAULT_CALLS_AT_ONCE = 4
MIN_SECRET = 16  # characters: the axis's secrets are shorter than ours (peer_hub asks 32)


class AxisConfigError(ValueError):
    """The ini's axis settings cannot work; the message names the setting."""


@dataclass
class AxisConfig:
    url: str
    system_id: str
    secret: bytes = field(repr=False)
    verify: bool | str = True
    poll_seconds: float = DEFAULT_POLL
    reconcile_seconds: float = DEFAULT_RECONCILE
    directory_sync_seconds: float | None = DEFAULT_DIRECTORY_SYNC  # None: the worker never syncs
    timeout: float = DEFAULT_TIMEOUT
    calls_at_once: int = DEFAULT_CALLS_AT_ONCE  # calls in flight at once (a poll's fetches, a batch's sends)


def secret(settings, name):
    """The axis secret called ``name``: settings first, then the environment; None if neither."""
    return named_secret(settings, f"{PREFIX}secret.", ENV_PREFIX, name)


def _number(settings, key, default):
    value = (settings or {}).get(PREFIX + key)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except ValueError:
        raise AxisConfigError(f"{PREFIX}{key} must be a number, not {value!r}") from None
    if number <= 0:
        raise AxisConfigError(f"{PREFIX}{key} must be more than 0, not {value!r}")
    return number


def _whole(settings, key, default):
    """A whole number of at least 1 (``_number`` for counts)."""
    number = _number(settings, key, default)
    if number != int(number) or number < 1:
        raise AxisConfigError(f"{PREFIX}{key} must be a whole number of at least 1, not {number:g}")
    return int(number)


def _verify(value):
    text = str(value if value is not None else "").strip()
    if text.lower() in ("", "1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    if not os.path.exists(text):
        raise AxisConfigError(f"{PREFIX}verify names a CA bundle that does not exist: {text}")
    return text


def load(settings):
    """The ``AxisConfig`` of ``settings``, None when the hub is not on the axis;
    ``AxisConfigError`` names the first setting that cannot work."""
    settings = settings or {}
    url = (settings.get(PREFIX + "url") or "").strip().rstrip("/")
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise AxisConfigError(f"{PREFIX}url must be the axis's http(s) address, not {url!r}")
    system_id = (settings.get(PREFIX + "system_id") or "").strip()
    if not system_id or not system_id.isascii() or any(c.isspace() for c in system_id):
        raise AxisConfigError(f"{PREFIX}system_id is required: this hub's id on the axis (ASCII, no spaces)")
    name = (settings.get(PREFIX + "secret") or "axis").strip()
    value = secret(settings, name)
    if not value:
        raise AxisConfigError(
            f"the axis secret {name!r} is missing: set {PREFIX}secret.{name} or {variable(ENV_PREFIX, name)}"
        )
    if len(value) < MIN_SECRET:
        raise AxisConfigError(f"the axis secret {name!r} is too short: at least {MIN_SECRET} characters")
    return AxisConfig(
        url=url,
        system_id=system_id,
        secret=value.encode("utf-8"),
        verify=_verify(settings.get(PREFIX + "verify")),
        poll_seconds=_number(settings, "poll_seconds", DEFAULT_POLL),
        reconcile_seconds=_number(settings, "reconcile_seconds", DEFAULT_RECONCILE),
        directory_sync_seconds=(
            None
            if str(settings.get(PREFIX + "directory_sync_seconds", "")).strip() == "0"
            else _number(settings, "directory_sync_seconds", DEFAULT_DIRECTORY_SYNC)
        ),
        timeout=_number(settings, "timeout", DEFAULT_TIMEOUT),
        calls_at_once=_whole(settings, "calls_at_once", DEFAULT_CALLS_AT_ONCE),
    )
