"""A data dir opened with the wrong root keys refuses to start, naming the key its values
were sealed with, instead of starting on a new key that opens none of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecycle import secrets
from lifecycle.bootstrap import open_data_dir
from lifecycle.core import SYSTEM
from lifecycle.crypto import encode_key, key_id_of, new_root_key
from lifecycle.secrets import SecretDraft
from lifecycle.store import SecretQuery


def _open(data_dir: Path, root_key: bytes | None) -> None:
    opened = open_data_dir(data_dir, database_url=None, env_root_key=encode_key(root_key) if root_key else None,
                           create=True)
    try:
        listed, total = secrets.list_secrets(opened.core, SYSTEM, SecretQuery())
        secret_id = listed[0].secret.id if total else secrets.create_secret(
            opened.core, SYSTEM, SecretDraft("arbitrary", "kept", fields={"payload": "v"})).secret.id
        assert secrets.get_secret(opened.core, SYSTEM, secret_id, with_payload=True).data == {"payload": "v"}
    finally:
        opened.core.store.dispose()


def test_a_data_dir_sealed_under_an_environment_key_does_not_start_without_it(tmp_path: Path) -> None:
    key = new_root_key()
    _open(tmp_path, key)  # created with CERTKEEPER_ROOT_KEY: no key file written
    with pytest.raises(ValueError, match=f"sealed with root key {key_id_of(key)}, but .*keys has no active root key"):
        _open(tmp_path, None)
    assert not list((tmp_path / "keys").glob("*.key"))  # no new key was made on the way
    other = new_root_key()
    with pytest.raises(ValueError, match=f"sealed with root key {key_id_of(key)}, which neither"):
        _open(tmp_path, other)
    _open(tmp_path, key)  # the right key still opens everything
