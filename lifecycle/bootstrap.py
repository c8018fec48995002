"""Opening a data directory: root keys, the database (migrated to head) and the first admin token."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import OperationalError

from lifecycle import tokens
from lifecycle.core import DEFAULT_PUBLIC_URL, SYSTEM, Core
from lifecycle.keyfiles import load_keyring
from lifecycle.store import SqlStore
from lifecycle.store.migrate import upgrade
from lifecycle.vocabulary import Role

ADMIN_TOKEN_FILE = "admin-token"


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'certkeeper.db'}"


@dataclass(frozen=True, slots=True)
class Opened:
    core: Core
    admin_token: str | None  # set only on the first start


def open_data_dir(
    data_dir: Path, *, database_url: str | None, env_root_key: str | None, create: bool, public_url: str | None = None
) -> Opened:
    """Open (and with ``create``, initialise) a data dir. Raises ValueError with the cause."""
    if create:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not data_dir.is_dir():
        raise ValueError(f"data dir {data_dir} does not exist; start `certkeeper serve` once to create it")
    store = SqlStore.from_url(database_url or default_database_url(data_dir))
    try:
        upgrade(store.engine)
        with store.reader() as tx:
            sealed_before = tx.root_keys_in_use_besides([])
        if sealed_before and not env_root_key and not (data_dir / "keys" / "active").exists():
            # A new root key here would seal nothing already stored: every read would fail.
            raise ValueError(f"the database holds values sealed with root key {', '.join(sealed_before)}, but "
                             f"{data_dir / 'keys'} has no active root key: set CERTKEEPER_ROOT_KEY to the key "
                             "they were sealed with (or restore the keys directory)")
        keyring = load_keyring(data_dir, env_root_key=env_root_key, create=create)
        unknown = sorted(set(sealed_before) - keyring.key_ids)
        if unknown:
            raise ValueError(f"the database holds values sealed with root key {', '.join(unknown)}, which neither "
                             f"{data_dir / 'keys'} nor CERTKEEPER_ROOT_KEY holds: give the key they were sealed with")
    except OperationalError as exc:
        store.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
        raise ValueError(f"cannot open the database: {reason}") from None
    except BaseException:
        store.dispose()
        raise
    core = Core(store=store, keyring=keyring, public_url=public_url or DEFAULT_PUBLIC_URL)
    admin_token = None
    if create:
        with store.reader() as tx:
            first_start = tx.count_tokens() == 0
        if first_start:
            # Write the file first: a token stored but never shown would lock the operator out.
            issued = tokens.mint(core.clock(), Role.MANAGER, description="admin token created on first start")
            write_private(data_dir / ADMIN_TOKEN_FILE, issued.token + "\n")
            tokens.store(core, SYSTEM, issued)
            admin_token = issued.token
    return Opened(core, admin_token)


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
