"""Root key rotation covers every sealed value: after it, the new key alone opens them all."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lifecycle import crls, secrets, webhooks
from lifecycle.bootstrap import open_data_dir
from lifecycle.ca_store import open_key, open_retired_key
from lifecycle.configurations import create_configuration, run_action
from lifecycle.core import SYSTEM, Core
from lifecycle.crypto import Keyring, Sealed, decode_key
from lifecycle.keyfiles import load_keyring
from lifecycle.rekey import rekey
from lifecycle.secrets import SecretDraft


def test_after_rekey_the_new_root_key_alone_opens_versions_ca_keys_and_webhook_keys(tmp_path: Path) -> None:
    core = open_data_dir(tmp_path, database_url=None, env_root_key=None, create=True).core
    view = secrets.create_secret(core, SYSTEM, SecretDraft("arbitrary", "s1", fields={"payload": "v1"}))
    create_configuration(core, SYSTEM, "private_cert_configuration_root_ca", "root",
                         {"common_name": "Root", "max_ttl": "8760h", "key_type": "ec", "key_bits": 256})
    hook = webhooks.register(core, SYSTEM, "https://hooks.example.test/x", [], None, allow_private=True)
    report = rekey(tmp_path, core.store)
    assert report.new_key and report.rewrapped == 3
    active = load_keyring(tmp_path).active_id
    only_new = Keyring.single(decode_key((tmp_path / "keys" / f"{active}.key").read_text(), source="test"))  # old keys gone
    fresh = Core(store=core.store, keyring=only_new, clock=core.clock)
    assert secrets.get_secret(fresh, SYSTEM, view.secret.id, with_payload=True).data == {"payload": "v1"}
    with core.store.reader() as tx:
        open_key(fresh, tx.get_config("root"))  # type: ignore[arg-type]
        stored = tx.get_webhook(hook.webhook.id)
    assert stored is not None
    key = only_new.open(Sealed(stored.key_payload, stored.key_wrapped, stored.key_id), f"webhooks/{stored.id}")
    assert key.decode() == hook.signing_key
    core.store.dispose()


def test_rekey_rewraps_the_keys_a_rotation_retired(tmp_path: Path) -> None:
    """The key an intermediate had before `rotate_intermediate` still signs the CRL of what it
    issued: after a rekey the new root key alone must open it."""
    core = open_data_dir(tmp_path, database_url=None, env_root_key=None, create=True).core
    create_configuration(core, SYSTEM, "private_cert_configuration_root_ca", "root",
                         {"common_name": "Root", "max_ttl": "8760h", "key_type": "ec", "key_bits": 256})
    create_configuration(core, SYSTEM, "private_cert_configuration_intermediate_ca", "int",
                         {"common_name": "Int", "max_ttl": "4380h", "key_type": "ec", "key_bits": 256,
                          "signing_method": "internal", "issuer": "root", "crl_distribution_points_encoded": True})
    run_action(core, SYSTEM, "root", {"action_type": "private_cert_configuration_action_sign_intermediate",
                                      "intermediate_certificate_authority": "int"})
    run_action(core, SYSTEM, "int", {"action_type": "private_cert_configuration_action_rotate_intermediate"})
    report = rekey(tmp_path, core.store)
    assert report.rewrapped == 3  # two CAs' keys and the one retired
    active = load_keyring(tmp_path).active_id
    only_new = Keyring.single(decode_key((tmp_path / "keys" / f"{active}.key").read_text(), source="test"))
    fresh = Core(store=core.store, keyring=only_new, clock=core.clock)
    with core.store.reader() as tx:
        (retired,) = tx.list_retired_keys("int")
    old = x509.load_pem_x509_certificate(retired.certificate.encode())
    assert public_der(open_retired_key(fresh, retired).public_key()) == public_der(old.public_key())
    with core.store.transaction() as tx:
        crls.rebuild(tx, fresh, "int")
    assert x509.load_der_x509_crl(crls.current(fresh, "int", 1)).is_signature_valid(old.public_key())  # type: ignore[arg-type]
    core.store.dispose()


def test_a_rekey_interrupted_with_only_retired_ca_keys_left_is_finished_not_begun_again(tmp_path: Path) -> None:
    core = open_data_dir(tmp_path, database_url=None, env_root_key=None, create=True).core
    create_configuration(core, SYSTEM, "private_cert_configuration_root_ca", "root",
                         {"common_name": "Root", "max_ttl": "8760h", "key_type": "ec", "key_bits": 256})
    create_configuration(core, SYSTEM, "private_cert_configuration_intermediate_ca", "int",
                         {"common_name": "Int", "max_ttl": "4380h", "key_type": "ec", "key_bits": 256,
                          "signing_method": "internal", "issuer": "root"})
    run_action(core, SYSTEM, "root", {"action_type": "private_cert_configuration_action_sign_intermediate",
                                      "intermediate_certificate_authority": "int"})
    run_action(core, SYSTEM, "int", {"action_type": "private_cert_configuration_action_rotate_intermediate"})
    first = rekey(tmp_path, core.store, batch=2, max_batches=1)  # the two CAs' keys, not the retired one
    second = rekey(tmp_path, core.store)
    core.store.dispose()
    assert first.new_key and not second.new_key and second.active_key_id == first.active_key_id
    assert second.rewrapped == 1 and len(list((tmp_path / "keys").glob("*.key"))) == 2


def public_der(key: object) -> bytes:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_bytes(serialization.Encoding.DER, spki)  # type: ignore[attr-defined, no-any-return]


def test_rekey_locks_the_configurations_it_rewraps_on_postgresql(store) -> None:  # type: ignore[no-untyped-def]
    """A configuration patched (sealed anew) while a rekey runs must not be rewrapped from the
    sealed form the rekey read: on PostgreSQL (READ COMMITTED) the rows are read FOR UPDATE."""
    from fixtures.sql_trace import sent_statements

    with sent_statements(store.engine) as sent, store.transaction() as tx:
        tx.configs_sealed_with_other_keys("active-key", 10)
    read = [s.statement for s in sent if "FROM configurations" in s.statement]
    assert read and all(("FOR UPDATE" in s) == (store.backend == "postgresql") for s in read), read
