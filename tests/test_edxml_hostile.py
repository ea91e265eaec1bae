"""The hostile corpus in the field's shape (tests/data/edxml/invalid-field) and hostile zips.

Each file breaks one thing of a real-shape package (root ``edXML``, ``AttachmentEncoded``
after the envelope); each is refused with its reason and field, and no decoded file is left
behind. The zips are made here: a bomb, a thousand entries, a path in an entry's name —
each inside an attachment named ``bao-cao.pdf``, and the refusal names it.
"""

import io
import os
import zipfile

import pytest

from lienthong.core import edxml
from lienthong.core.edxml import EdxmlError

CORPUS = os.path.join(os.path.dirname(__file__), "data", "edxml", "invalid-field")

INVALID = {
    "attachment_not_in_manifest.xml": ("attachment2 is not listed in the manifest", "Attachment/ContentId"),
    "bad_base64.xml": ("is not valid base64", "Attachment/ContentTransferEncoded"),
    "bad_code_number.xml": ("not a valid document number: mười lăm", "MessageHeader/Code/CodeNumber"),
    "bad_date.xml": ("not a valid date", "MessageHeader/PromulgationInfo/PromulgationDate"),
    "bad_organ_id.xml": ("not a valid unit identifier code: So-Noi-vu", "MessageHeader/To/OrganId"),
    "bad_priority.xml": ("between 0 and 4, not 7", "MessageHeader/OtherInfo/Priority"),
    "base64_after_padding.xml": ("is not valid base64", "Attachment/ContentTransferEncoded"),
    "billion_laughs.xml": ("may not contain a DOCTYPE", None),
    "data_twice.xml": ("carries its data twice", "Attachment/AttachmentText"),
    "deep_nesting.xml": ("nested deeper than 32 levels", None),
    "digest_mismatch.xml": ("SHA-256 digest of attachment", "edXMLManifest/Reference/Digest"),
    "duplicate_content_id.xml": ("Two attachments have the ContentId attachment1", "Attachment/ContentId"),
    "manifest_missing_attachment.xml": ("has no such attachment", "edXMLManifest/Reference/ContentId"),
    "manifest_name_mismatch.xml": ("The manifest names attachment", "edXMLManifest/Reference/AttachmentName"),
    "mismatched_tag.xml": ("not well-formed XML (line 15, column 31)", None),
    "missing_data.xml": (
        "Attachment/ContentTransferEncoded is required",
        "Attachment/ContentTransferEncoded",
    ),
    "missing_envelope.xml": ("edXML/edXMLEnvelope is required", "edXML/edXMLEnvelope"),
    "missing_recipients.xml": ("at least one recipient", "MessageHeader/To"),
    "missing_subject.xml": ("MessageHeader/Subject is required", "MessageHeader/Subject"),
    "not_base64_encoding.xml": ("only base64 is accepted", "Attachment/ContentTransferEncoded"),
    "not_xml.txt": ("not well-formed XML", None),
    "size_mismatch.xml": ("size of attachment", "edXMLManifest/Reference/Size"),
    "status_missing_response_for.xml": (
        "ResponseFor/OrganId is required",
        "MessageHeader/ResponseFor/OrganId",
    ),
    "unbound_prefix.xml": ("(line 80, column 8): unbound prefix", None),
    "unbound_prefix_attachment.xml": ("(line 97, column 6): unbound prefix", None),
    "unbound_prefix_attribute.xml": ("(line 80, column 8): unbound prefix", None),
    "unknown_business_type.xml": ("Unknown BussinessDocType 9", "TraceHeaderList/Bussiness/BussinessDocType"),
    "unknown_status_code.xml": ("Unknown status code 99", "MessageHeader/StatusCode"),
    "unsafe_attachment_name.xml": ("../../etc/cron.d/evil is not allowed", "Attachment/AttachmentName"),
    "wrong_namespace.xml": ("root must be edXML (or edXMLEnvelope)", None),
    "xxe.xml": ("may not contain a DOCTYPE", None),
    "zip_absolute_entry.xml": (
        "bao-cao.pdf is a zip with an entry named /etc/cron.d/x",
        "Attachment/ContentTransferEncoded",
    ),
    "zip_damaged.xml": ("bao-cao.pdf is a damaged zip", "Attachment/ContentTransferEncoded"),
    "zip_directory_entry.xml": (
        "bao-cao.pdf is a zip with an entry named",
        "Attachment/ContentTransferEncoded",
    ),
    "zip_dotdot_entry.xml": (
        "bao-cao.pdf is a zip with an entry named ../x",
        "Attachment/ContentTransferEncoded",
    ),
    "zip_encrypted_entry.xml": ("bao-cao.pdf is an encrypted zip", "Attachment/ContentTransferEncoded"),
    "zip_symlink_entry.xml": (
        "bao-cao.pdf is a zip with an entry named",
        "Attachment/ContentTransferEncoded",
    ),
    "zip_too_many_entries.xml": ("bao-cao.pdf is a zip of 17 files", "Attachment/ContentTransferEncoded"),
}


