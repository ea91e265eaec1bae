"""``lienthong adduser``: a user account made from the command line."""

import click


@click.command()
@click.argument("login")
@click.option("--fullname", required=True, help="Full name as shown in the UI.")
@click.option("--unit", "unit_code", default=None, help="Identifier code of the user's unit.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="Role (repeatable): system_admin, unit_admin, clerk, leader, specialist, auditor.",
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="LIENTHONG_NEW_PASSWORD",
    help="Password (prompted when not given).",
)
@click.option("--email", default="")
@click.option("--position", default="")
@click.option(
    "--must-change-password", is_flag=True, help="The user must choose a new password at the first login."
)
@click.pass_obj
def adduser(env, login, fullname, unit_code, roles, password, email, position, must_change_password):
    """Add a user account."""
    from ..errors import ServiceError
    from ..services import accounts, audit

    with env.site() as (site, tm):
        try:
            accounts.add_user(
                site,
                audit.Actor.system("cli"),
                login,
                fullname,
                password,
                unit_code,
                roles,
                position,
                email,
                must_change_password=must_change_password,
            )
        except ServiceError as exc:
            raise click.ClickException(exc.text()) from exc
    click.echo(f"user {login} added")
