"""Public certificates over ACME against Debian's Pebble: CIS and manual DNS-01, wildcards,
failures on a first order and on a rotation, and an order resumed by a fresh process."""

from __future__ import annotations

import dataclasses
import itertools
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from starlette.testclient import TestClient

from acme_client.accounts import generate_account_key
from api.app import create_app
from fixtures.cis_server import CisServer
from fixtures.iam_server import IamServer, run_iam_server
from fixtures.pebble import Pebble
from lifecycle import workers
from lifecycle.background import background_handlers
from lifecycle.core import Core, system_clock

pytestmark = pytest.mark.slow
_names = itertools.count(1)


@pytest.fixture
def iam(cis_server: CisServer) -> Iterator[IamServer]:
    with run_iam_server(cis_server.state) as server:
        yield server


@dataclasses.dataclass
class Env:
    client: TestClient
    headers: dict[str, str]
    core: Core
    pebble: Pebble
    cis: CisServer
    iam: IamServer

    def post(self, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        resp = self.client.post(path, json=body, headers=self.headers)
        assert resp.status_code == status, resp.text
        return resp.json()  # type: ignore[no-any-return]

    def meta(self, secret_id: str) -> dict[str, Any]:
        return self.client.get(f"/api/v2/secrets/{secret_id}/metadata", headers=self.headers).json()  # type: ignore[no-any-return]

    def work(self) -> int:
        """Run due tasks in this thread until none is left (each order runs to its end or parks)."""
        total = 0
        for _ in range(10):
            ran = workers.run_due(self.core, background_handlers())
            total += ran
            if not ran:
                return total
        raise AssertionError("tasks kept coming back: an order is looping")

    def new_acme_account(self) -> None:
        """Give the CA configuration a new account key, so the next order registers a new ACME
        account and must prove its names again.

        Pebble 2.4 reuses a valid authorization of the same account about 1% of the time even
        with PEBBLE_AUTHZREUSE=0 (it reuses unless rand.Intn(100) > 0), and an order then comes
        back ready with no challenge to fail. A new account has nothing to reuse."""
        resp = self.client.patch("/api/v2/configurations/pebble", json={"private_key": generate_account_key()},
                                 headers=self.headers)
        assert resp.status_code == 200, resp.text


@pytest.fixture
def env(core: Core, admin: dict[str, str], pebble: Pebble, cis_server: CisServer, iam: IamServer) -> Iterator[Env]:
    core = dataclasses.replace(core, clock=system_clock)
    with TestClient(create_app(core)) as client:
        e = Env(client, admin, core, pebble, cis_server, iam)
        e.post("/api/v2/configurations", pebble.ca_configuration())
        e.post("/api/v2/configurations", cis_server.dns_configuration(iam.url, [pebble.dns_resolver]))
        yield e
    assert cis_server.state.all_txt() == []  # no TXT record left behind by any scenario


def _domain() -> str:
    return f"site{next(_names)}.example.test"


def _order(env: Env, dns: str, common_name: str, **extra: Any) -> dict[str, Any]:
    return env.post("/api/v2/secrets", {"secret_type": "public_cert", "name": common_name.replace(".", "-").replace("*", "w"),
                                        "common_name": common_name, "ca": "pebble", "dns": dns, **extra})


def _verify_chain(env: Env, payload: dict[str, Any], tmp: Path) -> None:
    (tmp / "root.pem").write_text(env.pebble.issuing_root_pem(0))
    (tmp / "inter.pem").write_text(payload["intermediate"])
    (tmp / "leaf.pem").write_text(payload["certificate"])
    result = subprocess.run(["openssl", "verify", "-CAfile", str(tmp / "root.pem"), "-untrusted", str(tmp / "inter.pem"),
                             str(tmp / "leaf.pem")], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cis_order_reaches_active_with_a_verifiable_chain(env: Env, tmp_path: Path) -> None:
    domain = _domain()
    secret = _order(env, "cis", domain, alt_names=[f"www.{domain}"], key_algorithm="ECDSA256")
    assert secret["state"] == 0 and secret["issuance_info"]["state"] == 0
    assert env.work() == 1
    meta = env.meta(secret["id"])
    assert (meta["state"], meta["issuance_info"]["state"], meta["versions_total"]) == (1, 1, 1)
    assert meta["signing_algorithm"] in ("SHA256-RSA", "SHA256-ECDSA", "SHA384-ECDSA")
    payload = env.client.get(f"/api/v2/secrets/{secret['id']}", headers=env.headers).json()
    assert "PRIVATE KEY" in payload["private_key"]
    _verify_chain(env, payload, tmp_path)
    tasks = env.client.get(f"/api/v2/secrets/{secret['id']}/tasks", headers=env.headers).json()["tasks"]
    assert [(t["type"], t["status"]) for t in tasks] == [("public_cert_order", "succeeded")]
    events = env.client.get("/api/v2/events", params={"secret_id": secret["id"]}, headers=env.headers).json()["events"]
    assert [(e["event_type"], e["detail"].get("version_id")) for e in events] == [  # once, when issued
        ("secret_created", tasks[0]["secret_version_id"])]


def test_wildcard_and_apex_in_one_order(env: Env, tmp_path: Path) -> None:
    domain = _domain()
    secret = _order(env, "cis", f"*.{domain}", alt_names=[domain])
    env.work()
    assert env.meta(secret["id"])["state"] == 1
    _verify_chain(env, env.client.get(f"/api/v2/secrets/{secret['id']}", headers=env.headers).json(), tmp_path)


def test_manual_dns_shows_challenges_then_validates(env: Env) -> None:
    domain = _domain()
    secret = _order(env, "manual", domain)
    env.work()
    info = env.meta(secret["id"])["issuance_info"]
    assert env.meta(secret["id"])["state"] == 0
    (challenge,) = info["challenges"]
    assert challenge["txt_record_name"] == f"_acme-challenge.{domain}"
    env.pebble.set_txt(challenge["txt_record_name"], challenge["txt_record_value"])  # the user adds the record
    try:
        env.post(f"/api/v2/secrets/{secret['id']}/actions", {"action_type": "public_cert_action_validate_dns_challenge"})
        env.work()
    finally:
        env.pebble.clear_txt(challenge["txt_record_name"])
    meta = env.meta(secret["id"])
    assert meta["state"] == 1 and meta["issuance_info"]["state"] == 1 and "challenges" not in meta["issuance_info"]


def _answer_challenge(env: Env, secret_id: str, value: str | None = None) -> None:
    """Set the TXT record of the secret's first challenge (its right value unless ``value``),
    validate, let the order run, then remove the record."""
    challenge = env.meta(secret_id)["issuance_info"]["challenges"][0]
    env.pebble.set_txt(challenge["txt_record_name"], value or challenge["txt_record_value"])
    try:
        env.post(f"/api/v2/secrets/{secret_id}/actions", {"action_type": "public_cert_action_validate_dns_challenge"})
        env.work()
    finally:
        env.pebble.clear_txt(challenge["txt_record_name"])


def test_wrong_txt_on_a_first_order_deactivates_with_the_ca_error(env: Env) -> None:
    domain = _domain()
    secret = _order(env, "manual", domain)
    env.work()
    _answer_challenge(env, secret["id"], "not-the-right-value")
    meta = env.meta(secret["id"])
    assert meta["state"] == 3 and meta["issuance_info"]["state"] == 2
    assert meta["issuance_info"]["error_code"] == "unauthorized"
    assert domain in meta["issuance_info"]["error_message"]


def test_a_first_order_that_failed_for_good_is_ordered_again_by_rotate(env: Env) -> None:
    """'Start a new order': the CA refused the first order (a wrong TXT record: not retried),
    and POST /rotate places a new one, which the right record then validates."""
    secret = _order(env, "manual", _domain())
    env.work()
    _answer_challenge(env, secret["id"], "not-the-right-value")
    assert env.meta(secret["id"])["state"] == 3
    refused = env.client.post(f"/api/v2/secrets/{secret['id']}/versions", json={}, headers=env.headers)
    assert refused.status_code == 409 and "/rotate orders again" in refused.text
    again = env.client.post(f"/api/v2/secrets/{secret['id']}/rotate", json={"client_request_token": "reorder-1"},
                            headers=env.headers)
    assert again.status_code == 201 and again.json()["version_id"] is None, again.text
    assert env.meta(secret["id"])["state"] == 0 and env.meta(secret["id"])["issuance_info"]["state"] == 0
    replayed = env.client.post(f"/api/v2/secrets/{secret['id']}/rotate", json={"client_request_token": "reorder-1"},
                               headers=env.headers)
    assert replayed.status_code == 201 and replayed.json() == again.json()  # the same request, the same task
    twice = env.client.post(f"/api/v2/secrets/{secret['id']}/rotate", json={}, headers=env.headers)
    assert twice.status_code == 409  # one order at a time
    env.work()
    _answer_challenge(env, secret["id"])
    meta = env.meta(secret["id"])
    assert (meta["state"], meta["issuance_info"]["state"], meta["versions_total"]) == (1, 1, 1)


def test_failed_rotation_keeps_the_current_version_and_says_rotation_failed(env: Env) -> None:
    domain = _domain()
    secret = _order(env, "manual", domain)
    env.work()
    name, value = (env.meta(secret["id"])["issuance_info"]["challenges"][0][k] for k in ("txt_record_name", "txt_record_value"))
    env.pebble.set_txt(name, value)
    env.post(f"/api/v2/secrets/{secret['id']}/actions", {"action_type": "public_cert_action_validate_dns_challenge"})
    env.work()
    env.pebble.clear_txt(name)
    env.new_acme_account()  # the rotation's order must meet the wrong TXT record below
    before = env.client.get(f"/api/v2/secrets/{secret['id']}/versions/current", headers=env.headers).json()
    started = env.post(f"/api/v2/secrets/{secret['id']}/versions", {"rotation": {"rotate_keys": True}})
    assert started["id"] == before["id"] and started["task_id"]
    assert env.meta(secret["id"])["rotation_state"] == "pending"
    second = env.client.post(f"/api/v2/secrets/{secret['id']}/rotate", headers=env.headers, json={})
    assert second.status_code == 409  # one rotation at a time
    env.work()
    env.pebble.set_txt(name, "wrong")
    try:
        env.post(f"/api/v2/secrets/{secret['id']}/actions", {"action_type": "public_cert_action_validate_dns_challenge"})
        env.work()
    finally:
        env.pebble.clear_txt(name)
    meta = env.meta(secret["id"])
    assert (meta["state"], meta["rotation_state"], meta["last_rotation_failed"]) == (1, "failed", True)
    assert meta["issuance_info"]["error_code"] == "unauthorized"
    after = env.client.get(f"/api/v2/secrets/{secret['id']}/versions/current", headers=env.headers).json()
    assert after["id"] == before["id"] and after["certificate"] == before["certificate"]
    from sqlalchemy import update

    from lifecycle.store import schema as t

    with env.core.store.engine.begin() as db:  # its backoff over: the retry places a new order, for new records
        db.execute(update(t.tasks).where(t.tasks.c.secret_id == secret["id"], t.tasks.c.status == "queued")
                   .values(run_after=datetime.now(UTC) - timedelta(seconds=1)))
    env.work()
    meta = env.meta(secret["id"])
    assert (meta["rotation_state"], meta["issuance_info"]["state"]) == ("pending", 0)
    assert "error_code" not in meta["issuance_info"] and meta["issuance_info"]["challenges"]


def test_a_locked_previous_version_blocks_a_renewal_before_it_orders_or_when_it_lands(env: Env) -> None:
    """A renewal would make the locked previous version go: refused with 412 before any order
    is placed; a lock put on it while an order runs fails the rotation for good when the
    certificate comes (blocked, not retried: another attempt would order again)."""
    secret = _order(env, "cis", _domain())
    env.work()
    sid = secret["id"]
    env.post(f"/api/v2/secrets/{sid}/rotate", {})
    env.work()  # renewed once: there is a previous version now
    lock = {"locks": [{"name": "in-use"}]}
    locked = env.client.post(f"/api/v2/secrets/{sid}/versions/previous/locks_bulk", json=lock, headers=env.headers)
    assert locked.status_code == 201, locked.text
    refused = env.client.post(f"/api/v2/secrets/{sid}/rotate", json={}, headers=env.headers)
    assert refused.status_code == 412 and "previous version is locked" in refused.text
    tasks = env.client.get(f"/api/v2/secrets/{sid}/tasks", headers=env.headers).json()["tasks"]
    assert len(tasks) == 2  # no third order was placed
    assert env.client.delete(f"/api/v2/secrets/{sid}/versions/previous/locks_bulk", headers=env.headers).status_code == 200
    env.post(f"/api/v2/secrets/{sid}/rotate", {})  # ordered while unlocked ...
    locked = env.client.post(f"/api/v2/secrets/{sid}/versions/previous/locks_bulk", json=lock, headers=env.headers)
    assert locked.status_code == 201, locked.text  # ... locked before the certificate lands
    env.work()
    meta = env.meta(sid)
    assert (meta["rotation_state"], meta["last_rotation_failed"], meta["versions_total"]) == ("failed", True, 2)
    tasks = env.client.get(f"/api/v2/secrets/{sid}/tasks", headers=env.headers).json()["tasks"]
    assert sorted((t["status"], t.get("errors", [{}])[0].get("code")) for t in tasks) == [
        ("queued", "locked"), ("succeeded", None), ("succeeded", None)]  # retried with backoff
    events = env.client.get("/api/v2/events", params={"secret_id": sid}, headers=env.headers).json()["events"]
    assert [e["event_type"] for e in events].count("secret_rotation_blocked") == 2
    from sqlalchemy import update

    from lifecycle.store import schema as t

    assert env.client.delete(f"/api/v2/secrets/{sid}/versions/previous/locks_bulk", headers=env.headers).status_code == 200
    with env.core.store.engine.begin() as db:  # its backoff over
        db.execute(update(t.tasks).where(t.tasks.c.secret_id == sid, t.tasks.c.status == "queued")
                   .values(run_after=datetime.now(UTC) - timedelta(seconds=1)))
    env.work()  # the retry resumes the order and stores the certificate already issued
    meta = env.meta(sid)
    assert (meta["rotation_state"], meta["last_rotation_failed"], meta["versions_total"]) == ("idle", False, 3)


def test_an_order_in_flight_is_resumed_by_a_fresh_process(env: Env) -> None:
    domain = _domain()
    secret = _order(env, "manual", domain)
    env.work()  # the order is placed and saved; this "process" now goes away
    challenge = env.meta(secret["id"])["issuance_info"]["challenges"][0]
    env.pebble.set_txt(challenge["txt_record_name"], challenge["txt_record_value"])
    try:
        env.post(f"/api/v2/secrets/{secret['id']}/actions", {"action_type": "public_cert_action_validate_dns_challenge"})
        fresh = Core(store=type(env.core.store).from_url(str(env.core.store.engine.url.render_as_string(hide_password=False))),
                     keyring=env.core.keyring, clock=system_clock)
        assert workers.run_due(fresh, background_handlers()) == 1  # a new store, keyring from disk: same order
        fresh.store.dispose()
    finally:
        env.pebble.clear_txt(challenge["txt_record_name"])
    assert env.meta(secret["id"])["state"] == 1


def test_scheduled_renewals_back_off_on_failure_and_recover(env: Env) -> None:
    """Renewal 31 days before expiry by the scheduler, with an injected clock: two renewals, the
    second failing while the DNS is wrong, backing off, and succeeding once it is fixed."""
    from datetime import timedelta

    from fixtures.clock import FakeClock
    from lifecycle import scheduler

    clock = FakeClock(system_clock())
    env.core = dataclasses.replace(env.core, clock=clock)
    domain = _domain()
    secret = _order(env, "cis", domain, rotation={"auto_rotate": True, "rotate_keys": True})
    clock.now = system_clock()  # the order was queued on the API's clock
    env.work()
    meta = env.meta(secret["id"])
    assert meta["state"] == 1, meta["issuance_info"]
    expiry = datetime.fromisoformat(meta["expiration_date"].replace("Z", "+00:00"))
    renew_at = datetime.fromisoformat(meta["next_rotation_date"].replace("Z", "+00:00"))
    assert abs((expiry - renew_at) - timedelta(days=31)) < timedelta(seconds=1)

    clock.now = renew_at + timedelta(minutes=1)
    assert scheduler.tick(env.core).enqueued == 1
    env.work()
    assert env.meta(secret["id"])["versions_total"] == 2 and env.meta(secret["id"])["rotation_state"] == "idle"
    current = env.client.get(f"/api/v2/secrets/{secret['id']}/versions/current", headers=env.headers).json()

    env.cis.state.token = "revoked-token"  # the DNS provider now refuses every change
    env.new_acme_account()  # this renewal must prove the names through the refusing DNS provider
    clock.now = datetime.fromisoformat(env.meta(secret["id"])["next_rotation_date"].replace("Z", "+00:00")) + timedelta(minutes=1)
    assert scheduler.tick(env.core).enqueued == 1
    env.work()
    meta = env.meta(secret["id"])
    assert (meta["state"], meta["rotation_state"], meta["last_rotation_failed"]) == (1, "failed", True), meta
    still = env.client.get(f"/api/v2/secrets/{secret['id']}/versions/current", headers=env.headers).json()
    assert still["id"] == current["id"]
    assert env.work() == 0  # backing off: nothing runs before the next attempt time
    env.cis.state.token = env.iam.token
    clock.advance(hours=2)
    env.work()
    meta = env.meta(secret["id"])
    assert (meta["versions_total"], meta["rotation_state"], meta["last_rotation_failed"]) == (3, "idle", False)


def test_renewal_keeps_the_key_unless_rotate_keys(env: Env) -> None:
    from cryptography.hazmat.primitives import serialization

    def public_key(secret_id: str) -> bytes:
        pem = env.client.get(f"/api/v2/secrets/{secret_id}/versions/current", headers=env.headers).json()["certificate"]
        cert = x509.load_pem_x509_certificate(pem.encode())
        return cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    secret = _order(env, "cis", _domain(), key_algorithm="ECDSA256")
    env.work()
    first = public_key(secret["id"])
    env.post(f"/api/v2/secrets/{secret['id']}/versions", {})
    env.work()
    kept = public_key(secret["id"])
    env.post(f"/api/v2/secrets/{secret['id']}/versions", {"rotation": {"rotate_keys": True}})
    env.work()
    assert env.meta(secret["id"])["versions_total"] == 3
    assert kept == first and public_key(secret["id"]) != first
    assert env.meta(secret["id"])["rotation"] == {"auto_rotate": False}  # a one-off request, not a policy change


def test_a_second_order_reuses_the_dns_provider_token_and_zone_list(env: Env) -> None:
    zone_lists = lambda: sum(1 for _, p in env.cis.state.requests if p.endswith("/zones"))  # noqa: E731
    first = _order(env, "cis", _domain())
    assert env.work() == 1 and env.meta(first["id"])["state"] == 1
    calls = (env.iam.calls, zone_lists())
    assert calls == (1, 1)
    second = _order(env, "cis", _domain())
    assert env.work() == 1 and env.meta(second["id"])["state"] == 1
    assert (env.iam.calls, zone_lists()) == calls  # no new IAM token, no zone list: the provider was kept
