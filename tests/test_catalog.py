"""The mailbox catalog: filters, sorting, paging, accent-free search, persistence, concurrency."""

import random

import pytest
import transaction
from ZODB import DB
from ZODB.FileStorage import FileStorage
from ZODB.POSException import ConflictError

from lienthong.core.catalog import ALL_BOXES, Catalog, ensure_catalog, words_of
from lienthong.core.resources.containers import Catalog as CatalogFolder

IN_A, IN_B, OUT_A = "in:000.00.01.H38", "in:000.00.02.H38", "out:000.00.01.H38"


def rec(box, text="", date="2026-11-20T09:00:00+07:00", **fields):
    return dict(fields, box=[box] if isinstance(box, str) else box, text=text, date=date)


@pytest.fixture
def catalog():
    return Catalog()


@pytest.fixture
def db(tmp_path):
    database = DB(FileStorage(str(tmp_path / "Data.fs")))
    yield database
    database.close()


def keys(result):
    return result[1]


# -- text --------------------------------------------------------------------------------


@pytest.fixture
def texts(catalog):
    catalog.index(
        "d1",
        rec(
            IN_A, "Quyết định số 15/QĐ-UBND về việc ban hành kế hoạch 2026", date="2026-11-01T08:00:00+07:00"
        ),
    )
    catalog.index(
        "d2", rec(IN_A, "Công văn đôn đốc thực hiện Đề án chuyển đổi số", date="2026-11-02T08:00:00+07:00")
    )
    catalog.index(
        "d3", rec(IN_A, "Kế hoạch phòng chống thiên tai năm 2025", date="2026-11-03T08:00:00+07:00")
    )
    catalog.index("d4", rec(IN_A, "Báo cáo định kỳ quý IV", date="2026-11-04T08:00:00+07:00"))
    return catalog


@pytest.mark.parametrize(
    "query, expected",
    [
        ("quyet dinh", ["d1"]),
        ("QUYẾT ĐỊNH", ["d1"]),
        ("Quyết Định", ["d1"]),
        ("qd-ubnd", ["d1"]),
        ("qd ubnd", ["d1"]),
        ("QĐ-UBND", ["d1"]),
        ("15/qd-ubnd", ["d1"]),
        ("qd", ["d1"]),
        ("ubnd", ["d1"]),
        ("don doc", ["d2"]),  # đ folds to d
        ("đôn đốc", ["d2"]),
        ("de an", ["d2"]),  # Đ folds to d
        ("ke hoach", ["d3", "d1"]),  # newest first
        ("ke hoach 2026", ["d1"]),  # every word must occur
        ("ke hoach 2024", []),
        ("thien tai 2026", []),
        ("quyet đin", ["d1"]),  # the last word is a prefix while typing
        ("dinh", ["d4", "d1"]),
    ],
)
def test_search_ignores_accents_and_case(texts, query, expected):
    assert keys(texts.query(IN_A, text=query)) == expected


def test_prefix_only_for_the_last_word(texts):
    assert keys(texts.query(IN_A, text="quye dinh")) == []  # only the last word is a prefix
    assert keys(texts.query(IN_A, text="ke hoa")) == ["d3", "d1"]
    assert keys(texts.query(IN_A, text="ke hoa ")) == []  # a space ends the word


@pytest.mark.parametrize(
    "junk",
    [
        '"',
        "(",
        ")",
        "*",
        "?",
        "AND OR NOT",
        "and",
        "-",
        "quyet AND",
        "NOT quyet",
        '"quyet dinh',
        "quyet*",
        "*dinh",
        "x" * 10000,
        "quyết " * 500,
        "\x00\ufffd",
        "😀",
        "' OR 1=1 --",
        "%",
        "\\",
        "[a-z]+",
    ],
)
def test_junk_text_never_raises(texts, junk):
    total, found = texts.query(IN_A, text=junk)
    assert total == len(found) or total > len(found)


def test_junk_is_words_not_syntax(texts):
    # operators are ordinary words: nothing contains "and", "or" and "not"
    assert texts.query(IN_A, text="AND OR NOT") == (0, [])
    # punctuation alone has no words: the text filter is ignored
    assert texts.query(IN_A, text='"(*')[0] == 4
    assert texts.query(IN_A, text="   ")[0] == 4
    assert keys(texts.query(IN_A, text="quyet*")) == ["d1"]


