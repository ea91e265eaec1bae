"""``lienthong worker``: drain the outbound queue and poll the adapters until stopped.

With ZEO or RelStorage, run as many as wanted next to ``lienthong serve``; with a
FileStorage only one process can open the database, so the server runs the worker as a
thread instead (``lienthong.worker.in_process``, default on for ``file://``).
"""

import configparser
import logging
import signal
import threading

import click


def in_process(settings):
    """Does ``lienthong serve`` run the worker as a thread? Default: yes for a FileStorage."""
    from pyramid.settings import asbool

    value = settings.get("lienthong.worker.in_process")
    if value in (None, ""):
        return str(settings.get("zodbconn.uri", "")).startswith("file://")
    return asbool(value)


@click.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, poll once, and exit (cron, tests).")
@click.option(
    "--id", "worker_id", default=None, help="This worker's name in leases and logs (default: host-pid)."
)
@click.pass_obj
def worker(env, once, worker_id):
    """Deliver queued messages through the eOffice adapters; stop on SIGTERM/SIGINT after the batch."""
    from pyramid.paster import setup_logging

    from ..db import get_database
    from ..worker import run

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(env.config)
    if parser.has_section("loggers"):
        setup_logging(env.config)
    else:  # an ini without logging sections: say what the worker does on stderr
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    hint = (
        "; with a FileStorage only one process opens the database: let `lienthong serve` run the worker "
        "(lienthong.worker.in_process = true)"
    )
    with env.application(lock_hint=hint) as app:
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            handled = run(get_database(app.registry), app.registry, stop, worker_id=worker_id, once=once)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if once:
        click.echo(f"{handled} message(s) handled")
