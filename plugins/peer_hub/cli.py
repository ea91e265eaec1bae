"""``lienthong peer sync [PEER]`` and ``lienthong peer status``: the operator's view of federation."""

import click

from lienthong.core.plugins import is_plugin_disabled

from . import client, config as peer_config


def _hub(env):
    settings = env.settings
    if is_plugin_disabled(settings, "peer_hub"):
        raise click.ClickException("the peer_hub plugin is disabled in this configuration")
    try:
        hub = peer_config.load(settings)
    except peer_config.PeerConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if not hub.peers:
        raise click.ClickException("no peer hub is configured (lienthong.peer_hub.peers)")
    return hub


def _chosen(hub, name):
    if not name:
        return list(hub.peers.values())
    if name not in hub.peers:
        raise click.ClickException(
            f"no peer hub called {name!r} is configured; known: {', '.join(hub.peers)}"
        )
    return [hub.peers[name]]


@click.group()
def peer():
    """Peer hubs (federation): directory sync and connection status."""


@peer.command("sync")
@click.argument("name", required=False)
@click.pass_obj
def sync(env, name):
    """Fetch the units each peer (or PEER) hosts and bring them into the directory."""
    from lienthong.core.services import audit

    from . import sync as syncing

    hub = _hub(env)
    failed = 0
    for one in _chosen(hub, name):
        try:
            answer = client.call(hub, one, "GET", "/peer/v1/directory")
        except client.PeerCallError as exc:
            click.echo(f"Error: {exc.reason}", err=True)
            failed += 1
            continue
        with env.site() as (site, tm):
            report = syncing.apply(site, audit.Actor.system("peer_hub"), one.name, answer.get("units") or [])
        click.echo(report.summary())
        for code, reason in report.refused:
            click.echo(f"  refused {code}: {reason}")
    if failed:
        raise SystemExit(1)


@peer.command("status")
@click.pass_obj
def status(env):
    """For each peer: its address, whether it answers with a good signature, its units and queue here."""
    from lienthong.core.services import outbound

    from .hosting import hosted_by

    hub = _hub(env)
    rows = {}
    with env.site(commit=False) as (site, tm):
        queues, dead = outbound.queues(site), outbound.dead_letters(site)
        for one in hub.peers.values():
            units = [u.code for u in site["directory"].values() if hosted_by(u, one.name)]
            queued = sum(len(queues[c].messages) for c in units if c in queues)
            dead_count = sum(1 for m in dead.values() if m.recipient in units)
            rows[one.name] = (len(units), queued, dead_count)
    click.echo(f"this hub: {hub.name}")
    for one in hub.peers.values():
        try:
            answer = client.call(hub, one, "GET", "/peer/v1/directory")
            state = f"answers, signature good, hosts {len(answer.get('units') or [])} units"
        except client.PeerCallError as exc:
            state = f"NOT REACHABLE: {exc.reason}"
        units, queued, dead_count = rows[one.name]
        click.echo(
            f"{one.name}\t{one.url}\tkey {one.key_id}\t{state}\t{units} units here\t"
            f"{queued} queued\t{dead_count} dead letters"
        )
