"""The official IBM Secrets Manager Python SDK, unmodified, against a real uvicorn server.

Every response is parsed with the SDK's own model (`X.from_dict`), so a field the SDK
requires but the server leaves out fails here, as it would for an SDK user. The flows
cover secret groups, the three generic secret types, listing with filters and paging
(through the SDK's `SecretsPager`), metadata, versions and locks, and the 412s a
locked secret answers with.

Create calls are parsed with the models the SDK names for them (`Secret`,
`SecretVersion`), whose kv and username_password variants require the data: the
answer to a create carries it, as the contract's does.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from ibm_cloud_sdk_core import ApiException, DetailedResponse
from ibm_cloud_sdk_core.authenticators import BearerTokenAuthenticator
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ArbitrarySecret,
    ArbitrarySecretMetadataPatch,
    ArbitrarySecretPrototype,
    ArbitrarySecretVersion,
    ArbitrarySecretVersionPrototype,
    ConfigurationAction,
    ConfigurationMetadataPaginatedCollection,
    ConfigurationsPager,
    KVSecret,
    KVSecretMetadata,
    KVSecretMetadataPatch,
    KVSecretPrototype,
    KVSecretVersion,
    KVSecretVersionPrototype,
    PasswordGenerationPolicy,
    PasswordGenerationPolicyPatch,
    PublicCertificateConfigurationCALetsEncryptPatch,
    PublicCertificateConfigurationCALetsEncryptPrototype,
    PublicCertificateConfigurationDNSCloudInternetServicesPatch,
    PublicCertificateConfigurationDNSCloudInternetServicesPrototype,
    Secret,
    SecretGroup,
    SecretGroupCollection,
    SecretGroupPatch,
    SecretLock,
    SecretLockPrototype,
    SecretLocks,
    SecretLocksPager,
    SecretLocksPaginatedCollection,
    SecretMetadata,
    SecretMetadataPaginatedCollection,
    SecretsLocksPager,
    SecretsLocksPaginatedCollection,
    SecretsManagerV2,
    SecretsPager,
    SecretVersion,
    SecretVersionLocksPaginatedCollection,
    SecretVersionMetadata,
    SecretVersionMetadataCollection,
    SecretVersionMetadataPatch,
    UsernamePasswordSecret,
    UsernamePasswordSecretMetadata,
    UsernamePasswordSecretMetadataPatch,
    UsernamePasswordSecretPrototype,
    UsernamePasswordSecretVersion,
    UsernamePasswordSecretVersionPrototype,
)

from api.app import create_app
from fixtures.live_server import serve
from lifecycle.core import Core
from lifecycle.passwords import SYMBOLS

pytestmark = pytest.mark.slow

M = TypeVar("M")


# -- module helpers ----------------------------------------------------------------


@contextmanager
def sdk_client(core: Core, headers: dict[str, str]) -> Iterator[SecretsManagerV2]:
    """The SDK configured as a user would: a bearer token and the server's base URL."""
    token = headers["Authorization"].split()[1]
    with serve(create_app(core)) as base_url:
        client = SecretsManagerV2(authenticator=BearerTokenAuthenticator(token))
        client.set_service_url(base_url)
        yield client


@pytest.fixture
def sm(core: Core, admin: dict[str, str]) -> Iterator[SecretsManagerV2]:
    with sdk_client(core, admin) as client:
        yield client


def parsed(response: DetailedResponse, model: Callable[[dict[str, Any]], M], status: int = 200) -> M:
    """The response's body as the SDK's model; fails on another status or a missing required field."""
    assert response.get_status_code() == status, response.get_result()
    body = response.get_result()
    assert isinstance(body, dict), f"expected a JSON object, got {body!r}"
    return model(body)


def no_content(response: DetailedResponse) -> None:
    assert response.get_status_code() == 204
    assert response.get_result() is None


def api_error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> ApiException:
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    return info.value


def version_aliases(sm: SecretsManagerV2, secret_id: str) -> dict[str, SecretVersionMetadata]:
    """alias -> version metadata, from list_secret_versions."""
    collection = parsed(sm.list_secret_versions(secret_id), SecretVersionMetadataCollection.from_dict)
    assert collection.total_count == len(collection.versions)
    return {v.alias: v for v in collection.versions if v.alias}


def new_group(sm: SecretsManagerV2, name: str) -> SecretGroup:
    return parsed(sm.create_secret_group(name, description=f"{name} group"), SecretGroup.from_dict, 201)


def create(sm: SecretsManagerV2, proto: Any) -> Secret:
    """create_secret; the response parsed as the SDK's `Secret` (data included)."""
    return parsed(sm.create_secret(proto), Secret.from_dict, 201)


