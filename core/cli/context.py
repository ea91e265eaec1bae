"""What every command is given (``@click.pass_obj``): the ini, its settings, the application, the site."""

import contextlib
import os

import click

DEFAULT_CONFIG = os.environ.get("LIENTHONG_CONFIG", "etc/development.ini")
NO_SITE = "the database has no site yet: run `lienthong init` first"


class CliContext:
    """What a command needs: the ini path and, lazily, the settings.

    Not to be confused with the services' ``Env`` (``services/env.py``), which
    ``application_site()`` yields next to the site.
    """

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
                raise click.ClickException(
                    f"cannot read the configuration file {self.config}: {reason}"
                ) from exc
            if "zodbconn.uri" not in self._settings:
                raise click.ClickException(f"{self.config}: [app:main] has no zodbconn.uri")
        return self._settings

    @contextlib.contextmanager
    def application(self, lock_hint=""):
        """The WSGI application the ini builds (plugins, stores, calendar, catalog); closed afterwards.

        A start-up error is one clear line; a FileStorage that a running server holds says
        so, followed by ``lock_hint`` (what to do instead).
        """
        from .. import StartupError, main
        from ..blobs import BlobStoreError
        from ..db import StorageError, close_databases, explain

        try:
            app = main({}, **self.settings)
        except (StartupError, StorageError, BlobStoreError, ValueError) as exc:  # ValueError: a bad setting
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
        from ..db import get_database, open_transaction
        from ..resources.site import find_site
        from ..services.env import get_env

        with self.application() as app, open_transaction(get_database(app.registry)) as (root, tm):
            site = find_site(root)
            if site is None:
                raise click.ClickException(NO_SITE)
            yield site, get_env(app.registry), tm

    @contextlib.contextmanager
    def site(self, create=False, check_generation=True, commit=True):
        """Open the database; yield (site, transaction manager); commit (unless ``commit`` is
        false) when the block ends without an error; close the database."""
        from .. import evolve
        from ..db import StorageError, open_database, open_transaction
        from ..resources.site import find_site
        from ..services.setup import ensure_site

        try:
            db = open_database(self.settings["zodbconn.uri"])
        except StorageError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            with open_transaction(db) as (root, tm):
                if create:
                    site, _created = ensure_site(root, tm)
                else:
                    site = find_site(root)
                    if site is None:
                        raise click.ClickException(NO_SITE)
                if check_generation:
                    try:
                        evolve.check(site, auto_migrate=True)
                    except evolve.DatabaseTooNew as exc:
                        raise click.ClickException(str(exc)) from exc
                yield site, tm
                if commit:
                    tm.commit()
        finally:
            db.close()
