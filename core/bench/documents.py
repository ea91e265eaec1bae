"""Document-exchange figures of ``lienthong bench``, each with its baseline or target.

Measured on one demo site in a FileStorage (``main()`` application, its real registry,
event subscribers and attachment store), in one run:

* ``send_service`` — ``services.documents.send`` (compose + issue, one recipient, one
  small PDF, one transaction per send; the catalog catches up every ``CATCH_UP_EVERY``
  sends, in the time measured; ``send_service_read_each``: after every send) against
  ``zodb_send_graph``: a raw ZODB commit of
  a similar object graph built with plain persistent/BTrees (a document with its metadata
  dict, a delivery child, a blob of the same size, a BTree insert); measured alternately,
  on the new site and again once the catalog holds ``documents`` documents (``_at_scale``);
* ``http_send`` — the same send through ``POST /api/v1/documents`` (multipart, a unit
  token, 4 clients) on waitress, against the plain waitress "hello" of ``web.bench_http``;
* ``fanout`` — wall time of the transaction that issues one document to ``fanout`` units;
* ``mailbox`` — inbox first page and full-text search through ``services.mailboxes`` over
  a catalog of ``documents`` documents: the newest ``real`` ones sent through the
  services, the others synthetic catalog records (``catalog.synthetic``: one per
  document plus one per delivery, as the indexing subscriber writes them);
* ``edxml`` — the one door (``services.inbound.receive``) taking a package in the field's
  shape with one ``edxml_mb`` MB attachment, zip-wrapped as the vendors send it and raw,
  plus its commit: time, and peak Python memory (tracemalloc) against the size.

Longer than 600 lines because every figure here is a ratio to a baseline measured in the
same run on the same site: each measurement sits beside its baseline and the site they
share, and split apart they would drift.
"""

import http.client
import io
import json
import os
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta

import transaction
from persistent import Persistent

from .harness import disk_bytes, in_threads, latencies, percentiles, serve

#: documents in the mailbox catalog by default: keeps the whole ``lienthong bench`` near 5 minutes
DEFAULT_DOCUMENTS = 100_000
#: of those, at most this many are real documents sent through the services (the newest)
REAL_DOCUMENTS = 200
FANOUT = 300
EDXML_MB = 10
SMALL_PDF_BYTES = 20_000
#: synthetic records indexed per transaction while the catalog is built. Docids are random
#: (so concurrent sends touch different buckets), hence every commit rewrites nearly every
#: bucket of the indexes: few large commits build in a fraction of the time and disk.
BUILD_BATCH = 50_000

SENDER = "000.00.02.H49"  # demo: Sở Nội vụ
RECIPIENT = "000.00.31.H49"  # demo: UBND TP Vũng Tàu
HTTP_SENDERS = ("000.00.02.H49", "000.00.03.H49", "000.00.04.H49", "000.00.05.H49")
SEARCHES = ("quyet dinh", "ke hoach 2026")

TARGETS = {
    "send_service / zodb_send_graph": ("≥", 1 / 3),
    "fanout_ms": ("<", 500.0),
    "inbox_first_page_p95_ms": ("<", 20.0),
    "search_p95_ms": ("<", 100.0),
    "edxml_ms": ("<", 150.0),
    "edxml_peak / package_size": ("<", 3.0),
}


# -- helpers ---------------------------------------------------------------------------------
def _pdf(size, tag):
    """A small valid-looking PDF of ``size`` bytes, different for every ``tag`` (no blob dedup)."""
    head = (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] "
        b"/Count 0 >> endobj\n% " + str(tag).encode() + b"\n"
    )
    tail = b"trailer << /Root 1 0 R >>\n%%EOF\n"
    return head + b"%" * max(0, size - len(head) - len(tail) - 1) + b"\n" + tail


def _big_pdf(size):
    """A PDF-headed file of ``size`` incompressible bytes (like a scan)."""
    head = b"%PDF-1.4\n% scan\n"
    tail = b"\n%%EOF\n"
    return head + os.urandom(max(0, size - len(head) - len(tail))) + tail