def new_version(sm: SecretsManagerV2, secret_id: str, proto: Any) -> SecretVersion:
    """create_secret_version; the response parsed as the SDK's `SecretVersion` (data included)."""
    return parsed(sm.create_secret_version(secret_id, proto), SecretVersion.from_dict, 201)


def new_arbitrary(sm: SecretsManagerV2, name: str, payload: str, **extra: Any) -> ArbitrarySecret:
    secret = create(sm, ArbitrarySecretPrototype(secret_type="arbitrary", name=name, payload=payload, **extra))
    assert isinstance(secret, ArbitrarySecret) and secret.payload == payload
    return secret


# -- secret groups --------------------------------------------------------------------


def test_secret_groups_create_list_get_update_delete(sm: SecretsManagerV2) -> None:
    created = new_group(sm, "payments")
    assert created.name == "payments"
    assert created.description == "payments group"
    assert created.id and created.created_by and created.created_at and created.updated_at

    listed = parsed(sm.list_secret_groups(), SecretGroupCollection.from_dict)
    assert listed.total_count == len(listed.secret_groups)
    by_id = {g.id: g for g in listed.secret_groups}
    assert {"default", created.id} <= set(by_id)
    assert by_id[created.id].name == "payments"

    fetched = parsed(sm.get_secret_group(created.id), SecretGroup.from_dict)
    assert fetched.to_dict() == created.to_dict()

    patch = SecretGroupPatch(name="payments-eu", description="moved to the EU")
    updated = parsed(sm.update_secret_group(created.id, patch), SecretGroup.from_dict)
    assert (updated.id, updated.name, updated.description) == (created.id, "payments-eu", "moved to the EU")
    assert updated.created_at == created.created_at
    again = parsed(sm.get_secret_group(created.id), SecretGroup.from_dict)
    assert (again.name, again.description) == ("payments-eu", "moved to the EU")

    # A group that holds a secret cannot go; once empty it can.
    secret = new_arbitrary(sm, "in-group", "x", secret_group_id=created.id)
    assert api_error(sm.delete_secret_group, created.id).status_code == 409
    no_content(sm.delete_secret(secret.id))
    no_content(sm.delete_secret_group(created.id))
    assert api_error(sm.get_secret_group, created.id).status_code == 404
    remaining = parsed(sm.list_secret_groups(), SecretGroupCollection.from_dict)
    assert created.id not in {g.id for g in remaining.secret_groups}

    # The built-in group stays.
    assert api_error(sm.delete_secret_group, "default").status_code == 409


# -- the three generic types -----------------------------------------------------------


def test_generic_secrets_round_trip_and_lookup_by_name(sm: SecretsManagerV2) -> None:
    group = new_group(sm, "apps")
    expires = datetime(2030, 1, 1, tzinfo=UTC)

    arbitrary = new_arbitrary(
        sm, "api-token", "s3cr3t payload \u00e9", secret_group_id=group.id, description="the token",
        labels=["env:prod", "team:a"], custom_metadata={"owner": "ops"}, expiration_date=expires,
        version_custom_metadata={"source": "ci"},
    )
    assert arbitrary.secret_group_id == group.id
    assert arbitrary.labels == ["env:prod", "team:a"]
    assert arbitrary.custom_metadata == {"owner": "ops"}
    assert arbitrary.expiration_date == expires
    assert arbitrary.versions_total == 1
    assert (arbitrary.state, arbitrary.state_description) == (1, "active")

    kv_data = {"host": "db.internal", "port": 5432, "opts": {"tls": True, "hosts": ["a", "b"]}}
    kv_proto = KVSecretPrototype(secret_type="kv", name="db-config", data=kv_data, secret_group_id=group.id)
    kv = create(sm, kv_proto)
    assert isinstance(kv, KVSecret) and kv.data == kv_data

    policy = PasswordGenerationPolicy(length=20, include_digits=True, include_symbols=False, include_uppercase=True)
    up_proto = UsernamePasswordSecretPrototype(
        secret_type="username_password", name="db-login", username="app_user", secret_group_id=group.id,
        password_generation_policy=policy,
    )
    up = create(sm, up_proto)
    assert isinstance(up, UsernamePasswordSecret) and up.username == "app_user" and len(up.password) == 20
    assert up.rotation == {"auto_rotate": False}
    assert up.password_generation_policy.length == 20
    assert up.password_generation_policy.include_symbols is False

    # get_secret: the data round-trips.
    got = parsed(sm.get_secret(arbitrary.id), Secret.from_dict)
    assert isinstance(got, ArbitrarySecret)
    assert got.payload == "s3cr3t payload \u00e9"
    assert got.description == "the token"
    assert got.downloaded is True
    assert got.retrieved_at is not None

    got_kv = parsed(sm.get_secret(kv.id), Secret.from_dict)
    assert isinstance(got_kv, KVSecret)
    assert got_kv.data == kv_data

    got_up = parsed(sm.get_secret(up.id), Secret.from_dict)
    assert isinstance(got_up, UsernamePasswordSecret)
    password = got_up.password
    assert got_up.username == "app_user"
    assert len(password) == 20
    assert not set(password) & set(SYMBOLS)
    assert set(password) <= set(string.ascii_letters + string.digits)
    assert set(password) & set(string.digits)
    assert set(password) & set(string.ascii_uppercase)
    assert set(password) & set(string.ascii_lowercase)

    # Lookup by group name, type and name returns the same secret with its data.
    by_name = parsed(sm.get_secret_by_name_type("kv", "db-config", "apps"), Secret.from_dict)
    assert isinstance(by_name, KVSecret)
    assert (by_name.id, by_name.data) == (kv.id, kv_data)
    by_name_up = parsed(sm.get_secret_by_name_type("username_password", "db-login", "apps"), Secret.from_dict)
    assert isinstance(by_name_up, UsernamePasswordSecret)
    assert by_name_up.password == password
    # The type is part of the key: the same name under another type is not found.
    assert api_error(sm.get_secret_by_name_type, "arbitrary", "db-config", "apps").status_code == 404
    assert api_error(sm.get_secret_by_name_type, "kv", "db-config", "default").status_code == 404
    assert api_error(sm.get_secret, "00000000-0000-0000-0000-000000000000").status_code == 404

    # Every read gets the same data; metadata carries none.
    assert parsed(sm.get_secret(up.id), Secret.from_dict).password == password
    meta = parsed(sm.get_secret_metadata(up.id), SecretMetadata.from_dict)
    assert isinstance(meta, UsernamePasswordSecretMetadata)
    assert "password" not in sm.get_secret_metadata(up.id).get_result()
    assert "data" not in sm.get_secret_metadata(kv.id).get_result()
    assert "payload" not in sm.get_secret_metadata(arbitrary.id).get_result()

    for secret_id in (arbitrary.id, kv.id, up.id):
        no_content(sm.delete_secret(secret_id))
        assert api_error(sm.get_secret, secret_id).status_code == 404
    no_content(sm.delete_secret_group(group.id))


