"""``lienthong vxp ping``: is this hub's connection to the national axis working?"""

import click

from lienthong.core.plugins import is_plugin_disabled


@click.group()
def vxp():
    """The national document axis (VXP): this hub as a centre on it."""


@vxp.command()
@click.pass_obj
def ping(ctx):
    """A signed countReceiveEdoc: exit 0 when the axis knows this hub and answers."""
    from . import config as axis_config
    from .client import AxisClient, AxisError

    settings = ctx.settings
    if is_plugin_disabled(settings, "vxp"):
        raise click.ClickException("the plugin vxp is disabled (lienthong.plugins.disabled)")
    try:
        config = axis_config.load(settings)
    except axis_config.AxisConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if config is None:
        raise click.ClickException(
            "this hub is not on the national axis: set lienthong.vxp.url (docs/vxp.md)"
        )
    try:
        waiting = AxisClient(config).ping()
    except AxisError as exc:
        raise click.ClickException(exc.reason) from None
    click.echo(f"the axis at {config.url} answers {config.system_id}: {waiting} package(s) waiting")
