"""Locks on secret versions: a named hold that keeps a version's data from being
changed or erased (412 on the attempt), created and removed in bulk."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lifecycle import audit, versions
from lifecycle.core import Actor, Core
from lifecycle.errors import InvalidInput
from lifecycle.records import LockRecord, SecretRecord, VersionRecord
from lifecycle.rules import check_description, check_lock_name, check_metadata
from lifecycle.secrets import load_secret
from lifecycle.store import Tx
from lifecycle.vocabulary import LockMode, Stage

MAX_LOCKS_PER_SECRET = 1000  # the v2 contract's limit
MAX_LOCKS_PER_REQUEST = 1000


@dataclass(frozen=True, slots=True)
class LockRequest:
    name: str
    description: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VersionLocks:
    version_id: str
    alias: str | None
    locks: list[str]
    payload_available: bool


@dataclass(frozen=True, slots=True)
class SecretLocks:
    secret: SecretRecord
    versions: list[VersionLocks]


def _summary(tx: Tx, secret: SecretRecord) -> SecretLocks:
    stages = tx.get_stages(secret.id)
    by_version: dict[str, list[str]] = {}
    for lock in tx.list_locks(secret_id=secret.id):
        by_version.setdefault(lock.version_id, []).append(lock.name)
    out = []
    for alias in versions.ALIASES:
        version_id = stages.get(alias)
        if version_id is None:
            continue
        version = tx.get_version(secret.id, version_id)
        out.append(VersionLocks(version_id, alias, sorted(by_version.get(version_id, [])),
                                bool(version and version.payload_available)))
    return SecretLocks(secret, out)


def create_locks(
    core: Core, actor: Actor, secret_id: str, ref: str, requests: list[LockRequest], mode: str | None
) -> SecretLocks:
    """Attach locks to a version (replacing same-named ones there).

    ``mode`` remove_previous drops same-named locks from the secret's other versions;
    remove_previous_and_delete also erases the previous version's data when no lock
    is left on it. Raises InvalidInput, NotFound.
    """
    if not requests:
        raise InvalidInput("locks: at least one lock is required", field="locks")
    if len(requests) > MAX_LOCKS_PER_REQUEST:
        raise InvalidInput(f"locks: at most {MAX_LOCKS_PER_REQUEST} locks per request", field="locks")
    if mode is not None and mode not in set(LockMode):
        raise InvalidInput(f"mode: must be one of {', '.join(LockMode)}", field="mode")
    for request in requests:
        check_lock_name(request.name)
        check_description(request.description, "locks.description")
        check_metadata(request.attributes, "locks.attributes")
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        version = versions.resolve(tx, secret.id, ref)
        _require_payload(version)
        held = {(lock.version_id, lock.name) for lock in tx.list_locks(secret_id=secret.id)}
        if len(held | {(version.id, r.name) for r in requests}) > MAX_LOCKS_PER_SECRET:
            raise InvalidInput(f"locks: a secret holds at most {MAX_LOCKS_PER_SECRET} locks", field="locks")
        if mode is not None:
            _remove_same_names(tx, secret, version, [r.name for r in requests], mode)
        for request in requests:
            tx.upsert_lock(
                LockRecord(secret.id, version.id, request.name, request.description, request.attributes,
                           actor.principal, now, now)
            )
        tx.update_secret(secret.id, locks_total=tx.count_locks(secret.id), updated_at=now)
        audit.record(tx, actor, now, "locks.create", f"secret:{secret.id}/version:{version.id}")
        return _summary(tx, tx.get_secret(secret.id) or secret)


def _require_payload(version: VersionRecord) -> None:
    if not version.payload_available:
        raise InvalidInput(
            f"version '{version.id}' has no secret data; only a version with data can be locked", field="version"
        )


def _remove_same_names(tx: Tx, secret: SecretRecord, version: VersionRecord, names: list[str], mode: str) -> None:
    for lock in tx.list_locks(secret_id=secret.id):
        if lock.version_id != version.id and lock.name in names:
            tx.delete_locks(lock.version_id, [lock.name])
    if mode == LockMode.REMOVE_PREVIOUS_AND_DELETE:
        previous_id = tx.get_stages(secret.id).get(Stage.PREVIOUS)
        if previous_id and previous_id != version.id and not tx.list_locks(version_id=previous_id):
            tx.erase_payloads([previous_id])


def delete_locks(core: Core, actor: Actor, secret_id: str, ref: str | None, names: list[str] | None) -> SecretLocks:
    """Remove the named locks (or all) from one version, or with no ``ref`` from every version."""
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        if ref is None:
            tx.delete_locks("", names, secret_id=secret.id)
            target = f"secret:{secret.id}"
        else:
            version = versions.resolve(tx, secret.id, ref)
            tx.delete_locks(version.id, names)
            target = f"secret:{secret.id}/version:{version.id}"
        tx.update_secret(secret.id, locks_total=tx.count_locks(secret.id), updated_at=now)
        audit.record(tx, actor, now, "locks.delete", target)
        return _summary(tx, tx.get_secret(secret.id) or secret)


def list_locks(
    core: Core, actor: Actor, secret_id: str, ref: str | None, *, search: str | None = None
) -> tuple[SecretRecord, list[tuple[LockRecord, str | None]]]:
    """The locks of a secret (or one version of it) with each lock's version alias."""
    with core.store.reader() as tx:
        secret = load_secret(tx, actor, secret_id)
        stages = tx.get_stages(secret.id)
        if ref is None:
            rows = tx.list_locks(secret_id=secret.id)
        else:
            rows = tx.list_locks(version_id=versions.resolve(tx, secret.id, ref).id)
    if search:
        rows = [r for r in rows if search.lower() in r.name.lower()]
    return secret, [(r, versions.alias_of(stages, r.version_id)) for r in rows]


def list_instance_locks(
    core: Core, actor: Actor, *, offset: int, limit: int, search: str | None, groups: list[str] | None
) -> tuple[list[SecretLocks], int]:
    """Every locked secret the actor may see, with its versions' locks."""
    if actor.groups is not None:
        groups = [g for g in groups if g in actor.groups] if groups is not None else sorted(actor.groups)
    with core.store.reader() as tx:
        secrets, total = tx.locked_secrets(groups=groups, search=search, offset=offset, limit=limit)
        return [_summary(tx, s) for s in secrets], total