def test_metadata_get_and_patch(sm: SecretsManagerV2) -> None:
    kv_proto = KVSecretPrototype(secret_type="kv", name="feature-flags", data={"beta": True}, labels=["blue"])
    kv = create(sm, kv_proto)

    patch = KVSecretMetadataPatch(
        name="flags", description="feature flags", labels=["blue", "green"], custom_metadata={"k": 1}
    )
    updated = parsed(sm.update_secret_metadata(kv.id, patch), SecretMetadata.from_dict)
    assert isinstance(updated, KVSecretMetadata)
    assert (updated.name, updated.description, updated.labels, updated.custom_metadata) == (
        "flags", "feature flags", ["blue", "green"], {"k": 1},
    )
    fetched = parsed(sm.get_secret_metadata(kv.id), SecretMetadata.from_dict)
    assert fetched.to_dict() == updated.to_dict()
    # The rename is visible to lookup by name; the data did not change.
    by_name = parsed(sm.get_secret_by_name_type("kv", "flags", "default"), Secret.from_dict)
    assert (by_name.id, by_name.data) == (kv.id, {"beta": True})
    assert api_error(sm.get_secret_by_name_type, "kv", "feature-flags", "default").status_code == 404

    arbitrary = new_arbitrary(sm, "cert-bundle", "v1")
    new_expiry = datetime(2031, 6, 1, 8, 30, tzinfo=UTC)
    patched = parsed(
        sm.update_secret_metadata(arbitrary.id, ArbitrarySecretMetadataPatch(expiration_date=new_expiry)),
        SecretMetadata.from_dict,
    )
    assert patched.expiration_date == new_expiry
    # A kv secret has no expiration: the server refuses rather than ignore it.
    assert api_error(sm.update_secret_metadata, kv.id, {"expiration_date": "2031-01-01T00:00:00Z"}).status_code == 400

    # username_password: rotation and password policy patches; the next generated
    # password follows the new policy.
    up_proto = UsernamePasswordSecretPrototype(secret_type="username_password", name="svc", username="svc")
    up = create(sm, up_proto)
    first_password = parsed(sm.get_secret(up.id), Secret.from_dict).password
    assert len(first_password) == 32  # the default policy
    up_patch = UsernamePasswordSecretMetadataPatch(
        rotation={"auto_rotate": True, "interval": 30, "unit": "day"},
        password_generation_policy=PasswordGenerationPolicyPatch(length=16, include_symbols=False),
    )
    up_meta = parsed(sm.update_secret_metadata(up.id, up_patch), SecretMetadata.from_dict)
    assert isinstance(up_meta, UsernamePasswordSecretMetadata)
    assert up_meta.rotation == {"auto_rotate": True, "interval": 30, "unit": "day"}
    policy = up_meta.password_generation_policy
    assert (policy.length, policy.include_symbols) == (16, False)
    assert (policy.include_digits, policy.include_uppercase) == (True, True)  # unpatched fields stay
    version = new_version(sm, up.id, UsernamePasswordSecretVersionPrototype())
    assert isinstance(version, UsernamePasswordSecretVersion) and len(version.password) == 16
    current = parsed(sm.get_secret(up.id), Secret.from_dict)
    assert len(current.password) == 16
    assert not set(current.password) & set(SYMBOLS)
    assert current.password != first_password
    assert current.username == "svc"


