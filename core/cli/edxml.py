"""``lienthong edxml send|poll``: test a product's connection to a running hub by hand (R3.3).

Both are HTTP clients of a hub's /edxml/v1 (docs/edxml-api.md) using a unit's API token
(``--token`` or ``LIENTHONG_TOKEN``). The hub's address is ``--url``, else ``LIENTHONG_URL``,
else the ini's ``lienthong.public_url``, else its ``[server:main]`` host and port. A refusal
is printed as the hub's problem details on one line, with exit status 1.
"""

import os

import click

TIMEOUT = 60


def _base_url(env, url):
    if url:
        return url.rstrip("/")
    try:
        settings = env.settings
    except click.ClickException:
        raise click.ClickException(
            "no hub address: give --url (or LIENTHONG_URL) or a configuration file"
        ) from None
    if settings.get("lienthong.public_url"):
        return settings["lienthong.public_url"].strip().rstrip("/")
    from plaster import get_settings

    try:
        server = dict(get_settings(env.config, "server:main"))
    except Exception:  # no [server:main]: the default of `lienthong serve`
        server = {}
    listen = server.get("listen", "").split()
    host, port = (
        listen[0].rsplit(":", 1) if listen else (server.get("host", "127.0.0.1"), server.get("port", "8080"))
    )
    if host in ("0.0.0.0", "*", "", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


class Hub:
    """The /edxml/v1 of one hub, seen by one unit's token."""

    def __init__(self, base, token):
        import requests

        if not token:
            raise click.ClickException("no token: give --token or set LIENTHONG_TOKEN to a unit's API token")
        self.base = base
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept-Language": "en"})

    def call(self, method, path, **kwargs):
        import requests

        url = f"{self.base}/edxml/v1{path}"
        try:
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise click.ClickException(
                f"cannot reach {url}: {exc.__class__.__name__}: {' '.join(str(exc).split())[:300]}"
            ) from None
        if response.status_code >= 400:
            raise click.ClickException(_problem_line(response))
        return response


def _problem_line(response):
    """A refusal as one line: status, title, detail and the field at fault."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    title = body.get("title") or response.reason or "error"
    detail = " ".join(str(body.get("detail") or response.text[:200]).split())
    field = f" (field: {body['field']})" if body.get("field") else ""
    return f"the hub refused it: {response.status_code} {title}: {detail}{field}"


def _console():
    """Rich output; wide when it goes to a file or a pipe, so identifiers are never cut."""
    import sys

    from rich.console import Console

    return Console(highlight=False, width=None if sys.stdout.isatty() else 240)


@click.group()
def edxml():
    """Exchange edXML packages with a hub as a unit's eOffice product would."""


url_option = click.option(
    "--url",
    envvar="LIENTHONG_URL",
    default=None,
    help="The hub's address (default: the ini's lienthong.public_url or [server:main]).",
)
token_option = click.option(
    "--token",
    envvar="LIENTHONG_TOKEN",
    default=None,
    help="The unit's API token (default: $LIENTHONG_TOKEN).",
)


@edxml.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="CODE",
    help="A unit the package must be addressed to (repeatable): checked against its To before sending; "
    "the package itself is never changed (a signed package would no longer verify).",
)
@url_option
@token_option
@click.pass_obj
def send(env, file, to, url, token):
    """Send the edXML package FILE to the hub as the token's unit."""
    if to:
        from .. import edxml
        from ..errors import ServiceError

        try:
            with open(file, "rb") as stream:
                parsed = edxml.parse_document(stream)
        except ServiceError as exc:
            raise click.ClickException(f"{file} is not a valid edXML package: {exc.text()}") from None
        for item in parsed.pop("attachments"):
            item["file"].close()
        named = [t["organ_id"] for t in parsed["to"]]
        missing = [code for code in to if code not in named]
        if missing:
            raise click.ClickException(
                f"{file} is not addressed to {', '.join(missing)} "
                f"(its To: {', '.join(named)}); change the package in the product"
            )
    hub = Hub(_base_url(env, url), token)
    with open(file, "rb") as body:
        response = hub.call("POST", "/packages", data=body, headers={"Content-Type": "application/xml"})
    result = response.json()
    console = _console()
    if result.get("created"):
        console.print(
            f"[green]received[/green] {result['document_id']} → delivered to "
            f"{', '.join(result.get('recipients') or [])}"
        )
    else:
        console.print(
            f"[yellow]already received[/yellow] {result['document_id']}: {result.get('detail', '')}"
        )
    console.print(f"document: {result.get('url', '')}")


@edxml.command()
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default=None,
    help="Save each waiting package in this directory as <DocumentId>.xml.",
)
@click.option("--ack", is_flag=True, help="Acknowledge each package once it is saved (needs --out).")
@click.option(
    "--limit", type=click.IntRange(1, 500), default=100, show_default=True, help="Packages per request."
)
@url_option
@token_option
@click.pass_obj
def poll(env, out, ack, limit, url, token):
    """List the packages waiting for the token's unit; save and acknowledge them."""
    if ack and not out:
        raise click.ClickException("--ack needs --out: a package is acknowledged only once it is saved")
    hub = Hub(_base_url(env, url), token)
    if out:
        os.makedirs(out, exist_ok=True)
    from rich.table import Table

    table = Table(
        "DocumentId", "sender", "notation", "subject", "arrived", "size", *(["saved"] if out else [])
    )
    table.columns[0].no_wrap = True
    after, count, saved, acked = "", 0, 0, 0
    while True:
        params = {"limit": limit, **({"after": after} if after else {})}
        page = hub.call("GET", "/packages", params=params).json()
        for item in page["items"]:
            count += 1
            row = [
                item["document_id"],
                item["sender"]["code"],
                item["notation"],
                item["subject"][:60],
                item["arrived_at"] or "",
                str(item["size"]),
            ]
            if out:
                path = _save(hub, item, out)
                saved += 1
                row.append(path)
                if ack:
                    hub.call("POST", f"/packages/{item['document_id']}/ack")
                    acked += 1
            table.add_row(*row)
        if not page["next"]:
            break
        if not ack:  # acknowledged packages leave the list: then the next page is its head again
            after = page["next"]
    console = _console()
    if count:
        console.print(table)
    console.print(
        f"{count} package(s) waiting"
        + (f", {saved} saved" if out else "")
        + (f", {acked} acknowledged" if ack else "")
    )


def _save(hub, item, out):
    """Fetch one package into ``out`` (written whole, then renamed into place)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in item["document_id"])
    path = os.path.join(out, f"{safe}.xml")
    partial = path + ".part"
    response = hub.call("GET", f"/packages/{item['document_id']}", stream=True)
    with open(partial, "wb") as f:
        for chunk in response.iter_content(256 * 1024):
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
    return path
