"""``lienthong vxp ping`` (is the connection to the national axis working?) and
``lienthong vxp sync [--full]`` (the national directory into the hub's)."""

import click

from lienthong.core.plugins import is_plugin_disabled


@click.group()
def vxp():
    """The national document axis (VXP): this hub as a centre on it."""


def _config(settings):
    from . import config as axis_config

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
    return config


@vxp.command()
@click.pass_obj
def ping(ctx):
    """A signed countReceiveEdoc: exit 0 when the axis knows this hub and answers."""
    from .client import AxisClient, AxisError

    config = _config(ctx.settings)
    try:
        waiting = AxisClient(config).ping()
    except AxisError as exc:
        raise click.ClickException(exc.reason) from None
    click.echo(f"the axis at {config.url} answers {config.system_id}: {waiting} package(s) waiting")


class _Progress:
    """A rich progress bar on a terminal, nothing otherwise (logs, cron, tests)."""

    def __init__(self, label):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self.label = label
        self.task = None

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def update(self, done, total):
        if self.task is None:
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done, total=total)


@vxp.command()
@click.option("--full", is_flag=True, help="Read the whole national directory (getAgenciesList).")
@click.pass_obj
def sync(ctx, full):
    """The national directory into this hub's: changes since the last sync (getSynchronizeUnit),
    or everything with --full (also the first time). Exit 1 when the axis refuses or is down."""
    from lienthong.core.services.audit import Actor

    from . import directory
    from .client import AxisClient

    config = _config(ctx.settings)
    client = AxisClient(config)
    actor = Actor.system("vxp-sync")
    with ctx.site() as (site, tm), _Progress("agencies") as progress:

        def commit():
            tm.commit()
            site._p_jar.cacheGC()  # 111,000 units: keep the connection's cache at its size

        try:
            result = directory.sync(
                site, actor, client, full=full, commit=commit, on_progress=progress.update
            )
        except directory.SyncError as exc:
            tm.abort()
            raise click.ClickException(exc.reason) from None
    report = result.report
    kind = "full" if result.full else f"since version {result.since}"
    click.echo(
        f"directory synchronized with the axis ({kind}, now at version {result.version}): "
        f"{result.rows} agencies read, {report.added} added, {report.changed} changed, "
        f"{report.withdrawn} withdrawn, {report.restored} back, {report.unchanged} unchanged, "
        f"{report.hosted} skipped (hosted here), {report.refused} refused"
    )
    if report.hosted_codes:
        click.echo("hosted here, left as they are: " + ", ".join(report.hosted_codes))