# -- listing ------------------------------------------------------------------------------


def test_list_secrets_filters_sort_and_paging(sm: SecretsManagerV2) -> None:
    team = new_group(sm, "team")
    made: dict[str, str] = {}
    specs: list[tuple[str, str, str, list[str]]] = [
        # name, type, group, labels
        ("alpha", "arbitrary", "default", ["env:prod", "tier:1"]),
        ("bravo", "kv", "default", ["env:prod"]),
        ("charlie", "kv", team.id, ["env:prod", "tier:1"]),
        ("delta", "username_password", team.id, ["env:dev"]),
        ("echo-needle", "arbitrary", team.id, []),
    ]
    for name, secret_type, group_id, labels in specs:
        proto: Any
        if secret_type == "arbitrary":
            proto = ArbitrarySecretPrototype(
                secret_type=secret_type, name=name, payload="p", secret_group_id=group_id, labels=labels
            )
        elif secret_type == "kv":
            proto = KVSecretPrototype(
                secret_type=secret_type, name=name, data={"k": name}, secret_group_id=group_id, labels=labels
            )
        else:
            proto = UsernamePasswordSecretPrototype(
                secret_type=secret_type, name=name, username=name, secret_group_id=group_id, labels=labels
            )
        made[name] = create(sm, proto).id

    def listed(**query: Any) -> list[SecretMetadata]:
        response = sm.list_secrets(**query)
        page = parsed(response, SecretMetadataPaginatedCollection.from_dict)
        assert page.total_count == len(page.secrets)
        for raw in response.get_result()["secrets"]:  # a listing never carries secret data
            assert not {"payload", "data", "password"} & set(raw)
        return page.secrets

    def names(**query: Any) -> list[str]:
        return [s.name for s in listed(**query)]

    assert names(sort="name") == ["alpha", "bravo", "charlie", "delta", "echo-needle"]
    assert names(sort="-name") == ["echo-needle", "delta", "charlie", "bravo", "alpha"]
    assert names(sort="name", groups=[team.id]) == ["charlie", "delta", "echo-needle"]
    assert names(sort="name", groups=["default"]) == ["alpha", "bravo"]
    assert names(sort="name", groups=[team.id, "default"]) == ["alpha", "bravo", "charlie", "delta", "echo-needle"]
    assert names(sort="name", secret_types=["kv"]) == ["bravo", "charlie"]
    assert names(sort="name", secret_types=["kv", "username_password"]) == ["bravo", "charlie", "delta"]
    assert names(sort="name", match_all_labels=["env:prod"]) == ["alpha", "bravo", "charlie"]
    assert names(sort="name", match_all_labels=["env:prod", "tier:1"]) == ["alpha", "charlie"]
    assert names(sort="name", match_all_labels=["env:prod", "env:dev"]) == []
    assert names(sort="name", search="needle") == ["echo-needle"]
    assert names(sort="name", search="TIER:1") == ["alpha", "charlie"]  # labels count, case-insensitive
    assert names(sort="name", groups=[team.id], secret_types=["kv"], match_all_labels=["tier:1"]) == ["charlie"]
    by_type = [s.secret_type for s in listed(sort="secret_type")]
    assert by_type == sorted(by_type) and len(by_type) == 5
    by_type_desc = [s.secret_type for s in listed(sort="-secret_type")]
    assert by_type_desc == sorted(by_type, reverse=True)

    # Paging by hand: the collection's links and counts.
    first = parsed(sm.list_secrets(sort="name", limit=2), SecretMetadataPaginatedCollection.from_dict)
    assert (first.total_count, first.limit, first.offset) == (5, 2, 0)
    assert [s.name for s in first.secrets] == ["alpha", "bravo"]
    assert first.next is not None and first.previous is None
    assert "offset=4" in first.last.href
    last = parsed(sm.list_secrets(sort="name", limit=2, offset=4), SecretMetadataPaginatedCollection.from_dict)
    assert [s.name for s in last.secrets] == ["echo-needle"]
    assert last.next is None and last.previous is not None

    # The SDK's own pager walks every page, in order, with the filters kept.
    pager = SecretsPager(client=sm, limit=2, sort="name")
    pages = []
    while pager.has_next():
        pages.append([SecretMetadata.from_dict(item).name for item in pager.get_next()])
    assert pages == [["alpha", "bravo"], ["charlie", "delta"], ["echo-needle"]]
    filtered = SecretsPager(client=sm, limit=1, sort="-name", groups=[team.id], match_all_labels=["env:prod"])
    assert [SecretMetadata.from_dict(i).id for i in filtered.get_all()] == [made["charlie"]]
    every = SecretsPager(client=sm, limit=3, secret_types=["kv", "arbitrary"]).get_all()
    assert sorted(SecretMetadata.from_dict(i).name for i in every) == ["alpha", "bravo", "charlie", "echo-needle"]
    assert len({i["id"] for i in every}) == 4  # no item twice across pages


