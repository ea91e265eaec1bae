"""The edXML codec: the corpus in tests/data/edxml, round trips, limits and memory."""

import hashlib
import io
import os
import time
import tracemalloc

import pytest

from lienthong.core import edxml
from lienthong.core.edxml import EdxmlError
from lienthong.core.errors import ServiceError

CORPUS = os.path.join(os.path.dirname(__file__), "data", "edxml")
FULL_ID = "9b1e4c7a2f3d4e5a8b6c0d1e2f3a4b5c"


def corpus(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()


def organ(code, name="", **kw):
    data = dict.fromkeys(("organ_in_charge", "organ_add", "email", "telephone", "fax", "website"), "")
    data.update(organ_id=code, organ_name=name, **kw)
    return data


def full_meta(**changes):
    """Every field of the shared metadata model, Vietnamese text included."""
    meta = {
        "document_id": "6a0f6c3e2b1d4f7e9a8b7c6d5e4f3a2b",
        "from": organ(
            "000.00.12.H49",
            "Ủy ban nhân dân tỉnh Thừa Thiên Huế",
            organ_in_charge="Chủ tịch",
            organ_add="16 Lê Lợi, Huế",
            email="ubnd@thuathienhue.gov.vn",
            telephone="0234 3822 517",
            fax="",
            website="https://thuathienhue.gov.vn",
        ),
        "to": [
            organ("000.01.12.H49", "Sở Nội vụ", email="snv@thuathienhue.gov.vn"),
            organ("000.02.12.H49", "Sở Tài chính"),
        ],
        "code_number": "15",
        "code_notation": "QĐ-UBND",
        "promulgation_place": "Huế",
        "promulgation_date": "2026-11-25",
        "doc_type": "QD",
        "doc_type_name": "Quyết định",
        "subject": 'Về việc <kiểm tra> & "đối chiếu" — ăâđêôơư',
        "content": "  Dòng một\nDòng hai\n",
        "signer_competence": "KT. CHỦ TỊCH",
        "signer_position": "PHÓ CHỦ TỊCH",
        "signer_name": "Nguyễn Văn Phương",
        "due_date": "",
        "to_places": ["Như trên", "", "Lưu: VT"],
        "priority": 4,
        "sphere_of_promulgation": "",
        "promulgation_amount": 0,
        "page_amount": 12,
        "appendixes": [],
        "steering_type": 2,
        "response_for": [
            {
                "organ_id": "000.01.12.H49",
                "code": "112/SNV-VP",
                "promulgation_date": "2026-11-02",
                "document_id": "",
            },
            {
                "organ_id": "000.02.12.H49",
                "code": "7/STC-NS",
                "promulgation_date": "",
                "document_id": "abc-1",
            },
        ],
        "business_doc_type": 3,
        "business_reason": "Thay thế",
        "business_document_id": "11112222333344445555666677778888",
        "staff_info": {"department": "Văn phòng", "staff": "Trần Thị Bích", "mobile": "", "email": ""},
        "replacement_info": [
            {
                "document_id": "11112222333344445555666677778888",
                "organ_id_list": ["000.01.12.H49", "000.02.12.H49"],
            },
            {"document_id": "x", "organ_id_list": []},
        ],
        "trace": [
            {"organ_id": "000.00.12.H49", "timestamp": "2026-11-25T15:30:00+07:00"},
            {"organ_id": "000.01.12.H49", "timestamp": "2026-11-25T15:31:02+07:00"},
        ],
        "type_detail": "",
        "typer_notation": "",
        "direction": "",
        "paper": 0,
        "business_info": {"document_info": "", "document_receiver": "", "receivers": []},
    }
    meta.update(changes)
    return meta


def status_dict(**changes):
    status = {
        "response_for": {
            "organ_id": "000.00.12.H49",
            "code": "15/QĐ-UBND",
            "promulgation_date": "2026-11-25",
            "document_id": FULL_ID,
        },
        "from": organ("000.01.12.H49", "Sở Nội vụ"),
        "status_code": "04",
        "description": "Đã phân công xử lý",
        "timestamp": "2026-11-26T09:15:00+07:00",
        "staff_info": {"department": "Văn phòng Sở", "staff": "Lê Văn Cường", "mobile": "0905", "email": ""},
    }
    status.update(changes)
    return status


def attachments(*items):
    return [
        ({"name": name, "content_type": ctype, "description": desc}, io.BytesIO(data))
        for name, ctype, desc, data in items
    ]


def without_extras(result):
    extras = ("attachments", "signature", "signature_namespace", "warnings")
    return {key: value for key, value in result.items() if key not in extras}


def close_all(result):
    for attachment in result["attachments"]:
        attachment["file"].close()


# --------------------------------------------------------------------------- valid corpus


def test_minimal():
    result = edxml.parse_document(corpus("minimal.xml"))
    assert result["document_id"] == "minimal-0001"
    assert result["from"] == organ("000.00.12.H49")
    assert result["to"] == [organ("000.01.12.H49")]
    assert (result["code_number"], result["code_notation"]) == ("7", "UBND-VP")
    assert result["promulgation_date"] == "2026-11-20"  # written yyyy-MM-dd
    assert result["subject"] == "Về việc báo cáo tình hình"
    assert result["trace"] == [
        {
            "organ_id": "000.00.12.H49",  # legacy yyyy/MM/dd HH:mm:ss
            "timestamp": "2026-11-20T14:05:00+07:00",
        }
    ]
    assert result["priority"] == 0 and result["business_doc_type"] == 0
    assert result["due_date"] == "" and result["to_places"] == [] and result["response_for"] == []
    assert result["staff_info"] == {"department": "", "staff": "", "mobile": "", "email": ""}
    assert result["attachments"] == [] and result["signature"] is None


def test_full():
    result = edxml.parse_document(corpus("full.xml"))
    assert result["document_id"] == FULL_ID
    assert result["from"]["organ_name"] == "Ủy ban nhân dân tỉnh Thừa Thiên Huế"
    assert result["from"]["fax"] == "0234 3824 806"
    assert [t["organ_id"] for t in result["to"]] == ["000.01.12.H49", "000.02.12.H49"]
    assert result["code_notation"] == "QĐ-UBND" and result["doc_type_name"] == "Quyết định"
    assert result["promulgation_date"] == "2026-11-25" and result["due_date"] == "2026-12-10"
    assert result["signer_name"] == "Nguyễn Văn Phương"
    assert result["to_places"] == ["Như Điều 3", "Lưu: VT, KGVX"]
    assert (result["priority"], result["promulgation_amount"], result["page_amount"]) == (2, 30, 4)
    assert result["appendixes"] == ["Phụ lục I: Danh mục đơn vị", "Phụ lục II: Mẫu biểu"]
    assert result["steering_type"] == 1
    assert result["response_for"] == [
        {
            "organ_id": "000.01.12.H49",
            "code": "112/SNV-VP",
            "promulgation_date": "2026-11-02",
            "document_id": "5d1c0f3e8a9b4c2d9e7f6a5b4c3d2e1f",
        }
    ]
    assert result["staff_info"]["staff"] == "Trần Thị Bích"
    assert result["trace"] == [{"organ_id": "000.00.12.H49", "timestamp": "2026-11-25T15:30:00+07:00"}]
    text, image = result["attachments"]
    assert (text["name"], text["content_type"], text["description"]) == (
        "Quy chế liên thông.txt",
        "text/plain; charset=utf-8",
        "Quy chế kèm theo",
    )
    body = text["file"].read()
    assert body.decode("utf-8").startswith("Quy chế quản lý, vận hành")
    assert text["size"] == len(body) and text["sha256"] == hashlib.sha256(body).hexdigest()
    assert image["name"] == "so-do.png" and image["file"].read().startswith(b"\x89PNG\r\n\x1a\n")
    close_all(result)


def test_update_and_replace():
    update = edxml.parse_document(corpus("update.xml"))
    assert update["business_doc_type"] == 2
    assert update["business_reason"] == "Sửa lỗi chính tả tại Điều 2"
    assert update["business_document_id"] == FULL_ID
    assert len(update["attachments"]) == 1
    replace = edxml.parse_document(corpus("replace.xml"))
    assert replace["business_doc_type"] == 3
    assert replace["replacement_info"] == [
        {"document_id": FULL_ID, "organ_id_list": ["000.01.12.H49", "000.02.12.H49"]}
    ]
    close_all(update)
    close_all(replace)


def test_status():
    result = edxml.parse_status(corpus("status.xml"))
    assert result == {
        "response_for": {
            "organ_id": "000.00.12.H49",
            "code": "15/QĐ-UBND",
            "promulgation_date": "2026-11-25",
            "document_id": FULL_ID,
        },
        "from": organ("000.01.12.H49", "Sở Nội vụ", email="snv@thuathienhue.gov.vn"),
        "status_code": "03",
        "description": "Đã tiếp nhận và vào sổ văn bản đến số 245",
        "timestamp": "2026-11-25T16:05:00+07:00",
        "staff_info": {
            "department": "Văn phòng Sở",
            "staff": "Lê Văn Cường",
            "mobile": "0905 111 222",
            "email": "cuong.lv@thuathienhue.gov.vn",
        },
    }


def test_kind_tells_documents_from_status_messages():
    assert edxml.kind(corpus("full.xml")) == "document"
    assert edxml.kind(corpus("status.xml")) == "status"
    stream = io.BytesIO(corpus("status.xml"))
    assert edxml.kind(stream) == "status" and stream.tell() == 0  # put back for the parser
    assert edxml.parse_status(stream)["status_code"] == "03"
    with pytest.raises(EdxmlError, match="status message, not a document"):
        edxml.parse_document(corpus("status.xml"))
    with pytest.raises(EdxmlError, match="document, not a status message"):
        edxml.parse_status(corpus("full.xml"))
    with pytest.raises(EdxmlError, match="DOCTYPE"):
        edxml.kind(corpus("invalid/xxe.xml"))


# --------------------------------------------------------------------------- invalid corpus

INVALID = {
    # file: (reason in the message, field or None)
    "xxe.xml": ("may not contain a DOCTYPE", None),
    "billion_laughs.xml": ("may not contain a DOCTYPE", None),
    "deep_nesting.xml": ("nested deeper than 32 levels", None),
    "bad_base64.xml": ("is not valid base64", "Attachment/AttachmentText"),
    "base64_after_padding.xml": ("is not valid base64", "Attachment/AttachmentText"),
    "not_base64_encoding.xml": ("only base64 is accepted", "Attachment/ContentTransferEncoded"),
    "manifest_missing_attachment.xml": (
        "manifest lists attachment2 but the package has no such attachment",
        "edXMLManifest/Reference/ContentId",
    ),
    "attachment_not_in_manifest.xml": ("attachment2 is not listed in the manifest", "Attachment/ContentId"),
    "digest_mismatch.xml": (
        "SHA-256 digest of attachment Quy chế liên thông.txt does not match",
        "edXMLManifest/Reference/Digest",
    ),
    "size_mismatch.xml": (
        "size of attachment Quy chế liên thông.txt does not match",
        "edXMLManifest/Reference/Size",
    ),
    "unsafe_attachment_name.xml": (
        "attachment name ../../etc/cron.d/evil is not allowed",
        "Attachment/AttachmentName",
    ),
    "missing_subject.xml": ("MessageHeader/Subject is required", "MessageHeader/Subject"),
    "missing_recipients.xml": ("at least one recipient", "MessageHeader/To"),
    "bad_date.xml": (
        "not a valid date (yyyy/MM/dd): 2026/02/30",
        "MessageHeader/PromulgationInfo/PromulgationDate",
    ),
    "bad_priority.xml": ("priority must be between 0 and 4, not 7", "MessageHeader/OtherInfo/Priority"),
    "unknown_business_type.xml": ("Unknown BussinessDocType 9", "TraceHeaderList/Bussiness/BussinessDocType"),
    "bad_organ_id.xml": ("not a valid unit identifier code: So-Noi-vu", "MessageHeader/To/OrganId"),
    "bad_code_number.xml": ("not a valid document number: mười lăm", "MessageHeader/Code/CodeNumber"),
    "not_xml.txt": ("not well-formed XML", None),
    "wrong_namespace.xml": ("root must be edXML (or edXMLEnvelope) in the namespace", None),
    "unknown_status_code.xml": ("Unknown status code 99", "MessageHeader/StatusCode"),
}


def test_every_corpus_file_is_tested_and_listed():
    invalid = set(os.listdir(os.path.join(CORPUS, "invalid")))
    assert invalid == set(INVALID)
    readme = corpus("README.md").decode("utf-8")
    valid = {name for name in os.listdir(CORPUS) if name.endswith(".xml")}
    assert valid == {"minimal.xml", "full.xml", "update.xml", "replace.xml", "status.xml"}
    for name in invalid | valid:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_corpus_is_refused_with_its_reason(name, tmp_path):
    reason, field = INVALID[name]
    parse = edxml.parse_status if "status" in name else edxml.parse_document
    kwargs = {} if parse is edxml.parse_status else {"spool_dir": str(tmp_path)}
    with pytest.raises(EdxmlError) as info:
        parse(corpus("invalid/" + name), **kwargs)
    error = info.value
    assert reason in error.text()
    assert error.field == field
    assert error.status == 400 and isinstance(error, ServiceError)
    assert "Traceback" not in error.text() and "lxml" not in error.text()
    assert os.listdir(tmp_path) == []  # no decoded attachment left behind


def test_entities_are_never_expanded():
    # Even without the entity being used, any DOCTYPE is refused before its subset is read.
    plain = b'<?xml version="1.0"?><!DOCTYPE edXMLEnvelope><edXMLEnvelope/>'
    undeclared = corpus("minimal.xml").replace("tình hình".encode(), b"&xxe;")
    with pytest.raises(EdxmlError, match="DOCTYPE"):
        edxml.parse_document(plain)
    with pytest.raises(
        EdxmlError, match=r"not well-formed XML \(line \d+, column \d+\): Entity 'xxe' not defined"
    ):
        edxml.parse_document(undeclared)


def test_parameter_entities_and_other_encodings_do_not_slip_through(tmp_path):
    dtd = tmp_path / "evil.dtd"
    dtd.write_text("<!ENTITY % x \"<!ENTITY y SYSTEM 'file:///etc/passwd'>\">")
    parameter = (
        ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "file://DTD"> %p; %x;]><r>&y;</r>')
        .replace("DTD", str(dtd))
        .encode()
    )
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'.encode("utf-16")
    external = b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd"><r/>'
    for package in (parameter, utf16, external):
        with pytest.raises(EdxmlError, match="may not contain a DOCTYPE"):
            edxml.parse_document(package)


