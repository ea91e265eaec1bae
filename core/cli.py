"""The ``lienthong`` command: set up, serve, migrate and inspect a site.

Every command reads the PasteDeploy ini named by ``--config`` (default
``etc/development.ini``) and calls the same services as the web application.
Errors end with one clear line on stderr and a non-zero exit status.
"""
import code
import contextlib
import os
import sys

import click
import transaction

DEFAULT_CONFIG = os.environ.get("LIENTHONG_CONFIG", "etc/development.ini")


class Env:
    """What a command needs: the ini path and, lazily, the settings."""

    def __init__(self, config):
        self.config = config
        self._settings = None

    def require_config(self):
        """Checked when a command needs the file, so that `--help` works anywhere."""
        if not os.path.isfile(self.config):
            raise click.ClickException(f"configuration file not found: {self.config}")

    @property
    def settings(self):
        if self._settings is None:
            from plaster import get_settings
            self.require_config()
            try:
                self._settings = get_settings(self.config, "app:main")
            except Exception as exc:  # configparser, PasteDeploy or plaster: say it in one line
                reason = " ".join(str(exc).split())
                raise click.ClickException(f"cannot read the configuration file {self.config}: "
                                           f"{reason}") from exc
            if "zodbconn.uri" not in self._settings:
                raise click.ClickException(f"{self.config}: [app:main] has no zodbconn.uri")
        return self._settings

    @contextlib.contextmanager
    def application(self, lock_hint=""):
        """The WSGI application the ini builds (plugins, stores, calendar, catalog); closed afterwards.

        A start-up error is one clear line; a FileStorage that a running server holds says
        so, followed by ``lock_hint`` (what to do instead).
        """
        from . import StartupError, main
        from .blobs import BlobStoreError
        from .db import StorageError, close_databases, explain

        try:
            app = main({}, **self.settings)
        except (StartupError, StorageError, BlobStoreError, ValueError) as exc:   # ValueError: a bad setting
            raise click.ClickException(" ".join(str(exc).split())) from exc
        except Exception as exc:
            if type(exc).__name__ == "LockError":
                raise click.ClickException(explain(exc, self.settings["zodbconn.uri"]) + lock_hint) from exc
            raise
        try:
            yield app
        finally:
            close_databases(app.registry)

    @contextlib.contextmanager
    def application_site(self):
        """``application()`` and a connection to its site: yield (site, the services' Env, tm).

        Nothing is committed unless the block calls ``tm.commit()``.
        """
        from .db import get_database
        from .resources.site import find_site
        from .services.env import get_env

        with self.application() as app:
            tm = transaction.TransactionManager()
            conn = get_database(app.registry).open(transaction_manager=tm)
            try:
                tm.begin()
                site = find_site(conn.root())
                if site is None:
                    raise click.ClickException("the database has no site yet: run `lienthong init` first")
                yield site, get_env(app.registry), tm
            finally:
                tm.abort()
                conn.close()

    @contextlib.contextmanager
    def site(self, create=False, check_generation=True, commit=True):
        """Open the database; yield (site, transaction manager); commit (unless ``commit`` is
        false) when the block ends without an error; close the database."""
        from . import evolve
        from .db import StorageError, open_database
        from .resources.site import find_site
        from .services.setup import ensure_site

        try:
            db = open_database(self.settings["zodbconn.uri"])
        except StorageError as exc:
            raise click.ClickException(str(exc)) from exc
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            tm.begin()
            root = conn.root()
            if create:
                site, _created = ensure_site(root, tm)
            else:
                site = find_site(root)
                if site is None:
                    raise click.ClickException("the database has no site yet: run `lienthong init` first")
            if check_generation:
                try:
                    evolve.check(site, auto_migrate=True)
                except evolve.DatabaseTooNew as exc:
                    raise click.ClickException(str(exc)) from exc
            yield site, tm
            if commit:
                tm.commit()
        finally:
            tm.abort()
            conn.close()
            db.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", default=DEFAULT_CONFIG, show_default=True, envvar="LIENTHONG_CONFIG",
              help="PasteDeploy ini file of the site.")