def test_words_of_folds_and_splits():
    assert words_of("Số: 15/QĐ-UBND Đề án") == ["so", "15", "qd", "ubnd", "de", "an"]


def test_relevance_sort_returns_the_same_hits(texts):
    by_date = texts.query(IN_A, text="ke hoach")
    by_score = texts.query(IN_A, text="ke hoach", sort="relevance")
    assert by_score[0] == by_date[0] == 2
    assert sorted(by_score[1]) == sorted(by_date[1])


# -- boxes, filters, sorting, paging --------------------------------------------------------


def test_box_isolation(catalog):
    catalog.index("a", rec(IN_A, "Quyết định chung"))
    catalog.index("b", rec(IN_B, "Quyết định chung"))
    catalog.index("o", rec(OUT_A, "Quyết định chung"))
    assert keys(catalog.query(IN_A)) == ["a"]
    assert keys(catalog.query(IN_B, text="quyet dinh")) == ["b"]
    assert keys(catalog.query(IN_A, text="quyet dinh")) == ["a"]
    assert sorted(keys(catalog.query([IN_A, OUT_A]))) == ["a", "o"]
    assert catalog.query("in:nobody") == (0, [])
    assert catalog.query([]) == (0, [])
    assert catalog.query(ALL_BOXES)[0] == 3


@pytest.fixture
def mailbox(catalog):
    catalog.index(
        "r1",
        rec(
            IN_A,
            "Một",
            date="2026-11-01T08:00:00+07:00",
            state="01",
            sender="S1",
            doc_type="QD",
            due="2026-11-10",
            open=True,
            read=False,
        ),
    )
    catalog.index(
        "r2",
        rec(
            IN_A,
            "Hai",
            date="2026-11-05T08:00:00+07:00",
            state="03",
            sender="S2",
            doc_type="CV",
            due="2026-11-30",
            open=True,
            read=True,
        ),
    )
    catalog.index(
        "r3",
        rec(
            IN_A,
            "Ba",
            date="2026-11-09T08:00:00+07:00",
            state="06",
            sender="S1",
            doc_type="CV",
            due="2026-11-05",
            open=False,
            read=True,
        ),
    )
    catalog.index(
        "r4",
        rec(
            IN_A,
            "Bốn",
            date="2026-11-12T23:30:00+07:00",
            state="01",
            sender="S3",
            doc_type="KH",
            due=None,
            open=True,
            read=False,
        ),
    )
    return catalog


def test_default_sort_is_newest_first(mailbox):
    assert mailbox.query(IN_A) == (4, ["r4", "r3", "r2", "r1"])
    assert keys(mailbox.query(IN_A, reverse=False)) == ["r1", "r2", "r3", "r4"]


def test_paging_keeps_the_total(mailbox):
    assert mailbox.query(IN_A, limit=2) == (4, ["r4", "r3"])
    assert mailbox.query(IN_A, offset=2, limit=2) == (4, ["r2", "r1"])
    assert mailbox.query(IN_A, offset=3, limit=2) == (4, ["r1"])
    assert mailbox.query(IN_A, offset=9) == (4, [])


def test_sort_by_due_puts_records_without_due_last(mailbox):
    assert keys(mailbox.query(IN_A, sort="due", reverse=False)) == ["r3", "r1", "r2", "r4"]
    assert keys(mailbox.query(IN_A, sort="due", reverse=True)) == ["r2", "r1", "r3", "r4"]


def test_unknown_sort_is_refused(mailbox):
    with pytest.raises(ValueError):
        mailbox.query(IN_A, sort="subject")
    with pytest.raises(ValueError):
        mailbox.query(IN_A, limit=0)


def test_filters(mailbox):
    assert keys(mailbox.query(IN_A, state="01")) == ["r4", "r1"]
    assert keys(mailbox.query(IN_A, state=["03", "06"])) == ["r3", "r2"]
    assert keys(mailbox.query(IN_A, sender="S1")) == ["r3", "r1"]
    assert keys(mailbox.query(IN_A, doc_type="CV")) == ["r3", "r2"]
    assert keys(mailbox.query(IN_A, unread=True)) == ["r4", "r1"]
    assert keys(mailbox.query(IN_A, unread=False)) == ["r3", "r2"]
    assert keys(mailbox.query(IN_A, state="01", sender="S3")) == ["r4"]


