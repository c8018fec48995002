"""Results: `latest.json` (everything measured) and `latest.md` (the tables and targets)."""

from __future__ import annotations

import json
import math
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stats import summary


def spread(values: list[float], digits: int = 1) -> str:
    """'median (min–max)' of the rounds."""
    s = summary(values, digits)
    if math.isnan(s["median"]):
        return "n/a"
    fmt = f"{{:.{digits}f}}"
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}–{fmt.format(s['max'])})"


def per_round(values: list[float]) -> str:
    return ", ".join("n/a" if math.isnan(v) else f"{v:.2f}" for v in values)


def _revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], check=False, capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).parent.parent)
        return done.stdout.strip()

    # The results of earlier runs, kept by --only, are not a change to what is measured.
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench/results")
    dirty = " (with uncommitted changes)" if changed else ""
    return git("rev-parse", "--short", "HEAD") + dirty


def markdown(results: dict[str, Any]) -> str:
    lines = [f"# certkeeper benchmarks ({results['mode']} run)", "",
             f"Written {results['started']}, revision {results['revision']}, {results['cpus']} CPUs. "
             "Ratios are ours / the peer's in the same round (higher is better for throughput, "
             "lower for latency and time).", ""]
    for bench in results["benchmarks"]:
        lines += [f"## {bench['id']}. {bench['title']}", ""]
        if bench.get("measured"):
            lines += [f"Measured {bench['measured']} ({bench.get('seconds', '?')} s).", ""]
        if bench.get("table"):
            columns = list(bench["table"][0])
            lines.append("| " + " | ".join(columns) + " |")
            lines.append("|" + "---|" * len(columns))
            for row in bench["table"]:
                lines.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
            lines.append("")
        for target in bench.get("targets", []):
            mark = {True: "met", False: "**missed**", None: "not measured"}[target["met"]]
            lines.append(f"- target: {target['target']} — {target['measured']} — {mark}")
        for note in bench.get("notes", []):
            lines.append(f"- {note}")
        lines.append("")
    return "\n".join(lines)


def write(results: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (out / "latest.md").write_text(markdown(results))


def previous(out: Path, mode: str) -> list[dict[str, Any]]:
    """The benchmarks of the last run written to ``out`` in the same mode (none if it was another mode)."""
    path = out / "latest.json"
    if not path.exists():
        return []
    last = json.loads(path.read_text())
    if last.get("mode") != mode:
        return []
    for bench in last["benchmarks"]:
        bench.setdefault("measured", f"{last['started']}, revision {last['revision']}")
    return list(last["benchmarks"])


def header(mode: str, cpus: int) -> dict[str, Any]:
    return {"mode": mode, "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "revision": _revision(),
            "cpus": cpus, "benchmarks": []}