@click.pass_context
def cli(ctx, config):
    """LienThong: the provincial document-exchange hub.

    Set up a site with `lienthong init --demo`, then `lienthong serve`.
    """
    ctx.obj = Env(config)


def _demo_documents(env):
    """Issue the demo documents through the application (its calendar, store, plugins and catalog)."""
    from .services import demo as demo_service

    with env.application_site() as (site, app_env, tm):
        issued = demo_service.populate_documents(site, app_env)
        tm.commit()
        return issued


@cli.command()
@click.option("--demo", is_flag=True, help="Add the demo province: ~30 units and users in every role.")
@click.pass_obj
def init(env, demo):
    """Create the site in the database (keeps existing data)."""
    from .services import demo as demo_service
    from .services.passwords import random_password

    with env.site(create=True) as (site, tm):
        if not demo:
            click.echo(f"site ready at schema generation {site.generation}")
            return
        if "admin" in site["users"]:
            click.echo("the demo province is already there: keeping the existing data")
            return
        password = os.environ.get("LIENTHONG_DEMO_PASSWORD")
        generated = not password
        password = password or random_password()
        added = demo_service.populate(site, password)
    issued = _demo_documents(env)
    click.echo(f"demo province created: {len(demo_service.UNITS)} units, {added} users, {issued} documents")
    with env.site() as (site, _tm):   # the demo CA and Sở Nội vụ's signing key
        from .services import demo_pki
        click.echo(demo_pki.setup(site, env.settings))
    if generated:
        click.echo(f"demo password for every demo login (shown once): {password}")
    click.echo("logins: " + ", ".join(u[0] for u in demo_service.USERS))


@cli.command()
@click.option("--host", default=None, help="Listen address (default: the ini's [server:main]).")
@click.option("--port", default=None, type=int, help="Port (default: the ini's [server:main]).")
@click.pass_obj
def serve(env, host, port):
    """Serve the site with waitress."""
    import waitress
    from plaster import get_settings
    from pyramid.paster import get_app, setup_logging

    from . import StartupError
    from .db import StorageError, resolve

    uri = env.settings["zodbconn.uri"]  # the file exists and names a database
    setup_logging(env.config)
    try:
        resolve(uri)  # a bad URI is one clear line, not a KeyError from pyramid_zodbconn
        app = get_app(env.config, "main")
    except (StartupError, StorageError) as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:
        msg = str(exc)
        if type(exc).__name__ == "LockError":
            from .db import explain
            msg = explain(exc, env.settings["zodbconn.uri"])
        raise click.ClickException(msg) from exc
    server = dict(get_settings(env.config, "server:main"))
    server.pop("use", None)
    if host:
        server["host"] = host
        server.pop("listen", None)
    if port:
        server["port"] = str(port)
        server.pop("listen", None)
    from .db import close_databases
    try:
        wsgi_server = waitress.create_server(app, **server)  # binds the socket now
    except OSError as exc:
        close_databases(app.registry)
        where = server.get("listen") or f"{server.get('host', '0.0.0.0')}:{server.get('port', 8080)}"
        raise click.ClickException(f"cannot listen on {where}: {exc.strerror or exc} "
                                   f"(is another server running there?)") from exc
    wsgi_server.print_listen("serving on http://{}:{}/")
    from .cli_worker import in_process
    worker = None
    if in_process(env.settings):   # R6.5: FileStorage lets one process in, so the worker runs here
        from .db import get_database
        from .worker import start_thread
        worker = start_thread(get_database(app.registry), app.registry)
    try:
        wsgi_server.run()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        if worker is not None:
            worker[1].set()
            worker[0].join(timeout=30)
        close_databases(app.registry)


@cli.command()
@click.pass_obj
def migrate(env):
    """Run pending schema evolve steps."""
    from . import evolve

    with env.site(check_generation=True) as (site, tm):
        applied = evolve.migrate(site, tm, echo=click.echo)
    click.echo(f"migrated to generation {applied[-1]}" if applied else
               f"nothing to do: the database is at generation {evolve.current_generation()}")


