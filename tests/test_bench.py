"""`lienthong bench` runs and writes its figures with their baselines (speed is not asserted here)."""
import json
import subprocess


def test_bench_writes_figures_and_ratios(tmp_path, venv_bin):
    out = tmp_path / "bench"
    result = subprocess.run([f"{venv_bin}/lienthong", "bench", "--seconds", "0.3", "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "latest.json").read_text())
    figures = report["per_second"]
    assert set(figures) == {"zodb_commit", "audit_append", "zodb_commit_4_writers", "audit_append_4_writers",
                            "waitress_hello", "http_healthz", "http_login_page", "http_directory_search",
                            "api_organizations_search"}
    assert all(value > 0 for value in figures.values())
    assert report["ratios"]["audit_append / zodb_commit"] == figures["audit_append"] / figures["zodb_commit"]
    assert report["machine"]["cores"] >= 1 and report["date"]
    assert len(list(out.glob("bench-*.json"))) == 1
