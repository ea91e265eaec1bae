"""``lienthong edxml inspect`` and /manage/edxml: what the hub reads in a package, storing nothing.

Packages are built here: one with the codec's own builder (``edxml.build_document``) and
one written by hand in the field's shape (root ``edXML``, a zip-wrapped attachment in
``AttachmentEncoded``, a placeholder Signature, "null" trace hops, codes the directory
does not know), so the tests do not depend on how the builder writes. Real packages from
``../shared/interop/edxml-samples`` are read in place when they are there (never copied).
"""

import base64
import hashlib
import io
import json
import os
import uuid
import zipfile

import pytest

from lienthong.core import edxml
from lienthong.core.services import edxml_inspect

from .support import cli
from .support.app import ROOT, csrf_of, file_uri, login, need, with_site
from .support.demo import build_demo_snapshot, copy_snapshot, demo_factory, web  # noqa: F401  (fixtures)
from .support.exchange import NOT_CONNECTED, PDF, SNV, STTTT, Hub

SAMPLES = os.path.join(os.path.dirname(ROOT), "shared", "interop", "edxml-samples")
NS = edxml.NS
DS = "http://www.w3.org/2000/09/xmldsig#"
PLACEHOLDER = (
    "<Signature><SignedInfo>placeholder</SignedInfo><SignatureValue>MA==</SignatureValue></Signature>"
)
BOGUS_DSIG = f'<ds:Signature xmlns:ds="{DS}"><ds:SignedInfo/><ds:SignatureValue>MA==</ds:SignatureValue></ds:Signature>'
INNER = PDF + b"% inside the zip\n"


def built_package(to=(STTTT,)):
    """A package from the codec's builder: known sender and recipients, one raw PDF."""
    meta = {
        "document_id": uuid.uuid4().hex,
        "from": {"organ_id": SNV, "organ_name": "Sở Nội vụ"},
        "to": [{"organ_id": code, "organ_name": ""} for code in to],
        "code_number": "15",
        "code_notation": "QĐ-SNV",
        "promulgation_date": "2026-03-02",
        "promulgation_place": "Bà Rịa – Vũng Tàu",
        "doc_type": "QD",
        "doc_type_name": "Quyết định",
        "subject": "Kế hoạch chuyển đổi số năm 2026",
        "signer_name": "Hoàng Đức Thắng",
        "signer_position": "Phó Giám đốc",
        "trace": [{"organ_id": SNV, "timestamp": "2026-03-02T09:00:00+07:00"}],
    }
    files = [
        ({"name": "quyet-dinh.pdf", "content_type": "application/pdf", "description": ""}, io.BytesIO(PDF))
    ]
    return edxml.build_document(meta, files), meta["document_id"]