@cli.command()
@click.pass_obj
def reindex(env):
    """Rebuild the catalog (mailbox lists and search) from the documents, committing every 1,000."""
    from .services import audit, indexing

    with env.site() as (site, tm):
        records = indexing.reindex_all(site, commit_every=tm.commit, echo=click.echo)
        audit.record(site, audit.Actor.system("cli"), "catalog.reindex", "/catalog", records=records)
    click.echo(f"catalog rebuilt: {records} records")


@cli.command()
@click.option("--dry-run", is_flag=True, help="Show who would get what; send nothing, write nothing.")
@click.option("--force", is_flag=True, help="Run on a non-working day too.")
@click.option("--today", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to run for, YYYY-MM-DD (default: today in the site's time zone).")
@click.pass_obj
def digest(env, dry_run, force, day):
    """Mail each person what waits for them today and remind them of overdue documents.

    Meant for cron or a systemd timer, once each morning: it does nothing on a non-working
    day of the site's calendar unless --force. Mail goes through lienthong.mail.*.
    """
    from ZODB.POSException import ConflictError

    from . import StartupError, main
    from .db import StorageError, close_databases, explain, get_database
    from .mail import MailConfig, MailError
    from .resources.site import find_site
    from .services import digest as digests
    from .services.env import get_env

    settings = env.settings
    try:
        MailConfig.from_settings(settings)   # a malformed lienthong.mail.* stops here, before any work
        app = main({}, **settings)
    except (StartupError, StorageError, ValueError) as exc:
        raise click.ClickException(" ".join(str(exc).split())) from exc
    except Exception as exc:
        if type(exc).__name__ == "LockError":
            raise click.ClickException(explain(exc, settings["zodbconn.uri"])) from exc
        raise
    sent, attempts = set(), 3
    try:
        tm = transaction.TransactionManager()
        for attempt in range(attempts):
            conn = get_database(app.registry).open(transaction_manager=tm)
            try:
                tm.begin()
                site = find_site(conn.root())
                if site is None:
                    raise click.ClickException("the database has no site yet: run `lienthong init` first")
                report = digests.run(site, get_env(app.registry), today=day.date() if day else None, force=force,
                                     dry_run=dry_run, already_sent=sent)
                if not (dry_run or report.skipped):
                    tm.commit()
                break
            except ConflictError as exc:  # someone changed a reminded delivery meanwhile: again, no mail twice
                if attempt == attempts - 1:
                    raise click.ClickException(f"the database kept changing during the digest ({attempts} "
                                               f"attempts); {len(sent)} mails were sent, nothing was recorded: "
                                               f"run it again") from exc
            except MailError as exc:
                raise click.ClickException(f"{exc}; the digest was not recorded") from exc
            finally:
                tm.abort()
                conn.close()
    finally:
        close_databases(app.registry)

    when = report.day.isoformat()
    if report.skipped:
        click.echo(f"{when} is not a working day: no digest (use --force to send one anyway)")
        return
    for person in report.people:
        status = person.status + (f" ({person.error})" if person.error else "")
        notices = "" if dry_run else f", {_count(person.notices, 'notice')}"
        click.echo(f"{person.login}\t{person.email or '-'}\t{person.overdue} overdue, {person.due_soon} due soon, "
                   f"{person.pending} to handle{notices}\t{status}")
    if dry_run:
        would = sum(1 for p in report.people if p.email)
        click.echo(f"dry run for {when}, nothing sent or written: {_count(would, 'mail')} would be sent to "
                   f"{len(report.people)} people, {report.overdue} overdue")
        return
    click.echo(f"digest of {when}: {_count(report.sent, 'mail')} sent, {report.refused} refused, "
               f"{_count(report.notices, 'overdue notice')}, {len(report.people)} people with work")
    if report.refused:
        click.echo(f"Error: the mail server refused {_count(report.refused, 'recipient')} (see the lines above)",
                   err=True)
        sys.exit(1)


@cli.command()
@click.pass_obj
def shell(env):
    """Python shell with `site` bound; only `tm.commit()` saves changes."""
    with env.site(commit=False) as (site, tm):
        banner = "LienThong shell: `site` is the root; `tm.commit()` saves changes, nothing else is saved."
        code.interact(banner=banner, local={"site": site, "tm": tm, "transaction": tm})


@cli.command()
@click.argument("login")
@click.option("--fullname", required=True, help="Full name as shown in the UI.")
@click.option("--unit", "unit_code", default=None, help="Identifier code of the user's unit.")
@click.option("--role", "roles", multiple=True, help="Role (repeatable): system_admin, unit_admin, clerk, "
                                                      "leader, specialist, auditor.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="LIENTHONG_NEW_PASSWORD", help="Password (prompted when not given).")
@click.option("--email", default="")
@click.option("--position", default="")
@click.option("--must-change-password", is_flag=True,
              help="The user must choose a new password at the first login.")
@click.pass_obj
def adduser(env, login, fullname, unit_code, roles, password, email, position, must_change_password):
    """Add a user account."""
    from .services import accounts, audit
    from .services.errors import ServiceError

    with env.site() as (site, tm):
        try:
            accounts.add_user(site, audit.Actor.system("cli"), login, fullname, password, unit_code, roles,
                              position, email, must_change_password=must_change_password)
        except ServiceError as exc:
            raise click.ClickException(exc.text()) from exc
    click.echo(f"user {login} added")


@cli.group()
def directory():
    """The directory of units: export and import as CSV or JSON."""


def _format_of(fmt, path):
    if fmt:
        return fmt
    return "json" if path and path.lower().endswith(".json") else "csv"


def _transport_adapters(settings):
    from .plugins import PluginLoadError, adapters_of, make_plugin_manager

    try:
        return adapters_of(make_plugin_manager(settings))
    except PluginLoadError as exc:
        raise click.ClickException(str(exc)) from exc


@directory.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default=None,
              help="csv (UTF-8 with BOM, for Excel) or json; default: from the file name, else csv.")
@click.option("-o", "--output", default=None, help="Write to this file instead of standard output.")
@click.pass_obj
def directory_export(env, fmt, output):
    """Write every unit of the directory as CSV or JSON."""
    from .services import audit as audit_service
    from .services import directory_io

    fmt = _format_of(fmt, output)
    with env.site() as (site, tm):
        text = directory_io.export(site, fmt, adapters=_transport_adapters(env.settings))
        count = len(site["directory"])
        audit_service.record(site, audit_service.Actor.system("cli"), "directory.export", "/directory",
                             format=fmt, units=count, file=output)
        if output:
            try:
                with open(output, "w", encoding="utf-8", newline="") as f:
                    f.write(text)
            except OSError as exc:
                raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    if output:
        click.echo(f"{_count(count, 'unit')} written to {output} ({fmt})")
    else:
        click.echo(text, nl=False)


@directory.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default=None,
              help="csv or json; default: from the file name (.json), else csv.")
@click.option("--dry-run", is_flag=True, help="Check the file and report what would change; write nothing.")
@click.pass_obj
def directory_import(env, file, fmt, dry_run):
    """Create and update units from a CSV or JSON file: all rows or none."""
    from .services import audit as audit_service
    from .services import directory_io
    from .services.errors import ServiceError

    fmt = _format_of(fmt, file)
    limit = directory_io.max_bytes_of(env.settings)
    try:
        size = os.path.getsize(file)
        if size > limit:
            raise click.ClickException(f"{file} is {size} bytes; at most {limit} bytes are accepted "
                                       f"(lienthong.import.max_bytes): nothing was imported")
        with open(file, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from exc
    known = _transport_adapters(env.settings)
    with env.site(commit=not dry_run) as (site, tm):
        try:
            report = directory_io.import_(site, audit_service.Actor.system("cli"), data, fmt,
                                          known_adapters=known, max_bytes=limit)
        except directory_io.ImportRejected as exc:
            lines = exc.lines()
            if len(lines) == 1:
                raise click.ClickException(f"{lines[0]} (nothing was imported)") from exc
            for line in lines:
                click.echo(line, err=True)
            click.echo(f"Error: {exc.text()}", err=True)
            sys.exit(1)
        except ServiceError as exc:
            raise click.ClickException(exc.text()) from exc
    counts = report.counts()
    summary = f"{counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged"
    click.echo(f"dry run, nothing written: would be {summary}" if dry_run else f"directory imported: {summary}")


@cli.group()
def token():
    """API tokens of units (for eOffice products and scripts)."""


@token.command("create")
@click.option("--unit", "unit_code", required=True, help="Identifier code of the unit the token acts for.")
@click.option("--label", required=True, help="What uses the token (e.g. the unit's eOffice product).")
@click.pass_obj
def token_create(env, unit_code, label):
    """Make a token for a unit and print its secret (shown once)."""
    from .services import audit as audit_service
    from .services import tokens
    from .services.errors import ServiceError

    with env.site() as (site, tm):
        try:
            made, secret = tokens.create(site, audit_service.Actor.system("cli"), unit_code.strip(), label)
        except ServiceError as exc:
            raise click.ClickException(exc.text()) from exc
        token_id = made.token_id
    click.echo(f"token {token_id} created for unit {unit_code.strip()}")
    click.echo(f"secret (shown once, store it now): {secret}")


@token.command("list")
@click.option("--unit", "unit_code", required=True, help="Identifier code of the unit.")
@click.pass_obj
def token_list(env, unit_code):
    """List a unit's tokens: id, label, created, last used, state."""
    from .services import tokens

    with env.site(commit=False) as (site, tm):
        if unit_code.strip() not in site["directory"]:
            raise click.ClickException(f"Unknown unit {unit_code.strip()}.")
        rows = [(t.token_id, t.label, t.created, t.last_used or "never",
                 f"revoked {t.revoked}" if t.revoked else "active") for t in tokens.of_unit(site, unit_code.strip())]
    if not rows:
        click.echo(f"unit {unit_code.strip()} has no tokens")
    for row in rows:
        click.echo("\t".join(row))


@token.command("revoke")
@click.argument("token_id")
@click.pass_obj
def token_revoke(env, token_id):
    """Revoke a token at once: it is refused from the next request on."""
    from .services import audit as audit_service
    from .services import tokens
    from .services.errors import ServiceError

    with env.site() as (site, tm):
        try:
            revoked = tokens.revoke(site, audit_service.Actor.system("cli"), token_id.strip())
        except ServiceError as exc:
            raise click.ClickException(exc.text()) from exc
        unit_code, label = revoked.unit_code, revoked.label
    click.echo(f"token {token_id.strip()} ({label}, unit {unit_code}) revoked")


@cli.group()
def audit():
    """The audit log."""


@audit.command("verify")
@click.pass_obj
def audit_verify(env):
    """Check the hash chain; report the first broken link."""
    from .services import audit as audit_service

    with env.site(check_generation=False) as (site, tm):
        count = len(site["audit"])
        broken = audit_service.verify(site)
    if broken:
        seq, reason = broken.seq, broken.reason
        click.echo(f"audit log BROKEN at entry {seq}: {reason}", err=True)
        sys.exit(1)
    click.echo(f"audit log intact: {count} entries")


@cli.command()
@click.pass_obj
def plugins(env):
    """List the enabled plugins and the hooks each implements."""
    from .plugins import describe, make_plugin_manager

    for name, dist, version, hooks in describe(make_plugin_manager(env.settings)):
        click.echo(f"{name}\t{dist} {version}\t{', '.join(hooks)}")


@cli.command()
@click.option("--seconds", default=2.0, show_default=True, help="Measuring time per figure.")
@click.option("--out", "out_dir", default="var/bench", show_default=True, help="Where to write the JSON figures.")
@click.option("--documents", type=click.IntRange(min=1), default=None,
              help="Documents in the mailbox catalog for the inbox and search figures "
                   "(default 100000; docs/benchmarks.md says how to build 1M).")
@click.option("--fanout", type=click.IntRange(min=1), default=None, help="Recipients of the fan-out (default 300).")
@click.option("--edxml-mb", type=click.FloatRange(min=0.01), default=None,
              help="Attachment size of the edXML import, in MB (default 10).")
@click.option("--queue", "queue", type=click.IntRange(min=10), default=None,
              help="Only the transport queue: drain N queued messages over HTTP with 1 and 2 workers "
                   "against the raw send rate (core/bench/queue.py).")
@click.option("--queue-via", "queue_via", default=None, metavar="ADAPTER",
              help="With --queue: drain through this adapter to the receiving end it offers "
                   "(peer_hub: a second hub over HTTP).")
def bench(seconds, out_dir, documents, fanout, edxml_mb, queue, queue_via):
    """Measure throughput against baselines taken in the same run; write var/bench/."""
    from rich.console import Console
    from rich.table import Table

    if queue:
        from .bench import queue as bench_queue
        report, path = bench_queue.run(queue, out_dir=out_dir, via=queue_via,
                                       log=lambda step: Console(stderr=True).log(f"bench: {step}"))
        table = Table(title=f"LienThong queue bench {report['date']}: {queue} messages, "
                            f"{report['destinations']} destinations, ZEO, to {report['receiver']}")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for name, value in bench_queue.summary(report):
            table.add_row(name, value)
        Console().print(table)
        click.echo(f"written to {path}")
        return
    from .bench import run, summary

    console = Console(stderr=True)
    report, path = run(seconds=seconds, out_dir=out_dir, documents=documents, fanout=fanout, edxml_mb=edxml_mb,
                       log=lambda step: console.log(f"bench: {step}"))
    table = Table(title=f"LienThong bench {report['date']} ({report['machine']['cpu']})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in summary(report):
        table.add_row(name, value)
    Console().print(table)
    click.echo(f"written to {path}")


def _count(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _size(n):
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


@cli.command()
@click.option("--to", "to_dir", default="var/backups", show_default=True,
              help="Directory of the backups (relative to the working directory).")
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="Then delete the oldest complete backups beyond the N newest.")
@click.pass_obj
def backup(env, to_dir, keep):
    """Copy the database into a new verified backup (works while the site is served).

    Writes DIR/<UTC timestamp>/ with Data.fs, blobs/ and manifest.json (digests of every
    file); the manifest is the record of the backup, nothing is written to the database.
    """
    from .services import backup as backups

    try:
        path, manifest, removed = backups.backup(env.settings["zodbconn.uri"], to_dir, keep=keep)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    kept = len(backups.list_backups(os.path.dirname(path)))
    click.echo(f"backup {path} verified: generation {manifest['generation']}, "
               f"{_count(manifest['objects'], 'object')}, {_count(manifest['transactions'], 'transaction')}, "
               f"{_count(manifest['blob_files'], 'blob')}, {_size(manifest['total_size'])}"
               + (f"; {len(removed)} deleted, {kept} kept (--keep {keep})" if keep is not None else ""))


@cli.command()
@click.argument("backup_dir")
@click.option("--yes", is_flag=True, help="Restore without asking for confirmation.")
@click.pass_obj
def restore(env, backup_dir, yes):
    """Copy a verified backup into the ini's database, which must be empty.

    Checks the manifest and every digest first; refuses a database that already holds
    data; records `system.restore` in the restored site's audit log.
    """
    from .services import audit
    from .services import backup as backups

    def confirm(manifest, target):
        return yes or click.confirm(f"restore backup {manifest['name']} ({manifest['source']}) into {target}?")

    try:
        result = backups.restore(env.settings["zodbconn.uri"], backup_dir, audit.Actor.system("cli"),
                                 confirm=confirm)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if result is None:
        raise click.ClickException("restore cancelled: nothing was copied")
    click.echo(f"restored backup {result['name']} into {result['target']}: generation {result['generation']}, "
               f"{_count(result['objects'], 'object')}, {_count(result['blobs'], 'blob')} verified; "
               f"audit entry {result['audit_entries']} records the restore")


# -- commands defined in modules of their own, then the plugins' (hook ``lienthong_cli``) --------
from .cli_blobs import blobs  # noqa: E402
from .cli_edxml import edxml  # noqa: E402
from .cli_worker import worker  # noqa: E402

for _command in (blobs, edxml, worker):
    cli.add_command(_command)


def _plugin_commands():
    """Commands added by plugins through the hook ``lienthong_cli`` (a broken plugin is reported when
    a command builds the application, not here: ``lienthong --help`` must always work)."""
    from .plugins import PluginLoadError, make_plugin_manager
    try:
        pm = make_plugin_manager()
    except PluginLoadError:
        return
    pm.hook.lienthong_cli(cli=cli)


_plugin_commands()
