"""``lienthong digest``: the morning mail of what waits for each person."""

import sys

import click

from .formatting import count


@click.command()
@click.option("--dry-run", is_flag=True, help="Show who would get what; send nothing, write nothing.")
@click.option("--force", is_flag=True, help="Run on a non-working day too.")
@click.option(
    "--today",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day to run for, YYYY-MM-DD (default: today in the site's time zone).",
)
@click.pass_obj
def digest(env, dry_run, force, day):
    """Mail each person what waits for them today and remind them of overdue documents.

    Meant for cron or a systemd timer, once each morning: it does nothing on a non-working
    day of the site's calendar unless --force. Mail goes through lienthong.mail.*.
    """
    from ZODB.POSException import ConflictError

    from ..db import get_database, run_in_site
    from ..mail import MailConfig, MailError
    from ..services import digest as digests
    from ..services.env import get_env
    from .context import NO_SITE

    try:
        MailConfig.from_settings(env.settings)  # a malformed lienthong.mail.* stops here, before any work
    except ValueError as exc:
        raise click.ClickException(" ".join(str(exc).split())) from exc
    sent, attempts = set(), 3
    with env.application() as app:

        def run(site):
            if site is None:
                raise click.ClickException(NO_SITE)
            return digests.run(
                site,
                get_env(app.registry),
                today=day.date() if day else None,
                force=force,
                dry_run=dry_run,
                already_sent=sent,
            )

        try:
            # a conflict: someone changed a reminded delivery meanwhile; again, and no mail twice
            report = run_in_site(
                get_database(app.registry),
                run,
                attempts,
                commit=lambda report: not (dry_run or report.skipped),
            )
        except ConflictError as exc:
            raise click.ClickException(
                f"the database kept changing during the digest ({attempts} "
                f"attempts); {len(sent)} mails were sent, nothing was recorded: "
                f"run it again"
            ) from exc
        except MailError as exc:
            raise click.ClickException(f"{exc}; the digest was not recorded") from exc

    when = report.day.isoformat()
    if report.skipped:
        click.echo(f"{when} is not a working day: no digest (use --force to send one anyway)")
        return
    for person in report.people:
        status = person.status + (f" ({person.error})" if person.error else "")
        notices = "" if dry_run else f", {count(person.notices, 'notice')}"
        click.echo(
            f"{person.login}\t{person.email or '-'}\t{person.overdue} overdue, {person.due_soon} due soon, "
            f"{person.pending} to handle{notices}\t{status}"
        )
    if dry_run:
        would = sum(1 for p in report.people if p.email)
        click.echo(
            f"dry run for {when}, nothing sent or written: {count(would, 'mail')} would be sent to "
            f"{len(report.people)} people, {report.overdue} overdue"
        )
        return
    click.echo(
        f"digest of {when}: {count(report.sent, 'mail')} sent, {report.refused} refused, "
        f"{count(report.notices, 'overdue notice')}, {len(report.people)} people with work"
    )
    if report.refused:
        click.echo(
            f"Error: the mail server refused {count(report.refused, 'recipient')} (see the lines above)",
            err=True,
        )
        sys.exit(1)
