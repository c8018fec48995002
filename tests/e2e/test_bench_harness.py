"""The benchmark harness (bench/) runs end to end in its quick mode: the crypto ceiling and
the read benchmark with real servers and wrk, one short round each."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120


def test_quick_bench_writes_json_and_markdown_results(tmp_path: Path) -> None:
    if shutil.which("wrk") is None and os.geteuid() != 0:
        pytest.skip("wrk is missing and we are not root: run 'sudo apt-get install -y wrk' (scripts/bootstrap does as root)")
    argv = [sys.executable, "-m", "bench", "--quick", "--only", "2,4", "--rounds", "1", "--seconds", "1",
            "--out", str(tmp_path)]
    done = subprocess.run(argv, check=False, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    benchmarks = {b["id"]: b for b in json.loads((tmp_path / "latest.json").read_text())["benchmarks"]}
    assert sorted(benchmarks) == [2, 3, 4]  # 3 (ACME) is listed as not measured yet
    assert benchmarks[2]["raw"]["all_cores_per_s"][0] > 0
    ours = benchmarks[4]["raw"]["certkeeper"][0]
    assert ours["requests"] > 0 and ours["errors"] == 0 and ours["cpu_us_per_req"] > 0
    assert benchmarks[4]["targets"][0]["met"] in (True, False)
    markdown = (tmp_path / "latest.md").read_text()
    assert "## 4. Secret read throughput" in markdown and "not measured yet" in markdown