class _Session:
    """One connection on the application's database with a transaction manager of its own."""

    def __init__(self, app):
        from ..db import get_database
        from ..services.env import get_env

        self.db = get_database(app.registry)
        self.env = get_env(app.registry)
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)

    @property
    def site(self):
        from ..resources.site import find_site

        return find_site(self.conn.root())

    def tx(self, fn):
        """``fn(site)`` in a transaction of its own, committed (a conflict is an error: one writer)."""
        from ..db import run_in_site

        return run_in_site(self.db, fn, attempts=1, connection=self.conn)

    def close(self):
        if self.conn is not None:
            self.tm.abort()
            self.conn.close()
            self.conn = None


def _actor(login="vanthu.bench"):
    from ..services.audit import Actor

    return Actor(login=login, client="127.0.0.1")


def _send_data(recipients, subject=None, doc_type="CV"):
    return {
        "doc_type": doc_type,
        "recipients": list(recipients),
        "subject": subject or "Công văn về việc đôn đốc thực hiện kế hoạch chuyển đổi số năm 2026",
        "content": "Đề nghị các đơn vị báo cáo kết quả thực hiện trước ngày 15 hằng tháng",
        "signer_name": "Nguyễn Văn An",
        "signer_position": "Giám đốc",
    }


def make_app(directory):
    from .. import main

    return main(
        {},
        **{
            # the cache of etc/development.ini
            "zodbconn.uri": f"file://{directory}/Documents.fs?blobstorage_dir={directory}/documents-blobs"
            "&connection_cache_size=20000",
            "lienthong.secret": "bench-" + "x" * 40,
            "lienthong.session.secure": "false",
            "lienthong.auto_migrate": "true",
        },
    )


def bench_units(count):
    """Codes of ``count`` extra units; the first 30 are those of ``catalog.synthetic``."""
    from .catalog import UNITS, unit_code

    codes = [unit_code(i) for i in range(min(count, UNITS))]
    i = 0
    while len(codes) < count:
        codes.append(f"000.{i // 99 + 1:02d}.{i % 99 + 1:02d}.H38")
        i += 1
    return codes


def setup_site(session, units):
    """The demo province, ``units`` extra units (code H38); returns an API token per HTTP sending unit."""
    import secrets

    from ..services import demo, directory, tokens

    actor = _actor("system:bench")

    def fill(site):
        demo.populate(site, secrets.token_urlsafe(16))
        for n, code in enumerate(bench_units(units)):
            directory.add_unit(
                site, actor, {"code": code, "name": f"Đơn vị thử nghiệm số {n + 1}", "kind": "agency"}
            )
        return {code: tokens.create(site, actor, code, "bench")[1] for code in HTTP_SENDERS}

    return session.tx(fill)


# -- 1. send against a raw commit of a similar graph -------------------------------------------
class RawDelivery(Persistent):
    def __init__(self, code):
        self.recipient_code, self.state, self.history = code, "01", [{"state": "01"}]


class RawDocument(Persistent):
    """The baseline's document: its metadata dict and a delivery child, no LienThong code."""

    def __init__(self, meta):
        self.meta = dict(meta)
        self.deliveries = {RECIPIENT: RawDelivery(RECIPIENT)}


def _alternating(fns, seconds, slice_seconds=0.25):
    """Calls per second of each of ``fns``, run in turn in short slices for ``seconds`` each.

    Alternating puts a figure and its baseline under the same background load, which on a
    shared machine moves more than either of them.
    """
    counts, spent = [0] * len(fns), [0.0] * len(fns)
    while min(spent) < seconds or min(counts) < 3:
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            deadline = start + slice_seconds
            while time.perf_counter() < deadline:
                fn(counts[k])
                counts[k] += 1
            spent[k] += time.perf_counter() - start
    return [c / t for c, t in zip(counts, spent)]


class RawGraph:
    """The baseline: commits of a Persistent document graph built without LienThong code."""

    def __init__(self, directory, meta, attachment_bytes):
        from BTrees.OOBTree import OOBTree

        from ..db import open_database

        self.meta, self.attachment_bytes = meta, attachment_bytes
        self.db = open_database(f"file://{directory}/Raw.fs?blobstorage_dir={directory}/raw-blobs")
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.documents = self.conn.root()["documents"] = OOBTree()
        self.tm.commit()

    def commit(self, i):
        from ZODB.blob import Blob

        document = RawDocument(self.meta)
        blob = document.attachment = Blob()
        with blob.open("w") as f:
            f.write(_pdf(self.attachment_bytes, i))
        self.documents[uuid.uuid4().hex] = document
        self.tm.commit()

    def close(self):
        self.tm.abort()
        self.conn.close()
        self.db.close()