def test_overdue_is_open_and_due_before_the_day(mailbox):
    assert keys(mailbox.query(IN_A, overdue_on="2026-11-11")) == ["r1"]  # r3 is closed
    assert keys(mailbox.query(IN_A, overdue_on="2026-11-10")) == []  # due that day: not yet
    assert keys(mailbox.query(IN_A, overdue_on="2026-12-01")) == ["r2", "r1"]


def test_date_range_is_inclusive(mailbox):
    assert keys(mailbox.query(IN_A, date_from="2026-11-05")) == ["r4", "r3", "r2"]
    assert keys(mailbox.query(IN_A, date_to="2026-11-05")) == ["r2", "r1"]
    assert keys(mailbox.query(IN_A, date_from="2026-11-05", date_to="2026-11-09")) == ["r3", "r2"]
    # a bare end day includes its late evening
    assert keys(mailbox.query(IN_A, date_from="2026-11-12", date_to="2026-11-12")) == ["r4"]
    # instants with other offsets compare as instants: 16:30 UTC is 23:30 in Vietnam
    assert keys(mailbox.query(IN_A, date_from="2026-11-12T16:30:00+00:00")) == ["r4"]
    assert keys(mailbox.query(IN_A, date_from="2026-11-12T16:30:01Z")) == []


def test_reindex_replaces_old_values(mailbox):
    mailbox.index(
        "r1",
        rec(
            IN_A,
            "Quyết định mới",
            date="2026-11-01T08:00:00+07:00",
            state="03",
            sender="S1",
            doc_type="QD",
            due="2026-11-10",
            open=True,
            read=True,
        ),
    )
    assert keys(mailbox.query(IN_A, state="01")) == ["r4"]
    assert keys(mailbox.query(IN_A, state="03")) == ["r2", "r1"]
    assert keys(mailbox.query(IN_A, unread=True)) == ["r4"]
    assert keys(mailbox.query(IN_A, text="quyet dinh")) == ["r1"]
    assert keys(mailbox.query(IN_A, text="mot")) == []
    # moving to another box leaves the first one
    mailbox.index("r1", rec(IN_B, "Quyết định mới"))
    assert "r1" not in keys(mailbox.query(IN_A))
    assert keys(mailbox.query(IN_B)) == ["r1"]
    # a field that disappears stops matching
    mailbox.index("r2", rec(IN_A, "Hai"))
    assert keys(mailbox.query(IN_A, state="03")) == []
    assert len(mailbox) == 4


def test_unindex(mailbox):
    assert mailbox.unindex("r2") is True
    assert mailbox.unindex("r2") is False
    assert keys(mailbox.query(IN_A)) == ["r4", "r3", "r1"]
    assert keys(mailbox.query(IN_A, text="hai")) == []
    assert "r2" not in mailbox and len(mailbox) == 3


def test_records_need_a_key_and_a_box(catalog):
    with pytest.raises(ValueError):
        catalog.index("k", {"text": "no box"})
    with pytest.raises(ValueError):
        catalog.index("", rec(IN_A))


def test_a_big_box_pages_through_every_record(catalog):
    """Enough records for the forward-scan sort; pages meet without gaps or repeats."""
    from datetime import datetime, timedelta

    base = datetime(2026, 1, 1, 8, 0)
    order = list(range(3000))
    random.Random(5).shuffle(order)
    for i in order:
        box = IN_A if i % 3 else IN_B
        catalog.index(
            f"k{i}",
            rec(
                box,
                f"Văn bản {i}",
                state="01" if i % 2 else "03",
                date=(base + timedelta(minutes=i)).isoformat(),
            ),
        )
    newest_first = [f"k{i}" for i in reversed(range(3000)) if i % 3]
    total, first = catalog.query(IN_A, limit=20)
    assert (total, first) == (2000, newest_first[:20])
    seen = []
    for offset in range(0, total, 300):
        seen += keys(catalog.query(IN_A, offset=offset, limit=300))
    assert seen == newest_first
    assert keys(catalog.query(IN_A, reverse=False, limit=5)) == newest_first[::-1][:5]
    assert keys(catalog.query(IN_A, state="01", limit=3)) == [k for k in newest_first if int(k[1:]) % 2][:3]


