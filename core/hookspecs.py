"""The hooks a LienThong plugin can implement, and the markers to implement them with.

A plugin is a module (or object) registered under the entry-point group
``lienthong.plugins`` (``ENTRY_POINT_GROUP``); it implements any of the functions below,
decorated with ``lienthong.core.hookspecs.hookimpl``. The core calls them; it never
imports a plugin by name. An operator disables a plugin with
``lienthong.plugins.disabled = name other`` in the ini; a plugin asks whether another one
is disabled with ``lienthong.core.plugins.is_plugin_disabled``.

Each spec's docstring says what the hook is given and what it returns: this module is the
plugin author's reference (docs/plugins.md lists the rest of the public plugin API).
"""

# mypy: disable-error-code="empty-body"
# (a hook spec has no body: pluggy reads its name, arguments and docstring, and never calls it)
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # for the annotations only: the hook specs import nothing of the core at run time
    import click
    from pyramid.config import Configurator

    from .interfaces import IBlobStore
    from .jobs import ScheduledJob
    from .signing import Signer
    from .transports import Adapter

#: pluggy's project name: the prefix of every hook and the name of the markers
PROJECT = "lienthong"
#: the entry-point group a plugin distribution registers its plugin under (``setup.cfg``)
ENTRY_POINT_GROUP = "lienthong.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
#: decorate a plugin's hook implementations with this: ``@hookimpl def lienthong_signers(): ...``
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def lienthong_configure(config: Configurator) -> None:
    """Extend the Pyramid configuration at start-up.

    :param config: the application's ``Configurator``, its settings in ``config.get_settings()``.

    Add views, routes, static views, skin layers (``config.add_skin_layer``) or
    settings. Called once, after the core's own
    configuration and before the configuration is committed; raise
    ``lienthong.core.StartupError`` to stop the start with a one-line reason.
    """


@hookspec
def lienthong_blob_stores() -> Sequence[IBlobStore]:
    """Return a list of attachment stores, each providing ``lienthong.core.interfaces.IBlobStore``.

    ``put(site, stream) -> key`` stores bytes and returns their SHA-256 key;
    ``open(site, key)`` returns a readable binary file; ``exists(site, key)`` tells
    whether the key is stored. The store named by ``lienthong.blob_store`` (default
    ``zodb``) is used for new attachments. Each store is checked against ``IBlobStore``
    at start-up: one that does not fit stops the start, naming the plugin.
    """


@hookspec
def lienthong_signers() -> Sequence[Signer]:
    """Return a list of ``lienthong.core.signing.Signer`` (PAdES for PDF, XML-DSig for edXML).

    A signer whose ``format`` is ``"pdf"`` (or any attachment format it ``handles``) signs
    attachments at issue with the sending unit's ``KeyRef`` and verifies them when a
    delivery arrives; one whose ``format`` is ``"edxml"`` signs exported packages and
    verifies imported ones. ``sign`` raises ``SigningError`` (the send is refused, nothing
    stored); ``verify`` never raises and returns a ``SignatureReport`` per signature.
    Each signer is checked against ``lienthong.core.interfaces.ISigner`` at start-up.
    """


@hookspec
def lienthong_transports() -> Sequence[Adapter]:
    """Return a list of new ``lienthong.core.transports.Adapter``: one per eOffice product or peer hub.

    The core calls this hook whenever it gathers the adapters (the web application, each
    worker, a command) and then calls each adapter's ``configure(app_settings)`` with the
    application's settings, so return new objects on every call and keep nothing in the
    module. A unit's directory entry names its adapter (and the adapter's ``settings``:
    ``OutboundMessage.settings``, ``poll(unit_code, settings, env)``). The worker hands an
    adapter the queued messages of one destination, in order, through ``deliver_batch``
    — outside any transaction, at least once — and collects what its ``poll`` finds for
    the hub's inbound service. A ``TransportError`` is retried with backoff; a
    ``PermanentError`` makes a dead letter. Each adapter is checked against
    ``lienthong.core.interfaces.IAdapter`` at start-up.
    """


@hookspec
def lienthong_validate_outgoing(document: Any, sender: Any) -> Sequence[str]:
    """Check a document before it is issued; return a list of reasons to refuse (empty: fine).

    :param document: the ``Document`` about to be issued (``meta``, ``attachments``, ``classification``…).
    :param sender: the sending unit (provides ``IOrganization``: ``code``, ``policy(name)``).

    A reason is a (translatable) string shown to the sender. Runs before anything is
    stored. Every implementation runs; any reason refuses the send.
    """


@hookspec
def lienthong_document_sent(document: Any) -> None:
    """Called after the transaction that sent ``document`` committed (mail, webhooks, metrics).

    :param document: the issued ``Document``. The return value is ignored; an exception is logged.
    """


@hookspec
def lienthong_delivery_changed(delivery: Any, old_state: str, new_state: str) -> None:
    """Called after the transaction that moved ``delivery`` from ``old_state`` committed.

    :param delivery: the ``Delivery`` of one recipient unit; ``new_state`` is its state now
        (edXML status codes: ``"03"`` accepted, ``"06"`` completed…). The return value is ignored.
    """


@hookspec
def lienthong_cli(cli: click.Group) -> None:
    """Add commands to the ``lienthong`` command line.

    :param cli: the ``lienthong`` click group; add with ``cli.add_command(group_or_command)``.

    Called once when ``lienthong.core.cli`` is imported, with every installed plugin (the ini
    is not read yet, so ``lienthong.plugins.disabled`` cannot apply: a command of a disabled
    plugin should refuse to run, asking ``is_plugin_disabled(env.settings, name)``). A
    command receives the CLI's ``CliContext`` (``@click.pass_obj``: ``env.settings``,
    ``env.site()``) like the core's own commands.
    """


@hookspec
def lienthong_scheduled_jobs(settings: Any) -> Sequence[ScheduledJob]:
    """Return the ``lienthong.core.jobs.ScheduledJob`` the worker runs on a schedule.

    :param settings: the application's settings (the ini's ``[app:main]``).

    Called once when a worker starts. Each job's ``run(site, env)`` is called every
    ``seconds`` in a transaction of its own, under a lease (one worker at a time); what it
    raises is logged and the job runs again at its next time. Return nothing when the
    settings leave the job off.
    """