#: how many sends the catalog catches up with at once in ``send_service`` (a busy hub's readers
#: look at least this often); ``send_service_read_each`` catches up after every send
CATCH_UP_EVERY = 10


def bench_send(session, directory, seconds):
    """Sends per second, catalog catch-up included, against raw graph commits, measured alternately.

    Returns ``(send_rate, raw_rate, send_read_each_rate)``: sends whose changes the catalog
    indexes every ``CATCH_UP_EVERY`` sends (each catch-up's transaction counted in the
    send's time), the raw baseline, and sends followed each by a catch-up (the worst case:
    somebody reads a mailbox after every single send).
    """
    from ..services import documents as ds, indexing

    actor = _actor()

    def one(i):
        def run(site):
            return ds.send(
                site,
                session.env,
                actor,
                site["directory"][SENDER],
                _send_data([RECIPIENT]),
                [("cong-van.pdf", io.BytesIO(_pdf(SMALL_PDF_BYTES, f"s{i}")), "Công văn")],
            )

        return session.tx(run)

    def send(i):
        one(i)
        if i % CATCH_UP_EVERY == CATCH_UP_EVERY - 1:
            session.tx(indexing.catch_up)

    def send_read_each(i):
        one(10**7 + i)
        session.tx(indexing.catch_up)

    meta = dict(one(-1).meta)  # first send: warm-up (imports, first register of the year)
    session.tx(indexing.catch_up)
    raw = RawGraph(directory, meta, SMALL_PDF_BYTES)
    try:
        raw.commit(-1)
        send_rate, raw_rate, each_rate = _alternating([send, raw.commit, send_read_each], seconds)
    finally:
        raw.close()
    session.tx(indexing.catch_up)
    return send_rate, raw_rate, each_rate


# -- 2. the send over HTTP ---------------------------------------------------------------------
def _api_body(i, unit):
    """A multipart/form-data send (``metadata`` JSON part, one ``file`` part): (body, content type)."""
    boundary = uuid.uuid4().hex
    metadata = json.dumps(dict(_send_data([RECIPIENT]), unit=unit)).encode()
    body = b"".join(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n'
            "Content-Type: application/json\r\n\r\n".encode(),
            metadata,
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="cong-van.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n".encode(),
            _pdf(SMALL_PDF_BYTES, f"h{unit}{i}"),
            f"\r\n--{boundary}--\r\n".encode(),
        )
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _post(conn, path, body, headers, content_type="application/json"):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    conn.request("POST", path, body=body, headers={"Content-Type": content_type, **headers})
    response = conn.getresponse()
    text = response.read()
    return response.status, text


def _post_api(conn, i, unit, token):
    body, content_type = _api_body(i, unit)
    return _post(conn, "/api/v1/documents", body, {"Authorization": f"Bearer {token}"}, content_type)


def bench_http_send(app, seconds, tokens):
    """Sends per second through ``POST /api/v1/documents`` on waitress, 4 clients each for its own unit.

    A send the application refuses after its retries (503 on conflicts) is counted, not fatal.
    """
    server, port = serve(app)
    counts = [0] * len(HTTP_SENDERS)
    failures = {}
    first_error = []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        status, text = _post_api(conn, -1, HTTP_SENDERS[0], tokens[HTTP_SENDERS[0]])  # warm-up
        conn.close()
        if not 200 <= status < 300:
            raise RuntimeError(f"POST /api/v1/documents answered {status}: {text[:300]!r}")
        deadline = time.perf_counter() + seconds

        def client(i):
            unit = HTTP_SENDERS[i]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            attempt = 0
            try:
                while time.perf_counter() < deadline or counts[i] == 0:
                    attempt += 1
                    status, text = _post_api(conn, attempt, unit, tokens[unit])
                    if 200 <= status < 300:
                        counts[i] += 1
                        continue
                    failures[status] = failures.get(status, 0) + 1
                    first_error.append((status, text[:300]))
                    if attempt > 20 and not counts[i]:
                        return
            finally:
                conn.close()

        elapsed = in_threads(client, len(HTTP_SENDERS))
    finally:
        time.sleep(0.1)  # let waitress finish the last responses before its socket closes
        server.close()
    if not sum(counts):
        raise RuntimeError(f"the HTTP send answered {first_error[0][0]}: {first_error[0][1]!r}")
    return (
        sum(counts) / elapsed,
        {
            "via": f"POST /api/v1/documents, multipart/form-data, a unit token, {len(HTTP_SENDERS)} clients",
            "sent": sum(counts),
            "failed": failures,
            "first_failure": first_error[0][1].decode(errors="replace") if first_error else None,
        },
    )


