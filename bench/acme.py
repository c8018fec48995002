"""Benchmark 3: ACME order latency. A public certificate for two names over DNS-01 on one Pebble
(`PEBBLE_VA_NOSLEEP=1`), three clients in interleaved rounds:

- certkeeper: `POST /api/v2/secrets` (public_cert, CIS DNS provider) to the secret's state
  Active, polled on its metadata; the TXT records go through the CIS-compatible test server,
  which mirrors them into pebble-challtestsrv, and the propagation check asks challtestsrv.
- lego (Debian): `lego --dns exec run`, its hook writing the TXT records into challtestsrv.
- certbot (PyPI, own venv): `certbot certonly --manual` with auth and cleanup hooks doing the same.

Every client keeps its ACME account across rounds (a warm-up order registers it) and makes an
EC P-256 key per order; each order uses names no other order used.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import certkeeper, peers
from bench.client import Client
from bench.options import Options
from bench.report import per_round, spread
from bench.stats import ratios, summary
from fixtures.cis_server import run_cis_server
from fixtures.iam_server import run_iam_server
from fixtures.pebble import Pebble, run_pebble

TITLE = "ACME order latency (2 names, DNS-01, vs lego and certbot on Pebble)"
ZONE = "example.test"
ORDER_TIMEOUT_S = 120.0  # Pebble without its validation sleep answers in well under a second
POLL_INTERVAL_S = 0.01  # how often the benchmark asks certkeeper whether the order is done
TARGETS = {"lego": 0.25, "certbot": 0.1}  # ours / theirs, median
TARGET_SECONDS = 0.25

HOOK = """#!/bin/sh
# lego exec provider: hook present|cleanup FQDN VALUE
case "$1" in
  present) exec curl -sf -X POST -d "{{\\"host\\":\\"$2\\",\\"value\\":\\"$3\\"}}" {url}/set-txt >/dev/null ;;
  cleanup) exec curl -sf -X POST -d "{{\\"host\\":\\"$2\\"}}" {url}/clear-txt >/dev/null ;;
esac
"""
CERTBOT_AUTH = """#!/bin/sh
exec curl -sf -X POST -d "{{\\"host\\":\\"_acme-challenge.$CERTBOT_DOMAIN.\\",\\"value\\":\\"$CERTBOT_VALIDATION\\"}}" \\
  {url}/set-txt >/dev/null
"""
CERTBOT_CLEANUP = """#!/bin/sh
exec curl -sf -X POST -d "{{\\"host\\":\\"_acme-challenge.$CERTBOT_DOMAIN.\\"}}" {url}/clear-txt >/dev/null
"""


def names(client: str, n: int) -> tuple[str, str]:
    """Two fresh names for order n of a client: an apex and its www."""
    apex = f"{client}{n}.{ZONE}"
    return apex, f"www.{apex}"


def _script(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


class Certkeeper:
    """`certkeeper serve` (background workers on, as in production) with a CA and a CIS configuration."""

    name = "certkeeper"

    def __init__(self, stack: ExitStack, work: Path, pebble: Pebble) -> None:
        cis = stack.enter_context(run_cis_server([ZONE], challtestsrv_url=pebble.challtestsrv_url))
        iam = stack.enter_context(run_iam_server(cis.state))
        data_dir = work / "certkeeper" / "data"
        data_dir.parent.mkdir(parents=True)
        self.server = stack.enter_context(certkeeper.server("acme-certkeeper", data_dir, workers=2))
        self.client = Client(self.server.base, certkeeper.admin_token(data_dir))
        stack.callback(self.client.close)
        self.client.post("/api/v2/configurations", pebble.ca_configuration("pebble"))
        self.client.post("/api/v2/configurations", cis.dns_configuration(iam.url, [pebble.dns_resolver], "cis"))

    def order(self, n: int) -> float:
        apex, www = names("ck", n)
        started = time.perf_counter()
        secret = self.client.post("/api/v2/secrets", {
            "secret_type": "public_cert", "name": apex.replace(".", "-"), "common_name": apex, "alt_names": [www],
            "key_algorithm": "ECDSA256", "ca": "pebble", "dns": "cis"})
        deadline = time.monotonic() + ORDER_TIMEOUT_S
        while True:
            meta = self.client.get(f"/api/v2/secrets/{secret['id']}/metadata")
            if meta["state"] == 1:
                return time.perf_counter() - started
            if meta["state"] != 0 or time.monotonic() > deadline:
                raise RuntimeError(f"certkeeper order {apex}: state {meta['state']}, {meta.get('issuance_info')}")
            time.sleep(POLL_INTERVAL_S)  # polling the order's state, bounded by the deadline


class Command:
    """A peer run as one process per order; its time is the process's, start to exit."""

    def __init__(self, name: str, argv: Callable[[tuple[str, str]], list[str]], env: dict[str, str], log: Path) -> None:
        self.name, self._argv, self._env, self._log = name, argv, env, log

    def order(self, n: int) -> float:
        argv = self._argv(names(self.name, n))
        started = time.perf_counter()
        with self._log.open("ab") as out:
            done = subprocess.run(argv, check=False, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  env={**os.environ, **self._env}, timeout=ORDER_TIMEOUT_S)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{self.name} exited with {done.returncode}; see {self._log}:\n"
                               + self._log.read_text(errors="replace")[-3000:])
        return elapsed


