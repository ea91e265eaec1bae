"""``lienthong backup`` and ``lienthong restore``: verified copies of the database."""

import os

import click

from .formatting import count, size


@click.command()
@click.option(
    "--to",
    "to_dir",
    default="var/backups",
    show_default=True,
    help="Directory of the backups (relative to the working directory).",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=None,
    help="Then delete the oldest complete backups beyond the N newest.",
)
@click.pass_obj
def backup(env, to_dir, keep):
    """Copy the database into a new verified backup (works while the site is served).

    Writes DIR/<UTC timestamp>/ with Data.fs, blobs/ and manifest.json (digests of every
    file); the manifest is the record of the backup, nothing is written to the database.
    """
    from ..services import backup as backups

    try:
        path, manifest, removed = backups.backup(env.settings["zodbconn.uri"], to_dir, keep=keep)
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    kept = len(backups.list_backups(os.path.dirname(path)))
    click.echo(
        f"backup {path} verified: generation {manifest['generation']}, "
        f"{count(manifest['objects'], 'object')}, {count(manifest['transactions'], 'transaction')}, "
        f"{count(manifest['blob_files'], 'blob')}, {size(manifest['total_size'])}"
        + (f"; {len(removed)} deleted, {kept} kept (--keep {keep})" if keep is not None else "")
    )


@click.command()
@click.argument("backup_dir")
@click.option("--yes", is_flag=True, help="Restore without asking for confirmation.")
@click.pass_obj
def restore(env, backup_dir, yes):
    """Copy a verified backup into the ini's database, which must be empty.

    Checks the manifest and every digest first; refuses a database that already holds
    data; records `system.restore` in the restored site's audit log.
    """
    from ..services import audit, backup as backups

    def confirm(manifest, target):
        return yes or click.confirm(
            f"restore backup {manifest['name']} ({manifest['source']}) into {target}?"
        )

    try:
        result = backups.restore(
            env.settings["zodbconn.uri"], backup_dir, audit.Actor.system("cli"), confirm=confirm
        )
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    if result is None:
        raise click.ClickException("restore cancelled: nothing was copied")
    click.echo(
        f"restored backup {result['name']} into {result['target']}: generation {result['generation']}, "
        f"{count(result['objects'], 'object')}, {count(result['blobs'], 'blob')} verified; "
        f"audit entry {result['audit_entries']} records the restore"
    )
