"""Operations on a secret's versions: create (manual rotation), list, read, patch
version metadata, delete a version's data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from lifecycle import audit, events, payload_reads, rotation, tasks, versions
from lifecycle.core import Actor, Core
from lifecycle.errors import CertkeeperError, Conflict, InvalidInput, Locked
from lifecycle.payload_reads import PayloadRead
from lifecycle.records import SecretRecord, VersionRecord
from lifecycle.rules import check_client_request_token, check_metadata
from lifecycle.secrets import load_secret
from lifecycle.store import Tx
from lifecycle.types import handler_for
from lifecycle.types.base import HandlerContext, Material
from lifecycle.vocabulary import Stage, State, TaskKind, TaskStatus


@dataclass(frozen=True, slots=True)
class VersionView:
    secret: SecretRecord
    version: VersionRecord
    alias: str | None
    data: dict[str, Any] | None = None
    stages: tuple[str, ...] = ()
    task_id: str | None = None


def create_version(
    core: Core,
    actor: Actor,
    secret_id: str,
    fields: dict[str, Any],
    *,
    custom_metadata: dict[str, Any] | None = None,
    version_custom_metadata: dict[str, Any] | None = None,
    client_request_token: str | None = None,
    version_stages: list[str] | None = None,
    auto_rotated: bool = False,
    rotation_trigger: str | None = None,
) -> VersionView:
    """A new version of the secret's data; it becomes `current`, the old current `previous`.

    Raises InvalidInput, NotFound, Locked (previous version locked), Conflict
    (client_request_token reused with other data).
    """
    try:
        with core.store.transaction() as tx:
            return create_version_in(
                tx, core, actor, secret_id, fields, custom_metadata=custom_metadata,
                version_custom_metadata=version_custom_metadata, client_request_token=client_request_token,
                version_stages=version_stages, auto_rotated=auto_rotated, rotation_trigger=rotation_trigger,
            )
    except Locked as exc:
        with core.store.reader() as tx:
            secret = load_secret(tx, actor, secret_id)
        events.emit_alone(core, events.EventType.SECRET_ROTATION_BLOCKED, secret, {"locks": exc.locks})
        raise


def create_version_in(
    tx: Tx,
    core: Core,
    actor: Actor,
    secret_id: str,
    fields: dict[str, Any],
    *,
    custom_metadata: dict[str, Any] | None = None,
    version_custom_metadata: dict[str, Any] | None = None,
    client_request_token: str | None = None,
    version_stages: list[str] | None = None,
    auto_rotated: bool = False,
    rotation_trigger: str | None = None,
    rotation_state: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    prepared: Prepared | None = None,
) -> VersionView:
    """`create_version` inside the caller's transaction (a scheduled rotation commits the
    version together with its task's outcome). ``rotation_state`` edits the secret's new
    attributes before they are written (the scheduler marks the rotation done). ``prepared``
    is the new version's material made before the transaction from the secret's attributes
    as they were then; it is used only if they are unchanged."""
    check_client_request_token(client_request_token)
    if custom_metadata is not None:
        check_metadata(custom_metadata, "custom_metadata")
    check_metadata(version_custom_metadata or {}, "version_custom_metadata")
    now = core.clock()
    source = json.dumps(
        {"fields": fields, "custom_metadata": custom_metadata, "version_custom_metadata": version_custom_metadata,
         "version_stages": version_stages},
        sort_keys=True, separators=(",", ":"), default=str,
    ).encode()
    secret = load_secret(tx, actor, secret_id, for_update=True)
    handler = handler_for(secret.secret_type)
    unknown = sorted(k for k, v in fields.items() if v is not None and k not in handler.version_fields)
    if unknown:
        raise InvalidInput(
            f"{unknown[0]}: not a field of a {secret.secret_type} version "
            f"(accepted: {', '.join(handler.version_fields)})",
            field=unknown[0],
        )
    fields = {k: v for k, v in fields.items() if v is not None}
    if client_request_token:
        existing = tx.find_version_by_token(secret.id, client_request_token)
        if existing is not None:
            if existing.request_fingerprint and core.keyring.matches_fingerprint(existing.request_fingerprint, source):
                stages = tx.get_stages(secret.id)
                data = versions.open_data(core, existing) if existing.payload_available else None
                audit.record(tx, actor, now, "secret.create_version_replayed", f"secret:{secret.id}/version:{existing.id}")
                task = _task_of(tx, secret.id, existing.id)
                return VersionView(secret, existing, versions.alias_of(stages, existing.id), data,
                                   _labels(stages, existing.id), task)
            raise Conflict(
                "client_request_token: already used for a version with different data",
                field="client_request_token",
            )
    if secret.state == State.DESTROYED:
        raise Conflict(f"secret '{secret.id}' is destroyed (its current data was erased); create a new secret instead")
    if getattr(handler, "asynchronous", False):
        trigger = rotation_trigger or ("automatic_secret_rotation" if auto_rotated else "manual_secret_rotation")
        return _start_async_rotation(tx, core, actor, secret, fields, now, trigger)
    if prepared is not None and not fields and prepared.attributes == secret.attributes:
        material = prepared.material
    else:
        material = handler.new_version(secret.attributes, fields, _current_data(tx, core, handler, secret.id),
                                       HandlerContext(tx, core, actor, now, secret.id, secret.secret_group_id))
    data = material.data
    added = versions.add_version(
        tx, core, secret, data, created_by=actor.principal, now=now,
        custom_metadata=version_custom_metadata or {}, attributes=material.version_attributes,
        client_request_token=client_request_token,
        request_fingerprint=core.keyring.fingerprint(source) if client_request_token else None,
        version_stages=version_stages, auto_rotated=auto_rotated,
    )
    version = added.version
    moved_current = version_stages is None or Stage.CURRENT in version_stages
    task_id = None
    if rotation_trigger:
        task_id = tasks.new_task(
            tx, kind=TaskKind.ROTATION, trigger=rotation_trigger, secret_id=secret.id, params={}, created_by=actor.principal,
            now=now, status=TaskStatus.SUCCEEDED,
        ).id
        tx.update_task(task_id, result={"version_id": version.id})
    changes: dict[str, Any] = {"versions_total": added.kept, "updated_at": now, "state": State.ACTIVE,
                               "locks_total": added.locks_total}
    if custom_metadata is not None:
        changes["custom_metadata"] = custom_metadata
    attributes = material.attributes if material.attributes is not None else dict(secret.attributes)
    if rotation_state is not None:
        attributes = rotation_state(attributes)
    if handler.rotatable and "rotation" in attributes and moved_current:
        attributes["rotation"] = rotation.after_rotation(attributes["rotation"])
        changes["next_rotation_date"] = rotation.next_rotation_date(attributes["rotation"], now, now)
    if attributes != secret.attributes:
        changes["attributes"] = attributes
    if material.expiration_date is not None:
        changes["expiration_date"] = material.expiration_date
        changes["next_expiry_notice"] = events.next_expiry_notice(material.expiration_date, now)
    tx.update_secret(secret.id, **changes)
    audit.record(tx, actor, now, "secret.create_version", f"secret:{secret.id}/version:{version.id}")
    events.emit(tx, now, events.EventType.SECRET_ROTATED, secret,
                {"version_id": version.id, "auto_rotated": auto_rotated, "current_moved": moved_current})
    updated, stages = replace(secret, **changes), added.stages  # the rows as just written
    return VersionView(updated, version, versions.alias_of(stages, version.id), data, _labels(stages, version.id), task_id)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A new version's material, made outside the write transaction (see `prepare_version`)."""

    attributes: dict[str, Any]  # the secret's attributes it was made from
    material: Material


