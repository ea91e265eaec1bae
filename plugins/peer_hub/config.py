"""This hub's peers, read from the ini (``lienthong.peer_hub.*``).

::

    lienthong.peer_hub.name = hub-a                 # this hub's name, as its peers know it
    lienthong.peer_hub.peers = hub-b hub-c
    lienthong.peer_hub.peer.hub-b.url = https://lienthong.other-province.gov.vn
    lienthong.peer_hub.peer.hub-b.key_id = 2026-01  # names the shared secret in force (rotation)
    lienthong.peer_hub.peer.hub-b.secret = hub-b    # the secret's NAME, looked up below

The secret itself is never in the database and need not be in the ini: it is looked up
as ``lienthong.peer_hub.secret.<name>`` in the settings, else in the environment variable
``LIENTHONG_PEER_SECRET_<NAME>`` (upper case, ``-`` and ``.`` as ``_``), as signing PINs are.
"""

from dataclasses import dataclass, field

from lienthong.core.named_secrets import named_secret, variable

PREFIX = "lienthong.peer_hub."
ENV_PREFIX = "LIENTHONG_PEER_SECRET_"
DEFAULT_WINDOW = 300  # seconds a signed request or response stays acceptable
DEFAULT_MAX_BODY = 64 * 2**20  # the largest request body a peer may send
DEFAULT_TIMEOUT = 60.0
MIN_SECRET = 32  # characters: a shared HMAC key shorter than this is refused


class PeerConfigError(ValueError):
    """The ini's peer settings cannot work; the message names the setting."""


@dataclass
class Peer:
    name: str
    url: str
    key_id: str
    secret: bytes = field(repr=False)


@dataclass
class HubConfig:
    name: str = ""
    peers: dict = field(default_factory=dict)  # name -> Peer
    window: int = DEFAULT_WINDOW
    max_body: int = DEFAULT_MAX_BODY
    timeout: float = DEFAULT_TIMEOUT

    def peer(self, name):
        found = self.peers.get(name or "")
        if found is None:
            raise PeerConfigError(f"no peer hub called {name!r} is configured (lienthong.peer_hub.peers)")
        return found


def secret(settings, name):
    """The shared secret called ``name``: settings first, then the environment; None if neither."""
    return named_secret(settings, f"{PREFIX}secret.", ENV_PREFIX, name)


def _int(settings, key, default):
    value = (settings or {}).get(PREFIX + key)
    if value in (None, ""):
        return default
    try:
        return type(default)(value)
    except ValueError:
        raise PeerConfigError(f"{PREFIX}{key} must be a number, not {value!r}") from None


def load(settings):
    """The ``HubConfig`` of ``settings``; ``PeerConfigError`` names the first bad setting."""
    settings = settings or {}
    config = HubConfig(
        name=(settings.get(PREFIX + "name") or "").strip(),
        window=_int(settings, "window", DEFAULT_WINDOW),
        max_body=_int(settings, "max_body", DEFAULT_MAX_BODY),
        timeout=_int(settings, "timeout", DEFAULT_TIMEOUT),
    )
    names = (settings.get(PREFIX + "peers") or "").replace(",", " ").split()
    if names and not config.name:
        raise PeerConfigError(f"{PREFIX}name is required when peers are configured: it names this hub")
    for name in names:
        base = f"{PREFIX}peer.{name}."
        url = (settings.get(base + "url") or "").strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise PeerConfigError(f"{base}url must be the peer's http(s) address, not {url!r}")
        key_id = (settings.get(base + "key_id") or "").strip()
        if not key_id:
            raise PeerConfigError(f"{base}key_id is required")
        secret_name = (settings.get(base + "secret") or name).strip()
        value = secret(settings, secret_name)
        if not value:
            raise PeerConfigError(
                f"the shared secret {secret_name!r} of peer {name} is missing: set "
                f"{PREFIX}secret.{secret_name} or {variable(ENV_PREFIX, secret_name)}"
            )
        if len(value) < MIN_SECRET:
            raise PeerConfigError(
                f"the shared secret of peer {name} is too short: at least {MIN_SECRET} characters"
            )
        config.peers[name] = Peer(name, url, key_id, value.encode("utf-8"))
    return config
