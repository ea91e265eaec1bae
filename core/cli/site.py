"""The site's life: ``init``, ``migrate``, ``reindex``, ``serve``, ``shell`` and ``plugins``."""

import code
import os

import click


def _demo_documents(env):
    """Issue the demo documents through the application (its calendar, store, plugins and catalog)."""
    from ..services import demo as demo_service

    with env.application_site() as (site, app_env, tm):
        issued = demo_service.populate_documents(site, app_env)
        tm.commit()
        return issued


@click.command()
@click.option("--demo", is_flag=True, help="Add the demo province: ~30 units and users in every role.")
@click.pass_obj
def init(env, demo):
    """Create the site in the database (keeps existing data)."""
    from ..services import demo as demo_service
    from ..services.passwords import random_password

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
    with env.site() as (site, _tm):  # the demo CA and Sở Nội vụ's signing key
        from ..services import demo_pki

        click.echo(demo_pki.setup(site, env.settings))
    if generated:
        click.echo(f"demo password for every demo login (shown once): {password}")
    click.echo("logins: " + ", ".join(u[0] for u in demo_service.USERS))


@click.command()
@click.option("--host", default=None, help="Listen address (default: the ini's [server:main]).")
@click.option("--port", default=None, type=int, help="Port (default: the ini's [server:main]).")
@click.pass_obj
def serve(env, host, port):
    """Serve the site with waitress."""
    import waitress
    from pyramid.paster import get_app, setup_logging

    from .. import StartupError
    from ..db import StorageError, resolve

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
            from ..db import explain

            msg = explain(exc, env.settings["zodbconn.uri"])
        raise click.ClickException(msg) from exc
    from ..serving import server_settings, wrap

    server = server_settings(env.config)
    if host:
        server["host"] = host
        server.pop("listen", None)
    if port:
        server["port"] = str(port)
        server.pop("listen", None)
    from ..db import close_databases

    try:
        wsgi_app, server = wrap(app, server)  # the trusted proxies
        wsgi_server = waitress.create_server(wsgi_app, **server)  # binds the socket now
    except ValueError as exc:  # a waitress setting it refuses, or trusted_proxy = *
        close_databases(app.registry)
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        close_databases(app.registry)
        where = server.get("listen") or f"{server.get('host', '0.0.0.0')}:{server.get('port', 8080)}"
        raise click.ClickException(
            f"cannot listen on {where}: {exc.strerror or exc} (is another server running there?)"
        ) from exc
    wsgi_server.print_listen("serving on http://{}:{}/")
    from .worker import in_process

    worker = None
    if in_process(env.settings):  # R6.5: FileStorage lets one process in, so the worker runs here
        from ..db import get_database
        from ..worker import start_thread

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


@click.command()
@click.pass_obj
def migrate(env):
    """Run pending schema evolve steps."""
    from .. import evolve

    with env.site(check_generation=True) as (site, tm):
        applied = evolve.migrate(site, tm, echo=click.echo)
    click.echo(
        f"migrated to generation {applied[-1]}"
        if applied
        else f"nothing to do: the database is at generation {evolve.current_generation()}"
    )


@click.command()
@click.pass_obj
def reindex(env):
    """Rebuild the catalog (mailbox lists and search) from the documents, committing every 1,000."""
    from ..services import audit, indexing

    with env.site() as (site, tm):
        records = indexing.reindex_all(site, commit_every=tm.commit, echo=click.echo)
        audit.record(site, audit.Actor.system("cli"), "catalog.reindex", "/catalog", records=records)
    click.echo(f"catalog rebuilt: {records} records")


@click.command()
@click.pass_obj
def shell(env):
    """Python shell with `site` bound; only `tm.commit()` saves changes."""
    with env.site(commit=False) as (site, tm):
        banner = "LienThong shell: `site` is the root; `tm.commit()` saves changes, nothing else is saved."
        code.interact(banner=banner, local={"site": site, "tm": tm, "transaction": tm})


@click.command()
@click.pass_obj
def plugins(env):
    """List the enabled plugins and the hooks each implements."""
    from ..plugins import describe, make_plugin_manager

    for name, dist, version, hooks in describe(make_plugin_manager(env.settings)):
        click.echo(f"{name}\t{dist} {version}\t{', '.join(hooks)}")
