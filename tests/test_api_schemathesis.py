"""Schemathesis against the live API (issue #5): no server error and no answer outside the OpenAPI document.

The application runs on the demo site, served by waitress in a thread on a free port. A
unit clerk's bearer token (vanthu.stttt) calls every operation of /api/v1/openapi.json
with generated requests: schema-conforming ones (half of them on real resources: a document
sent to the clerk's unit, its attachment, the unit itself; send bodies with a real recipient)
and a few non-conforming ones.
Each answer must pass schemathesis' ``not_a_server_error``, ``status_code_conformance``
and ``response_schema_conformance`` checks.

Bounded and deterministic: ``EXAMPLES`` + ``NEGATIVE`` examples per operation, Hypothesis
derandomized, no shrinking, no example database. Left out: ``DELETE /api/v1/auth/token``,
which would end the token the run uses.
"""

import threading
import time

import pytest

from lienthong.core.services import audit, documents as ds

from .support.app import with_site
from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import PDF, SNV, STTTT, VUNGTAU, basic

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = 25  # schema-conforming requests per operation
NEGATIVE = 8  # requests that break the schema, per operation
CLERK = "vanthu.stttt"
EXCLUDED = {("DELETE", "/api/v1/auth/token")}  # would revoke the run's own token


def _real_send(case):
    """A generated send body made sendable: a real recipient, no random units, people or files."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("metadata"), dict):  # multipart
        body.pop("file", None)
        body = body["metadata"]
    if isinstance(body, dict):
        for name in ("unit", "groups", "persons", "attachments", "business_doc_type", "business_document_id"):
            body.pop(name, None)
        body["recipients"] = [SNV]
    return case


#: operations whose generated bodies are also sent made valid against the demo site's data
REAL_BODIES = {("POST", "/api/v1/documents"): _real_send}


def _serve(app):
    import logging

    import waitress

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=2)

    def run():
        try:
            server.run()
        except OSError:  # the socket closed under the loop at the end: done, not an error
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return server, thread


def _seed(site, env):
    """A document from SNV to the clerk's unit (with one attachment), and the clerk's token."""
    import io

    from lienthong.core.services import tokens

    sender = audit.Actor(login="vanthu.snv", client="127.0.0.1")
    document = ds.send(
        site,
        env,
        sender,
        site["directory"][SNV],
        basic(recipients=[STTTT, VUNGTAU]),
        [("quyet-dinh.pdf", io.BytesIO(PDF), "Quyết định")],
    )
    user = site["users"][CLERK]
    _token, secret = tokens.create(
        site,
        audit.Actor.system("schemathesis"),
        None,
        "schemathesis",
        kind="login",
        login=CLERK,
        epoch=user.session_epoch,
        ttl=3600,
    )
    return document.id, secret


def _fuzz(base, spec, headers, real=None, excluded=(), real_bodies=None, min_operations=1):
    """Every operation of the OpenAPI document at ``spec``: (operations, requests, statuses, failures)."""
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

    real, real_bodies = real or {}, real_bodies or {}
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    figures = {"operations": 0, "examples": 0}
    statuses = {}
    failures = []
    schema = schemathesis.openapi.from_url(f"{base}{spec}")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= min_operations
    for operation in operations:
        if (operation.method.upper(), operation.path) in excluded:
            continue
        figures["operations"] += 1
        own = {k: v for k, v in real.items() if "{" + k + "}" in operation.path}
        positive = operation.as_strategy(GenerationMode.POSITIVE)
        if own:
            positive = st.one_of(
                positive, operation.as_strategy(GenerationMode.POSITIVE, path_parameters=own)
            )
        real_body = real_bodies.get((operation.method.upper(), operation.path))
        if real_body is not None:
            positive = st.one_of(positive, operation.as_strategy(GenerationMode.POSITIVE).map(real_body))
        for strategy, count in (
            (positive, EXAMPLES),
            (operation.as_strategy(GenerationMode.NEGATIVE), NEGATIVE),
        ):

            @settings(
                max_examples=count,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case):
                figures["examples"] += 1
                response = case.call_and_validate(base_url=base, headers=headers, checks=checks, timeout=30)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (collected, reported below)
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return figures, statuses, failures


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(demo_factory):
    from lienthong.core.services.env import get_env

    web = demo_factory()
    document_id, secret = with_site(web.app, lambda site: _seed(site, get_env(web.app.registry)))
    server, thread = _serve(web.app)
    base = f"http://127.0.0.1:{server.effective_port}"
    real = {"id": document_id, "name": "quyet-dinh.pdf", "code": STTTT, "login": "chuyenvien.stttt"}
    started = time.monotonic()
    try:
        figures, statuses, failures = _fuzz(
            base,
            "/api/v1/openapi.json",
            {"Authorization": f"Bearer {secret}"},
            real,
            EXCLUDED,
            REAL_BODIES,
            min_operations=30,
        )
    finally:
        server.close()
        thread.join(timeout=5)
    duration = time.monotonic() - started
    print(
        f"\nschemathesis: {figures['operations']} operations, {figures['examples']} requests, {duration:.1f} s; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    assert not failures, "\n\n".join(failures)
    assert figures["examples"] >= figures["operations"] * (EXAMPLES // 2)


def test_schemathesis_on_the_edxml_api_finds_no_server_error_and_no_undocumented_answer(demo_factory):
    """The products' API (/edxml/v1, its own OpenAPI document) with a unit's token: generated
    packages and statuses (random XML, wrong types, missing bodies), real and random DocumentIds."""
    from lienthong.core.services import tokens
    from lienthong.core.services.env import get_env

    from .test_inbound import make_package

    web = demo_factory()
    env = get_env(web.app.registry)
    document_id, _secret = with_site(web.app, lambda site: _seed(site, env))
    edxml_id = with_site(web.app, lambda site: site["documents"][document_id].document_id)
    _token, secret = with_site(
        web.app, lambda site: tokens.create(site, audit.Actor.system("schemathesis"), STTTT, "schemathesis")
    )

    def real_package(case):  # a real package of the token's unit: the path that stores (201)
        case.body = make_package(sender=STTTT, to=(SNV,))[0]
        case.media_type = "application/xml"
        return case

    server, thread = _serve(web.app)
    base = f"http://127.0.0.1:{server.effective_port}"
    started = time.monotonic()
    try:
        figures, statuses, failures = _fuzz(
            base,
            "/edxml/v1/openapi.json",
            {"Authorization": f"Bearer {secret}"},
            {"document_id": edxml_id},
            real_bodies={("POST", "/edxml/v1/packages"): real_package},
            min_operations=6,
        )
    finally:
        server.close()
        thread.join(timeout=5)
    print(
        f"\nschemathesis /edxml/v1: {figures['operations']} operations, {figures['examples']} requests, "
        f"{time.monotonic() - started:.1f} s; statuses {dict(sorted(statuses.items()))}"
    )
    assert not failures, "\n\n".join(failures)
    assert figures["examples"] >= figures["operations"] * (EXAMPLES // 2)