# -- persistence and concurrency ----------------------------------------------------------------


def test_survives_commit_and_reopen(tmp_path):
    path = str(tmp_path / "Data.fs")
    db = DB(FileStorage(path))
    conn = db.open()
    folder = conn.root()["catalog"] = CatalogFolder()
    catalog = ensure_catalog(folder)
    assert ensure_catalog(folder) is catalog
    catalog.index("dlv/1/A", rec(IN_A, "Quyết định số 15/QĐ-UBND", state="01", read=False))
    catalog.index("doc/1", rec(OUT_A, "Quyết định số 15/QĐ-UBND", state="issued"))
    transaction.commit()
    conn.close()
    db.close()

    db = DB(FileStorage(path))
    conn = db.open()
    catalog = ensure_catalog(conn.root()["catalog"])
    assert len(catalog) == 2
    assert keys(catalog.query(IN_A, text="quyet dinh", state="01", unread=True)) == ["dlv/1/A"]
    assert keys(catalog.query(OUT_A, text="15/qd-ubnd")) == ["doc/1"]
    catalog.index("dlv/2/A", rec(IN_A, "Kế hoạch", date="2026-12-01T08:00:00+07:00"))
    transaction.commit()
    assert keys(catalog.query(IN_A)) == ["dlv/2/A", "dlv/1/A"]
    conn.close()
    db.close()


def _two_writers(db):
    tm1, tm2 = transaction.TransactionManager(), transaction.TransactionManager()
    return (tm1, db.open(transaction_manager=tm1)), (tm2, db.open(transaction_manager=tm2))


def test_concurrent_writers_sharing_rare_words_both_commit(db):
    """hypatia's stock text index keeps rare words in dicts that conflict on Python 3."""
    tm, conn = transaction.TransactionManager(), None
    conn = db.open(transaction_manager=tm)
    catalog = conn.root()["catalog"] = Catalog()
    # the boxes and the state exist already (two first-ever values of one field do conflict)
    catalog.index("seed", rec([IN_A, IN_B], "Công văn Tờ trình về xyzzy hiếm gặp", state="01"))
    tm.commit()
    (tm1, c1), (tm2, c2) = _two_writers(db)
    c1.root()["catalog"].index(
        "one", rec(IN_A, "Công văn xyzzy hiếm gặp", date="2026-11-21T09:00:00+07:00", state="01")
    )
    c2.root()["catalog"].index(
        "two", rec(IN_B, "Tờ trình xyzzy hiếm gặp", date="2026-11-22T09:00:00+07:00", state="01")
    )
    tm1.commit()
    tm2.commit()  # resolved by BTrees' conflict resolution, no retry
    tm.begin()
    catalog = conn.root()["catalog"]
    assert len(catalog) == 3
    assert keys(catalog.query(ALL_BOXES, text="xyzzy hiem")) == ["two", "one", "seed"]
    assert keys(catalog.query(IN_B, state="01")) == ["two", "seed"]
    for c in (conn, c1, c2):
        c.close()