# -- versions --------------------------------------------------------------------------------


def test_versions_current_previous_and_data_deletion(sm: SecretsManagerV2) -> None:
    secret = new_arbitrary(sm, "rotating", "v1-data", version_custom_metadata={"build": 1})
    v1 = version_aliases(sm, secret.id)["current"]
    assert v1.payload_available is True
    assert v1.version_custom_metadata == {"build": 1}

    created = new_version(
        sm, secret.id, ArbitrarySecretVersionPrototype(payload="v2-data", version_custom_metadata={"build": 2})
    )
    assert isinstance(created, ArbitrarySecretVersion) and created.payload == "v2-data"
    assert created.secret_id == secret.id
    assert created.id != v1.id
    assert created.alias == "current"

    aliases = version_aliases(sm, secret.id)
    assert (aliases["current"].id, aliases["previous"].id) == (created.id, v1.id)

    current = parsed(sm.get_secret_version(secret.id, "current"), SecretVersion.from_dict)
    previous = parsed(sm.get_secret_version(secret.id, "previous"), SecretVersion.from_dict)
    assert (current.id, current.payload, current.alias) == (created.id, "v2-data", "current")
    assert (previous.id, previous.payload, previous.alias) == (v1.id, "v1-data", "previous")
    by_id = parsed(sm.get_secret_version(secret.id, v1.id), SecretVersion.from_dict)
    assert by_id.payload == "v1-data"
    assert parsed(sm.get_secret(secret.id), Secret.from_dict).payload == "v2-data"
    meta = parsed(sm.get_secret_metadata(secret.id), SecretMetadata.from_dict)
    assert meta.versions_total == 2

    # Version metadata: read and replace.
    vmeta = parsed(sm.get_secret_version_metadata(secret.id, "previous"), SecretVersionMetadata.from_dict)
    assert (vmeta.id, vmeta.version_custom_metadata) == (v1.id, {"build": 1})
    vpatch = SecretVersionMetadataPatch(version_custom_metadata={"build": 1, "ok": True})
    patched = parsed(sm.update_secret_version_metadata(secret.id, "previous", vpatch), SecretVersionMetadata.from_dict)
    assert (patched.id, patched.version_custom_metadata) == (v1.id, {"build": 1, "ok": True})
    again = parsed(sm.get_secret_version_metadata(secret.id, v1.id), SecretVersionMetadata.from_dict)
    assert again.version_custom_metadata == {"build": 1, "ok": True}
    # Only that version changed.
    assert version_aliases(sm, secret.id)["current"].version_custom_metadata == {"build": 2}
    # The metadata patch leaves the data alone.
    assert parsed(sm.get_secret_version(secret.id, "previous"), SecretVersion.from_dict).payload == "v1-data"

    # A third version moves both aliases.
    v3 = new_version(sm, secret.id, ArbitrarySecretVersionPrototype(payload="v3-data"))
    aliases = version_aliases(sm, secret.id)
    assert (aliases["current"].id, aliases["previous"].id) == (v3.id, created.id)
    assert parsed(sm.get_secret_version(secret.id, "previous"), SecretVersion.from_dict).payload == "v2-data"

    # Deleting the previous version's data: the version stays, its data is gone.
    no_content(sm.delete_secret_version_data(secret.id, "previous"))
    gone = parsed(sm.get_secret_version_metadata(secret.id, "previous"), SecretVersionMetadata.from_dict)
    assert (gone.id, gone.payload_available) == (created.id, False)
    assert version_aliases(sm, secret.id)["previous"].payload_available is False
    assert version_aliases(sm, secret.id)["current"].payload_available is True
    assert api_error(sm.get_secret_version, secret.id, "previous").status_code == 404
    assert parsed(sm.get_secret(secret.id), Secret.from_dict).payload == "v3-data"

    no_content(sm.delete_secret(secret.id))
    assert api_error(sm.list_secret_versions, secret.id).status_code == 404


