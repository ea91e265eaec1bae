"""``lienthong blobs``: move attachments between stores and verify every digest (R5.4, R6.6).

Exit status: 0 all good; 1 some attachments are damaged, missing or could not be moved
(each named by document and attachment); 2 a store name that no enabled plugin offers
(nothing changed); 130 interrupted (what was committed stays; run again to continue).
"""

import sys

import click

from .formatting import count, size


class UnknownStoreError(click.ClickException):
    exit_code = 2


def _store_or_exit(app_env, name):
    from ..services import blob_migration

    try:
        return blob_migration.store_named(app_env, name)
    except blob_migration.UnknownStore as exc:
        raise UnknownStoreError(exc.text()) from exc


class _Progress:
    """A rich progress bar on a terminal; one line per committed batch otherwise (logs, cron, tests)."""

    def __init__(self, verb):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.live = self.console.is_terminal
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("documents · {task.fields[count]} · {task.fields[size]}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.live,
        )
        self.verb = verb
        self.task = None

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def update(self, report, pending=None):
        if not self.live:
            return
        done = report.documents + (pending.documents if pending else 0)
        attachments = report.attachments + (pending.attachments if pending else 0)
        stored = report.bytes + (pending.bytes if pending else 0)
        if self.task is None:
            self.task = self.bar.add_task(self.verb, total=report.total, count="", size="")
        self.bar.update(
            self.task,
            completed=done,
            count=f"{count(attachments, 'attachment')} {self.verb}",
            size=size(stored),
        )

    def line(self, text):
        """A line for the record; above the bar on a terminal."""
        if self.live:
            self.bar.console.print(text, highlight=False, markup=False)
        else:
            click.echo(text)


@click.group()
def blobs():
    """Attachment stores: move attachments between them, verify every digest."""


@blobs.command()
@click.option("--to", "target", required=True, help="Name of the store to move the attachments into.")
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Attachments moved per transaction.",
)
@click.pass_obj
def migrate(env, target, batch):
    """Move every attachment that is not in store TO into it, verifying every digest.

    Resumable: run it again after an interruption and it continues where it stopped.
    """
    from ..services import audit, blob_migration

    with env.application_site() as (site, app_env, tm):
        _store_or_exit(app_env, target)
        with _Progress("moved") as progress:

            def on_commit(report):
                progress.line(
                    f"batch {report.batches} committed: {count(report.attachments, 'attachment')} "
                    f"moved ({size(report.bytes)}), {report.documents}/{report.total} documents"
                )

            def on_problem(problem):
                progress.line(f"NOT MOVED: {problem.line()}")

            try:
                report = blob_migration.migrate(
                    site,
                    app_env,
                    tm,
                    audit.Actor.system("cli"),
                    target,
                    batch=batch,
                    progress=progress.update,
                    on_commit=on_commit,
                    on_problem=on_problem,
                )
            except KeyboardInterrupt:
                click.echo(
                    "interrupted: the batches committed so far stay moved; run the command again to continue",
                    err=True,
                )
                sys.exit(130)
    click.echo(
        f"{count(report.attachments, 'attachment')} ({size(report.bytes)}) moved to {target} in "
        f"{count(report.batches, 'batch', 'batches')}; {report.reused} reused a verified copy already there, "
        f"{report.skipped} already in {target}"
    )
    if report.problem_count:
        click.echo(
            f"Error: {count(report.problem_count, 'attachment')} could not be moved (listed above) "
            f"and stay in their store",
            err=True,
        )
        sys.exit(1)


@blobs.command()
@click.option("--store", "store_name", default=None, help="Only the attachments in this store.")
@click.pass_obj
def verify(env, store_name):
    """Read every attachment from its store and check its digest."""
    from ..services import blob_migration

    with env.application_site() as (site, app_env, tm):
        if store_name is not None:
            _store_or_exit(app_env, store_name)
        with _Progress("verified") as progress:
            report = blob_migration.verify(
                site,
                app_env,
                store_name,
                progress=progress.update,
                on_problem=lambda p: progress.line(f"BAD: {p.line()}"),
            )
    damaged, missing = report.reasons.get("damaged", 0), report.reasons.get("missing", 0)
    orphans = "".join(f", {count(n, 'orphan file')} in {name}" for name, n in sorted(report.orphans.items()))
    click.echo(
        f"{report.documents} documents, {count(report.attachments, 'attachment')} intact "
        f"({size(report.bytes)}), {damaged} damaged, {missing} missing, "
        f"{report.problem_count - damaged - missing} unreadable{orphans}"
    )
    if report.problem_count:
        click.echo(
            f"Error: {count(report.problem_count, 'attachment')} failed verification (listed above)", err=True
        )
        sys.exit(1)