def preparable(handler: Any) -> bool:
    """Whether a type's new version can be made before the write transaction: from the secret's
    attributes and configurations alone, synchronously."""
    return not getattr(handler, "new_version_reads_current", True) and not getattr(handler, "asynchronous", False)


def prepare_version(tx: Tx, core: Core, actor: Actor, secret: SecretRecord, now: Any) -> Prepared | None:
    """Make the material of a rotation without new fields from a read-only snapshot (a
    certificate issued before the write transaction, so the database's write lock is not held
    while it is signed). None for types that cannot, or when making it fails: the write
    transaction then makes it again and records why."""
    handler = handler_for(secret.secret_type)
    if not preparable(handler):
        return None
    try:
        material = handler.new_version(secret.attributes, {}, None,
                                       HandlerContext(tx, core, actor, now, secret.id, secret.secret_group_id))
    except CertkeeperError:
        return None
    return Prepared(secret.attributes, material)


def _current_data(tx: Tx, core: Core, handler: Any, secret_id: str) -> dict[str, Any] | None:
    """The current version's data for types that read it (new_version_reads_current, the
    default); the others are spared two queries and a decryption per rotation."""
    if not getattr(handler, "new_version_reads_current", True) or Stage.CURRENT not in tx.get_stages(secret_id):
        return None
    current_version = versions.resolve(tx, secret_id, Stage.CURRENT)
    return versions.open_data(core, current_version) if current_version.payload is not None else None


def _start_async_rotation(tx: Tx, core: Core, actor: Actor, secret: SecretRecord, fields: dict[str, Any],
                          now: Any, trigger: str | None) -> VersionView:
    """Types whose versions come from a task (public certificates): queue it; the secret stays
    on its current version meanwhile. Raises Conflict before the first version or while pending."""
    from lifecycle.types.public_cert import start_order

    stages = tx.get_stages(secret.id)
    if Stage.CURRENT not in stages:
        raise Conflict(f"secret '{secret.id}' has no certificate yet: its first order is still running, or it failed "
                       f"and POST /api/v2/secrets/{secret.id}/rotate orders again")
    versions.check_previous_unlocked(secret.id, stages, tx.list_locks(secret_id=secret.id))  # before ordering
    rotate_keys = (fields.get("rotation") or {}).get("rotate_keys")  # this rotation only; the policy stays
    task_id = start_order(tx, secret, now, trigger=trigger or "manual_secret_rotation", created_by=actor.principal,
                          rotation=True, rotate_keys=rotate_keys)
    audit.record(tx, actor, now, "secret.rotate", f"secret:{secret.id}/task:{task_id}")
    current = versions.resolve(tx, secret.id, Stage.CURRENT)
    updated = tx.get_secret(secret.id) or secret
    return VersionView(updated, current, Stage.CURRENT.value, None, _labels(stages, current.id), task_id)