# -- 3. fan-out --------------------------------------------------------------------------------
def bench_fanout(session, units, repeat=3):
    """Wall time of issue + commit of one document to ``units`` recipients, ``repeat`` times."""
    from ..services import documents as ds

    codes = bench_units(units)
    actor = _actor()
    times = []
    deliveries = 0
    for i in range(repeat):
        name = session.tx(
            lambda site: (
                ds.compose(
                    site,
                    session.env,
                    actor,
                    site["directory"][SENDER],
                    _send_data(codes, "Thông báo gửi tất cả các đơn vị về lịch nghỉ Tết Nguyên đán", "TB"),
                    [("thong-bao.pdf", io.BytesIO(_pdf(SMALL_PDF_BYTES, f"f{i}")), "")],
                ).id
            )
        )
        start = time.perf_counter()
        issued = session.tx(lambda site: ds.issue(site, session.env, actor, site["documents"][name]))
        times.append((time.perf_counter() - start) * 1000)
        deliveries = len(issued.deliveries)
    return dict(percentiles(times), units=units, deliveries=deliveries, times_ms=[round(t, 1) for t in times])


# -- 4. inbox and search at scale --------------------------------------------------------------
def build_catalog(session, documents, real, log=None):
    """Index ``documents - real`` synthetic documents, then send ``real`` ones (the newest)."""
    from ..services import documents as ds
    from ..services.indexing import catalog_of
    from .catalog import TOPICS, synthetic, unit_code

    synthetic_n = max(0, documents - real)
    # the synthetic mail spans 700 days ending an hour ago, so the real documents are the newest
    start = datetime.now() - timedelta(days=700, hours=1)
    started = time.perf_counter()
    records = 0
    session.tm.begin()
    catalog = catalog_of(session.site)
    for records, (key, record) in enumerate(synthetic(synthetic_n, seed=1, start=start), 1):
        catalog.index(key, record)
        if records % BUILD_BATCH == 0:
            session.tm.commit()
            session.conn.cacheGC()
            if log:
                log(f"catalog: {records:,} records in {time.perf_counter() - started:.0f} s")
    session.tm.commit()
    synthetic_seconds = time.perf_counter() - started
    actor = _actor()
    started = time.perf_counter()
    for i in range(real):
        topic = TOPICS[i % len(TOPICS)]
        doc_type, title = (("QD", "Quyết định"), ("KH", "Kế hoạch"), ("CV", "Công văn"))[i % 3]
        subject = f"{title} về {topic} năm 2026"
        session.tx(
            lambda site: ds.send(
                site,
                session.env,
                actor,
                site["directory"][unit_code(1)],
                _send_data([unit_code(0)], subject, doc_type),
                [("van-ban.pdf", io.BytesIO(_pdf(SMALL_PDF_BYTES, f"r{i}")), "")],
            )
        )
    from ..services import indexing

    session.tx(indexing.catch_up)  # the mailbox figures measure reading, not the last catch-up
    real_seconds = time.perf_counter() - started
    return {
        "documents": synthetic_n + real,
        "synthetic_documents": synthetic_n,
        "real_documents": real,
        "synthetic_records": records,
        "real_records": real * 2,
        "synthetic_seconds": round(synthetic_seconds, 1),
        "synthetic_records_per_second": round(records / synthetic_seconds) if synthetic_seconds else None,
        "real_seconds": round(real_seconds, 1),
        "real_sends_per_second": real / real_seconds if real_seconds else None,
    }


