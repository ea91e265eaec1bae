"""The ``lienthong`` command: set up, serve, migrate and inspect a site.

Every command reads the PasteDeploy ini named by ``--config`` (default
``etc/development.ini``) and calls the same services as the web application.
Errors end with one clear line on stderr and a non-zero exit status.

Each group of commands has a module of its own here and is registered on ``cli`` below;
then the plugins add theirs (hook ``lienthong_cli``). A command receives the
``CliContext`` (``context.py``) through ``@click.pass_obj``.
"""

import click

from . import audit, backup, bench, blobs, digest, directory, edxml, site, tokens, users, worker
from .context import DEFAULT_CONFIG, CliContext


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    default=DEFAULT_CONFIG,
    show_default=True,
    envvar="LIENTHONG_CONFIG",
    help="PasteDeploy ini file of the site.",
)
@click.pass_context
def cli(ctx, config):
    """LienThong: the provincial document-exchange hub.

    Set up a site with `lienthong init --demo`, then `lienthong serve`.
    """
    ctx.obj = CliContext(config)


for _command in (
    site.init,
    site.serve,
    site.migrate,
    site.reindex,
    site.shell,
    site.plugins,
    users.adduser,
    tokens.token,
    directory.directory,
    audit.audit,
    digest.digest,
    backup.backup,
    backup.restore,
    bench.bench,
    blobs.blobs,
    edxml.edxml,
    worker.worker,
):
    cli.add_command(_command)


def _plugin_commands():
    """Commands added by plugins through the hook ``lienthong_cli`` (a broken plugin is reported when
    a command builds the application, not here: ``lienthong --help`` must always work)."""
    from ..plugins import PluginLoadError, make_plugin_manager

    try:
        pm = make_plugin_manager()
    except PluginLoadError:
        return
    pm.hook.lienthong_cli(cli=cli)


_plugin_commands()