def lego(work: Path, pebble: Pebble) -> Command:
    peers.ensure(["lego", "curl"])
    hook = _script(work / "lego-hook.sh", HOOK.format(url=pebble.challtestsrv_url))
    env = {"LEGO_CA_CERTIFICATES": str(pebble.tls_ca_path), "EXEC_PATH": str(hook),
           # without these lego's exec provider waits 60 s between names and polls every 2 s
           "EXEC_SEQUENCE_INTERVAL": "0", "EXEC_POLLING_INTERVAL": "0"}

    def argv(domains: tuple[str, str]) -> list[str]:
        return ["lego", "--server", pebble.directory_url, "--email", "bench@example.test", "--accept-tos",
                "--path", str(work / "lego"), "--key-type", "ec256", "--dns", "exec",
                # lego finds the zone by SOA queries, which challtestsrv answers NOTIMP: no propagation check
                "--dns.disable-cp", *(a for d in domains for a in ("--domains", d)), "run"]

    return Command("lego", argv, env, work / "lego.log")


def certbot(work: Path, pebble: Pebble) -> Command:
    peers.ensure(["curl"])
    command = peers.certbot()
    auth = _script(work / "certbot-auth.sh", CERTBOT_AUTH.format(url=pebble.challtestsrv_url))
    cleanup = _script(work / "certbot-cleanup.sh", CERTBOT_CLEANUP.format(url=pebble.challtestsrv_url))
    env = {"REQUESTS_CA_BUNDLE": str(pebble.tls_ca_path)}

    def argv(domains: tuple[str, str]) -> list[str]:
        return [str(command), "certonly", "--non-interactive", "--agree-tos", "-m", "bench@example.test",
                "--no-eff-email", "--server", pebble.directory_url, "--manual", "--preferred-challenges", "dns",
                "--manual-auth-hook", str(auth), "--manual-cleanup-hook", str(cleanup),
                "--key-type", "ecdsa", "--elliptic-curve", "secp256r1",
                "--config-dir", str(work / "certbot" / "config"), "--work-dir", str(work / "certbot" / "work"),
                "--logs-dir", str(work / "certbot" / "logs"), "--cert-name", domains[0],
                *(a for d in domains for a in ("-d", d))]

    return Command("certbot", argv, env, work / "certbot.log")


def run(opts: Options) -> dict[str, Any]:
    work = opts.work / "acme"
    work.mkdir(parents=True)
    seconds: dict[str, list[float]] = {"certkeeper": [], "lego": [], "certbot": []}
    with ExitStack() as stack:
        pebble = stack.enter_context(run_pebble())
        clients = [Certkeeper(stack, work, pebble), lego(work, pebble), certbot(work, pebble)]
        for client in clients:
            client.order(0)  # warm-up: registers the account (and starts certkeeper's DNS provider)
        for n in range(1, opts.rounds + 1):
            for client in clients:
                seconds[client.name].append(client.order(n))
    per = {peer: ratios(seconds["certkeeper"], seconds[peer]) for peer in TARGETS}
    table = [{"client": name, "seconds": spread(values, 3),
              "÷ lego per round": per_round(per["lego"]) if name == "certkeeper" else "",
              "÷ certbot per round": per_round(per["certbot"]) if name == "certkeeper" else ""}
             for name, values in seconds.items()]
    ours = summary(seconds["certkeeper"], 3)["median"]
    targets = [{"target": f"median ≤ {limit}x {peer}", "measured": f"{summary(per[peer], 3)['median']:.3f}x",
                "met": summary(per[peer], 3)["median"] <= limit} for peer, limit in TARGETS.items()]
    targets.append({"target": f"median < {TARGET_SECONDS} s", "measured": f"{ours:.3f} s", "met": ours < TARGET_SECONDS})
    return {"id": 3, "title": TITLE, "table": table, "raw": {"seconds": seconds}, "targets": targets, "notes": [
        f"{opts.rounds} rounds after one warm-up order each, order certkeeper, lego, certbot; Pebble with "
        "PEBBLE_VA_NOSLEEP=1, no authorization reuse.",
        "certkeeper: from the create call to state Active seen on the metadata (polled every "
        f"{POLL_INTERVAL_S * 1000:.0f} ms), TXT through the CIS-compatible server, propagation checked on challtestsrv. "
        "lego and certbot: one process per order, start to exit (process start-up included), hooks calling "
        "challtestsrv with curl; neither checks propagation (lego finds the zone by SOA queries, which challtestsrv answers NOTIMP, so it runs with --dns.disable-cp; certbot has no check).",
    ]}
