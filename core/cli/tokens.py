"""``lienthong token create|list|revoke``: API tokens of units."""

import click


@click.group()
def token():
    """API tokens of units (for eOffice products and scripts)."""


@token.command("create")
@click.option("--unit", "unit_code", required=True, help="Identifier code of the unit the token acts for.")
@click.option("--label", required=True, help="What uses the token (e.g. the unit's eOffice product).")
@click.pass_obj
def token_create(env, unit_code, label):
    """Make a token for a unit and print its secret (shown once)."""
    from ..errors import ServiceError
    from ..services import audit as audit_service, tokens

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
    from ..services import tokens

    with env.site(commit=False) as (site, tm):
        if unit_code.strip() not in site["directory"]:
            raise click.ClickException(f"Unknown unit {unit_code.strip()}.")
        rows = [
            (
                t.token_id,
                t.label,
                t.created,
                t.last_used or "never",
                f"revoked {t.revoked}" if t.revoked else "active",
            )
            for t in tokens.of_unit(site, unit_code.strip())
        ]
    if not rows:
        click.echo(f"unit {unit_code.strip()} has no tokens")
    for row in rows:
        click.echo("\t".join(row))


@token.command("revoke")
@click.argument("token_id")
@click.pass_obj
def token_revoke(env, token_id):
    """Revoke a token at once: it is refused from the next request on."""
    from ..errors import ServiceError
    from ..services import audit as audit_service, tokens

    with env.site() as (site, tm):
        try:
            revoked = tokens.revoke(site, audit_service.Actor.system("cli"), token_id.strip())
        except ServiceError as exc:
            raise click.ClickException(exc.text()) from exc
        unit_code, label = revoked.unit_code, revoked.label
    click.echo(f"token {token_id.strip()} ({label}, unit {unit_code}) revoked")