def bench_mailbox(app, repeat):
    """Inbox first page and search p50/p95 through ``services.mailboxes`` on a fresh connection."""
    from ..services import mailboxes
    from ..services.indexing import catalog_of
    from .catalog import queries, unit_code

    session = _Session(app)
    session.conn.cacheMinimize()  # a pooled connection keeps its cache: start cold
    try:
        session.tm.begin()
        site, env = session.site, session.env
        big, mid = unit_code(0), unit_code(5)
        inbox = [mailboxes.box_key(mailboxes.INBOX, big)]
        unit_boxes = [
            mailboxes.box_key(kind, big) for kind in (mailboxes.INBOX, mailboxes.OUTBOX, mailboxes.DRAFTS)
        ]
        figures = {}
        for name, fn in (
            ("inbox_first_page", lambda: mailboxes.listing(site, env, inbox)),
            (
                "inbox_first_page_mid_unit",
                lambda: mailboxes.listing(site, env, [mailboxes.box_key(mailboxes.INBOX, mid)]),
            ),
            ("inbox_page_10", lambda: mailboxes.listing(site, env, inbox, page=10)),
            ("inbox_unread", lambda: mailboxes.listing(site, env, inbox, unread=True)),
            ("inbox_overdue", lambda: mailboxes.listing(site, env, inbox, overdue=True)),
            *(
                (
                    f"search_{text.replace(' ', '_')}",
                    lambda text=text: mailboxes.search(site, env, unit_boxes, text),
                )
                for text in SEARCHES
            ),
        ):
            timing, (total, rows) = latencies(fn, repeat)
            figures[name] = dict(
                timing, total=total, rows=len(rows), resolved=sum(1 for r in rows if r is not None)
            )
        first_page = mailboxes.listing(site, env, inbox)[1]
        figures["inbox_first_page"]["real_rows"] = len(first_page)
        catalog_figures = {}
        for name, fn in queries(catalog_of(site), env.today().isoformat()).items():
            timing, (total, _keys) = latencies(fn, repeat)
            catalog_figures[name] = dict(timing, total=total)
        return figures, catalog_figures
    finally:
        session.close()


# -- 5. edXML import ---------------------------------------------------------------------------
def _package(size, n, wrap="zip"):
    from .. import edxml

    now = datetime.now().astimezone()
    meta = {
        "document_id": uuid.uuid4().hex,
        "from": {"organ_id": SENDER, "organ_name": "Sở Nội vụ"},
        "to": [{"organ_id": RECIPIENT, "organ_name": "UBND TP Vũng Tàu"}],
        "code_number": str(9000 + n),
        "code_notation": "QĐ-SNV",
        "promulgation_place": "Bà Rịa – Vũng Tàu",
        "promulgation_date": now.date().isoformat(),
        "doc_type": "QD",
        "doc_type_name": "Quyết định",
        "subject": "Quyết định phê duyệt hồ sơ thiết kế kèm bản quét",
        "content": "Bản quét kèm theo",
        "signer_competence": "GIÁM ĐỐC",
        "signer_position": "Giám đốc",
        "signer_name": "Nguyễn Văn An",
        "trace": [{"organ_id": SENDER, "timestamp": now.isoformat(timespec="seconds")}],
    }
    info = {"name": "ho-so-quet.pdf", "content_type": "application/pdf", "description": "Bản quét"}
    return edxml.build_document(meta, [(info, io.BytesIO(_big_pdf(size)))], wrap=wrap)


def bench_edxml(session, size, repeat=3, wrap="zip"):
    """The one door (``inbound.receive``: parse, unwrap, deduplicate, compose, issue) + commit
    of a package in the field's shape with one ``size``-byte attachment, ``wrap``ped as given."""
    import gc

    from ..services import inbound

    def run(package):
        def work(site):
            inbound.receive(site, session.env, SENDER, io.BytesIO(package), "bench")

        session.tm.begin()
        start = time.perf_counter()
        work(session.site)
        imported = time.perf_counter()
        session.tm.commit()
        return imported - start, time.perf_counter() - imported

    run(_package(64 * 1024, 0, wrap))  # warm-up: imports, schema, first register
    times, imports, commits = [], [], []
    package_size = 0
    for i in range(repeat):
        package = _package(size, i + 1, wrap)
        package_size = len(package)
        gc.collect()
        parse, commit = run(package)
        imports.append(parse * 1000)
        commits.append(commit * 1000)
        times.append((parse + commit) * 1000)
        del package
    package = _package(size, repeat + 1, wrap)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        run(package)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return dict(
        percentiles(times),
        attachment_bytes=size,
        package_bytes=package_size,
        import_ms=[round(t, 1) for t in imports],
        commit_ms=[round(t, 1) for t in commits],
        peak_bytes=peak,
        peak_over_package=round(peak / package_size, 2),
        peak_over_attachment=round(peak / size, 2),
    )


