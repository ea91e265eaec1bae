"""``lienthong edxml send|poll|inspect``: test a product's connection to a running hub by hand (R3.3).

``send`` and ``poll`` are HTTP clients of a hub's /edxml/v1 (docs/edxml-api.md) using a
unit's API token (``--token`` or ``LIENTHONG_TOKEN``). The hub's address is ``--url``, else
``LIENTHONG_URL``, else the ini's ``lienthong.public_url``, else its ``[server:main]`` host
and port. A refusal is printed as the hub's problem details on one line, with exit status 1.

``inspect`` needs no hub: it reads a package with this site's codec and directory and
stores nothing (``services/edxml_inspect.py``), so an operator can see why a package is
refused, or what it holds, before anyone imports it.
"""

import contextlib
import json
import os
import shutil
import sys
import tempfile

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
    """Exchange edXML packages with a hub as a unit's eOffice product would; inspect one."""


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


# -- inspect -----------------------------------------------------------------------------------
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a package read from stdin is spooled to disk beyond this


@contextlib.contextmanager
def _package(file):
    """FILE opened for reading as a seekable binary stream ("-": standard input, spooled)."""
    if file != "-":
        with open(file, "rb") as stream:
            yield stream
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spooled:
        shutil.copyfileobj(sys.stdin.buffer, spooled, 1 << 20)
        spooled.seek(0)
        yield spooled


@edxml.command("inspect")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (on standard output).")
@click.pass_obj
def inspect_package(env, file, as_json):
    """Read the edXML package FILE as this hub would, storing nothing.

    Shows the sender and recipients (known to the directory or not), every header field,
    each attachment's real type, size and SHA-256 once unwrapped, the trace, the business
    type, the signature's verdict and every warning. Exit status 1 when the package is refused.
    """
    from ..services import edxml_inspect

    with env.application_site() as (site, app_env, _tm), _package(file) as stream:
        report = edxml_inspect.inspect(site, app_env, stream)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    elif report["readable"]:
        _print_report(report)
    if not report["readable"]:
        field = f" (field: {report['field']})" if report.get("field") else ""
        raise click.ClickException(f"{file} is refused: {report['reason']}{field}")


def _yes(flag):
    return "yes" if flag else "[red]no[/red]"


def _print_report(report):
    from rich.markup import escape as e
    from rich.table import Table

    from ..services import edxml_inspect, workflow

    console = _console()
    package = report["package"]
    warnings = report.get("warnings") or []
    console.print(
        f"[green]readable[/green] edXML {report['kind']} package, {package['size']} bytes, "
        f"sha256 {package['sha256']}" + (f", [yellow]{len(warnings)} warning(s)[/yellow]" if warnings else "")
    )
    sender = report["sender"]
    console.print(
        f"sender: {e(sender['code'] or '—')} {e(sender['name'])}"
        + ("" if sender["known"] else " [yellow](not in the directory)[/yellow]")
    )
    if report["kind"] == "document":
        recipients = Table("recipient", "name", "known", "connected", title=None)
        for r in report["recipients"]:
            recipients.add_row(e(r["code"] or "—"), e(r["name"]), _yes(r["known"]), _yes(r["connected"]))
        console.print(recipients)
        business = report["business"]
        console.print(f"DocumentId: {e(report.get('document_id', ''))}")
        console.print(
            f"business type: {business['type']} {business['label']}"
            + (f" — {e(business['reason'])}" if business.get("reason") else "")
        )
    else:
        code = report.get("status_code", "")
        title = workflow.STATE_TITLES.get(code)
        console.print(f"status: {e(code)}" + (f" ({title.interpolate()})" if title is not None else ""))
        answered = report.get("response_for") or {}
        console.print(f"answers DocumentId: {e(answered.get('document_id', ''))}")
    fields = Table("element", "value")
    fields.columns[0].no_wrap = True
    for element, value in edxml_inspect.field_rows(report):
        fields.add_row(e(element), e(value))
    console.print(fields)
    if report.get("attachments"):
        files = Table("attachment", "real type", "declared type", "size", "sha256", "transferred as")
        for a in report["attachments"]:
            wrapped = a.get("wrapped")
            carried = "raw file"
            if wrapped:
                entries = ", ".join(f"{name} ({size} bytes)" for name, size in wrapped["entries"])
                carried = f"zip, {wrapped['size']} bytes, sha256 {wrapped['sha256']}: {entries}"
            files.add_row(
                e(a["name"]),
                e(a["content_type"]),
                e(a["declared_type"]),
                str(a["size"]),
                a["sha256"],
                e(carried),
            )
        console.print(files)
    elif report["kind"] == "document":
        console.print("attachments: none")
    trace = Table("hop", "OrganId", "timestamp", "known")
    for number, hop in enumerate(report.get("trace") or (), 1):
        known = "[yellow]unnamed hop[/yellow]" if hop.get("unnamed") else _yes(hop["known"])
        trace.add_row(str(number), e(hop["organ_id"] or "—"), e(hop["timestamp"]), known)
    console.print(trace)
    signature = report["signature"]
    console.print(
        f"signature: {e(signature['verdict'])}"
        + (f" — {e(signature['reason'])}" if signature.get("reason") else "")
    )
    for warning in warnings:
        where = f"{e(warning['field'])}: " if warning.get("field") else ""
        console.print(f"[yellow]warning[/yellow] {where}{e(warning['message'])}")
