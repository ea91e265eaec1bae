"""Attachment checks: type by content, names, per-file and per-document limits."""

import hashlib
import io
import random
import struct
import zipfile
import zlib

import pytest

from lienthong.core.errors import ServiceError
from lienthong.core.filetypes import (
    AttachmentError,
    AttachmentPolicy,
    AttachmentTooLarge,
    check_attachment,
    check_name,
    check_total,
    sniff,
)

POLICY = AttachmentPolicy.from_settings({})


# -- real small files -------------------------------------------------------------------------


def pdf_bytes():
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def png_bytes():
    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def ooxml_bytes(main_part, macros=False):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        # An incompressible thumbnail pushes the main part past the first 8 KiB.
        zf.writestr("docProps/thumbnail.jpeg", random.Random(0).randbytes(10000))
        zf.writestr(main_part, '<?xml version="1.0"?><document/>')
        if macros:
            zf.writestr(main_part.split("/")[0] + "/vbaProject.bin", b"\x00" * 10)
    return buf.getvalue()


def odt_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.text",
            compress_type=zipfile.ZIP_STORED,
        )
        zf.writestr("content.xml", "<office:document-content/>")
    return buf.getvalue()


def plain_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "hello")
    return buf.getvalue()


def ole_bytes(stream="WordDocument"):
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    directory = stream.encode("utf-16-le") + b"\x00\x00"
    return header + b"\x00" * 512 + directory.ljust(128, b"\x00")


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100
PE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 44
    + struct.pack("<I", 64)
    + b"PE\x00\x00"
    + b"\x00" * 64
)
VIETNAMESE = "Quyết định số 15/QĐ-UBND về việc ban hành quy chế.\n".encode()


def check(name, data, policy=POLICY):
    return check_attachment(name, io.BytesIO(data), policy)


def refused(name, data, policy=POLICY, error=AttachmentError):
    with pytest.raises(error) as info:
        check(name, data, policy)
    assert info.value.field == "attachments"
    return info.value