def _task_of(tx: Any, secret_id: str, version_id: str) -> str | None:
    for task in tx.list_tasks(secret_id):
        if task.result and task.result.get("version_id") == version_id:
            return str(task.id)
    return None


def _labels(stages: dict[str, str], version_id: str) -> tuple[str, ...]:
    return tuple(sorted(stage for stage, vid in stages.items() if vid == version_id))


def list_versions(core: Core, actor: Actor, secret_id: str) -> tuple[SecretRecord, list[VersionView]]:
    with core.store.reader() as tx:
        secret = load_secret(tx, actor, secret_id)
        stages = tx.get_stages(secret.id)
        rows = tx.list_versions(secret.id)
    return secret, [VersionView(secret, v, versions.alias_of(stages, v.id), None, _labels(stages, v.id)) for v in rows]


def get_version(core: Core, actor: Actor, secret_id: str, ref: str, *, with_payload: bool) -> VersionView:
    """A version by id or alias; with its data when ``with_payload`` (the read's marks written
    before it returns). Raises NotFound."""
    if with_payload:
        view, read = read_version(core, actor, secret_id, ref)
        payload_reads.write_now(core.store, [read])
        return view
    return _version_view(core, actor, secret_id, ref, with_data=False)


def read_version(core: Core, actor: Actor, secret_id: str, ref: str) -> tuple[VersionView, PayloadRead]:
    """A version by id or alias with its data, from one snapshot, and the marks of the read, which
    the caller writes (lifecycle/payload_reads.py) before handing the data on. Raises NotFound."""
    now = core.clock()
    view = _version_view(core, actor, secret_id, ref, with_data=True)
    return view, PayloadRead("version.read_payload", view.secret.id, view.version.id, not view.version.downloaded,
                             actor, now)


def _version_view(core: Core, actor: Actor, secret_id: str, ref: str, *, with_data: bool) -> VersionView:
    with core.store.reader() as tx:
        secret = load_secret(tx, actor, secret_id)
        version = versions.resolve(tx, secret.id, ref)
        data = versions.open_data(core, version) if with_data else None
        stages = tx.get_stages(secret.id)
    return VersionView(secret, version, versions.alias_of(stages, version.id), data, _labels(stages, version.id))


def update_version_metadata(
    core: Core, actor: Actor, secret_id: str, ref: str, patch: dict[str, Any]
) -> VersionView:
    """Replace a version's custom metadata. Raises InvalidInput, NotFound, Locked."""
    unknown = sorted(set(patch) - {"version_custom_metadata"})
    if unknown:
        raise InvalidInput(f"{unknown[0]}: cannot be changed on a version (patchable: version_custom_metadata)", field=unknown[0])
    metadata = check_metadata(patch.get("version_custom_metadata") or {}, "version_custom_metadata")
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        version = versions.resolve(tx, secret.id, ref)
        _refuse_if_locked(tx, version, "changed")
        tx.update_version(version.id, custom_metadata=metadata)
        audit.record(tx, actor, now, "version.update_metadata", f"secret:{secret.id}/version:{version.id}")
        updated = tx.get_version(secret.id, version.id)
        assert updated is not None
        return VersionView(secret, updated, versions.alias_of(tx.get_stages(secret.id), version.id))


def delete_version_data(core: Core, actor: Actor, secret_id: str, ref: str) -> None:
    """Erase a version's secret data for good; erasing the current version's destroys the secret.

    Raises NotFound, Locked.
    """
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        version = versions.resolve(tx, secret.id, ref)
        locks = [lock.name for lock in tx.list_locks(version_id=version.id)]
        if not locks:
            tx.erase_payloads([version.id])
            if tx.get_stages(secret.id).get(Stage.CURRENT) == version.id:
                tx.update_secret(secret.id, state=State.DESTROYED, updated_at=now)
            audit.record(tx, actor, now, "version.delete_data", f"secret:{secret.id}/version:{version.id}")
            return
    events.emit_alone(core, events.EventType.SECRET_DATA_DELETION_BLOCKED, secret, {"version_id": version.id, "locks": locks})
    raise Locked(f"version '{version.id}' is locked ({', '.join(locks)}) and cannot be deleted", locks=locks)


def _refuse_if_locked(tx: Any, version: VersionRecord, verb: str) -> None:
    locks = tx.list_locks(version_id=version.id)
    if locks:
        raise Locked(
            f"version '{version.id}' is locked ({', '.join(lock.name for lock in locks)}) and cannot be {verb}",
            locks=[lock.name for lock in locks],
        )