def zipped(name, data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buffer.getvalue()


def field_package(signature=PLACEHOLDER, sender=SNV, document_id="000.00.02.H49,2026/03/02,15/QĐ-SNV"):
    """A replacement in the shape the field sends, written by hand."""
    wrapper = zipped("3f1c2a7e-0b1d-4c55-9d7e-2b8f0c1d2e3f.pdf", INNER)
    to = "".join(
        f"<edXML:To><edXML:OrganId>{code}</edXML:OrganId><edXML:OrganName>{name}</edXML:OrganName></edXML:To>"
        for code, name in ((STTTT, "Sở TTTT"), (NOT_CONNECTED, "Chưa kết nối"), ("28.22.H17", "Tỉnh khác"))
    )
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{NS}">
  <edXML:edXMLEnvelope xmlns:edXML="{NS}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>{sender}</edXML:OrganId><edXML:OrganName>Sở Nội vụ</edXML:OrganName></edXML:From>
        {to}
        <edXML:DocumentId>{document_id}</edXML:DocumentId>
        <edXML:Code><edXML:CodeNumber>15</edXML:CodeNumber><edXML:CodeNotation>QĐ-SNV</edXML:CodeNotation></edXML:Code>
        <edXML:PromulgationInfo><edXML:Place>Bà Rịa – Vũng Tàu</edXML:Place>
          <edXML:PromulgationDate>2026/03/02</edXML:PromulgationDate></edXML:PromulgationInfo>
        <edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeDetail>0</edXML:TypeDetail>
          <edXML:TypeName>Công văn</edXML:TypeName></edXML:DocumentType>
        <edXML:Subject>Thay thế kế hoạch chuyển đổi số</edXML:Subject>
        <edXML:Content>Nội dung thay thế</edXML:Content>
        <edXML:SignerInfo><edXML:Competence>KT. GIÁM ĐỐC</edXML:Competence>
          <edXML:Position>Phó Giám đốc</edXML:Position><edXML:FullName>Hoàng Đức Thắng</edXML:FullName></edXML:SignerInfo>
        <edXML:OtherInfo><edXML:Priority>1</edXML:Priority><edXML:PageAmount>3</edXML:PageAmount>
          <edXML:Appendixes><edXML:Appendix>Phụ lục I</edXML:Appendix></edXML:Appendixes></edXML:OtherInfo>
        <edXML:SteeringType>1</edXML:SteeringType>
        <edXML:ToPlaces><edXML:Place>Như trên</edXML:Place><edXML:Place>Lưu: VT</edXML:Place></edXML:ToPlaces>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader><edXML:OrganId>{sender}</edXML:OrganId>
          <edXML:Timestamp>2026/03/02 09:00:00</edXML:Timestamp></edXML:TraceHeader>
        <edXML:TraceHeader><edXML:OrganId>null</edXML:OrganId>
          <edXML:Timestamp>2026/03/02 09:00:01</edXML:Timestamp></edXML:TraceHeader>
        <edXML:TraceHeader><edXML:OrganId>vxp.saas.03</edXML:OrganId>
          <edXML:Timestamp>2026/03/02 09:00:02</edXML:Timestamp></edXML:TraceHeader>
        <edXML:Bussiness>
          <edXML:DocumentId>{document_id}</edXML:DocumentId>
          <edXML:BussinessDocType>3</edXML:BussinessDocType>
          <edXML:BussinessDocReason>Văn bản thay thế</edXML:BussinessDocReason>
          <edXML:Paper>0</edXML:Paper>
          <edXML:ReplacementInfoList><edXML:ReplacementInfo><edXML:DocumentId>{document_id}</edXML:DocumentId>
            <edXML:OrganIdList><edXML:OrganId>{STTTT}</edXML:OrganId><edXML:OrganId>000.00.00.H41</edXML:OrganId>
            </edXML:OrganIdList></edXML:ReplacementInfo></edXML:ReplacementInfoList>
        </edXML:Bussiness>
      </edXML:TraceHeaderList>
      {signature}
    </edXML:edXMLHeader>
    <edXML:edXMLBody><edXML:edXMLManifest version="1.0"><edXML:Reference>
      <edXML:ContentId>cid:1</edXML:ContentId><edXML:ContentType>application/pdf</edXML:ContentType>
      <edXML:AttachmentName>quyet-dinh.pdf</edXML:AttachmentName></edXML:Reference></edXML:edXMLManifest></edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded><Attachment><ContentId>cid:1</ContentId><AttachmentName>quyet-dinh.pdf</AttachmentName>
    <ContentType>application/pdf</ContentType>
    <ContentTransferEncoded>{base64.b64encode(wrapper).decode()}</ContentTransferEncoded></Attachment></AttachmentEncoded>
</edXML>
"""
    return xml.encode("utf-8"), wrapper


def counts(hub_or_web):
    app = getattr(hub_or_web, "app", hub_or_web)
    return with_site(app, lambda site: (len(site["documents"]), len(site["audit"])))


def inspect(hub, data, **kwargs):
    return hub.tx(lambda site: edxml_inspect.inspect(site, hub.env, data, **kwargs))


@pytest.fixture
def hub(demo_factory):
    return Hub(demo_factory())


def warnings_of(report):
    return [(w["field"], w["message"]) for w in report["warnings"]]


# -- the service ---------------------------------------------------------------------------------
def test_a_built_package_from_known_units(hub):
    package, document_id = built_package()
    before = counts(hub)
    report = inspect(hub, package)
    assert report["readable"] is True and report["kind"] == "document"
    assert report["package"] == {"size": len(package), "sha256": hashlib.sha256(package).hexdigest()}
    assert report["document_id"] == document_id and report["subject"] == "Kế hoạch chuyển đổi số năm 2026"
    assert report["code_number"] == "15" and report["promulgation_date"] == "2026-03-02"
    assert report["sender"]["code"] == SNV and report["sender"]["known"] is True
    [recipient] = report["recipients"]
    assert (recipient["code"], recipient["known"], recipient["connected"]) == (STTTT, True, True)
    assert recipient["directory_name"] == "Sở Thông tin và Truyền thông"
    assert report["business"]["type"] == 0 and report["business"]["label"] == "new"
    [attachment] = report["attachments"]
    assert attachment["name"] == "quyet-dinh.pdf" and attachment["content_type"] == "application/pdf"
    assert attachment["size"] == len(PDF) and attachment["sha256"] == hashlib.sha256(PDF).hexdigest()
    # the builder may send it raw or zip-wrapped as the field does: the report says which
    assert attachment["wrapped"] is None or [size for _n, size in attachment["wrapped"]["entries"]] == [
        len(PDF)
    ]
    assert report["trace"] == [
        {"organ_id": SNV, "timestamp": "2026-03-02T09:00:00+07:00", "known": True, "unnamed": False}
    ]
    assert report["signature"]["verdict"] == "none"
    assert report["warnings"] == []
    json.dumps(report)  # JSON-able as it is
    assert counts(hub) == before  # no document, no audit entry


def test_the_field_shape_unwrapped_with_every_unknown_code_said(hub):
    package, wrapper = field_package()
    before = counts(hub)
    report = inspect(hub, io.BytesIO(package))
    assert report["readable"] is True
    [attachment] = report["attachments"]
    assert attachment["name"] == "quyet-dinh.pdf"
    assert attachment["content_type"] == "application/pdf" and attachment["size"] == len(INNER)
    assert attachment["sha256"] == hashlib.sha256(INNER).hexdigest()
    assert attachment["wrapped"]["size"] == len(wrapper)
    assert attachment["wrapped"]["sha256"] == hashlib.sha256(wrapper).hexdigest()
    assert attachment["wrapped"]["entries"] == [["3f1c2a7e-0b1d-4c55-9d7e-2b8f0c1d2e3f.pdf", len(INNER)]]
    by_code = {r["code"]: r for r in report["recipients"]}
    assert (by_code[STTTT]["known"], by_code[STTTT]["connected"]) == (True, True)
    assert (by_code[NOT_CONNECTED]["known"], by_code[NOT_CONNECTED]["connected"]) == (True, False)
    assert (by_code["28.22.H17"]["known"], by_code["28.22.H17"]["connected"]) == (False, False)
    assert report["business"]["type"] == 3 and report["business"]["label"] == "replacement"
    assert report["business"]["reason"] == "Văn bản thay thế"
    assert [(h["organ_id"], h["known"], h["unnamed"]) for h in report["trace"]] == [
        (SNV, True, False),
        ("null", False, True),
        ("vxp.saas.03", False, False),
    ]
    assert report["signature"] == {
        "verdict": "unverifiable",
        "reason": "the Signature element is a placeholder, not XML-DSig",
        "reports": [],
    }
    found = warnings_of(report)
    assert ("MessageHeader/To/OrganId", "Recipient 28.22.H17 is not in the hub's directory.") in found
    assert ("MessageHeader/To/OrganId", f"Recipient {NOT_CONNECTED} is not connected to the hub.") in found
    assert any("Trace hop 2 is an unnamed hop" in m for _f, m in found)
    assert any("Trace hop 3 (vxp.saas.03) is not in the hub's directory." == m for _f, m in found)
    replaced = [m for f, m in found if f.endswith("ReplacementInfo/OrganIdList/OrganId")]
    assert replaced == [
        "Unit 000.00.00.H41 named in the replacement information is not in the hub's directory."
    ]
    assert not any(SNV in m or f"Recipient {STTTT}" in m for _f, m in found)  # known codes are not warned of
    assert len(found) == len(set(found))  # each said once
    assert counts(hub) == before


def test_an_unknown_sender_is_a_warning_not_a_refusal(hub):
    package, _wrapper = field_package(sender="vxp.saas.03")
    report = inspect(hub, package)
    assert report["readable"] and report["sender"] == {
        "code": "vxp.saas.03",
        "name": "Sở Nội vụ",
        "known": False,
        "directory_name": None,
        "organ": report["sender"]["organ"],
    }
    assert ("MessageHeader/From/OrganId", "Sender vxp.saas.03 is not in the hub's directory.") in warnings_of(
        report
    )


def test_an_xml_dsig_signature_is_given_to_the_verifier(hub):
    package, _wrapper = field_package(signature=BOGUS_DSIG)
    report = inspect(hub, package)
    assert report["readable"]
    signature = report["signature"]
    # the XML-DSig plugin is enabled by default: its report's badge is the verdict
    assert signature["verdict"] == "invalid" and signature["reports"][0]["format"] == "xmldsig"
    assert signature["reports"][0]["badge"] == "invalid"


def test_without_a_verifier_an_xml_dsig_signature_is_unverifiable(demo_factory):
    hub = Hub(demo_factory(**{"lienthong.plugins.disabled": "signing_xmldsig"}))
    package, _wrapper = field_package(signature=BOGUS_DSIG)
    report = inspect(hub, package)
    assert report["signature"] == {
        "verdict": "unverifiable",
        "reason": "no XML signature verifier is enabled",
        "reports": [],
    }


@pytest.mark.parametrize(
    "data,reason,field",
    [
        (b"this is not XML", "not well-formed XML", None),
        (b"", "empty", None),
        (b"<a/>", "not an edXML package", None),
    ],
)
def test_a_refused_package_says_why(hub, data, reason, field):
    report = inspect(hub, data)
    assert report["readable"] is False
    assert reason in report["reason"] and report["field"] == field
    json.dumps(report)


def test_an_oversized_package_is_refused_before_parsing(demo_factory):
    hub = Hub(demo_factory(**{"lienthong.edxml.max_bytes": "2000"}))
    package, _ = built_package()
    report = inspect(hub, package)
    assert report["readable"] is False and report["field"] == "body"
    assert "more than the limit of 2.0 KB" in report["reason"]  # 2000 bytes, in the limits' binary units


def test_a_status_message(hub):
    package = edxml.build_status(
        {
            "response_for": {
                "organ_id": SNV,
                "code": "15/QĐ-SNV",
                "promulgation_date": "2026-03-02",
                "document_id": "abc",
            },
            "from": {"organ_id": STTTT, "organ_name": "Sở TTTT"},
            "status_code": "03",
            "description": "Đã vào sổ",
            "timestamp": "2026-03-03T08:00:00+07:00",
            "staff_info": {"staff": "vanthu.stttt", "department": "", "mobile": "", "email": ""},
        }
    )
    report = inspect(hub, package)
    assert report["readable"] and report["kind"] == "status"
    assert report["status_code"] == "03" and report["response_for"]["document_id"] == "abc"
    assert report["sender"]["code"] == STTTT and report["sender"]["known"]
    assert report["signature"]["verdict"] == "none" and report["warnings"] == []


def test_the_report_translates_when_asked(hub):
    from pyramid.i18n import make_localizer
    from pyramid.path import AssetResolver

    from lienthong.core.i18n import translate_message

    localizer = make_localizer("vi", [AssetResolver().resolve("lienthong.skins:locale").abspath()])
    report = inspect(hub, b"no", translate=lambda m: translate_message(localizer, m))
    assert "cú pháp XML" in report["reason"]
    package, _wrapper = field_package()
    report = inspect(hub, package, translate=lambda m: translate_message(localizer, m))
    assert "không có trong danh bạ" in " ".join(m for _f, m in warnings_of(report))


# -- real packages of the field (read in place, never copied) -----------------------------------
def sample(path):
    full = os.path.join(SAMPLES, path)
    need(f"the field's edXML samples ({SAMPLES})", os.path.isfile(full))
    return full


def test_a_real_replacement_from_the_axis_sdk(hub):
    path = sample("vdxp-sdk-2022/edoc_replacement.edxml")
    with open(os.path.join(SAMPLES, "manifest.json"), encoding="utf-8") as f:
        expected = next(e for e in json.load(f) if e["file"] == "vdxp-sdk-2022/edoc_replacement.edxml")
    with open(path, "rb") as stream:
        report = inspect(hub, stream)
    assert report["readable"] and report["document_id"] == expected["document_id"]
    assert report["sender"] == dict(report["sender"], code=expected["from"], known=False)
    assert [r["code"] for r in report["recipients"]] == expected["to"]
    assert report["business"]["type"] == int(expected["bussiness_doc_type"]) == 3
    [attachment] = report["attachments"]
    [listed] = expected["attachments"]
    assert attachment["wrapped"]["sha256"] == listed["decoded_sha256"]
    assert attachment["wrapped"]["entries"] == listed["zip_entries"]
    assert report["signature"]["verdict"] == "unverifiable"
    assert any(w["field"] == "MessageHeader/From/OrganId" for w in report["warnings"])


# -- the command ---------------------------------------------------------------------------------
@pytest.fixture
def ini(tmp_path, tmp_path_factory):
    """An ini on a copy of the demo site (no server: inspect reads the database directly)."""
    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    data = tmp_path / "var"
    data.mkdir()
    copy_snapshot(snapshot, str(data))
    return cli.write_ini(tmp_path / "hub.ini", file_uri(data), lienthong__worker__in_process="false")


def test_cli_json_of_a_readable_package(ini, tmp_path):
    package, wrapper = field_package()
    path = tmp_path / "goi.edxml"
    path.write_bytes(package)
    done = cli.run(["edxml", "inspect", "--json", str(path)], ini)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["readable"] is True and report["kind"] == "document"
    assert report["sender"]["code"] == SNV and report["sender"]["known"] is True
    assert report["document_id"] == "000.00.02.H49,2026/03/02,15/QĐ-SNV"
    assert report["business"] == dict(report["business"], type=3, label="replacement")
    assert report["attachments"][0]["wrapped"]["sha256"] == hashlib.sha256(wrapper).hexdigest()
    assert report["signature"]["verdict"] == "unverifiable"
    assert any("28.22.H17" in w["message"] for w in report["warnings"])


def test_cli_human_output_lists_everything(ini, tmp_path):
    package, wrapper = field_package()
    path = tmp_path / "goi.edxml"
    path.write_bytes(package)
    done = cli.run(["edxml", "inspect", str(path)], ini)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "readable" in out and f"sender: {SNV}" in out
    assert "28.22.H17" in out and "000.00.00.H41" in out  # a recipient; a replaced unit
    assert "business type: 3 replacement" in out and "DocumentId: 000.00.02.H49,2026/03/02,15/QĐ-SNV" in out
    assert "Subject" in out and "Thay thế kế hoạch chuyển đổi số" in out and "SignerInfo/FullName" in out
    assert hashlib.sha256(INNER).hexdigest() in out and hashlib.sha256(wrapper).hexdigest() in out
    assert "unnamed hop" in out and "vxp.saas.03" in out
    assert "signature: unverifiable — the Signature element is a placeholder, not XML-DSig" in out
    assert out.count("warning ") >= 4


def test_cli_refused_package_exits_1_with_the_reason(ini, tmp_path):
    path = tmp_path / "broken.xml"
    path.write_bytes(b"<edXML xmlns='%s'><unclosed></edXML>" % NS.encode())
    line = cli.assert_clean_failure(
        cli.run(["edxml", "inspect", str(path)], ini), "is refused", "not well-formed"
    )
    assert str(path) in line
    done = cli.run(["edxml", "inspect", "--json", str(path)], ini)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["readable"] is False and "not well-formed" in report["reason"] and "field" in report


# -- the page ------------------------------------------------------------------------------------
def upload(web, data, filename="goi.edxml", status=200):
    form = web.get("/manage/edxml")
    return web.post(
        "/manage/edxml",
        {"csrf_token": csrf_of(form)},
        upload_files=[("package", filename, data)] if data is not None else [],
        status=status,
    )


def test_the_page_shows_the_verdict_in_vietnamese(web):
    login(web, "admin")
    assert web.get("/manage").html.select_one("#link-edxml")["href"].endswith("/manage/edxml")
    form = web.get("/manage/edxml")
    assert form.html.select_one("#inspect-form input[name=csrf_token]") is not None
    before = counts(web)
    package, wrapper = field_package()
    page = upload(web, package)
    assert "Kiểm tra gói tin edXML" in page.text  # the page title
    verdict = page.html.select_one("#verdict")
    assert SNV in verdict.select_one("#v-sender").text
    assert "000.00.02.H49,2026/03/02,15/QĐ-SNV" in verdict.select_one("#v-document-id").text
    assert "Thay thế" in verdict.select_one("#v-business").text
    assert "placeholder" not in verdict.select_one("#v-signature").text  # the reason is in Vietnamese
    assert "Chữ ký không kiểm tra được" in verdict.select_one("#v-signature").text
    rows = {r.select("td")[0].text: r for r in page.html.select("#recipients tbody tr")}
    assert set(rows) == {STTTT, NOT_CONNECTED, "28.22.H17"}
    assert rows["28.22.H17"].select(".state-revoked")
    fields = {r.select("td")[0].text: r.select("td")[1].text for r in page.html.select("#fields tbody tr")}
    assert fields["Subject"] == "Thay thế kế hoạch chuyển đổi số" and fields["Code/CodeNumber"] == "15"
    [attachment] = page.html.select("#attachments tbody tr")
    assert hashlib.sha256(INNER).hexdigest() in attachment.text
    assert hashlib.sha256(wrapper).hexdigest() in attachment.text and "application/pdf" in attachment.text
    trace = page.html.select("#trace tbody tr")
    assert len(trace) == 3 and "null" in trace[1].text
    warnings = page.html.select("#warnings tbody tr")
    assert any("28.22.H17" in w.text and "danh bạ" in w.text for w in warnings)
    assert counts(web) == before  # nothing stored, not even an audit entry


@pytest.mark.parametrize(
    "data,status,expected",
    [
        (None, 400, "Chọn tệp edXML"),
        (b"", 400, "Chọn tệp edXML"),
        (b"%PDF-1.4 not a package", 400, "không đúng cú pháp XML"),
    ],
)
def test_bad_inputs_show_a_vietnamese_message(web, data, status, expected):
    login(web, "admin")
    page = upload(web, data, status=status)
    assert expected in page.text and "Traceback" not in page.text
    if data:
        assert page.html.select_one("#refusal") is not None


def test_an_oversized_upload_is_refused_on_the_page(demo_factory):
    web = demo_factory(**{"lienthong.edxml.max_bytes": "2000"})
    login(web, "admin")
    package, _wrapper = field_package()
    page = upload(web, package, status=413)
    assert "vượt quá mức tối đa" in page.html.select_one("#refusal").text


def test_only_the_operator_may_open_it(web):
    package, _wrapper = field_package()
    for who in ("quantri.stttt", "vanthu.snv", "kiemtoan"):
        login(web, who)
        web.get("/manage/edxml", status=403)
        token = csrf_of(web.get("/"))
        web.post(
            "/manage/edxml",
            {"csrf_token": token},
            upload_files=[("package", "goi.edxml", package)],
            status=403,
        )
        web.post("/logout", {"csrf_token": token}, status=303)
        web.reset()


def test_a_post_without_the_csrf_token_is_refused(web):
    login(web, "admin")
    package, _wrapper = field_package()
    web.post("/manage/edxml", upload_files=[("package", "goi.edxml", package)], status=400)