# -- the run -----------------------------------------------------------------------------------
def run(
    directory,
    seconds,
    documents=DEFAULT_DOCUMENTS,
    fanout=FANOUT,
    edxml_mb=EDXML_MB,
    real=REAL_DOCUMENTS,
    repeat=50,
    log=None,
):
    """All document figures; ``directory`` holds the databases. Returns a dict for the report."""
    from ..db import close_databases

    log = log or (lambda message: None)
    real = min(real, documents)
    timings = {}

    def step(name):
        timings[name] = time.perf_counter()
        log(name)

    started = time.perf_counter()
    app = make_app(directory)
    session = _Session(app)
    try:
        step("setup")
        tokens = setup_site(session, max(fanout, 30))
        step("send")
        send_rate, raw_rate, each_rate = bench_send(session, directory, seconds)
        step("http")
        http_rate, http_detail = bench_http_send(app, seconds, tokens)
        step("fanout")
        fan = bench_fanout(session, fanout)
        step("edxml")
        edx = bench_edxml(session, int(edxml_mb * 1024 * 1024))
        edx_raw = bench_edxml(session, int(edxml_mb * 1024 * 1024), wrap="raw")
        step("catalog")
        built = build_catalog(session, documents, real, log)
        step("send at scale")
        send_full, raw_full, each_full = bench_send(session, directory, seconds)
        session.close()
        step("mailbox")
        mailbox, catalog_queries = bench_mailbox(app, repeat)
        step("end")
    finally:
        session.close()
        close_databases(app.registry)
    built["database_bytes"] = disk_bytes(os.path.join(directory, "Documents.fs"))
    built["blob_bytes"] = disk_bytes(os.path.join(directory, "documents-blobs"))
    names = list(timings)
    phase_seconds = {a: round(timings[b] - timings[a], 1) for a, b in zip(names, names[1:])}
    search_p95 = max(mailbox[f"search_{t.replace(' ', '_')}"]["p95_ms"] for t in SEARCHES)
    values = {
        "send_service / zodb_send_graph": send_rate / raw_rate,
        "fanout_ms": fan["p50_ms"],
        "inbox_first_page_p95_ms": mailbox["inbox_first_page"]["p95_ms"],
        "search_p95_ms": search_p95,
        "edxml_ms": edx["p50_ms"],
        "edxml_peak / package_size": edx["peak_over_package"],
    }
    targets = {}
    for name, (op, limit) in TARGETS.items():
        value = values[name]
        targets[name] = {
            "value": round(value, 3),
            "target": f"{op} {round(limit, 3)}",
            "met": value >= limit if op == "≥" else value < limit,
        }
    return {
        "per_second": {
            "send_service": send_rate,
            "zodb_send_graph": raw_rate,
            "http_send": http_rate,
            "send_service_read_each": each_rate,
            "send_service_at_scale": send_full,
            "zodb_send_graph_at_scale": raw_full,
            "send_service_read_each_at_scale": each_full,
        },
        "ratios": {
            "send_service / zodb_send_graph": send_rate / raw_rate,
            "send_service_read_each / zodb_send_graph": each_rate / raw_rate,
            "send_service_at_scale / zodb_send_graph_at_scale": send_full / raw_full,
            "send_service_read_each_at_scale / zodb_send_graph_at_scale": each_full / raw_full,
        },
        "http_send": http_detail,
        "fanout": fan,
        "edxml": edx,
        "edxml_raw": edx_raw,
        "catalog_build": built,
        "mailbox": mailbox,
        "catalog_queries": catalog_queries,
        "targets": targets,
        "sizes": {
            "documents": documents,
            "real_documents": real,
            "fanout": fanout,
            "edxml_mb": edxml_mb,
            "small_pdf_bytes": SMALL_PDF_BYTES,
            "repeat": repeat,
        },
        "phase_seconds": phase_seconds,
        "seconds": round(time.perf_counter() - started, 1),
    }
