"""Root key rotation covers every sealed value: after it, the new key alone opens them all."""

from __future__ import annotations

from pathlib import Path

from lifecycle import secrets, webhooks
from lifecycle.bootstrap import open_data_dir
from lifecycle.ca_store import open_key
from lifecycle.configurations import create_configuration
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


def test_rekey_locks_the_configurations_it_rewraps_on_postgresql(store) -> None:  # type: ignore[no-untyped-def]
    """A configuration patched (sealed anew) while a rekey runs must not be rewrapped from the
    sealed form the rekey read: on PostgreSQL (READ COMMITTED) the rows are read FOR UPDATE."""
    from fixtures.sql_trace import sent_statements

    with sent_statements(store.engine) as sent, store.transaction() as tx:
        tx.configs_sealed_with_other_keys("active-key", 10)
    read = [s.statement for s in sent if "FROM configurations" in s.statement]
    assert read and all(("FOR UPDATE" in s) == (store.backend == "postgresql") for s in read), read