def test_kv_and_username_password_versions(sm: SecretsManagerV2) -> None:
    kv = create(sm, KVSecretPrototype(secret_type="kv", name="cfg", data={"n": 1}))
    v2 = new_version(sm, kv.id, KVSecretVersionPrototype(data={"n": 2, "extra": [1, 2]}))
    assert isinstance(v2, KVSecretVersion) and v2.data == {"n": 2, "extra": [1, 2]}
    current = parsed(sm.get_secret_version(kv.id, "current"), SecretVersion.from_dict)
    assert isinstance(current, KVSecretVersion)
    assert (current.id, current.data) == (v2.id, {"n": 2, "extra": [1, 2]})
    assert parsed(sm.get_secret_version(kv.id, "previous"), SecretVersion.from_dict).data == {"n": 1}
    assert parsed(sm.get_secret(kv.id), Secret.from_dict).data == {"n": 2, "extra": [1, 2]}
    # A field of another type is refused, not ignored.
    assert api_error(sm.create_secret_version, kv.id, {"payload": "x"}).status_code == 400

    up = create(
        sm,
        UsernamePasswordSecretPrototype(
            secret_type="username_password", name="login", username="u1", password="first-pass"
        ),
    )
    assert parsed(sm.get_secret(up.id), Secret.from_dict).password == "first-pass"
    given = new_version(sm, up.id, UsernamePasswordSecretVersionPrototype(password="second-pass"))
    read = parsed(sm.get_secret_version(up.id, given.id), SecretVersion.from_dict)
    assert isinstance(read, UsernamePasswordSecretVersion)
    assert (read.username, read.password) == ("u1", "second-pass")
    generated = new_version(sm, up.id, UsernamePasswordSecretVersionPrototype())
    current = parsed(sm.get_secret_version(up.id, "current"), SecretVersion.from_dict)
    assert current.id == generated.id
    assert len(current.password) == 32
    assert current.password not in ("first-pass", "second-pass")
    previous = parsed(sm.get_secret_version(up.id, "previous"), SecretVersion.from_dict)
    assert (previous.id, previous.username, previous.password) == (given.id, "u1", "second-pass")


# -- locks -------------------------------------------------------------------------------------


