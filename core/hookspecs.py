"""The hooks a LienThong plugin can implement.

A plugin is a module (or object) registered under the ``lienthong.plugins`` entry-point
group; it implements any of the functions below, decorated with
``lienthong.core.hookimpl``. The core calls them; it never imports a plugin by name.
An operator disables a plugin with ``lienthong.plugins.disabled = name other`` in the ini.
"""
import pluggy

hookspec = pluggy.HookspecMarker("lienthong")


@hookspec
def lienthong_configure(config):
    """Extend the Pyramid configuration at start-up.

    Add views, routes, static views, skin layers (``config.add_skin_layer``), content
    types (``config.add_content_type``) or settings. Called once, after the core's own
    configuration and before the configuration is committed.
    """


@hookspec
def lienthong_blob_stores():
    """Return a list of attachment stores (objects with ``name``, ``put``, ``open``, ``exists``).

    ``put(site, stream) -> key`` stores bytes and returns their SHA-256 key;
    ``open(site, key)`` returns a readable binary file; ``exists(site, key)`` tells
    whether the key is stored. The store named by ``lienthong.blob_store`` (default
    ``zodb``) is used for new attachments.
    """


@hookspec
def lienthong_signers():
    """Return a list of ``lienthong.core.signing.Signer`` (PAdES for PDF, XML-DSig for edXML).

    A signer whose ``format`` is ``"pdf"`` (or any attachment format it ``handles``) signs
    attachments at issue with the sending unit's ``KeyRef`` and verifies them when a
    delivery arrives; one whose ``format`` is ``"edxml"`` signs exported packages and
    verifies imported ones. ``sign`` raises ``SigningError`` (the send is refused, nothing
    stored); ``verify`` never raises and returns a ``SignatureReport`` per signature.
    """


@hookspec
def lienthong_transports():
    """Return a list of ``lienthong.core.transports.Adapter``: one per eOffice product or peer hub.

    A unit's directory entry names its adapter (and the adapter's ``settings``). The worker
    hands an adapter the queued messages of one destination, in order, through
    ``deliver_batch`` — outside any transaction, at least once — and collects what its
    ``poll`` finds for the hub's inbound service. A ``TransportError`` is retried with
    backoff; a ``PermanentError`` makes a dead letter.
    """


@hookspec
def lienthong_validate_outgoing(document, sender):
    """Check a document before it is issued; return a list of reasons to refuse (empty: fine).

    Runs before anything is stored. Every implementation runs; any reason refuses the send.
    """


@hookspec
def lienthong_document_sent(document):
    """Called after the transaction that sent ``document`` committed (mail, webhooks, metrics)."""


@hookspec
def lienthong_delivery_changed(delivery, old_state, new_state):
    """Called after the transaction that moved ``delivery`` from ``old_state`` committed."""


@hookspec
def lienthong_cli(cli):
    """Add commands to the ``lienthong`` command line (``cli`` is its click group).

    Called once when ``lienthong.core.cli`` is imported, with every installed plugin (the ini is
    not read yet, so ``lienthong.plugins.disabled`` cannot apply: a command of a disabled
    plugin should refuse to run). Add with ``cli.add_command(group_or_command)``; a
    command receives the CLI's ``CliContext`` (``@click.pass_obj``: ``env.settings``,
    ``env.site()``) like the core's own commands.
    """
