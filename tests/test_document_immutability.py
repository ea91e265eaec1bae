"""R6.6: once issued, a document never changes — tried through every route and view that reaches one.

The views are read from Pyramid's introspector: every view on a Document or Attachment,
every API route whose pattern holds a document id. Each is called with every unsafe
method, by the sender's clerk and leader (with a valid CSRF token on pages) and by the
sender's unit token, with a body that would change the subject. Afterwards the document's
metadata, attachments, recipients and state are exactly as they were.
"""

import re

from lienthong.core.resources.documents import Attachment, Document
from lienthong.core.services import audit, tokens

from .support.app import login, with_site
from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import SNV, VUNGTAU, Hub, actor, basic, pdf_file

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def snapshot(site, doc_id):
    doc = site["documents"][doc_id]
    return (
        repr(sorted(doc.meta.items())),
        doc.state,
        doc.recipients,
        doc.persons,
        doc.classification,
        [(a.name, a.sha256, a.size, a.mime_type) for a in doc.attachments.values()],
        doc.issued_by,
        doc.issued_at,
        doc.register_number,
    )


def urls_reaching_a_document(app, doc_id):
    urls = set()
    for item in app.registry.introspector.get_category("views"):
        view = item["introspectable"]
        if view["context"] is Document:
            urls.add(f"/documents/{doc_id}/{view['name']}".rstrip("/"))
        elif view["context"] is Attachment:
            urls.add(f"/documents/{doc_id}/attachments/quyet-dinh.pdf/{view['name']}".rstrip("/"))
    for item in app.registry.introspector.get_category("routes"):
        pattern = item["introspectable"]["pattern"]
        if pattern.startswith("/api/v1/documents/{"):
            url = re.sub(r"\{id\}|\{document\}|\{[a-z_]*id\}", doc_id, pattern, count=1)
            url = url.replace("{name}", "quyet-dinh.pdf").replace("{code}", VUNGTAU)
            urls.add(re.sub(r"\{[^}]+\}", "x", url))
    return sorted(urls)


def test_no_route_or_view_changes_an_issued_document(demo_factory):
    web = demo_factory()
    hub = Hub(web)

    def issue(site):
        from lienthong.core.services import documents as ds

        doc = ds.compose(
            site,
            hub.env,
            actor("vanthu.snv"),
            site["directory"][SNV],
            basic(),
            [("quyet-dinh.pdf", pdf_file(), "")],
        )
        ds.issue(site, hub.env, actor("vanthu.snv"), doc)
        return doc.id

    doc_id = hub.tx(issue)
    before = with_site(web.app, lambda site: snapshot(site, doc_id))
    secret = with_site(
        web.app, lambda site: tokens.create(site, audit.Actor.system("test"), SNV, "product")[1]
    )
    urls = urls_reaching_a_document(web.app, doc_id)
    assert any(u.startswith("/api/") for u in urls) and f"/documents/{doc_id}/edit" in urls
    change = {
        "subject": "ĐÃ SỬA",
        "doc_type": "CV",
        "recipients": [VUNGTAU],
        "content": "x",
        "action": "accept",
        "business_doc_type": 0,
    }
    answers = []
    for who in ("vanthu.snv", "lanhdao.snv"):
        web.reset()
        login(web, who)
        token = web.get("/profile").html.find("input", {"name": "csrf_token"})["value"]
        for url in (u for u in urls if not u.startswith("/api/")):
            for method in UNSAFE:
                res = (
                    getattr(web, method.lower())(url, dict(change, csrf_token=token), expect_errors=True)
                    if method != "DELETE"
                    else web.delete(url, expect_errors=True)
                )
                answers.append((who, method, url, res.status_int))
    web.reset()
    for url in (u for u in urls if u.startswith("/api/")):
        for method in UNSAFE:
            res = getattr(web, method.lower() + ("_json" if method != "DELETE" else ""))(
                url,
                *([change] if method != "DELETE" else []),
                headers={"Authorization": f"Bearer {secret}"},
                expect_errors=True,
            )
            answers.append(("token", method, url, res.status_int))
    assert answers and all(status >= 400 or status in (303, 302) for *_rest, status in answers), [
        a for a in answers if a[-1] < 300
    ]
    # the views were reached (not stopped by CSRF or routing): the rules themselves refused
    assert {status for *_rest, status in answers} >= {409, 405}
    assert with_site(web.app, lambda site: snapshot(site, doc_id)) == before
