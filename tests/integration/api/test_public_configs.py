"""Public certificate configurations over HTTP (ACME CAs and the CIS DNS provider): created,
read without their credentials, patched field by field, on SQLite and PostgreSQL.

Ordering certificates through them needs Pebble: see tests/e2e/test_public_certs.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from acme_client.accounts import generate_account_key
from lifecycle.core import Core
from lifecycle.public_configs import open_secrets

CONFIGS = "/api/v2/configurations"
Headers = dict[str, str]
ACCOUNT = json.dumps({"format": 1, "directory_url": "https://ca.test/dir", "uri": "https://ca.test/acct/1",
                      "registration": {}})


def _create(client: TestClient, admin: Headers, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(CONFIGS, json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _patch(client: TestClient, admin: Headers, name: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = client.patch(f"{CONFIGS}/{name}", json=body, headers=admin)
    assert r.status_code == status, r.text
    return r.json()  # type: ignore[no-any-return]


def _stored(core: Core, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with core.store.reader() as tx:
        config = tx.get_config(name)
    assert config is not None
    return config.attributes, open_secrets(core, config)


def _sealed_form(core: Core, name: str) -> tuple[Any, ...]:
    with core.store.reader() as tx:
        config = tx.get_config(name)
    assert config is not None
    return config.key_payload, config.key_wrapped, config.key_id


def _registered(core: Core, name: str) -> None:
    """What an order leaves behind: the CA account registration on the configuration."""
    with core.store.transaction() as tx:
        config = tx.get_config(name, for_update=True)
        assert config is not None
        tx.update_config(name, attributes=config.attributes | {"account": ACCOUNT})


def _acme_ca(client: TestClient, admin: Headers, name: str = "my-ca", **extra: Any) -> dict[str, Any]:
    return _create(client, admin, {"config_type": "public_cert_configuration_ca_acme", "name": name,
                                   "directory_url": "https://ca.test/dir", **extra})


def test_preferred_chain_changes_and_the_account_registration_is_kept(client: TestClient, admin: Headers,
                                                                      core: Core) -> None:
    _acme_ca(client, admin)
    _registered(core, "my-ca")
    key_before = _stored(core, "my-ca")[1]["account_key"]
    sealed_before = _sealed_form(core, "my-ca")
    shown = _patch(client, admin, "my-ca", {"preferred_chain": "Alternate Root"})
    assert _sealed_form(core, "my-ca") == sealed_before  # credentials unchanged: not sealed anew
    assert shown["preferred_chain"] == "Alternate Root" and shown["directory_url"] == "https://ca.test/dir"
    attributes, sealed = _stored(core, "my-ca")
    assert attributes["account"] == ACCOUNT and sealed["account_key"] == key_before


def test_a_new_account_key_replaces_the_sealed_one_and_forgets_the_registration(client: TestClient, admin: Headers,
                                                                                core: Core) -> None:
    _acme_ca(client, admin)
    _registered(core, "my-ca")
    new_key = generate_account_key()
    shown = _patch(client, admin, "my-ca", {"private_key": new_key})
    assert "private_key" not in shown and "BEGIN" not in json.dumps(shown)
    attributes, sealed = _stored(core, "my-ca")
    assert sealed["account_key"] == new_key
    assert "account" not in attributes  # the next order registers the new key with the CA


def test_a_new_directory_forgets_the_registration(client: TestClient, admin: Headers, core: Core) -> None:
    _acme_ca(client, admin)
    _registered(core, "my-ca")
    _patch(client, admin, "my-ca", {"directory_url": "https://other-ca.test/dir"})
    attributes, _ = _stored(core, "my-ca")
    assert attributes["directory_url"] == "https://other-ca.test/dir" and "account" not in attributes


def test_lets_encrypt_environment_and_key_are_patchable_as_the_sdk_sends_them(client: TestClient, admin: Headers,
                                                                               core: Core) -> None:
    _create(client, admin, {"config_type": "public_cert_configuration_ca_lets_encrypt", "name": "le",
                            "lets_encrypt_environment": "staging"})
    _registered(core, "le")
    new_key = generate_account_key()
    shown = _patch(client, admin, "le", {"lets_encrypt_environment": "production", "lets_encrypt_private_key": new_key,
                                         "lets_encrypt_preferred_chain": "ISRG Root X1"})
    assert (shown["lets_encrypt_environment"], shown["lets_encrypt_preferred_chain"]) == ("production", "ISRG Root X1")
    attributes, sealed = _stored(core, "le")
    assert attributes["directory_url"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert sealed["account_key"] == new_key and "account" not in attributes


def test_a_new_cis_api_key_is_sealed_and_never_shown(client: TestClient, admin: Headers, core: Core) -> None:
    crn = "crn:v1:bluemix:public:internet-svcs:global:a/1:2::"
    _create(client, admin, {"config_type": "public_cert_configuration_dns_cloud_internet_services", "name": "cis",
                            "cloud_internet_services_crn": crn, "cloud_internet_services_apikey": "first-api-key"})
    shown = _patch(client, admin, "cis", {"cloud_internet_services_apikey": "second-api-key-0123456789"})
    assert shown["cloud_internet_services_crn"] == crn and "second-api-key" not in json.dumps(shown)
    assert _stored(core, "cis")[1]["apikey"] == "second-api-key-0123456789"
    with core.store.engine.connect() as db:
        rows = db.execute(text("SELECT * FROM configurations WHERE name = 'cis'")).all()
    assert rows and "second-api-key" not in repr(rows)  # sealed at rest


@pytest.mark.parametrize(("body", "field"), [
    ({"private_key": "not a key"}, "private_key"),
    ({"directory_url": "ftp://ca.test/dir"}, "directory_url"),
    ({"eab_key_id": "kid-1"}, "eab_key_id"),
    ({"lets_encrypt_environment": "staging"}, "lets_encrypt_environment"),
    ({"preferred_chain": 7}, "preferred_chain"),
])
def test_bad_patches_are_refused_by_field_and_change_nothing(client: TestClient, admin: Headers, core: Core,
                                                             body: dict[str, Any], field: str) -> None:
    _acme_ca(client, admin)
    _registered(core, "my-ca")
    before = _stored(core, "my-ca")
    error = _patch(client, admin, "my-ca", body, status=400)
    assert field in json.dumps(error)
    assert "not a key" not in json.dumps(error)  # a rejected credential is not echoed
    assert _stored(core, "my-ca") == before


@pytest.mark.parametrize(("extra", "field"), [
    ({"service_url": "../../etc"}, "service_url"),
    ({"service_url": "xxxx"}, "service_url"),
    ({"service_url": "https://"}, "service_url"),
    ({"service_url": "https://api.cis.test/v1 x"}, "service_url"),
    ({"iam_url": "ftp://iam.test/token"}, "iam_url"),
    ({"resolvers": [""]}, "resolvers"),
    ({"resolvers": [" "]}, "resolvers"),
    ({"resolvers": ["ns1.test:0"]}, "resolvers"),
    ({"resolvers": ["ns1.test:dns"]}, "resolvers"),
    ({"resolvers": ["a\u0000b"]}, "resolvers"),
    ({"resolvers": ["1.2.3.4:53:53"]}, "resolvers"),
    ({"resolvers": [":::::"]}, "resolvers"),
    ({"service_url": "https://user:secret@api.cis.test/v1"}, "service_url"),  # it would be shown
])
def test_a_cis_configuration_with_a_url_or_resolver_an_order_could_not_use_is_refused(
        client: TestClient, admin: Headers, extra: dict[str, Any], field: str) -> None:
    body = {"config_type": "public_cert_configuration_dns_cloud_internet_services", "name": "cis",
            "cloud_internet_services_crn": "crn:v1:x", "cloud_internet_services_apikey": "k", **extra}
    r = client.post("/api/v2/configurations", headers=admin, json=body)
    assert r.status_code == 400 and r.json()["errors"][0]["message"].startswith(f"{field}:"), r.text
    assert client.get("/api/v2/configurations/cis", headers=admin).status_code == 404


def test_a_cis_configuration_takes_resolvers_as_hosts_ports_and_ipv6(client: TestClient, admin: Headers) -> None:
    resolvers = ["1.1.1.1", "ns1.example.com:53", "2001:db8::53", "[2001:db8::53]:5353"]
    shown = _create(client, admin, {"config_type": "public_cert_configuration_dns_cloud_internet_services",
                                    "name": "cis", "cloud_internet_services_crn": "crn:v1:x",
                                    "cloud_internet_services_apikey": "k", "resolvers": resolvers,
                                    "service_url": "http://127.0.0.1:8080/v1", "iam_url": "https://iam.test/token"})
    assert shown["resolvers"] == resolvers and shown["service_url"] == "http://127.0.0.1:8080/v1"


def test_patching_a_missing_configuration_is_404(client: TestClient, admin: Headers) -> None:
    _patch(client, admin, "nowhere", {"preferred_chain": "x"}, status=404)


def test_an_order_does_not_save_its_account_over_a_key_changed_meanwhile(client: TestClient, admin: Headers,
                                                                          core: Core) -> None:
    from lifecycle.acme_orders import _remember_account

    _acme_ca(client, admin)
    with core.store.reader() as tx:
        read_by_order = tx.get_config("my-ca")
    assert read_by_order is not None
    _patch(client, admin, "my-ca", {"private_key": generate_account_key()})  # while the order registers
    _remember_account(core, read_by_order, ACCOUNT)
    assert "account" not in _stored(core, "my-ca")[0]  # the registration belongs to the replaced key
    with core.store.reader() as tx:
        current = tx.get_config("my-ca")
    assert current is not None
    _remember_account(core, current, ACCOUNT)
    assert _stored(core, "my-ca")[0]["account"] == ACCOUNT


def test_an_explicit_null_removes_an_optional_field_but_not_a_credential(client: TestClient, admin: Headers,
                                                                          core: Core) -> None:
    _acme_ca(client, admin, preferred_chain="Alt", eab_key_id="kid-1", eab_hmac_key="aG1hYy1rZXk")
    shown = _patch(client, admin, "my-ca", {"preferred_chain": None, "eab_key_id": None, "eab_hmac_key": None})
    assert "preferred_chain" not in shown and "eab_key_id" not in shown
    attributes, sealed = _stored(core, "my-ca")
    assert "preferred_chain" not in attributes and sealed.get("eab_hmac_key") is None
    error = _patch(client, admin, "my-ca", {"private_key": None}, status=400)
    assert "private_key" in json.dumps(error)
    assert _stored(core, "my-ca")[1]["account_key"] == sealed["account_key"]


def test_key_and_ca_stay_while_an_order_of_the_account_is_unfinished(client: TestClient, admin: Headers,
                                                                      core: Core) -> None:
    """An order in flight belongs to the account that placed it: resumed with another
    account's key, the CA would refuse it."""
    from fixtures.records import secret_record
    from lifecycle import tasks

    _acme_ca(client, admin)
    _registered(core, "my-ca")
    with core.store.transaction() as tx:
        tx.insert_secret(secret_record(1, secret_type="public_cert", attributes={"ca": "my-ca", "dns": "manual"}))
        task = tasks.new_task(tx, kind="public_cert_order", trigger="test", secret_id="00000000-0000-0000-0000-000000000001",
                              params={}, created_by="t", now=core.clock())
    before = _stored(core, "my-ca")
    error = _patch(client, admin, "my-ca", {"private_key": generate_account_key()}, status=409)
    assert "not finished" in json.dumps(error)
    _patch(client, admin, "my-ca", {"directory_url": "https://other.test/dir"}, status=409)
    assert _stored(core, "my-ca") == before
    assert _patch(client, admin, "my-ca", {"preferred_chain": "Alt"})["preferred_chain"] == "Alt"  # same account
    with core.store.transaction() as tx:
        tx.update_task(task.id, status="succeeded")
    _patch(client, admin, "my-ca", {"private_key": generate_account_key()})
    assert "account" not in _stored(core, "my-ca")[0]


