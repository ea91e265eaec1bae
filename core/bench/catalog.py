"""Catalog figures at scale: build ``n`` synthetic documents in a FileStorage and time queries.

``measure(n)`` is what ``lienthong bench`` reports for "inbox first page" and "search";
``python -m lienthong.core.bench.catalog 100000`` prints the same figures. The records are
what the document-exchange service indexes: one per document (sender's outbox) and one per
delivery (recipient's inbox), over 30 units of which a few receive most of the mail.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta

import transaction
from ZODB import DB
from ZODB.FileStorage import FileStorage

from ..catalog import ALL_BOXES, ensure_catalog
from ..resources.containers import Catalog as CatalogFolder

UNITS = 30
TYPES = [
    ("QD", "QĐ", "Quyết định"),
    ("CV", "", "Công văn"),
    ("KH", "KH", "Kế hoạch"),
    ("BC", "BC", "Báo cáo"),
    ("TB", "TB", "Thông báo"),
    ("TTr", "TTr", "Tờ trình"),
    ("GM", "GM", "Giấy mời"),
    ("CT", "CT", "Chỉ thị"),
]
TOPICS = [
    "ban hành quy chế làm việc",
    "phòng, chống thiên tai và tìm kiếm cứu nạn",
    "xây dựng nông thôn mới",
    "chuyển đổi số trong cơ quan nhà nước",
    "cải cách hành chính",
    "triển khai Nghị quyết của Hội đồng nhân dân",
    "phê duyệt dự toán ngân sách",
    "tổ chức Đại hội thể dục thể thao",
    "đôn đốc thực hiện nhiệm vụ được giao",
    "kiện toàn Ban chỉ đạo",
    "giải quyết đơn thư khiếu nại, tố cáo",
    "quản lý đất đai và tài nguyên",
    "đảm bảo an toàn giao thông dịp Tết Nguyên đán",
    "phát triển kinh tế - xã hội",
    "tuyển dụng công chức, viên chức",
    "phòng cháy, chữa cháy",
    "bảo vệ môi trường",
    "kiểm tra công tác tài chính",
    "đầu tư công trung hạn",
    "y tế dự phòng",
]
PREFIXES = ["V/v", "Về việc", "Về", "Kế hoạch", "Triển khai", "Hướng dẫn", "Tăng cường"]
UNIT_NAMES = [
    "UBND tỉnh",
    "Văn phòng UBND tỉnh",
    "Sở Nội vụ",
    "Sở Tài chính",
    "Sở Kế hoạch và Đầu tư",
    "Sở Thông tin và Truyền thông",
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
    "Sở Tài nguyên và Môi trường",
    "Sở Xây dựng",
] + [
    f"UBND huyện {n}"
    for n in (
        "Đông Sơn",
        "Hà Trung",
        "Nga Sơn",
        "Quảng Xương",
        "Thọ Xuân",
        "Yên Định",
        "Thiệu Hóa",
        "Hoằng Hóa",
        "Hậu Lộc",
        "Tĩnh Gia",
        "Như Thanh",
        "Nông Cống",
        "Triệu Sơn",
        "Vĩnh Lộc",
        "Cẩm Thủy",
        "Bá Thước",
        "Lang Chánh",
        "Ngọc Lặc",
        "Thạch Thành",
        "Mường Lát",
    )
]
STATES = ["01", "03", "04", "05", "06", "02"]


def unit_code(i):
    return f"000.00.{i + 1:02d}.H38"


def synthetic(n, seed=1, start=datetime(2025, 1, 1, 7, 30)):
    """Yield ``(key, record)`` for ``n`` documents and their deliveries, oldest first."""
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) for i in range(UNITS)]  # Zipf: unit 0 gets the most mail
    numbers = {}
    step = timedelta(days=700) / max(n, 1)
    today = start + step * n
    for i in range(n):
        sent = start + step * i + timedelta(seconds=rng.randint(0, 59))
        sender = rng.choices(range(UNITS), weights)[0]
        code, abbr, type_name = rng.choice(TYPES)
        numbers[sender] = numbers.get(sender, 0) + 1
        short = "UBND" if sender == 0 or sender >= 10 else "S" + str(sender)
        notation = f"{numbers[sender]}/{abbr + '-' if abbr else ''}{short}"
        subject = f"{type_name} {rng.choice(PREFIXES)} {rng.choice(TOPICS)} năm {sent.year}"
        text = f"{subject} {notation} {rng.choice(TOPICS)} {UNIT_NAMES[sender]}"
        docid = f"{i:08x}"
        due = (sent + timedelta(days=rng.randint(3, 30))).date().isoformat() if rng.random() < 0.4 else None
        count = 1 if rng.random() < 0.6 else rng.randint(2, 3) if rng.random() < 0.75 else rng.randint(5, 12)
        recipients = set()
        while len(recipients) < count:
            r = rng.choices(range(UNITS), weights)[0]
            if r != sender:
                recipients.add(r)
        yield (
            f"doc/{docid}",
            {
                "box": [f"out:{unit_code(sender)}"],
                "state": "issued",
                "sender": unit_code(sender),
                "doc_type": code,
                "document": docid,
                "date": sent.isoformat() + "+07:00",
                "due": due,
                "text": text,
            },
        )
        age = (today - sent).days
        for r in sorted(recipients):
            state = "01" if age < 3 and rng.random() < 0.7 else rng.choice(STATES)
            yield (
                f"dlv/{docid}/{unit_code(r)}",
                {
                    "box": [f"in:{unit_code(r)}"],
                    "state": state,
                    "sender": unit_code(sender),
                    "recipient": unit_code(r),
                    "doc_type": code,
                    "document": docid,
                    "date": sent.isoformat() + "+07:00",
                    "due": due,
                    "open": state not in ("06", "02"),
                    "read": state != "01" or rng.random() < 0.3,
                    "text": text,
                },
            )


def build(path, n, seed=1, batch=1000, cache_size=20000):
    """A FileStorage at ``path`` holding a site catalog folder with ``n`` documents indexed."""
    db = DB(FileStorage(path), cache_size=cache_size)
    conn = db.open()
    root = conn.root()
    folder = root["catalog"] = CatalogFolder()
    catalog = ensure_catalog(folder)
    transaction.commit()
    started = time.perf_counter()
    records = 0
    for records, (key, record) in enumerate(synthetic(n, seed), 1):
        catalog.index(key, record)
        if records % batch == 0:
            transaction.commit()
            conn.cacheGC()
    transaction.commit()
    seconds = time.perf_counter() - started
    conn.close()
    db.close()
    return records, seconds


def _timed(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "cold_ms": None,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
    }


def queries(catalog, today):
    """name -> callable: the queries the mailbox pages and search run."""
    big, mid = unit_code(0), unit_code(5)
    return {
        "inbox_first_page_big_unit": lambda: catalog.query(f"in:{big}"),
        "inbox_first_page_mid_unit": lambda: catalog.query(f"in:{mid}"),
        "inbox_page_10_big_unit": lambda: catalog.query(f"in:{big}", offset=180),
        "outbox_first_page_big_unit": lambda: catalog.query(f"out:{big}"),
        "inbox_state_01": lambda: catalog.query(f"in:{big}", state="01"),
        "inbox_overdue": lambda: catalog.query(f"in:{big}", overdue_on=today),
        "inbox_unread": lambda: catalog.query(f"in:{big}", unread=True),
        "inbox_last_30_days_type_QD": lambda: catalog.query(
            f"in:{big}", doc_type="QD", date_from=(date.fromisoformat(today) - timedelta(days=30)).isoformat()
        ),
        "search_quyet_dinh_unit": lambda: catalog.query([f"in:{big}", f"out:{big}"], text="quyet dinh"),
        "search_ke_hoach_2026_unit": lambda: catalog.query([f"in:{big}", f"out:{big}"], text="ke hoach 2026"),
        "search_quyet_dinh_all": lambda: catalog.query(ALL_BOXES, text="quyet dinh"),
        "search_ke_hoach_2026_all": lambda: catalog.query(ALL_BOXES, text="ke hoach 2026"),
        "search_prefix_chuyen_doi_s_all": lambda: catalog.query(ALL_BOXES, text="chuyen doi s"),
        "search_relevance_ke_hoach_2026_unit": lambda: catalog.query(
            [f"in:{big}", f"out:{big}"], text="ke hoach 2026", sort="relevance"
        ),
    }


def _time_sends(db, count, seed):
    """Index-and-commit one new document with its deliveries per transaction, as a send does."""
    conn = db.open()
    catalog = ensure_catalog(conn.root()["catalog"])
    groups = {}
    for key, record in synthetic(count, seed=seed, start=datetime(2027, 1, 1, 7, 30)):
        groups.setdefault(record["document"], []).append((key.replace("/", "/new-", 1), record))
    path = db.storage.getName()
    times, sizes = [], []
    for records in groups.values():
        before = os.path.getsize(path)
        start = time.perf_counter()
        for key, record in records:
            catalog.index(key, record)
        transaction.commit()
        times.append((time.perf_counter() - start) * 1000)
        sizes.append(os.path.getsize(path) - before)
    conn.close()
    times.sort()
    return {
        "sends": len(times),
        "records": sum(len(r) for r in groups.values()),
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(len(times) * 0.95)], 2),
        "mean_kb_written": round(statistics.mean(sizes) / 1024, 1),
    }


def measure(
    n=100_000, directory=None, seed=1, repeat=50, batch=1000, cache_size=20000, keep=False, pack=True
):
    """Build ``n`` documents (with their deliveries) and time the mailbox queries.

    Returns a dict: n, records, build seconds, database size (before and after a pack), per
    query the first (cold cache) time and p50/p95 of ``repeat`` warm runs in milliseconds,
    and the cost of indexing one send (a document and its deliveries) in its own commit.
    """
    own = directory is None
    directory = directory or tempfile.mkdtemp(prefix="lienthong-catalog-")
    path = os.path.join(directory, "Catalog.fs")
    try:
        records, build_seconds = build(path, n, seed, batch, cache_size)
        db = DB(FileStorage(path), cache_size=cache_size)
        size_built = os.path.getsize(path)
        if pack:
            db.pack()
        conn = db.open()
        catalog = ensure_catalog(conn.root()["catalog"])
        today = (datetime(2025, 1, 1) + timedelta(days=700)).date().isoformat()
        figures = {}
        for name, fn in queries(catalog, today).items():
            start = time.perf_counter()
            total, keys = fn()
            cold = round((time.perf_counter() - start) * 1000, 2)
            figures[name] = dict(_timed(fn, repeat), cold_ms=cold, total=total)
        conn.close()
        sends = _time_sends(db, repeat, seed + 1)
        db.close()
        return {
            "n": n,
            "records": records,
            "build_seconds": round(build_seconds, 1),
            "records_per_second": round(records / build_seconds),
            "db_mb_built": round(size_built / 2**20, 1),
            "db_mb_packed": round(os.path.getsize(path) / 2**20, 1) if pack else None,
            "repeat": repeat,
            "cache_size": cache_size,
            "queries": figures,
            "index_one_send": sends,
        }
    finally:
        if own and not keep:
            shutil.rmtree(directory, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--dir", default=None, help="keep the database in this directory")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.n, args.dir, repeat=args.repeat), indent=2))


if __name__ == "__main__":
    main()
