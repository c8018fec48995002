"""Root key rotation: make a new root key active and rewrap every data key under it
(secret versions, CA keys current and retired, ACME/DNS credentials, webhook signing keys). The sealed key of an
order in flight (held by its task for at most the order's life) is not rewrapped: keep the
old key file until such orders are done.

Only the wrapped data keys change; payload ciphertexts stay as they are. Batches
commit one by one, so an interrupted run loses nothing: running it again resumes
with the rows still wrapped by older keys before it makes another new key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lifecycle import versions
from lifecycle.ca_store import key_binding, retired_key_binding
from lifecycle.crypto import Keyring, Sealed, new_root_key
from lifecycle.keyfiles import add_root_key, load_keyring
from lifecycle.store import SqlStore

BATCH = 500


@dataclass(frozen=True, slots=True)
class RekeyReport:
    active_key_id: str
    new_key: bool
    rewrapped: int


def rekey(data_dir: Path, store: SqlStore, *, batch: int = BATCH, max_batches: int | None = None) -> RekeyReport:
    """Rotate to a new root key, or finish an interrupted rotation. ``max_batches`` is for tests."""
    keyring = load_keyring(data_dir)
    with store.reader() as tx:
        pending = set(tx.count_versions_by_key()) - {keyring.active_id}
    new_key = not pending
    if new_key:
        add_root_key(data_dir, new_root_key(), activate=True)
        keyring = load_keyring(data_dir)
    rewrapped = _rewrap_all(store, keyring, batch, max_batches)
    return RekeyReport(keyring.active_id, new_key, rewrapped)


def _rewrap_all(store: SqlStore, keyring: Keyring, batch: int, max_batches: int | None) -> int:
    done = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        with store.transaction() as tx:
            rows = tx.versions_sealed_with_other_keys(keyring.active_id, batch)
            for v in rows:
                assert v.payload is not None and v.wrapped_key is not None and v.key_id is not None
                sealed = keyring.rewrap(Sealed(v.payload, v.wrapped_key, v.key_id), versions.binding(v.secret_id, v.id))
                tx.update_version(v.id, wrapped_key=sealed.wrapped_key, key_id=sealed.key_id)
            configs = tx.configs_sealed_with_other_keys(keyring.active_id, batch - len(rows)) if len(rows) < batch else []
            for c in configs:
                assert c.key_payload is not None and c.key_wrapped is not None and c.key_id is not None
                sealed = keyring.rewrap(Sealed(c.key_payload, c.key_wrapped, c.key_id), key_binding(c.name))
                tx.update_config(c.name, key_wrapped=sealed.wrapped_key, key_id=sealed.key_id)
            room = batch - len(rows) - len(configs)
            retired = tx.retired_keys_sealed_with_other_keys(keyring.active_id, room) if room > 0 else []
            for k in retired:
                sealed = keyring.rewrap(Sealed(k.key_payload, k.key_wrapped, k.key_id),
                                        retired_key_binding(k.ca_name, k.generation))
                tx.update_retired_key(k.ca_name, k.generation, key_wrapped=sealed.wrapped_key, key_id=sealed.key_id)
            hooks = [h for h in tx.list_webhooks() if h.key_id != keyring.active_id][: max(0, room - len(retired))]
            for h in hooks:
                sealed = keyring.rewrap(Sealed(h.key_payload, h.key_wrapped, h.key_id), f"webhooks/{h.id}")
                tx.update_webhook(h.id, key_wrapped=sealed.wrapped_key, key_id=sealed.key_id)
        count = len(rows) + len(configs) + len(retired) + len(hooks)
        done += count
        batches += 1
        if count < batch:
            break
    return done
