"""Plugin ``vxp``: this hub as a centre on the national document axis (VXP/VDXP).

* the adapter ``vxp`` (``adapter.py``): a unit reached through the axis has it; the
  worker sends its messages with ``sendEdoc`` and polls the axis for the hub;
* the axis's call signature (``xroad.py``) and its calls (``client.py``);
* ``lienthong vxp ping`` and ``sync`` (``cli.py``); the national directory (``directory.py``),
  kept up to date by the worker's scheduled job;
* ``/vxp/`` (``face.py``): the axis's own API offered to the province's units, so a product
  built on the axis's SDK connects to the hub with a unit's system credential.

Configuration in the ini: ``config.py``; operator's guide: docs/vxp.md.
"""

from lienthong.core.hookspecs import hookimpl

from .adapter import VxpAdapter


@hookimpl
def lienthong_transports():
    return [VxpAdapter()]


@hookimpl
def lienthong_configure(config):
    from . import config as axis_config

    try:
        axis_config.load(config.get_settings())  # a bad axis setting stops the start with its name
    except axis_config.AxisConfigError as exc:
        from lienthong.core import StartupError

        raise StartupError(f"vxp: {exc}") from exc
    from . import face

    face.includeme(config)


@hookimpl
def lienthong_cli(cli):
    from .cli import vxp

    cli.add_command(vxp)


@hookimpl
def lienthong_scheduled_jobs(settings):
    """The incremental sync of the national directory, every ``directory_sync_seconds``."""
    from . import config as axis_config
    from .directory import directory_job

    try:
        config = axis_config.load(settings)
    except axis_config.AxisConfigError:
        return []  # lienthong_configure has said why
    if config is None or not config.directory_sync_seconds:
        return []
    return [directory_job(config)]
