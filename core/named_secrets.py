"""Secrets named in the ini and kept out of the database: a PIN, an HMAC key, a passphrase.

A setting names the secret (``lienthong.vxp.secret = axis``); its value is looked up as
``<setting prefix><name>`` in the settings, else in the environment variable
``<env prefix><NAME>`` (upper case, ``-`` and ``.`` as ``_``), so a deployment can keep it
out of the ini file altogether.
"""

import os
from collections.abc import Mapping
from typing import Any


def variable(env_prefix: str, name: str) -> str:
    """The environment variable that holds the secret ``name``."""
    return env_prefix + name.upper().replace("-", "_").replace(".", "_")


def named_secret(
    settings: Mapping[str, Any] | None, setting_prefix: str, env_prefix: str, name: str
) -> str | None:
    """The secret called ``name``: from the settings, else the environment; None if neither."""
    if not name:
        return None
    value = (settings or {}).get(f"{setting_prefix}{name}")
    if value is None:
        value = os.environ.get(variable(env_prefix, name))
    return value
