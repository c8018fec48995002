"""Versions and stage labels: sealing a version's data, moving `current`/`previous`,
resolving aliases, and retention (metadata of the last 50 versions; payloads only
for staged or locked versions)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from lifecycle.core import Core
from lifecycle.crypto import Sealed
from lifecycle.errors import Locked, NotFound
from lifecycle.records import SecretRecord, VersionRecord
from lifecycle.store import Tx
from lifecycle.vocabulary import Stage

MAX_VERSIONS_KEPT = 50  # version metadata kept per secret, as the v2 contract keeps it
ALIASES = (Stage.CURRENT.value, Stage.PREVIOUS.value)


def binding(secret_id: str, version_id: str) -> str:
    """The associated data that ties a version's ciphertext to its row."""
    return f"secret_versions/{secret_id}/{version_id}"


def seal(core: Core, secret_id: str, version_id: str, data: dict[str, Any]) -> Sealed:
    plaintext = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return core.keyring.seal(plaintext, binding(secret_id, version_id))


def open_data(core: Core, version: VersionRecord) -> dict[str, Any]:
    """Decrypt a version's data. Raises NotFound when it was erased, IntegrityFailure when tampered."""
    if version.payload is None or version.wrapped_key is None or version.key_id is None:
        raise NotFound("secret data of version", version.id)
    sealed = Sealed(version.payload, version.wrapped_key, version.key_id)
    data: dict[str, Any] = json.loads(core.keyring.open(sealed, binding(version.secret_id, version.id)))
    return data


def resolve(tx: Tx, secret_id: str, ref: str) -> VersionRecord:
    """A version by id or by the alias `current` / `previous`; raises NotFound."""
    version_id = tx.get_stages(secret_id).get(ref, ref) if ref in ALIASES else ref
    version = tx.get_version(secret_id, version_id)
    if version is None:
        raise NotFound("version", ref)
    return version


def alias_of(stages: dict[str, str], version_id: str) -> str | None:
    for alias in ALIASES:
        if stages.get(alias) == version_id:
            return alias
    return None


def add_version(
    tx: Tx,
    core: Core,
    secret: SecretRecord,
    data: dict[str, Any],
    *,
    created_by: str,
    now: datetime,
    custom_metadata: dict[str, Any],
    attributes: dict[str, Any] | None = None,
    client_request_token: str | None = None,
    request_fingerprint: str | None = None,
) -> tuple[VersionRecord, int]:
    """Store a new version as `current`, the old current as `previous`, then apply retention.

    Returns the version and the number of versions kept. Raises Locked when the
    version that would lose its payload (the current `previous`) is locked.
    Runs inside the caller's transaction.
    """
    stages = tx.get_stages(secret.id)
    previous_id = stages.get(Stage.PREVIOUS)
    if previous_id:
        locked = tx.list_locks(version_id=previous_id)
        if locked:
            raise Locked(
                f"secret '{secret.id}': the previous version is locked "
                f"({', '.join(lock.name for lock in locked)}); remove its locks before creating a new version",
                locks=[lock.name for lock in locked],
            )
    existing = tx.list_versions(secret.id)
    version_id = str(uuid.uuid4())
    sealed = seal(core, secret.id, version_id, data)
    version = VersionRecord(
        id=version_id,
        secret_id=secret.id,
        seq=(existing[0].seq + 1) if existing else 1,
        created_by=created_by,
        created_at=now,
        payload=sealed.ciphertext,
        wrapped_key=sealed.wrapped_key,
        key_id=sealed.key_id,
        custom_metadata=custom_metadata,
        attributes=attributes or {},
        downloaded=False,
        auto_rotated=False,
        client_request_token=client_request_token,
        request_fingerprint=request_fingerprint,
    )
    tx.insert_version(version)
    current_id = stages.get(Stage.CURRENT)
    tx.set_stage(secret.id, Stage.CURRENT, version_id)
    if current_id:
        tx.set_stage(secret.id, Stage.PREVIOUS, current_id)
    kept = apply_retention(tx, secret.id, [version, *existing])
    return version, kept


def apply_retention(tx: Tx, secret_id: str, versions: list[VersionRecord] | None = None) -> int:
    """Erase payloads no stage label or lock needs; drop metadata past the newest 50.

    ``versions`` is newest first. Returns how many versions remain.
    """
    versions = versions if versions is not None else tx.list_versions(secret_id)
    keep = set(tx.get_stages(secret_id).values()) | {lock.version_id for lock in tx.list_locks(secret_id=secret_id)}
    tx.erase_payloads(v.id for v in versions if v.payload is not None and v.id not in keep)
    dropped = [v.id for v in versions[MAX_VERSIONS_KEPT:] if v.id not in keep]
    tx.delete_versions(dropped)
    return len(versions) - len(dropped)