def test_concurrent_sends_commit_with_retries(db):
    """Pairs of transactions index whole documents at once; BTrees merge most of them.

    A bucket split in both at once is a real conflict: the request is retried (pyramid_retry),
    as here. Every record must be there afterwards, exactly once.
    """
    random.seed(11)
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    catalog = conn.root()["catalog"] = Catalog()
    for i in range(300):
        catalog.index(
            f"doc/{i}",
            rec(
                OUT_A,
                f"Quyết định {i} về kế hoạch năm 2026",
                date=f"2026-10-{1 + i % 28:02d}T08:{i % 60:02d}:00+07:00",
            ),
        )
    tm.commit()

    def send(tm_, conn_, n):
        cat = conn_.root()["catalog"]
        date = f"2026-11-{1 + n % 28:02d}T10:{n % 60:02d}:{n % 59:02d}+07:00"
        cat.index(
            f"doc/s{n}",
            rec(
                OUT_A,
                f"Công văn số {n}/UBND-VP về chuyển đổi số",
                date=date,
                state="issued",
                document=f"s{n}",
            ),
        )
        for box in (IN_A, IN_B):
            cat.index(
                f"dlv/s{n}/{box}",
                rec(
                    box,
                    f"Công văn số {n}/UBND-VP về chuyển đổi số",
                    date=date,
                    state="01",
                    document=f"s{n}",
                    open=True,
                    read=False,
                ),
            )

    first_try = 0
    for pair in range(10):
        (tm1, c1), (tm2, c2) = _two_writers(db)
        send(tm1, c1, 2 * pair)
        send(tm2, c2, 2 * pair + 1)
        tm1.commit()
        for attempt in range(5):
            try:
                tm2.commit()
                first_try += attempt == 0
                break
            except ConflictError:
                tm2.abort()
                send(tm2, c2, 2 * pair + 1)
        else:
            pytest.fail("a send could not commit in 5 attempts")
        c1.close()
        c2.close()
    assert first_try >= 5, f"only {first_try} of 10 concurrent pairs merged without retry"
    tm.begin()
    catalog = conn.root()["catalog"]
    assert len(catalog) == 300 + 20 * 3
    assert catalog.query(IN_A, state="01")[0] == 20
    assert catalog.query(IN_B, text="chuyen doi so")[0] == 20
    assert catalog.query(ALL_BOXES, text="kế hoạch")[0] == 300
    conn.close()


# -- documents: records that share one text ---------------------------------------------------


def test_records_of_one_document_share_its_text(catalog):
    text = "Quyết định số 7/QĐ-UBND phê duyệt dự toán"
    catalog.index("doc/7", rec(OUT_A, text, document="7", state="issued"))
    for box in (IN_A, IN_B):
        catalog.index(f"dlv/7/{box}", rec(box, text, document="7", state="01"))
    catalog.index("dlv/7/personal:an", rec("personal:an", None, document="7"))  # no text
    assert catalog.text.index.indexed_count() == 1  # one text for four records
    assert keys(catalog.query(IN_B, text="du toan")) == ["dlv/7/in:000.00.02.H38"]
    assert keys(catalog.query("personal:an", text="du toan")) == ["dlv/7/personal:an"]
    assert catalog.query(ALL_BOXES, text="phe duyet")[0] == 4
    assert catalog.query(ALL_BOXES, text="phe duyet", state="01")[0] == 2
    # a new text (a draft edited) is the document's new text
    catalog.index("doc/7", rec(OUT_A, "Tờ trình sửa đổi", document="7", state="issued"))
    assert catalog.query(ALL_BOXES, text="du toan") == (0, [])
    assert catalog.query(ALL_BOXES, text="to trinh sua doi")[0] == 4


def test_a_documents_text_goes_with_its_last_record(catalog):
    catalog.index("doc/8", rec(OUT_A, "Giấy mời họp", document="8"))
    catalog.index("dlv/8/a", rec(IN_A, "Giấy mời họp", document="8"))
    catalog.unindex("doc/8")
    assert keys(catalog.query(ALL_BOXES, text="giay moi")) == ["dlv/8/a"]
    catalog.unindex("dlv/8/a")
    assert catalog.text.index.indexed_count() == 0
    assert len(catalog.group_of) == len(catalog.group_name) == 0
    # the name can be used again
    catalog.index("dlv/8/a", rec(IN_A, "Thông báo", document="8"))
    assert keys(catalog.query(IN_A, text="thong bao")) == ["dlv/8/a"]
    assert catalog.query(IN_A, text="giay moi") == (0, [])


def test_a_fan_out_indexes_the_text_once(catalog):
    text = "Công điện về việc ứng phó bão số 3"
    boxes = [f"in:000.00.{i:02d}.H38" for i in range(300)]
    for box in boxes:
        catalog.index(f"dlv/9/{box}", rec(box, text, document="9", state="01"))
    assert catalog.text.index.indexed_count() == 1
    docids = [catalog.docid_of[f"dlv/9/{box}"] for box in boxes]
    assert len({d >> 16 for d in docids}) == 1  # neighbours: they share index buckets
    assert catalog.query(boxes[123], text="bao so 3") == (1, [f"dlv/9/{boxes[123]}"])
    assert catalog.query(boxes, text="ung pho", limit=5)[0] == 300