# -- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,data,kind,mime",
    [
        ("qd.pdf", pdf_bytes(), "pdf", "application/pdf"),
        ("anh.png", png_bytes(), "png", "image/png"),
        (
            "bc.docx",
            ooxml_bytes("word/document.xml"),
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "bc.xlsx",
            ooxml_bytes("xl/workbook.xml"),
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "bc.pptx",
            ooxml_bytes("ppt/presentation.xml"),
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (
            "bc.docm",
            ooxml_bytes("word/document.xml", macros=True),
            "docm",
            "application/vnd.ms-word.document.macroEnabled.12",
        ),
        ("bc.odt", odt_bytes(), "odt", "application/vnd.oasis.opendocument.text"),
        ("a.zip", plain_zip(), "zip", "application/zip"),
        ("cv.txt", VIETNAMESE, "txt", "text/plain; charset=utf-8"),
        ("x.rtf", b"{\\rtf1\\ansi Hello}", "rtf", "application/rtf"),
        ("x.xml", b'<?xml version="1.0"?><edXML/>', "xml", "application/xml"),
        ("x.xml", b"<edXML><a/></edXML>", "xml", "application/xml"),
        ("p.html", b"<!DOCTYPE html><html><body>x</body></html>", "html", "text/html"),
        ("p.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "svg", "image/svg+xml"),
        ("run.sh", b"#!/bin/sh\nrm -rf /\n", "script", "text/x-script"),
        (
            "a.gif",
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00"
            b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
            "gif",
            "image/gif",
        ),
        ("a.tif", b"II*\x00\x08\x00\x00\x00" + b"\x00" * 32, "tiff", "image/tiff"),
        ("a.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24, "7z", "application/x-7z-compressed"),
        ("a.rar", b"Rar!\x1a\x07\x01\x00" + b"\x00" * 24, "rar", "application/vnd.rar"),
        (
            "a.p7s",
            b"\x30\x82\x01\x00\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x82" + b"\x00" * 32,
            "p7s",
            "application/pkcs7-signature",
        ),
        ("a.exe", PE, "exe", "application/vnd.microsoft.portable-executable"),
        ("a.elf", ELF, "elf", "application/x-executable"),
    ],
)
def test_sniff_by_content(name, data, kind, mime):
    found = sniff(data[:8192], name, io.BytesIO(data))
    assert (found.name, found.mime) == (kind, mime)


def test_ooxml_without_the_file_falls_back_to_local_headers():
    data = ooxml_bytes("word/document.xml")
    assert sniff(data[:8192], "x.docx").name == "zip"  # main part beyond the head
    assert sniff(data, "x.docx").name == "docx"


def test_ole2_is_told_by_extension_among_doc_xls_ppt():
    data = ole_bytes("Workbook")
    assert sniff(data, "a.doc").name == "doc"
    assert sniff(data, "a.xls").name == "xls"
    assert sniff(data, "a.ppt").name == "ppt"
    assert sniff(data, "noext").name == "xls"  # directory name when the extension says nothing
    assert sniff(ole_bytes("__substg1.0_0037001F"), "a.msi").name == "ole"


def test_text_starting_like_a_two_byte_signature_is_still_text():
    assert sniff(b"BMW report\n", "a.txt").name == "txt"
    assert sniff(b"MZ notes\n", "a.txt").name == "txt"


# -- accepted files ---------------------------------------------------------------------------


def test_accepts_a_real_pdf_and_reports_size_and_hash():
    data = pdf_bytes()
    f = io.BytesIO(data)
    f.seek(5)
    info = check_attachment("Quyết định 15.pdf", f, POLICY)
    assert info == {
        "name": "Quyết định 15.pdf",
        "content_type": "application/pdf",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert f.tell() == 0


@pytest.mark.parametrize(
    "name,data,mime",
    [
        ("Ảnh chụp.png", png_bytes(), "image/png"),
        (
            "Báo cáo.docx",
            ooxml_bytes("word/document.xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "Số liệu.xlsx",
            ooxml_bytes("xl/workbook.xml"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("Ghi chú.txt", VIETNAMESE, "text/plain; charset=utf-8"),
        ("bang.csv", "Tên,Số\nHà Nội,1\n".encode(), "text/csv; charset=utf-8"),
        ("utf16.txt", "\ufeffĐơn vị".encode("utf-16-le"), "text/plain; charset=utf-16"),
        ("cu.txt", "Quy\u00ea\u0301t \u0111i\u0323nh\n".encode("cp1258"), "text/plain"),  # legacy 8-bit
        ("latin.txt", "café résumé\n".encode("latin-1"), "text/plain"),
        ("cu.doc", b"{\\rtf1\\ansi Word saved as RTF}", "application/rtf"),
        ("cu.doc", ole_bytes("WordDocument"), "application/msword"),
        ("anh.JPG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64, "image/jpeg"),
        ("no extension", pdf_bytes(), "application/pdf"),
    ],
)
def test_accepts(name, data, mime):
    info = check(name, data)
    assert info["content_type"] == mime
    assert info["size"] == len(data)


def test_name_is_normalised_to_nfc():
    decomposed = "Quye\u0302\u0301t.pdf"
    assert check(decomposed, pdf_bytes())["name"] == "Quyết.pdf"


# -- refused content --------------------------------------------------------------------------


def test_refuses_an_empty_file():
    err = refused("rong.pdf", b"")
    assert err.status == 400
    assert "rong.pdf" in err.text() and "empty" in err.text()


@pytest.mark.parametrize(
    "name,data,kind",
    [
        ("x.exe", PE, "EXE"),
        ("x.pdf", PE, "EXE"),
        ("a.out", ELF, "ELF"),
        ("trang.html", b"<html><body>hi</body></html>", "HTML"),
        ("trang.txt", b"  <!doctype html><p>x", "HTML"),
        ("run.sh", b"#!/bin/bash\necho hi\n", "SCRIPT"),
        ("hinh.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>x</script></svg>", "HTML"),
        (
            "ns.xml",
            b'<?xml version="1.0"?><r><x:script xmlns:x="http://www.w3.org/1999/xhtml">'
            b"alert(1)</x:script></r>",
            "HTML",
        ),
        ("macro.docm", ooxml_bytes("word/document.xml", macros=True), "DOCM"),
        ("setup.msi", ole_bytes("__x"), "OLE"),
    ],
)
def test_refuses_kinds_not_allowed(name, data, kind):
    err = refused(name, data)
    assert err.status == 400
    assert name in err.text() and kind in err.text()


def test_refuses_unknown_binary():
    err = refused("data.txt", b"\x01\x02\x03binary\x00\x00")
    assert "unknown type" in err.text()


@pytest.mark.parametrize(
    "name,data,ext,expected",
    [
        ("report.pdf", png_bytes(), "pdf", "png"),
        ("anh.png", pdf_bytes(), "png", "pdf"),
        ("bc.doc", ooxml_bytes("word/document.xml"), "doc", "docx"),
        ("bc.docx", plain_zip(), "docx", "zip"),
        ("ghi.pdf", VIETNAMESE, "pdf", "txt"),
        ("thong_bao.bat", VIETNAMESE, "bat", "txt"),
        ("trick.pdf.exe", pdf_bytes(), "exe", "pdf"),
    ],
)
def test_refuses_a_name_that_contradicts_the_content(name, data, ext, expected):
    err = refused(name, data)
    assert name in err.text()
    assert f".{ext}:" in err.text() and f".{expected}." in err.text()


def test_allowed_kinds_come_from_settings():
    policy = AttachmentPolicy.from_settings({"lienthong.attachments.allowed": "pdf, png"})
    check("a.pdf", pdf_bytes(), policy)
    check("a.png", png_bytes(), policy)
    refused("a.txt", VIETNAMESE, policy)
    with pytest.raises(ValueError, match="lienthong.attachments.allowed: unknown kind"):
        AttachmentPolicy.from_settings({"lienthong.attachments.allowed": "pdf exe2"})


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "../etc/passwd",
        "a/b.pdf",
        "a\\b.pdf",
        "..",
        ".",
        ".hidden.pdf",
        "bad\x00.pdf",
        "line\nbreak.pdf",
        "tab\t.pdf",
        "x" * 252 + ".pdf",
        "ê" * 126 + ".pdf",  # 126 × 2 bytes + 4 = 256 bytes
        "fdp\u202eexe.pdf",
        "a:stream.pdf",
        "what?.pdf",
        "dot.pdf.",
        "space.pdf ",
        " lead.pdf",
        "CON.pdf",
        "nul",
    ],
)
def test_refuses_dangerous_names(name):
    with pytest.raises(AttachmentError) as info:
        check(name, pdf_bytes())
    assert info.value.field == "attachments"
    assert "\x00" not in info.value.text() and "\n" not in info.value.text()


def test_name_of_exactly_255_bytes_is_fine():
    name = "ê" * 125 + "x.pdf"  # 250 + 5 bytes
    assert len(name.encode()) == 255
    assert check_name(name) == name
    assert check(name, pdf_bytes())["name"] == name


def test_control_characters_are_escaped_in_the_message():
    with pytest.raises(AttachmentError) as info:
        check_name("fdp\u202eexe.pdf")
    assert "\\u202e" in info.value.text()


# -- limits -----------------------------------------------------------------------------------


class CountingReader(io.BytesIO):
    """Records how much was read, to prove reading stops at the limit."""

    def __init__(self, data):
        super().__init__(data)
        self.largest = 0
        self.total = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.largest = max(self.largest, len(chunk))
        self.total += len(chunk)
        return chunk


def test_per_file_limit_exactly_and_one_byte_over():
    policy = AttachmentPolicy.from_settings({"lienthong.attachments.max_file_bytes": "1000"})
    exact = VIETNAMESE * (1000 // len(VIETNAMESE))
    exact += b"." * (1000 - len(exact))
    assert check("a.txt", exact, policy)["size"] == 1000
    err = refused("a.txt", exact + b".", policy, error=AttachmentTooLarge)
    assert err.status == 413
    assert "a.txt" in err.text() and "1000 bytes" in err.text()


def test_reading_stops_as_soon_as_the_limit_is_passed():
    policy = AttachmentPolicy.from_settings({"lienthong.attachments.max_file_bytes": "100000"})
    f = CountingReader(b"a" * 5_000_000)
    with pytest.raises(AttachmentTooLarge):
        check_attachment("big.txt", f, policy)
    assert f.total < 200_000
    assert f.largest <= 64 * 1024  # never read whole
    assert f.tell() == 0


def test_default_limits():
    assert POLICY.max_file_bytes == 50 * 1024 * 1024
    assert POLICY.max_document_bytes == 200 * 1024 * 1024
    assert POLICY.max_count == 50
    assert {"pdf", "docx", "xlsx", "png", "jpeg", "zip", "txt", "xml"} <= POLICY.allowed
    assert not {"exe", "elf", "html", "svg", "script", "docm", "ole"} & POLICY.allowed


def test_per_document_total_and_count():
    policy = AttachmentPolicy.from_settings(
        {"lienthong.attachments.max_document_bytes": "300", "lienthong.attachments.max_count": "3"}
    )
    assert check_total([100, 100, 100], policy) == 300
    err = None
    with pytest.raises(AttachmentTooLarge) as info:
        check_total([100, 100, 101], policy)
    err = info.value
    assert err.status == 413 and "300 bytes" in err.text() and err.field == "attachments"
    with pytest.raises(AttachmentError) as info:
        check_total([1, 1, 1, 1], policy)
    assert info.value.status == 400 and "at most 3" in info.value.text()


def test_duplicate_names_in_one_document():
    check_total([1, 2], POLICY, names=["a.pdf", "b.pdf"])
    with pytest.raises(AttachmentError, match="Two attachments"):
        check_total([1, 2], POLICY, names=["Báo cáo.pdf", "BÁO CÁO.PDF"])


@pytest.mark.parametrize(
    "key,value",
    [
        ("lienthong.attachments.max_file_bytes", "50MB"),
        ("lienthong.attachments.max_document_bytes", "0"),
        ("lienthong.attachments.max_count", "-1"),
    ],
)
def test_malformed_limits_name_the_setting(key, value):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        AttachmentPolicy.from_settings({key: value})


def test_errors_are_service_errors_with_translatable_messages():
    with pytest.raises(ServiceError) as info:
        check("rong.pdf", b"")
    assert info.value.message.domain == "lienthong"
    assert info.value.message.mapping["name"] == "rong.pdf"