def test_locks_and_412s(sm: SecretsManagerV2) -> None:
    group = new_group(sm, "locked")
    secret = new_arbitrary(sm, "db-cred", "v1-data", secret_group_id=group.id)
    other = new_arbitrary(sm, "unlocked", "zzz")
    v1 = version_aliases(sm, secret.id)["current"]

    locks = [
        SecretLockPrototype(name="lock-a", description="app A", attributes={"ticket": "T-1"}),
        SecretLockPrototype(name="lock-b"),
    ]
    summary = parsed(sm.create_secret_locks_bulk(secret.id, locks), SecretLocks.from_dict, 201)
    assert (summary.secret_id, summary.secret_group_id, summary.secret_type) == (secret.id, group.id, "arbitrary")
    assert [(v.version_id, v.version_alias, v.locks) for v in summary.versions] == [
        (v1.id, "current", ["lock-a", "lock-b"]),
    ]
    assert parsed(sm.get_secret_metadata(secret.id), SecretMetadata.from_dict).locks_total == 2
    listed = parsed(sm.list_secret_locks(secret.id, sort="name"), SecretLocksPaginatedCollection.from_dict)
    lock_a = listed.locks[0]
    assert (lock_a.name, lock_a.description, lock_a.attributes) == ("lock-a", "app A", {"ticket": "T-1"})
    assert (lock_a.secret_version_id, lock_a.secret_version_alias) == (v1.id, "current")

    # A locked secret cannot be deleted.
    error = api_error(sm.delete_secret, secret.id)
    assert error.status_code == 412
    assert "lock-a" in error.message
    assert parsed(sm.get_secret(secret.id), Secret.from_dict).payload == "v1-data"

    # A new version is fine while only the current version is locked: v1 becomes previous.
    v2 = new_version(sm, secret.id, ArbitrarySecretVersionPrototype(payload="v2-data"))
    # But now the previous version is locked, so another version would drop its data: 412.
    error = api_error(sm.create_secret_version, secret.id, ArbitrarySecretVersionPrototype(payload="v3-data"))
    assert error.status_code == 412
    assert version_aliases(sm, secret.id)["current"].id == v2.id
    assert parsed(sm.get_secret(secret.id), Secret.from_dict).payload == "v2-data"
    # The locked previous version's data cannot be deleted either, nor its metadata changed.
    assert api_error(sm.delete_secret_version_data, secret.id, "previous").status_code == 412
    vpatch = SecretVersionMetadataPatch(version_custom_metadata={"x": 1})
    assert api_error(sm.update_secret_version_metadata, secret.id, "previous", vpatch).status_code == 412

    # remove_previous moves lock-a from the previous version to the current one.
    moved = parsed(
        sm.create_secret_version_locks_bulk(
            secret.id, "current", [SecretLockPrototype(name="lock-a")], mode="remove_previous"
        ),
        SecretLocks.from_dict,
        201,
    )
    held = {v.version_alias: (v.version_id, v.locks) for v in moved.versions}
    assert held == {"current": (v2.id, ["lock-a"]), "previous": (v1.id, ["lock-b"])}

    all_locks = parsed(sm.list_secret_locks(secret.id), SecretLocksPaginatedCollection.from_dict)
    assert all_locks.total_count == 2
    assert {(lk.name, lk.secret_version_id, lk.secret_version_alias) for lk in all_locks.locks} == {
        ("lock-a", v2.id, "current"), ("lock-b", v1.id, "previous"),
    }
    assert all(lk.secret_id == secret.id and lk.secret_group_id == group.id for lk in all_locks.locks)
    searched = parsed(sm.list_secret_locks(secret.id, search="lock-b"), SecretLocksPaginatedCollection.from_dict)
    assert [lk.name for lk in searched.locks] == ["lock-b"]
    paged = SecretLocksPager(client=sm, id=secret.id, limit=1, sort="name").get_all()
    assert [SecretLock.from_dict(lk).name for lk in paged] == ["lock-a", "lock-b"]

    prev_locks = parsed(
        sm.list_secret_version_locks(secret.id, "previous"), SecretVersionLocksPaginatedCollection.from_dict
    )
    assert [(lk.name, lk.secret_version_alias) for lk in prev_locks.locks] == [("lock-b", "previous")]
    cur_locks = parsed(
        sm.list_secret_version_locks(secret.id, v2.id), SecretVersionLocksPaginatedCollection.from_dict
    )
    assert [lk.name for lk in cur_locks.locks] == ["lock-a"]
    assert cur_locks.locks[0].description in ("", None)  # re-created by the bulk call without one

    instance = parsed(sm.list_secrets_locks(), SecretsLocksPaginatedCollection.from_dict)
    assert instance.total_count == 1  # the unlocked secret is not listed
    [entry] = instance.secrets_locks
    assert entry.secret_id == secret.id
    assert {v.version_alias: v.locks for v in entry.versions} == {"current": ["lock-a"], "previous": ["lock-b"]}
    assert other.id not in {s.secret_id for s in instance.secrets_locks}
    assert parsed(sm.list_secrets_locks(groups=["default"]), SecretsLocksPaginatedCollection.from_dict).total_count == 0
    assert parsed(sm.list_secrets_locks(search="lock-b"), SecretsLocksPaginatedCollection.from_dict).total_count == 1
    assert [SecretLocks.from_dict(s).secret_id for s in SecretsLocksPager(client=sm, limit=1).get_all()] == [secret.id]

    # Removing the previous version's lock lets a new version through again.
    freed = parsed(
        sm.delete_secret_version_locks_bulk(secret.id, "previous", name=["lock-b"]), SecretLocks.from_dict
    )
    assert {v.version_alias: v.locks for v in freed.versions} == {"current": ["lock-a"], "previous": []}
    v3 = new_version(sm, secret.id, ArbitrarySecretVersionPrototype(payload="v3-data"))
    aliases = version_aliases(sm, secret.id)
    assert (aliases["current"].id, aliases["previous"].id) == (v3.id, v2.id)
    # lock-a stayed with v2, now previous; deleting the data of a locked version is refused.
    assert api_error(sm.delete_secret_version_data, secret.id, "previous").status_code == 412
    assert api_error(sm.delete_secret, secret.id).status_code == 412

    # Deleting every lock of the secret frees it.
    cleared = parsed(sm.delete_secret_locks_bulk(secret.id), SecretLocks.from_dict)
    assert all(v.locks == [] for v in cleared.versions)
    assert parsed(sm.get_secret_metadata(secret.id), SecretMetadata.from_dict).locks_total == 0
    assert parsed(sm.list_secret_locks(secret.id), SecretLocksPaginatedCollection.from_dict).total_count == 0
    assert parsed(sm.list_secrets_locks(), SecretsLocksPaginatedCollection.from_dict).total_count == 0

    no_content(sm.delete_secret_version_data(secret.id, "previous"))
    assert version_aliases(sm, secret.id)["previous"].payload_available is False
    # A version without data cannot be locked.
    late = [SecretLockPrototype(name="late")]
    assert api_error(sm.create_secret_version_locks_bulk, secret.id, "previous", late).status_code == 400

    no_content(sm.delete_secret(secret.id))
    assert api_error(sm.get_secret, secret.id).status_code == 404
    assert api_error(sm.list_secret_locks, secret.id).status_code == 404
    no_content(sm.delete_secret(other.id))
    no_content(sm.delete_secret_group(group.id))


# -- public certificate configurations ------------------------------------------------


