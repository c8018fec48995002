"""Versions and stage labels: sealing a version's data, moving `current`/`previous`,
resolving aliases, and retention (metadata of the last 50 versions; payloads only
for staged or locked versions)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lifecycle.core import Core
from lifecycle.crypto import Sealed
from lifecycle.errors import InvalidInput, Locked, NotFound
from lifecycle.ids import new_id
from lifecycle.records import LockRecord, SecretRecord, VersionEntry, VersionRecord
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
    version = tx.get_staged_version(secret_id, ref) if ref in ALIASES else tx.get_version(secret_id, ref)
    if version is None:
        raise NotFound("version", ref)
    return version


def alias_of(stages: dict[str, str], version_id: str) -> str | None:
    for alias in ALIASES:
        if stages.get(alias) == version_id:
            return alias
    return None


@dataclass(frozen=True, slots=True)
class Added:
    """A version just stored, and the secret as it stands after: versions kept, stage labels
    (label -> version id), locks held."""

    version: VersionRecord
    kept: int
    stages: dict[str, str]
    locks_total: int


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
    version_stages: list[str] | None = None,
    auto_rotated: bool = False,
    first: bool = False,
) -> Added:
    """Store a new version, then apply retention.

    By default it becomes `current` and the old current `previous`. With
    ``version_stages`` it gets those labels instead, and `current` moves only when
    they include it (a pending version is registered elsewhere before promotion).
    ``first`` says the secret was inserted in this transaction and has no versions,
    labels or locks yet, so nothing needs to be read back. Raises Locked when the version that would lose its
    payload (the current `previous`) is locked, and InvalidInput for bad labels.
    Runs inside the caller's transaction.
    """
    stages = {} if first else tx.get_stages(secret.id)
    labels = check_stage_labels(version_stages) if version_stages is not None else [Stage.CURRENT.value]
    moves_current = Stage.CURRENT in labels
    if len(set(stages) | set(labels) | ({Stage.PREVIOUS.value} if moves_current and stages else set())) > MAX_STAGES:
        raise InvalidInput(f"version_stages: a secret holds at most {MAX_STAGES} stage labels", field="version_stages")
    locks = [] if first else tx.list_locks(secret_id=secret.id)
    if moves_current:
        check_previous_unlocked(secret.id, stages, locks)
    existing = [] if first else tx.list_version_entries(secret.id)
    version_id = new_id(now)
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
        auto_rotated=auto_rotated,
        client_request_token=client_request_token,
        request_fingerprint=request_fingerprint,
    )
    tx.insert_version(version)
    if first:
        for label in labels:
            tx.add_stage(secret.id, label, version_id)
        return Added(version, 1, dict.fromkeys(labels, version_id), 0)
    for label in labels:
        if label == Stage.CURRENT:
            stages = move_current(tx, secret.id, version_id, stages)
        else:
            tx.set_stage(secret.id, label, version_id, present=label in stages)
            stages[label] = version_id
    kept = apply_retention(tx, secret.id, [VersionEntry(version.id, version.seq, True), *existing], stages=stages,
                           locks=locks)
    return Added(version, kept, stages, len(locks))


MAX_STAGES = 20  # stage labels per secret
STAGE_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})[A-Za-z0-9]")


def check_previous_unlocked(secret_id: str, stages: dict[str, str], locks: list[LockRecord]) -> None:
    """A new current version replaces the previous one, which its locks keep: raises Locked
    naming them."""
    previous_id = stages.get(Stage.PREVIOUS)
    locked = [lock for lock in locks if previous_id and lock.version_id == previous_id]
    if locked:
        raise Locked(
            f"secret '{secret_id}': the previous version is locked "
            f"({', '.join(lock.name for lock in locked)}); remove its locks before creating a new version",
            locks=[lock.name for lock in locked],
        )


def check_stage_labels(labels: list[str]) -> list[str]:
    """Raises InvalidInput for a malformed label or a hand-set `previous`."""
    out = list(dict.fromkeys(labels))
    if not out:
        raise InvalidInput("version_stages: at least one stage label is required", field="version_stages")
    for label in out:
        if not isinstance(label, str) or not STAGE_RE.fullmatch(label):
            raise InvalidInput(f"version_stages: '{str(label)[:80]}' must be 2-64 letters, digits, '.', '_' or '-'",
                               field="version_stages")
        if label == Stage.PREVIOUS:
            raise InvalidInput("version_stages: 'previous' is set by moving 'current', not by hand", field="version_stages")
    return out


def move_current(tx: Tx, secret_id: str, version_id: str, stages: dict[str, str]) -> dict[str, str]:
    """`current` to ``version_id``; the old current becomes `previous`; a promoted pending version sheds `pending`.

    ``stages`` are the secret's labels before the move; returns them after it.
    """
    after = dict(stages)
    old_current = after.get(Stage.CURRENT)
    tx.set_stage(secret_id, Stage.CURRENT, version_id, present=old_current is not None)
    after[Stage.CURRENT.value] = version_id
    if old_current and old_current != version_id:
        tx.set_stage(secret_id, Stage.PREVIOUS, old_current, present=Stage.PREVIOUS in stages)
        after[Stage.PREVIOUS.value] = old_current
    if after.get(Stage.PENDING) == version_id:
        tx.remove_stage(secret_id, Stage.PENDING)
        del after[Stage.PENDING.value]
    return after


def apply_retention(
    tx: Tx, secret_id: str, versions: list[VersionEntry] | None = None, *,
    stages: dict[str, str] | None = None, locks: list[LockRecord] | None = None,
) -> int:
    """Erase payloads no stage label or lock needs; drop metadata past the newest 50.

    ``versions`` is newest first; ``stages`` and ``locks``, when given, are the secret's
    labels and locks as they stand in this transaction. Returns how many versions remain.
    """
    versions = versions if versions is not None else tx.list_version_entries(secret_id)
    stages = stages if stages is not None else tx.get_stages(secret_id)
    locks = locks if locks is not None else tx.list_locks(secret_id=secret_id)
    keep = set(stages.values()) | {lock.version_id for lock in locks}
    tx.erase_payloads((v.id for v in versions if v.payload_available and v.id not in keep), secret_id=secret_id)
    dropped = [v.id for v in versions[MAX_VERSIONS_KEPT:] if v.id not in keep]
    tx.delete_versions(dropped, secret_id=secret_id)
    return len(versions) - len(dropped)
