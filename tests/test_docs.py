"""The documents a user reads stay true: README's commands, the conformance matrix's tests."""

import os
import re

from .support.app import ROOT

# The rule IDs of ../shared/REQUIREMENTS.md (checked against it too when it is beside the repo).
RULE_IDS = [
    "R3.1",
    "R3.2",
    "R3.3",
    "R4",
    "R5.1",
    "R5.3",
    "R5.4",
    "R6.1",
    "R6.2",
    "R6.3",
    "R6.5",
    "R6.6",
    "R7.2",
    "R7.3",
    "R7.4",
    "R7.5",
    "R8.1",
    "R8.2",
    "R8.3",
    "R8.4",
    "R9.1",
    "R9.2a",
    "R9.2b",
    "R9.2c",
    "R10.1",
    "R10.2",
    "R10.3",
    "R10.4",
    "R10.5",
    "R10.6",
    "R10.7",
    "R10.9",
    "R10.10",
    "R11",
    "R12",
]


def read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def test_readme_opens_with_the_two_commands():
    first_block = read("README.md").split("```")[1]
    assert "make serve" in first_block and "make test" in first_block


def test_ci_runs_the_readme_test_command_with_everything_required():
    ci = read(".ci", "run")
    assert "LIENTHONG_REQUIRE_ALL=1" in ci and "make test" in ci


def test_conformance_has_one_row_per_rule():
    rows = re.findall(r"^\| (R[\d.]+[a-c]?) \|", read("docs", "conformance.md"), re.M)
    assert rows == RULE_IDS
    shared = os.path.join(ROOT, "..", "shared", "REQUIREMENTS.md")
    if os.path.exists(shared):
        with open(shared, encoding="utf-8") as f:
            assert re.findall(r"^- \*\*(R[\d.]+[a-c]?)\*\*", f.read(), re.M) == RULE_IDS


def test_every_test_the_conformance_matrix_names_exists():
    text = read("docs", "conformance.md")
    named = 0
    for row in re.findall(r"^\| R.*$", text, re.M):
        current_file = None
        for ref in re.findall(r"`([\w/]*test_\w+\.py)?(?:::(\w+))?`", row):
            filename, test = ref
            if filename:
                current_file = filename
                source = read("tests", filename)
            if test:
                assert current_file, f"{test} names no file"
                assert re.search(rf"^def {test}\(", source, re.M), f"{current_file}::{test} does not exist"
                named += 1
    assert named >= 20


def test_the_readmes_adapter_example_delivers_retries_and_refuses():
    """The VendorX adapter of README's "Writing a plugin" runs as printed, against a real endpoint."""
    import pytest

    from lienthong.core.transports import Adapter, OutboundMessage, PermanentError, TransportError

    from .support.endpoint import Endpoint

    block = next(b for b in read("README.md").split("```python")[1:] if "class VendorX" in b).split("```")[0]
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    adapter = namespace["lienthong_transports"]()[0]
    assert isinstance(adapter, Adapter) and adapter.name == "vendorx"
    assert adapter.check_settings({}) == ["url is required"]
    endpoint = Endpoint()
    endpoint.start()
    try:
        message = OutboundMessage(
            key="k1",
            kind="document",
            document_id="d1",
            recipient="000.00.12.H49",
            sender="000.00.02.H49",
            payload=b"<edXMLEnvelope/>",
            settings={"url": endpoint.url(), "token": "t"},
        )
        adapter.deliver(message, env=None)
        assert endpoint.requests[-1]["body"] == b"<edXMLEnvelope/>"
        assert endpoint.requests[-1]["headers"]["authorization"] == "Bearer t"
        endpoint.answers = ["409 Conflict", "503 Service Unavailable", "400 Bad Request"]
        adapter.deliver(message, env=None)  # already there: delivered
        with pytest.raises(TransportError) as retry:
            adapter.deliver(message, env=None)
        assert not retry.value.permanent
        with pytest.raises(PermanentError):
            adapter.deliver(message, env=None)
    finally:
        endpoint.stop()
