"""ACME orders against Debian's Pebble with DNS-01 through the CIS fixture server (and manual DNS):
issued chains verify against Pebble's issuing root, failures carry the ACME problem per
identifier, orders resume from JSON in a new process, and no TXT record is left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from acme_client.accounts import generate_account_key, register_account
from acme_client.chains import IssuedCertificate, split_chain
from acme_client.connection import AcmeConnection
from acme_client.errors import AcmeConfigurationError, AcmeOrderError
from acme_client.issuance import complete_order, present_challenges
from acme_client.orders import answer, new_order
from acme_client.polling import Poller
from dns_providers.cis import CisProvider
from dns_providers.manual import ManualProvider
from fixtures.cis_server import CisServer
from fixtures.pebble import Pebble, run_pebble
from fixtures.pebble_plugin import connect

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
POLLER = Poller(timeout=30)  # Pebble without its sleep answers in milliseconds; this bounds a hang


def assert_verifies(issued: IssuedCertificate, root_pem: str, tmp_path: Path) -> None:
    """`openssl verify` of the leaf through the intermediates up to root_pem."""
    (tmp_path / "root.pem").write_text(root_pem)
    (tmp_path / "leaf.pem").write_text(issued.certificate)
    (tmp_path / "chain.pem").write_text(issued.intermediate)
    result = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"), "-untrusted",
                             str(tmp_path / "chain.pem"), str(tmp_path / "leaf.pem")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def dns_names(pem: str) -> set[str]:
    cert = x509.load_pem_x509_certificate(pem.encode())
    return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))


def assert_no_txt_left(cis_server: CisServer, pebble: Pebble, *record_names: str) -> None:
    assert cis_server.state.all_txt() == []
    for name in record_names:
        assert pebble.txt_values(name) == set(), name


@pytest.mark.parametrize("key_algorithm", ["RSA2048", "RSA4096", "ECDSA256", "ECDSA384"])
def test_order_for_two_names_through_cis_verifies_against_pebbles_root(
        acme_connection: AcmeConnection, cis_provider: CisProvider, cis_server: CisServer, pebble: Pebble,
        unique_domain: str, key_algorithm: str, tmp_path: Path) -> None:
    order = new_order(acme_connection, unique_domain, [f"www.{unique_domain}"], key_algorithm)
    assert {c.domain for c in order.challenges} == {unique_domain, f"www.{unique_domain}"}
    issued = complete_order(acme_connection, order, cis_provider, poller=POLLER)
    assert dns_names(issued.certificate) == {unique_domain, f"www.{unique_domain}"}
    assert issued.private_key == order.private_key_pem
    assert_verifies(issued, pebble.issuing_root_pem(0), tmp_path)
    assert_no_txt_left(cis_server, pebble, *(c.txt_record_name for c in order.challenges))


def test_wildcard_and_apex_share_one_record_name_and_both_validate(
        acme_connection: AcmeConnection, cis_provider: CisProvider, cis_server: CisServer, pebble: Pebble,
        unique_domain: str, tmp_path: Path) -> None:
    order = new_order(acme_connection, unique_domain, [f"*.{unique_domain}"], "ECDSA256")
    names = {c.txt_record_name for c in order.challenges}
    assert names == {f"_acme-challenge.{unique_domain}"}
    assert len({c.txt_record_value for c in order.challenges}) == 2
    issued = complete_order(acme_connection, order, cis_provider, poller=POLLER)
    assert dns_names(issued.certificate) == {unique_domain, f"*.{unique_domain}"}
    assert_verifies(issued, pebble.issuing_root_pem(0), tmp_path)
    assert_no_txt_left(cis_server, pebble, *names)


class WrongValue:
    """A provider that publishes a wrong TXT value through CIS (and cleans up what it published)."""

    self_check = False

    def __init__(self, inner: CisProvider) -> None:
        self.inner = inner

    def present(self, name: str, value: str) -> None:
        self.inner.present(name, "wrong-" + value[:10])

    def check(self, name: str, value: str) -> None:
        self.inner.check(name, "wrong-" + value[:10])

    def cleanup(self, name: str, value: str) -> None:
        self.inner.cleanup(name, "wrong-" + value[:10])


def test_wrong_txt_value_fails_unauthorized_with_detail_and_leaves_no_record(
        acme_connection: AcmeConnection, cis_provider: CisProvider, cis_server: CisServer, pebble: Pebble,
        unique_domain: str) -> None:
    order = new_order(acme_connection, unique_domain, [], "ECDSA256")
    with pytest.raises(AcmeOrderError) as caught:
        complete_order(acme_connection, order, WrongValue(cis_provider), poller=POLLER)
    assert caught.value.error_code == "unauthorized"
    assert caught.value.error_message.startswith(f"{unique_domain}: ")
    assert "Correct value not found for DNS challenge" in caught.value.error_message
    assert [p.identifier for p in caught.value.problems] == [unique_domain]
    assert_no_txt_left(cis_server, pebble, f"_acme-challenge.{unique_domain}")


def test_order_resumes_from_json_in_a_new_process(
        acme_connection: AcmeConnection, cis_provider: CisProvider, cis_server: CisServer, pebble: Pebble,
        unique_domain: str, tmp_path: Path) -> None:
    account = register_account(acme_connection)  # the fixture's account, found again by its key
    order = new_order(acme_connection, unique_domain, [f"*.{unique_domain}"], "ECDSA256")
    present_challenges(order, cis_provider)
    answer(acme_connection, order)  # then this process "stops": the order lives on in JSON
    job = {
        "directory_url": pebble.directory_url, "ca_bundle": pebble.tls_ca_path.read_text(),
        "account_key": _account_key(acme_connection), "account": account.to_json(),
        "order": order.to_json(), "order_key": order.private_key_pem, "resolver": pebble.dns_resolver,
        "cis_url": cis_server.url, "cis_crn": cis_server.crn, "cis_token": cis_server.token,
    }
    assert order.private_key_pem not in job["order"] and "PRIVATE KEY" not in job["account"]
    child = subprocess.run([sys.executable, "-m", "tests.e2e.acme_resume_child"], input=json.dumps(job),
                           capture_output=True, text=True, timeout=60, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert result["status_at_resume"] in ("pending", "ready", "valid")
    leaf, *intermediates = split_chain(result["fullchain"])
    assert dns_names(leaf) == {unique_domain, f"*.{unique_domain}"}
    assert_verifies(IssuedCertificate(leaf, "".join(intermediates), order.private_key_pem),
                    pebble.issuing_root_pem(0), tmp_path)
    assert_no_txt_left(cis_server, pebble, f"_acme-challenge.{unique_domain}")


def _account_key(conn: AcmeConnection) -> str:
    from cryptography.hazmat.primitives import serialization

    return conn.key.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()


def test_manual_dns_order_completes_once_the_user_published_the_records(
        acme_connection: AcmeConnection, pebble: Pebble, unique_domain: str, tmp_path: Path) -> None:
    provider = ManualProvider()
    order = new_order(acme_connection, unique_domain, [f"*.{unique_domain}"], "ECDSA256")
    present_challenges(order, provider)
    assert {(r.name, r.value) for r in provider.challenges} == {
        (c.txt_record_name, c.txt_record_value) for c in order.challenges}
    for record in provider.challenges:  # the user adds the records at their DNS host
        pebble.set_txt(record.name, record.value)
    issued = complete_order(acme_connection, order, provider, poller=POLLER)
    assert_verifies(issued, pebble.issuing_root_pem(0), tmp_path)
    assert provider.challenges == ()
    pebble.clear_txt(f"_acme-challenge.{unique_domain}")


def test_preferred_chain_picks_the_alternate_root_by_issuer_name(
        acme_connection: AcmeConnection, cis_provider: CisProvider, pebble: Pebble, unique_domain: str,
        tmp_path: Path) -> None:
    alternate_root = pebble.issuing_root_pem(1)
    wanted = x509.load_pem_x509_certificate(alternate_root.encode()).subject.rfc4514_string().removeprefix("CN=")
    order = new_order(acme_connection, unique_domain, [], "ECDSA256")
    issued = complete_order(acme_connection, order, cis_provider, poller=POLLER, preferred_chain=wanted)
    assert issued.chain_issuer == wanted
    assert_verifies(issued, alternate_root, tmp_path)


def test_registering_a_known_key_again_finds_the_same_account(pebble: Pebble) -> None:
    key = generate_account_key("ECDSA384")
    with connect(pebble, key) as first, connect(pebble, key) as second:
        assert register_account(second).uri == register_account(first).uri


def test_external_account_binding_is_required_and_accepted() -> None:
    hmac_key = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
    with run_pebble(eab_keys={"kid-1": hmac_key}) as eab_pebble:
        with connect(eab_pebble) as conn:
            with pytest.raises(AcmeConfigurationError, match="requires external account binding"):
                register_account(conn)
            with pytest.raises(AcmeOrderError) as caught:
                register_account(conn, eab_key_id="kid-1", eab_hmac_key="A" * 64)
            assert caught.value.error_code == "unauthorized"
            account = register_account(conn, eab_key_id="kid-1", eab_hmac_key=hmac_key)
            assert account.status == "valid"
