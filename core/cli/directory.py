"""``lienthong directory export|import``: the directory of units as CSV or JSON."""

import os
import sys

import click

from .formatting import count


@click.group()
def directory():
    """The directory of units: export and import as CSV or JSON."""


def _format_of(fmt, path):
    if fmt:
        return fmt
    return "json" if path and path.lower().endswith(".json") else "csv"


def _transport_adapters(settings):
    from ..plugins import PluginLoadError, adapters_of, make_plugin_manager

    try:
        return adapters_of(make_plugin_manager(settings))
    except PluginLoadError as exc:
        raise click.ClickException(str(exc)) from exc


@directory.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default=None,
    help="csv (UTF-8 with BOM, for Excel) or json; default: from the file name, else csv.",
)
@click.option("-o", "--output", default=None, help="Write to this file instead of standard output.")
@click.pass_obj
def directory_export(env, fmt, output):
    """Write every unit of the directory as CSV or JSON."""
    from ..services import audit as audit_service, directory_io

    fmt = _format_of(fmt, output)
    with env.site() as (site, tm):
        text = directory_io.export(site, fmt, adapters=_transport_adapters(env.settings))
        units = len(site["directory"])
        audit_service.record(
            site,
            audit_service.Actor.system("cli"),
            "directory.export",
            "/directory",
            format=fmt,
            units=units,
            file=output,
        )
        if output:
            try:
                with open(output, "w", encoding="utf-8", newline="") as f:
                    f.write(text)
            except OSError as exc:
                raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    if output:
        click.echo(f"{count(units, 'unit')} written to {output} ({fmt})")
    else:
        click.echo(text, nl=False)


@directory.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default=None,
    help="csv or json; default: from the file name (.json), else csv.",
)
@click.option("--dry-run", is_flag=True, help="Check the file and report what would change; write nothing.")
@click.pass_obj
def directory_import(env, file, fmt, dry_run):
    """Create and update units from a CSV or JSON file: all rows or none."""
    from ..errors import ServiceError
    from ..services import audit as audit_service, directory_io

    fmt = _format_of(fmt, file)
    limit = directory_io.max_bytes_of(env.settings)
    try:
        size = os.path.getsize(file)
        if size > limit:
            raise click.ClickException(
                f"{file} is {size} bytes; at most {limit} bytes are accepted "
                f"(lienthong.import.max_bytes): nothing was imported"
            )
        with open(file, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from exc
    known = _transport_adapters(env.settings)
    with env.site(commit=not dry_run) as (site, tm):
        try:
            report = directory_io.import_(
                site, audit_service.Actor.system("cli"), data, fmt, known_adapters=known, max_bytes=limit
            )
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
    click.echo(
        f"dry run, nothing written: would be {summary}" if dry_run else f"directory imported: {summary}"
    )
