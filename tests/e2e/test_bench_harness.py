"""The benchmark harness (bench/) runs end to end in its quick mode: the crypto ceiling, the
ACME latency benchmark (certkeeper, lego and certbot on one Pebble), the read benchmark
with real servers and wrk, and scheduled rotation by two `certkeeper worker` processes, one
short round each."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.pebble_plugin import pebble_or_skip

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300  # includes installing lego (apt) and certbot (its own venv) on a fresh machine


def test_quick_bench_writes_json_and_markdown_results(tmp_path: Path) -> None:
    missing = [c for c in ("wrk", "lego") if shutil.which(c) is None]
    if missing and os.geteuid() != 0:
        pytest.skip(f"{', '.join(missing)} missing and we are not root: run 'sudo apt-get install -y {' '.join(missing)}'")
    pebble_or_skip()
    argv = [sys.executable, "-m", "bench", "--quick", "--only", "2,3,4,6", "--rounds", "1", "--seconds", "1",
            "--out", str(tmp_path)]
    done = subprocess.run(argv, check=False, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    benchmarks = {b["id"]: b for b in json.loads((tmp_path / "latest.json").read_text())["benchmarks"]}
    assert sorted(benchmarks) == [2, 3, 4, 6]
    assert benchmarks[2]["raw"]["all_cores_per_s"][0] > 0
    acme = benchmarks[3]["raw"]["seconds"]
    assert sorted(acme) == ["certbot", "certkeeper", "lego"] and all(len(v) == 1 and v[0] > 0 for v in acme.values())
    assert len(benchmarks[3]["targets"]) == 3 and all(isinstance(t["met"], bool) for t in benchmarks[3]["targets"])
    ours = benchmarks[4]["raw"]["certkeeper"][0]
    assert ours["requests"] > 0 and ours["errors"] == 0 and ours["cpu_us_per_req"] > 0
    assert benchmarks[4]["targets"][0]["met"] in (True, False)
    for backend, rounds in benchmarks[6]["raw"].items():  # SQLite, and PostgreSQL when it answers
        assert [(r["succeeded"], r["timed_out"]) for r in rounds] == [(100, False)], backend
    markdown = (tmp_path / "latest.md").read_text()
    assert "## 3. ACME order latency" in markdown and "## 4. Secret read throughput" in markdown
