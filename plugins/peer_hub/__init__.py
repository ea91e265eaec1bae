"""Plugin ``peer_hub``: two LienThong hubs exchange documents for the units each hosts.

* ``/peer/v1/packages``, ``/peer/v1/statuses``, ``/peer/v1/directory`` (``views.py``):
  what a peer sends us, signed both ways (``auth.py``);
* the adapter ``peer_hub`` (``adapter.py``): a unit hosted by a peer has it, and the
  worker sends its messages to that peer;
* ``lienthong peer sync|status`` (``cli.py``): the peer's units into our directory.

Configuration in the ini: ``config.py``; operator's guide: docs/federation.md.
"""

from lienthong.core.hookspecs import hookimpl

from .adapter import PeerHubAdapter


@hookimpl
def lienthong_transports():
    return [PeerHubAdapter()]


@hookimpl
def lienthong_configure(config):
    from . import config as peer_config

    settings = config.get_settings()
    try:
        peer_config.load(settings)  # a bad peer setting stops the start with its name
    except peer_config.PeerConfigError as exc:
        from lienthong.core import StartupError

        raise StartupError(f"peer_hub: {exc}") from exc
    config.include("lienthong.plugins.peer_hub.views")


@hookimpl
def lienthong_cli(cli):
    from .cli import peer

    cli.add_command(peer)
