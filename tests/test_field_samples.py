"""The field's own edXML packages (../shared/interop/edxml-samples) as the codec's yardstick.

The samples are other people's material: read in place, never copied here. Without them
the tests skip (fail under LIENTHONG_REQUIRE_ALL=1). Every well-formed package reads with
exactly the fields ``manifest.json`` gives, attachments by the decoded SHA-256 of the zip
that travelled and the file it wraps; the two ill-formed SDK files are refused naming the
line and column. The import of the packages into a hub is in tests/test_field_exchange.py.
"""

import hashlib
import json
import os

import pytest

from lienthong.core import edxml

from .support.app import ROOT, need

SAMPLES = os.path.join(os.path.dirname(ROOT), "shared", "interop", "edxml-samples")
MANIFEST = os.path.join(SAMPLES, "manifest.json")


def manifest():
    if not os.path.exists(MANIFEST):
        return []
    with open(MANIFEST, encoding="utf-8") as f:
        return json.load(f)


def _entries():
    entries = manifest()
    return entries or [None]


def _read(entry):
    with open(os.path.join(SAMPLES, entry["file"]), "rb") as f:
        return f.read()


def _wellformed(kind):
    return [e for e in manifest() if e.get("wellformed") and e.get("kind") == kind] or [None]


def _date(text):
    """A manifest date (as the package writes it) in ISO: yyyy/MM/dd or dd/MM/yyyy."""
    if not text:
        return ""
    parts = text.split(" ")[0].split("/")
    return "-".join(parts if len(parts[0]) == 4 else parts[::-1])


@pytest.mark.parametrize("entry", _wellformed("edoc"), ids=lambda e: e["file"] if e else "no-samples")
def test_every_real_document_package_reads_with_the_fields_of_the_manifest(entry):
    need("the field's edXML samples (../shared/interop/edxml-samples)", entry is not None)
    data = _read(entry)
    assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
    meta = edxml.parse_document(data)
    try:
        assert meta["from"]["organ_id"] == entry["from"]
        assert [t["organ_id"] for t in meta["to"]] == entry["to"]
        assert meta["document_id"] == entry["document_id"]
        assert (meta["code_number"], meta["code_notation"]) == (entry["code_number"], entry["code_notation"])
        assert meta["promulgation_date"] == _date(entry["promulgation_date"])
        assert meta["due_date"] == _date(entry["due_date"])
        assert meta["subject"] == entry["subject"]
        assert meta["promulgation_place"] == entry["promulgation_place"]
        assert (meta["doc_type"], meta["type_detail"], meta["doc_type_name"]) == (
            entry["document_type"]["Type"],
            entry["document_type"].get("TypeDetail") or "",
            entry["document_type"]["TypeName"],
        )
        signer = entry["signer"] or {}
        assert (meta["signer_competence"], meta["signer_position"], meta["signer_name"]) == (
            signer.get("Competence") or "",
            signer.get("Position") or "",
            signer.get("FullName") or "",
        )
        assert meta["business_doc_type"] == int(entry["bussiness_doc_type"] or 0)
        assert meta["to_places"] == (entry.get("to_places") or [])
        hops = [
            (h["organ_id"], h["timestamp"][:19].replace("T", " ").replace("-", "/")) for h in meta["trace"]
        ]
        assert hops == [(h["OrganId"] or "", h["Timestamp"]) for h in entry["trace_headers"]]
        assert len(meta["attachments"]) == len(entry["attachments"])
        for got, want in zip(meta["attachments"], entry["attachments"]):
            assert got["name"] == want["AttachmentName"]
            entries = want.get("zip_entries")
            if entries:  # wrapped: the zip as it travelled, and the one file it wraps
                assert got["wrapped"]["sha256"] == want["decoded_sha256"]
                assert got["wrapped"]["size"] == want["decoded_bytes"]
                assert got["wrapped"]["entries"] == [list(e) for e in entries]
                assert got["size"] == entries[0][1]
            else:
                assert got["wrapped"] is None
                assert (got["sha256"], got["size"]) == (want["decoded_sha256"], want["decoded_bytes"])
            assert hashlib.sha256(got["file"].read()).hexdigest() == got["sha256"]
        if entry.get("signature_element_ns"):
            assert meta["signature_namespace"] == entry["signature_element_ns"][0]
    finally:
        for attachment in meta["attachments"]:
            attachment["file"].close()


@pytest.mark.parametrize("entry", _wellformed("status"), ids=lambda e: e["file"] if e else "no-samples")
def test_every_real_status_message_reads(entry):
    need("the field's edXML samples (../shared/interop/edxml-samples)", entry is not None)
    status = edxml.parse_status(_read(entry))
    assert edxml.kind(_read(entry)) == "status"
    assert status["status_code"] == entry["status_code"]
    assert status["from"]["organ_id"] == entry["from"]
    response = entry["response_for"]
    assert status["response_for"]["document_id"] == response["DocumentId"]
    assert status["response_for"]["organ_id"] == response["OrganId"]
    assert status["description"] == entry["description"]
    assert status["staff_info"]["staff"] == entry["staff"]["Staff"]


ILL_FORMED = [e for e in manifest() if not e.get("wellformed")] or [None]


@pytest.mark.parametrize("entry", ILL_FORMED, ids=lambda e: e["file"] if e else "no-samples")
def test_the_ill_formed_sdk_packages_are_refused_naming_line_and_column(entry):
    need("the field's edXML samples (../shared/interop/edxml-samples)", entry is not None)
    line = entry["parse_error"].split("line ")[1].split(",")[0]
    with pytest.raises(edxml.EdxmlError) as info:
        edxml.parse_document(_read(entry))
    assert info.value.status == 400
    assert f"(line {line}, column " in info.value.text()


def test_the_samples_cover_every_source_the_interop_readme_names():
    entries = manifest()
    need("the field's edXML samples (../shared/interop/edxml-samples)", bool(entries))
    sources = {e["file"].split("/", 1)[0] for e in entries}
    assert {"vdxp-sdk-2019", "vdxp-sdk-2022", "vdxp-received", "bkav-edoc", "thirdparty-built"} <= sources
    assert len(entries) == 27
