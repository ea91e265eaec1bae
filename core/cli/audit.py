"""``lienthong audit verify``: check the audit log's hash chain."""

import sys

import click


@click.group()
def audit():
    """The audit log."""


@audit.command("verify")
@click.pass_obj
def audit_verify(env):
    """Check the hash chain; report the first broken link."""
    from ..services import audit as audit_service

    with env.site(check_generation=False) as (site, tm):
        entries = len(site["audit"])
        broken = audit_service.verify(site)
    if broken:
        seq, reason = broken.seq, broken.reason
        click.echo(f"audit log BROKEN at entry {seq}: {reason}", err=True)
        sys.exit(1)
    click.echo(f"audit log intact: {entries} entries")
