"""``lienthong bench``: the benchmarks of ``core/bench/``, printed as a table and written as JSON."""

import click


@click.command()
@click.option("--seconds", default=2.0, show_default=True, help="Measuring time per figure.")
@click.option(
    "--out", "out_dir", default="var/bench", show_default=True, help="Where to write the JSON figures."
)
@click.option(
    "--documents",
    type=click.IntRange(min=1),
    default=None,
    help="Documents in the mailbox catalog for the inbox and search figures "
    "(default 100000; docs/benchmarks.md says how to build 1M).",
)
@click.option(
    "--fanout", type=click.IntRange(min=1), default=None, help="Recipients of the fan-out (default 300)."
)
@click.option(
    "--edxml-mb",
    type=click.FloatRange(min=0.01),
    default=None,
    help="Attachment size of the edXML import, in MB (default 10).",
)
@click.option(
    "--queue",
    "queue",
    type=click.IntRange(min=10),
    default=None,
    help="Only the transport queue: drain N queued messages over HTTP with 1 and 2 workers "
    "against the raw send rate (core/bench/queue.py).",
)
@click.option(
    "--queue-via",
    "queue_via",
    default=None,
    metavar="ADAPTER",
    help="With --queue: drain through this adapter to the receiving end it offers "
    "(peer_hub: a second hub over HTTP).",
)
@click.option(
    "--directory",
    "directory",
    type=click.IntRange(min=100),
    default=None,
    help="Only the directory: synchronize N agencies from the adapter of --directory-via, "
    "then time the searches at that size (core/bench/directory.py).",
)
@click.option(
    "--directory-via",
    "directory_via",
    default="vxp",
    show_default=True,
    metavar="ADAPTER",
    help="With --directory: the adapter whose directory is synchronized.",
)
def bench(seconds, out_dir, documents, fanout, edxml_mb, queue, queue_via, directory, directory_via):
    """Measure throughput against baselines taken in the same run; write var/bench/."""
    from rich.console import Console
    from rich.table import Table

    if directory:
        from ..bench import directory as bench_directory

        report, path = bench_directory.run(
            directory,
            directory_via,
            out_dir=out_dir,
            log=lambda step: Console(stderr=True).log(f"bench: {step}"),
        )
        table = Table(
            title=f"LienThong directory bench {report['date']}: {directory:,} agencies via {directory_via}"
        )
        table.add_column("figure")
        table.add_column("value", justify="right")
        for name, value in bench_directory.summary(report):
            table.add_row(name, value)
        Console().print(table)
        click.echo(f"written to {path}")
        return
    if queue:
        from ..bench import queue as bench_queue

        report, path = bench_queue.run(
            queue, out_dir=out_dir, via=queue_via, log=lambda step: Console(stderr=True).log(f"bench: {step}")
        )
        table = Table(
            title=f"LienThong queue bench {report['date']}: {queue} messages, "
            f"{report['destinations']} destinations, ZEO, to {report['receiver']}"
        )
        table.add_column("figure")
        table.add_column("value", justify="right")
        for name, value in bench_queue.summary(report):
            table.add_row(name, value)
        Console().print(table)
        click.echo(f"written to {path}")
        return
    from ..bench import run, summary

    console = Console(stderr=True)
    report, path = run(
        seconds=seconds,
        out_dir=out_dir,
        documents=documents,
        fanout=fanout,
        edxml_mb=edxml_mb,
        log=lambda step: console.log(f"bench: {step}"),
    )
    table = Table(title=f"LienThong bench {report['date']} ({report['machine']['cpu']})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in summary(report):
        table.add_row(name, value)
    Console().print(table)
    click.echo(f"written to {path}")
