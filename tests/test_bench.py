"""`lienthong bench` runs and writes its figures with their baselines (speed is not asserted here)."""

import json
import subprocess

from lienthong.core.bench import documents as bench_documents


def test_bench_writes_figures_and_ratios(tmp_path, venv_bin):
    out = tmp_path / "bench"
    result = subprocess.run(
        [
            f"{venv_bin}/lienthong",
            "bench",
            "--seconds",
            "0.3",
            "--out",
            str(out),
            "--documents",
            "260",
            "--fanout",
            "40",
            "--edxml-mb",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "latest.json").read_text())
    figures = report["per_second"]
    assert set(figures) == {
        "zodb_commit",
        "audit_append",
        "zodb_commit_4_writers",
        "audit_append_4_writers",
        "waitress_hello",
        "http_healthz",
        "http_login_page",
        "http_directory_search",
        "api_organizations_search",
        "send_service",
        "zodb_send_graph",
        "http_send",
        "send_service_at_scale",
        "zodb_send_graph_at_scale",
        "send_service_read_each",
        "send_service_read_each_at_scale",
    }
    assert all(value > 0 for value in figures.values())
    assert report["ratios"]["audit_append / zodb_commit"] == figures["audit_append"] / figures["zodb_commit"]
    assert (
        report["ratios"]["send_service / zodb_send_graph"]
        == figures["send_service"] / figures["zodb_send_graph"]
    )
    assert report["ratios"]["http_send / waitress_hello"] == figures["http_send"] / figures["waitress_hello"]
    assert report["machine"]["cores"] >= 1 and report["date"]
    assert len(list(out.glob("bench-*.json"))) == 1

    docs = report["documents"]
    assert docs["http_send"]["via"].startswith("POST /api/v1/documents") and docs["http_send"]["sent"] > 0
    assert (
        docs["fanout"]["units"] == 40 and docs["fanout"]["deliveries"] == 40 and docs["fanout"]["runs"] == 3
    )
    built = docs["catalog_build"]
    assert (built["documents"], built["real_documents"], built["synthetic_documents"]) == (260, 200, 60)
    assert built["synthetic_records"] > 60 and built["database_bytes"] > 0
    inbox = docs["mailbox"]["inbox_first_page"]
    # the big unit's first page is the newest mail: the real documents, all resolved to deliveries
    assert inbox["rows"] == inbox["resolved"] == inbox["real_rows"] == 20 and inbox["total"] >= 200
    for text in bench_documents.SEARCHES:
        assert docs["mailbox"][f"search_{text.replace(' ', '_')}"]["total"] > 0
    assert set(docs["catalog_queries"]) >= {"inbox_first_page_big_unit", "search_quyet_dinh_all"}
    for key in ("edxml", "edxml_raw"):  # the field's zip-wrapped shape, and raw attachments
        edx = docs[key]
        assert edx["attachment_bytes"] == 512 * 1024 and edx["package_bytes"] > edx["attachment_bytes"]
        assert edx["runs"] == 3 and edx["peak_bytes"] > 0
    assert docs["edxml"]["package_bytes"] != docs["edxml_raw"]["package_bytes"]  # the zip's own bytes
    assert "zip-wrapped" in result.stdout and ", raw" in result.stdout
    assert set(report["targets"]) == set(bench_documents.TARGETS)
    assert all(isinstance(t["met"], bool) for t in report["targets"].values())
    assert "target fanout_ms < 500" in result.stdout and "total time" in result.stdout