def test_public_configurations_are_patched_with_the_sdks_patch_models(sm: SecretsManagerV2, core: Core) -> None:
    from acme_client.accounts import generate_account_key
    from lifecycle.public_configs import open_secrets

    created = sm.create_configuration(PublicCertificateConfigurationCALetsEncryptPrototype(
        config_type="public_cert_configuration_ca_lets_encrypt", name="le", lets_encrypt_environment="staging",
        lets_encrypt_private_key=generate_account_key()))
    assert created.get_status_code() == 201, created.get_result()
    new_key = generate_account_key()
    patched = sm.update_configuration("le", PublicCertificateConfigurationCALetsEncryptPatch(
        lets_encrypt_environment="production", lets_encrypt_private_key=new_key,
        lets_encrypt_preferred_chain="ISRG Root X1"))
    assert patched.get_status_code() == 200, patched.get_result()
    assert {k: patched.get_result()[k] for k in ("lets_encrypt_environment", "lets_encrypt_preferred_chain")} == {
        "lets_encrypt_environment": "production", "lets_encrypt_preferred_chain": "ISRG Root X1"}
    with core.store.reader() as tx:
        config = tx.get_config("le")
    assert config is not None and open_secrets(core, config)["account_key"] == new_key
    got = sm.get_configuration("le").get_result()  # the key is never shown (README: read it as a dict)
    assert got["lets_encrypt_environment"] == "production" and "lets_encrypt_private_key" not in got

    crn = "crn:v1:bluemix:public:internet-svcs:global:a/1:2::"
    sm.create_configuration(PublicCertificateConfigurationDNSCloudInternetServicesPrototype(
        config_type="public_cert_configuration_dns_cloud_internet_services", name="cis",
        cloud_internet_services_crn=crn, cloud_internet_services_apikey="first-key"))
    patched = sm.update_configuration("cis", PublicCertificateConfigurationDNSCloudInternetServicesPatch(
        cloud_internet_services_apikey="second-key"))
    assert patched.get_status_code() == 200 and patched.get_result()["cloud_internet_services_crn"] == crn
    assert "second-key" not in str(patched.get_result())
    refused = api_error(sm.update_configuration, "le", PublicCertificateConfigurationCALetsEncryptPatch(
        lets_encrypt_environment="nowhere"))
    assert refused.status_code == 400 and "lets_encrypt_environment" in refused.message


def test_configuration_actions_and_listing_parse_with_the_sdks_models(sm: SecretsManagerV2) -> None:
    """Signing answers are the SDK's ConfigurationAction (the request echoed, the certificate
    in `data` for sign_csr); the listing parses with a Let's Encrypt configuration in it, and
    its secret_types filter and sort are honoured, also through the SDK's pager."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from acme_client.accounts import generate_account_key

    for body in ({"config_type": "private_cert_configuration_root_ca", "name": "sdk-root", "common_name": "SDK Root",
                  "max_ttl": "87600h", "key_type": "ec"},
                 {"config_type": "private_cert_configuration_intermediate_ca", "name": "sdk-int",
                  "common_name": "SDK Intermediate", "max_ttl": "43800h", "key_type": "ec",
                  "signing_method": "internal", "issuer": "sdk-root"},
                 {"config_type": "public_cert_configuration_ca_lets_encrypt", "name": "sdk-le",
                  "lets_encrypt_environment": "staging", "lets_encrypt_private_key": generate_account_key()}):
        assert sm.create_configuration(body).get_status_code() == 201
    signed = parsed(sm.create_configuration_action("sdk-root", {
        "action_type": "private_cert_configuration_action_sign_intermediate",
        "intermediate_certificate_authority": "sdk-int"}), ConfigurationAction.from_dict, 201)
    assert signed.intermediate_certificate_authority == "sdk-int"
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other Intermediate")]))
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode())
    by_csr = parsed(sm.create_configuration_action("sdk-root", {
        "action_type": "private_cert_configuration_action_sign_csr", "csr": csr, "common_name": "Other Intermediate"}),
        ConfigurationAction.from_dict, 201)
    issued = x509.load_pem_x509_certificate(by_csr.data.certificate.encode())
    assert issued.subject.rfc4514_string() == "CN=Other Intermediate" and by_csr.csr == csr

    listed = parsed(sm.list_configurations(), ConfigurationMetadataPaginatedCollection.from_dict)
    assert sorted(c.name for c in listed.configurations) == ["sdk-int", "sdk-le", "sdk-root"]
    private = parsed(sm.list_configurations(secret_types=["private_cert"], sort="-name"),
                     ConfigurationMetadataPaginatedCollection.from_dict)
    assert [c.name for c in private.configurations] == ["sdk-root", "sdk-int"]
    paged = ConfigurationsPager(client=sm, limit=1, sort="name").get_all()
    assert [c["name"] for c in paged] == ["sdk-int", "sdk-le", "sdk-root"]
