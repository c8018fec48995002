"""Imported certificates through the official IBM Secrets Manager SDK, unmodified, against
a real uvicorn server: create, read, look up by name, reimport, read the previous version,
and the managed CSR flow. Responses are parsed with the SDK's own models, so a field the
SDK requires but the server leaves out fails here as it would for an SDK user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from ibm_cloud_sdk_core import ApiException, DetailedResponse
from ibm_cloud_sdk_core.authenticators import BearerTokenAuthenticator
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ImportedCertificate,
    ImportedCertificateManagedCsr,
    ImportedCertificateMetadata,
    ImportedCertificateMetadataPatch,
    ImportedCertificatePrototype,
    ImportedCertificateVersion,
    ImportedCertificateVersionMetadata,
    ImportedCertificateVersionPrototype,
    Secret,
    SecretMetadata,
    SecretsManagerV2,
    SecretVersion,
    SecretVersionMetadataCollection,
)

from api.app import create_app
from fixtures.certs import sign_csr, text
from fixtures.live_server import serve
from lifecycle.core import Core

pytestmark = pytest.mark.slow

M = TypeVar("M")


@pytest.fixture
def sm(core: Core, admin: dict[str, str]) -> Iterator[SecretsManagerV2]:
    """The SDK configured as a user would: a bearer token and the server's base URL."""
    with serve(create_app(core)) as base_url:
        client = SecretsManagerV2(authenticator=BearerTokenAuthenticator(admin["Authorization"].split()[1]))
        client.set_service_url(base_url)
        yield client


def parsed(response: DetailedResponse, model: Callable[[dict[str, Any]], M], status: int = 200) -> M:
    assert response.get_status_code() == status, response.get_result()
    return model(response.get_result())


def test_create_read_and_reimport_an_imported_certificate(sm: SecretsManagerV2) -> None:
    proto = ImportedCertificatePrototype(
        secret_type="imported_cert", name="web-tls", labels=["edge"], certificate=text("rsa-leaf.pem"),
        intermediate=text("rsa-chain-reversed.pem"), private_key=text("rsa-leaf.key"),
        version_custom_metadata={"ticket": "CHG-1"},
    )
    created = parsed(sm.create_secret(proto), Secret.from_dict, 201)
    assert isinstance(created, ImportedCertificate)
    assert created.certificate == text("rsa-leaf.pem") and created.intermediate == text("rsa-chain.pem")
    assert created.private_key == text("rsa-leaf.key")
    assert created.common_name == "rsa.example.com" and created.serial_number == "10:10"
    assert created.validity.not_after == datetime(2035, 1, 1, tzinfo=UTC)
    assert created.expiration_date == datetime(2035, 1, 1, tzinfo=UTC)
    assert created.intermediate_included and created.private_key_included

    meta = parsed(sm.get_secret_metadata(created.id), SecretMetadata.from_dict)
    assert isinstance(meta, ImportedCertificateMetadata)
    assert (meta.key_algorithm, meta.signing_algorithm) == ("RSA2048", "SHA256-RSA")
    assert meta.alt_names == ["rsa.example.com", "www.rsa.example.com"]
    assert meta.issuer == "CN=rsa test intermediate CA,O=certkeeper test corpus"

    by_name = parsed(sm.get_secret_by_name_type("imported_cert", "web-tls", "default"), Secret.from_dict)
    assert isinstance(by_name, ImportedCertificate) and by_name.id == created.id

    version_proto = ImportedCertificateVersionPrototype(
        certificate=text("rsa-leaf-renewed.pem"), private_key=text("rsa-leaf-renewed.key"))
    version = parsed(sm.create_secret_version(created.id, version_proto), SecretVersion.from_dict, 201)
    assert isinstance(version, ImportedCertificateVersion)
    assert version.serial_number == "10:11" and version.alias == "current"
    assert version.validity.not_after == datetime(2036, 1, 1, tzinfo=UTC)
    assert version.intermediate is None  # nothing of the previous version is carried over

    current = parsed(sm.get_secret(created.id), Secret.from_dict)
    assert isinstance(current, ImportedCertificate)
    assert current.certificate == text("rsa-leaf-renewed.pem") and current.versions_total == 2
    previous = parsed(sm.get_secret_version(created.id, "previous"), SecretVersion.from_dict)
    assert isinstance(previous, ImportedCertificateVersion)
    assert previous.certificate == text("rsa-leaf.pem") and previous.private_key == text("rsa-leaf.key")
    assert previous.version_custom_metadata == {"ticket": "CHG-1"}

    listed = parsed(sm.list_secret_versions(created.id), SecretVersionMetadataCollection.from_dict)
    assert all(isinstance(v, ImportedCertificateVersionMetadata) for v in listed.versions)
    assert [(v.alias, v.serial_number) for v in listed.versions] == [("current", "10:11"), ("previous", "10:10")]
    assert [v.expiration_date for v in listed.versions] == [datetime(2036, 1, 1, tzinfo=UTC), datetime(2035, 1, 1, tzinfo=UTC)]


def test_bad_certificate_is_a_400_api_exception(sm: SecretsManagerV2) -> None:
    proto = ImportedCertificatePrototype(secret_type="imported_cert", name="bad", certificate=text("trailing-junk.pem"))
    with pytest.raises(ApiException) as info:
        sm.create_secret(proto)
    assert info.value.status_code == 400 and "after the last PEM block" in info.value.message


def test_managed_csr_create_sign_and_import(sm: SecretsManagerV2) -> None:
    proto = ImportedCertificatePrototype(
        secret_type="imported_cert", name="app-tls",
        managed_csr=ImportedCertificateManagedCsr(common_name="app.example.com", alt_names="api.example.com", key_type="ec"),
    )
    created = parsed(sm.create_secret(proto), Secret.from_dict, 201)
    assert isinstance(created, ImportedCertificate) and created.state == 0
    assert created.managed_csr is not None and created.managed_csr.key_type == "ec"
    csr, key = created.managed_csr.csr, created.managed_csr.private_key

    patch = ImportedCertificateMetadataPatch(managed_csr=ImportedCertificateManagedCsr(ou=["web"]))
    patched = sm.update_secret_metadata(created.id, patch).get_result()
    assert patched["managed_csr"]["ou"] == ["web"] and patched["managed_csr"]["csr"] != csr
    assert "private_key" not in patched["managed_csr"]  # metadata never carries the key

    signed = sign_csr(patched["managed_csr"]["csr"], "ec")
    version = parsed(sm.create_secret_version(created.id, ImportedCertificateVersionPrototype(certificate=signed)),
                     SecretVersion.from_dict, 201)
    assert isinstance(version, ImportedCertificateVersion) and version.private_key == key
    current = parsed(sm.get_secret(created.id), Secret.from_dict)
    assert isinstance(current, ImportedCertificate)
    assert current.state == 1 and current.certificate == signed and current.private_key == key
    assert current.managed_csr is not None and current.managed_csr.private_key == key