# --------------------------------------------------------------------------- round trips


def test_round_trip_keeps_every_field_and_attachment_bytes():
    meta = full_meta()
    files = (
        ("Tờ trình số 5.pdf", "application/pdf", "Bản chính có chữ ký", b"%PDF-1.7\n" + os.urandom(5000)),
        ("ảnh.bin", "application/octet-stream", "", bytes(range(256)) * 40),
        ("rỗng.txt", "text/plain", "Tệp rỗng", b""),
        ("một byte", "application/octet-stream", "x", b"\x00"),
    )
    result = edxml.parse_document(edxml.build_document(meta, attachments(*files)))
    assert without_extras(result) == meta
    assert result["signature"] is None
    assert len(result["attachments"]) == len(files)
    for (name, _ctype, desc, data), got in zip(files, result["attachments"]):
        assert (got["name"], got["description"]) == (name, desc)
        # zip-wrapped on the wire, as the field's library does; the real type read from the bytes
        assert got["wrapped"] is not None and got["declared_type"] == "application/zip"
        assert got["content_type"] == (
            "application/pdf" if name.endswith(".pdf") else "application/octet-stream"
        )
        assert got["file"].read() == data
        assert (got["size"], got["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    close_all(result)


def _rebuilt(package):
    result = edxml.parse_document(package)
    files = [
        ({"name": a["name"], "content_type": a["declared_type"], "description": a["description"]}, a["file"])
        for a in result["attachments"]
    ]
    try:
        return without_extras(result), edxml.build_document(without_extras(result), files)
    finally:
        close_all(result)


def test_round_trip_of_the_corpus_is_stable():
    """full.xml (the legacy shape) written again in the field's shape reads the same, and
    writing what was read from that gives the very same bytes."""
    legacy_meta, field_shape = _rebuilt(corpus("full.xml"))
    assert field_shape.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<edXML xmlns=")
    meta, again = _rebuilt(field_shape)
    assert meta == legacy_meta
    assert again == field_shape


def test_status_round_trip():
    for code in edxml.STATUS_CODES:
        status = status_dict(status_code=code)
        assert edxml.parse_status(edxml.build_status(status)) == status
    with pytest.raises(EdxmlError, match="Unknown status code 07"):
        edxml.build_status(status_dict(status_code="07"))


def test_build_is_deterministic_whatever_the_reads():
    class Trickle(io.RawIOBase):
        """A file that returns at most 1000 bytes per read, as a pipe might."""

        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def read(self, size=-1):
            return self.data.read(min(size, 1000) if size and size > 0 else 1000)

    data = os.urandom(300_000)
    info = {"name": "a.bin", "content_type": "application/octet-stream", "description": "d"}
    first = edxml.build_document(full_meta(), [(info, io.BytesIO(data))])
    second = edxml.build_document(full_meta(), [(dict(info), Trickle(data))])
    assert first == second
    assert first.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n")


def test_signature_has_its_place():
    from lxml import etree

    def exclusive_c14n(xml):
        return etree.tostring(etree.fromstring(xml), method="c14n", exclusive=True)

    signature = (
        b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">\n  '
        b"<ds:SignedInfo/><ds:SignatureValue>AA\nAA</ds:SignatureValue></ds:Signature>"
    )
    package = edxml.build_document(full_meta(), [], signature=signature)
    assert signature in package  # spliced as given: whitespace untouched
    result = edxml.parse_document(package)
    assert exclusive_c14n(result["signature"]) == exclusive_c14n(signature)
    assert without_extras(result) == full_meta()
    element = etree.fromstring(signature)
    again = edxml.parse_document(edxml.build_document(full_meta(), [], signature=element))
    assert again["signature"] == result["signature"]
    with pytest.raises(EdxmlError, match="must be a Signature element"):
        edxml.build_document(full_meta(), [], signature=b"<Other/>")
    with pytest.raises(EdxmlError, match="DOCTYPE"):
        edxml.build_document(full_meta(), [], signature=b'<!DOCTYPE x [<!ENTITY a "b">]><Signature/>')


def test_build_applies_the_same_rules():
    with pytest.raises(EdxmlError) as info:
        edxml.build_document(full_meta(subject="  "), [])
    assert info.value.field == "MessageHeader/Subject"
    with pytest.raises(EdxmlError, match="at least one recipient"):
        edxml.build_document(full_meta(to=[]), [])
    with pytest.raises(EdxmlError, match="not a valid date"):
        edxml.build_document(full_meta(promulgation_date="25/11/2026"), [])
    with pytest.raises(EdxmlError, match="between 0 and 4"):
        edxml.build_document(full_meta(priority=5), [])
    with pytest.raises(EdxmlError, match="must name the documents it replaces"):
        edxml.build_document(full_meta(business_document_id="", replacement_info=[]), [])
    with pytest.raises(EdxmlError, match="characters that XML cannot carry"):
        edxml.build_document(full_meta(content="bell \x07"), [])
    twice = attachments(("a.txt", "text/plain", "", b"1"), ("a.txt", "text/plain", "", b"2"))
    with pytest.raises(EdxmlError, match="Two attachments are named a.txt"):
        edxml.build_document(full_meta(), twice)


def test_partial_dicts_come_back_in_full_shape():
    meta = {
        "document_id": "d1",
        "from": {"organ_id": "000.00.12.H49"},
        "to": [{"organ_id": "000.01.12.H49", "organ_name": "Sở Nội vụ"}],
        "code_number": "3",
        "code_notation": "TB-UBND",
        "promulgation_date": "2026-01-02",
        "subject": "Thông báo",
    }
    result = edxml.parse_document(edxml.build_document(meta, []))
    assert result["to"] == [organ("000.01.12.H49", "Sở Nội vụ")]
    assert result["from"] == organ("000.00.12.H49")
    assert result["priority"] == 0 and result["appendixes"] == [] and result["trace"] == []


# --------------------------------------------------------------------------- limits


def package_with(size):
    return edxml.build_document(
        full_meta(), attachments(("big.bin", "application/octet-stream", "", os.urandom(size)))
    )


def test_oversize_is_refused_before_being_read_whole():
    package = package_with(3 * 2**20)

    class Pipe:
        """A stream of unknown length that counts what was read from it."""

        def __init__(self, data):
            self.data = io.BytesIO(data)
            self.consumed = 0

        def read(self, size):
            chunk = self.data.read(size)
            self.consumed += len(chunk)
            return chunk

    pipe = Pipe(package)
    with pytest.raises(EdxmlError, match=r"larger than the limit of 1048576 bytes"):
        edxml.parse_document(pipe, max_bytes=2**20)
    assert pipe.consumed <= 2**20 + edxml.READ_CHUNK < len(package)

    seekable = io.BytesIO(package)  # a known length is refused before any read
    with pytest.raises(EdxmlError, match="larger than the limit"):
        edxml.parse_document(seekable, max_bytes=2**20)
    assert seekable.tell() == 0
    with pytest.raises(EdxmlError, match="larger than the limit"):
        edxml.parse_document(package, max_bytes=len(package) - 1)
    result = edxml.parse_document(io.BytesIO(package), max_bytes=len(package))
    close_all(result)


def test_depth_element_and_attachment_limits():
    with pytest.raises(EdxmlError, match="nested deeper than 5 levels"):
        edxml.parse_document(corpus("full.xml"), max_depth=5)
    with pytest.raises(EdxmlError, match="more than 50 elements"):
        edxml.parse_document(corpus("full.xml"), max_elements=50)
    with pytest.raises(EdxmlError, match="more than 1 attachments"):
        edxml.parse_document(corpus("full.xml"), max_attachments=1)
    long_subject = corpus("minimal.xml").replace(
        "Về việc báo cáo tình hình".encode(), b"x" * (edxml.MAX_FIELD_CHARS + 1)
    )
    with pytest.raises(EdxmlError, match="longer than"):
        edxml.parse_document(long_subject)
    with pytest.raises(EdxmlError, match="empty"):
        edxml.parse_document(b"  \n")


def test_attachments_spool_to_the_given_directory(tmp_path):
    result = edxml.parse_document(corpus("full.xml"), spool_dir=str(tmp_path))
    assert len(os.listdir(tmp_path)) == 2
    assert all(a["file"].name.startswith(str(tmp_path)) for a in result["attachments"])
    close_all(result)
    assert os.listdir(tmp_path) == []


def test_ten_megabyte_package_memory_guard():
    """Peak Python memory while parsing a 10 MB package stays well under 3× its size.

    Speed is measured by ``lienthong bench``; the time is only printed here.
    """
    data = os.urandom(7_500_000)
    package = edxml.build_document(full_meta(), attachments(("big.bin", "application/pdf", "", data)))
    assert len(package) > 10_000_000
    tracemalloc.start()
    try:
        began = time.perf_counter()
        result = edxml.parse_document(package)
        elapsed = time.perf_counter() - began
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(
        f"10 MB edXML: parse {elapsed * 1000:.0f} ms, peak {peak / 2**20:.1f} MiB "
        f"for {len(package) / 2**20:.1f} MiB"
    )
    assert peak < 3 * len(package)
    attachment = result["attachments"][0]
    assert attachment["sha256"] == hashlib.sha256(data).hexdigest()
    assert attachment["file"].read() == data
    close_all(result)