def test_a_public_certificate_still_being_ordered_takes_a_rotation_policy(client: TestClient, admin: Headers) -> None:
    """No version yet (its order waits for a worker): a rotation patch is stored, not a 404 for
    a current version it does not have; the order's certificate sets when to renew."""
    _acme_ca(client, admin)
    r = client.post("/api/v2/secrets", headers=admin, json={
        "secret_type": "public_cert", "name": "shop", "common_name": "shop.example.com", "ca": "my-ca", "dns": "manual"})
    assert r.status_code == 201, r.text
    secret_id = r.json()["id"]
    policy = {"auto_rotate": True, "rotate_keys": False}
    patched = client.patch(f"/api/v2/secrets/{secret_id}/metadata", headers=admin, json={"rotation": policy})
    assert patched.status_code == 200, patched.text
    assert patched.json()["rotation"] == policy and "next_rotation_date" not in patched.json()


@pytest.mark.parametrize(("policy", "due"), [
    ({"auto_rotate": True, "rotate_keys": False}, "2027-01-30T00:00:00.000Z"),  # 31 days ahead by default
    ({"auto_rotate": True, "rotate_keys": True, "renew_before": "40d"}, "2027-01-21T00:00:00.000Z"),
    ({"auto_rotate": False, "rotate_keys": False}, None),
])
def test_a_rotation_patch_of_an_issued_public_certificate_keeps_it_due_ahead_of_expiry(
        client: TestClient, admin: Headers, core: Core, policy: dict[str, Any], due: str | None) -> None:
    """A policy change recomputes when the certificate renews from its expiry, not from an
    interval it does not have (that left next_rotation_date null: never renewed)."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from lifecycle.store import schema as t

    _acme_ca(client, admin)
    secret_id = client.post("/api/v2/secrets", headers=admin, json={
        "secret_type": "public_cert", "name": "shop", "common_name": "shop.example.com", "ca": "my-ca",
        "dns": "manual"}).json()["id"]
    with core.store.engine.begin() as db:  # as its order leaves it: issued, expiring on 2027-03-02, the task done
        db.execute(update(t.secrets).where(t.secrets.c.id == secret_id).values(
            expiration_date=datetime(2027, 3, 2, tzinfo=UTC)))
        db.execute(update(t.tasks).where(t.tasks.c.secret_id == secret_id).values(status="succeeded"))
    patched = client.patch(f"/api/v2/secrets/{secret_id}/metadata", headers=admin, json={"rotation": policy})
    assert patched.status_code == 200, patched.text
    assert patched.json().get("next_rotation_date") == due


def test_a_rotation_patch_while_a_renewal_is_under_way_leaves_the_date_to_its_certificate(
        client: TestClient, admin: Headers, core: Core) -> None:
    """A date in the past set during a renewal would queue another rotation at once, which the
    pending order refuses: a false 'rotation failed' and then a second order."""
    from datetime import UTC, datetime

    from sqlalchemy import update

    from lifecycle.store import schema as t

    _acme_ca(client, admin)
    secret_id = client.post("/api/v2/secrets", headers=admin, json={
        "secret_type": "public_cert", "name": "shop", "common_name": "shop.example.com", "ca": "my-ca",
        "dns": "manual"}).json()["id"]  # its order task is pending (no worker runs here)
    with core.store.engine.begin() as db:
        db.execute(update(t.secrets).where(t.secrets.c.id == secret_id).values(
            expiration_date=datetime(2026, 1, 20, tzinfo=UTC)))  # within 31 days of the test clock
    patched = client.patch(f"/api/v2/secrets/{secret_id}/metadata", headers=admin,
                           json={"rotation": {"auto_rotate": True, "rotate_keys": False}})
    assert patched.status_code == 200, patched.text
    assert "next_rotation_date" not in patched.json()


def test_a_cis_url_change_must_come_with_the_api_key_it_sends_there(client: TestClient, admin: Headers,
                                                                    core: Core) -> None:
    """The sealed key goes to service_url and iam_url: a patch pointing them elsewhere without
    giving the key again would send a key it never showed to a host of the patcher's choice."""
    _create(client, admin, {"config_type": "public_cert_configuration_dns_cloud_internet_services", "name": "cis",
                            "cloud_internet_services_crn": "crn:v1:x", "cloud_internet_services_apikey": "kept-key"})
    for field in ("service_url", "iam_url"):
        error = _patch(client, admin, "cis", {field: "https://collector.evil.test/"}, status=400)
        assert error["errors"][0]["message"].startswith("cloud_internet_services_apikey: give the API key again")
    assert _stored(core, "cis")[0]["service_url"] != "https://collector.evil.test/"
    shown = _patch(client, admin, "cis", {"service_url": "https://api.cis.example/v1",
                                          "cloud_internet_services_apikey": "new-key"})
    assert shown["service_url"] == "https://api.cis.example/v1" and _stored(core, "cis")[1]["apikey"] == "new-key"
    _patch(client, admin, "cis", {"service_url": "https://api.cis.example/v1", "resolvers": ["1.1.1.1"]})  # unchanged
