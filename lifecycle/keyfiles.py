"""Root keys on disk: ``<data dir>/keys/<key id>.key`` (base64, mode 0600) and ``keys/active``.

The active key seals new values; older keys stay so their data keys can be opened
until ``certkeeper rekey`` has rewrapped every row. A root key given in the
environment (``CERTKEEPER_ROOT_KEY``) takes the place of the active key file.
"""

from __future__ import annotations

import os
from pathlib import Path

from lifecycle.crypto import Keyring, decode_key, encode_key, key_id_of, new_root_key


def _keys_dir(data_dir: Path) -> Path:
    return data_dir / "keys"


def _write_private(path: Path, text: str) -> None:
    """Write a file readable only by its owner, atomically (write then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def add_root_key(data_dir: Path, key: bytes, *, activate: bool) -> str:
    keys = _keys_dir(data_dir)
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    kid = key_id_of(key)
    _write_private(keys / f"{kid}.key", encode_key(key) + "\n")
    if activate:
        _write_private(keys / "active", kid + "\n")
    return kid


def load_keyring(data_dir: Path, *, env_root_key: str | None = None, create: bool = False) -> Keyring:
    """Load every root key of the data dir; create the first one when ``create`` is set.

    Raises ValueError with the file at fault when a key file is unreadable.
    """
    keys_dir = _keys_dir(data_dir)
    keys: dict[str, bytes] = {}
    if keys_dir.is_dir():
        for path in sorted(keys_dir.glob("*.key")):
            key = decode_key(path.read_text(), source=str(path))
            keys[key_id_of(key)] = key
    if env_root_key:
        key = decode_key(env_root_key, source="CERTKEEPER_ROOT_KEY")
        kid = key_id_of(key)
        keys[kid] = key
        return Keyring(keys, kid)
    active_file = keys_dir / "active"
    if not active_file.exists():
        if keys or not create:
            raise ValueError(f"{active_file}: missing; cannot tell which root key is active")
        key = new_root_key()
        kid = add_root_key(data_dir, key, activate=True)
        return Keyring({kid: key}, kid)
    active = active_file.read_text().strip()
    if active not in keys:
        raise ValueError(f"{active_file}: names root key '{active}', but {keys_dir}/{active}.key is missing")
    return Keyring(keys, active)