def test_every_file_of_the_corpus_is_in_the_table():
    assert set(os.listdir(CORPUS)) == set(INVALID)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_the_field_shape_corpus_is_refused_with_its_reason(name, tmp_path):
    reason, field = INVALID[name]
    with open(os.path.join(CORPUS, name), "rb") as f:
        data = f.read()
    parse = edxml.parse_status if name.startswith("status") or "status_code" in name else edxml.parse_document
    kwargs = {} if parse is edxml.parse_status else {"spool_dir": str(tmp_path)}
    with pytest.raises(EdxmlError) as info:
        parse(data, **kwargs)
    assert reason in info.value.text()
    assert info.value.field == field
    assert info.value.status == 400 and "Traceback" not in info.value.text()
    assert os.listdir(tmp_path) == []


def package_with(zipped, name="bao-cao.pdf"):
    meta = {
        "document_id": "hostile-1",
        "from": {"organ_id": "000.00.12.H49"},
        "to": [{"organ_id": "000.01.12.H49"}],
        "code_number": "1",
        "code_notation": "UBND-VP",
        "promulgation_date": "2026-11-20",
        "subject": "Thử",
    }
    info = {"name": name, "content_type": "application/pdf", "description": ""}
    return edxml.build_document(meta, [(info, io.BytesIO(zipped))], wrap="raw")


def zip_of(entries):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries:
            archive.writestr(entry, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "entries, reason, error",
    [
        ([("a.pdf", b"\0" * (50 * 2**20))], "is a zip bomb", EdxmlError),
        ([(f"{n}.pdf", b"%PDF-1.4\n") for n in range(1000)], "is a zip of 1000 files", EdxmlError),
        ([("../x", b"%PDF-1.4\n")], "entry named ../x", EdxmlError),
    ],
    ids=["bomb", "thousand-entries", "dotdot"],
)
def test_hostile_zips_are_refused_naming_the_attachment(entries, reason, error, tmp_path):
    data = package_with(zip_of(entries))
    with pytest.raises(error) as info:
        edxml.parse_document(data, spool_dir=str(tmp_path))
    assert "bao-cao.pdf" in info.value.text() and reason in info.value.text()
    assert info.value.field == "Attachment/ContentTransferEncoded"
    assert os.listdir(tmp_path) == []


def test_a_zip_that_unzips_past_the_limit_is_too_large(tmp_path):
    data = package_with(zip_of([("a.pdf", b"%PDF-1.4\n" + b"a" * 900_000)]))  # under the bomb floor
    with pytest.raises(edxml.EdxmlTooLarge) as info:
        edxml.parse_document(data, max_bytes=len(data) + 100, spool_dir=str(tmp_path))
    assert info.value.status == 413 and "bao-cao.pdf" in info.value.text()


def test_a_real_zip_archive_is_kept_as_it_is():
    archive = zip_of([("a.txt", b"1"), ("b.txt", b"2")])
    meta = edxml.parse_document(package_with(archive, name="ho-so.zip"))
    [attachment] = meta["attachments"]
    assert attachment["wrapped"] is None and attachment["file"].read() == archive
    attachment["file"].close()


def test_a_wrapper_of_a_few_files_keeps_each():
    meta = edxml.parse_document(package_with(zip_of([("a.txt", b"one"), ("b.txt", b"two")]), name="bao-cao"))
    assert [(a["name"], a["file"].read()) for a in meta["attachments"]] == [
        ("a.txt", b"one"),
        ("b.txt", b"two"),
    ]
    assert any("zip of 2 files" in w.text() for w in meta["warnings"])
    for attachment in meta["attachments"]:
        attachment["file"].close()
