"""Secrets: create, read, list, patch metadata, delete; their states and idempotent creation.

Each operation is one transaction that also writes its audit event. A read of the data runs
in a snapshot; its marks and audit event are written right after (lifecycle/payload_reads.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from lifecycle import audit, events, payload_reads, rotation, versions
from lifecycle.core import Actor, Core
from lifecycle.errors import Conflict, InvalidInput, Locked, NotFound
from lifecycle.ids import new_id
from lifecycle.payload_reads import PayloadRead
from lifecycle.records import SecretRecord, VersionRecord
from lifecycle.rules import (
    MAX_LABELS,
    check_client_request_token,
    check_description,
    check_labels,
    check_metadata,
    check_name,
)
from lifecycle.store import SecretQuery, Tx
from lifecycle.types import handler_for
from lifecycle.types.base import HandlerContext
from lifecycle.vocabulary import CONTRACT_SECRET_TYPES, Stage, State, TaskKind

MAX_LIST_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class SecretDraft:
    """A request to create a secret, after the API parsed its shape."""

    secret_type: str
    name: str
    secret_group_id: str = "default"
    description: str | None = None
    labels: list[str] = field(default_factory=list)
    custom_metadata: dict[str, Any] = field(default_factory=dict)
    version_custom_metadata: dict[str, Any] = field(default_factory=dict)
    expiration_date: datetime | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # type-specific wire fields
    client_request_token: str | None = None


@dataclass(frozen=True, slots=True)
class SecretView:
    """A secret as a caller sees it: its record, effective state and, when asked, its data."""

    secret: SecretRecord
    state: State
    data: dict[str, Any] | None = None
    current: VersionRecord | None = None


def effective_state(secret: SecretRecord, now: datetime) -> State:
    """The stored state, or deactivated once an unlocked secret's expiration date has passed."""
    state = State(secret.state)
    if (
        state == State.ACTIVE
        and secret.expiration_date is not None
        and secret.expiration_date <= now
        and secret.locks_total == 0  # a locked secret stays active past expiry, as the contract says
    ):
        return State.DEACTIVATED
    return state


def _fingerprint_source(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode()


def load_secret(tx: Tx, actor: Actor, secret_id: str, *, for_update: bool = False) -> SecretRecord:
    """A secret the actor may see; raises NotFound (also for secrets outside its groups)."""
    secret = tx.get_secret(secret_id, for_update=for_update)
    if secret is None or not actor.may_access(secret.secret_group_id):
        raise NotFound("secret", secret_id)
    return secret


def _check_expiration(expiration: datetime | None, now: datetime, secret_type: str) -> None:
    if expiration is None:
        return
    if not handler_for(secret_type).user_expiration:
        raise InvalidInput(f"expiration_date: {secret_type} secrets do not expire", field="expiration_date")
    if expiration.tzinfo is None:
        raise InvalidInput("expiration_date: must include a time zone (RFC 3339, e.g. 2030-01-01T00:00:00Z)", field="expiration_date")
    try:
        expiration.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("expiration_date: out of range", field="expiration_date") from None
    if expiration <= now:
        raise InvalidInput("expiration_date: must be in the future", field="expiration_date")


@dataclass(frozen=True, slots=True)
class CheckedDraft:
    """A draft whose fields passed the rules, with what creating it needs."""

    handler: Any
    labels: list[str]
    now: datetime
    source: bytes  # the request's fingerprint source, for client_request_token replays (empty without one)
    token_key: str | None


def check_draft(core: Core, actor: Actor, draft: SecretDraft) -> CheckedDraft:
    """Raises InvalidInput/PayloadTooLarge (bad fields) or Forbidden (group outside the token's)."""
    handler = handler_for(draft.secret_type)
    check_name(draft.name)
    check_description(draft.description)
    labels = check_labels(draft.labels)
    check_metadata(draft.custom_metadata, "custom_metadata")
    check_metadata(draft.version_custom_metadata, "version_custom_metadata")
    check_client_request_token(draft.client_request_token)
    now = core.clock()
    _check_expiration(draft.expiration_date, now, draft.secret_type)
    actor.require_group(draft.secret_group_id)
    token_key = _token_key(draft.secret_group_id, draft.client_request_token)
    source = (_fingerprint_source({k: v for k, v in asdict(draft).items() if k != "client_request_token"})
              if token_key is not None else b"")
    return CheckedDraft(handler, labels, now, source, token_key)


def create_secret(core: Core, actor: Actor, draft: SecretDraft) -> SecretView:
    """Create a secret and its first version; the view carries the data (the creator sent
    or asked for it, and the v2 contract answers with it).

    Raises InvalidInput/PayloadTooLarge (bad fields), NotFound (group), Forbidden (group
    outside the token's), Conflict (name taken, or client_request_token reused with other data).
    """
    checked = check_draft(core, actor, draft)
    token_key = checked.token_key
    try:
        with core.store.transaction() as tx:
            if token_key is not None:
                replay = _replay(tx, core, actor, token_key, checked.source, checked.now)
                if replay is not None:
                    return replay
            return create_in(tx, core, actor, draft, checked)
    except Conflict:
        if token_key is None:
            raise
        # A concurrent request with the same token may have won the insert: answer as a replay.
        with core.store.transaction() as tx:
            replay = _replay(tx, core, actor, token_key, checked.source, checked.now)
        if replay is None:
            raise
        return replay


def _token_key(group_id: str, token: str | None) -> str | None:
    """Tokens are scoped to a secret group, so one group cannot probe or squat another's."""
    if token is None:
        return None
    return hashlib.sha256(f"{group_id}\x00{token}".encode()).hexdigest()


def _replay(tx: Tx, core: Core, actor: Actor, token_key: str, source: bytes, now: datetime) -> SecretView | None:
    """The secret an earlier request with this token created, or None; raises Conflict when
    the token was used with different data."""
    existing = tx.find_secret_by_token(token_key)
    if existing is None:
        return None
    if not (existing.request_fingerprint and core.keyring.matches_fingerprint(existing.request_fingerprint, source)):
        raise Conflict("client_request_token: already used to create a secret with different data",
                       field="client_request_token")
    current = versions.resolve(tx, existing.id, "current")
    data = versions.open_data(core, current) if current.payload_available else None
    audit.record(tx, actor, now, "secret.create_replayed", f"secret:{existing.id}/version:{current.id}")
    return SecretView(existing, effective_state(existing, now), data, current)


def create_in(tx: Tx, core: Core, actor: Actor, draft: SecretDraft, checked: CheckedDraft) -> SecretView:
    """Create the secret in the caller's transaction (its client_request_token already checked
    for a replay). Raises NotFound (group), Conflict (name taken), what the type's handler raises."""
    now, handler, token_key = checked.now, checked.handler, checked.token_key
    if tx.get_group(draft.secret_group_id) is None:
        raise NotFound("secret group", draft.secret_group_id)
    secret_id = new_id(now)
    material = handler.create(
        draft.fields, HandlerContext(tx, core, actor, now, secret_id, draft.secret_group_id)
    )
    secret = SecretRecord(
        id=secret_id,
        secret_group_id=draft.secret_group_id,
        secret_type=draft.secret_type,
        name=draft.name,
        description=draft.description,
        labels=checked.labels,
        custom_metadata=draft.custom_metadata,
        attributes=material.attributes or {},
        state=State.ACTIVE if material.state is None else material.state,
        expiration_date=material.expiration_date or draft.expiration_date,
        created_by=actor.principal,
        created_at=now,
        updated_at=now,
        retrieved_at=None,
        downloaded=False,
        versions_total=1,
        locks_total=0,
        next_rotation_date=_first_rotation(handler, material.attributes or {}, now),
        next_expiry_notice=events.next_expiry_notice(material.expiration_date or draft.expiration_date, now),
        client_request_token=token_key,
        request_fingerprint=core.keyring.fingerprint(checked.source) if token_key else None,
    )
    if material.data is None:  # issued later by a task (public certificates)
        secret = replace(secret, versions_total=0)
    tx.insert_secret(secret)
    version = None
    if material.data is not None:
        version = versions.add_version(
            tx, core, secret, material.data, created_by=actor.principal, now=now,
            custom_metadata=draft.version_custom_metadata, attributes=material.version_attributes, first=True,
        ).version
    if material.start is not None:
        material.start(tx, secret)
    audit.record(tx, actor, now, "secret.create", f"secret:{secret.id}")
    if material.data is not None:  # one whose data a task makes (a public certificate) is created when it comes
        events.emit(tx, now, events.EventType.SECRET_CREATED, secret)
    return SecretView(secret, effective_state(secret, now), material.data, version)


def get_secret(core: Core, actor: Actor, secret_id: str, *, with_payload: bool) -> SecretView:
    """The secret, with its current data when ``with_payload`` (the read's marks written before
    it returns). Raises NotFound."""
    if with_payload:
        view, read = read_secret(core, actor, secret_id)
        if read is not None:
            payload_reads.write_now(core.store, [read])
        return view
    now = core.clock()
    with core.store.reader() as tx:
        secret = load_secret(tx, actor, secret_id)
    return SecretView(secret, effective_state(secret, now))


def read_secret(core: Core, actor: Actor, secret_id: str) -> tuple[SecretView, PayloadRead | None]:
    """The secret with its current data, from one snapshot, and the marks of the read, which the
    caller writes (lifecycle/payload_reads.py) before handing the data on. None: no version
    issued yet, so only metadata and nothing read. Raises NotFound."""
    now = core.clock()
    with core.store.reader(unwrapped=True) as tx:
        return _read_current(core, actor, tx, secret_id, now)


async def read_secret_recorded(core: Core, actor: Actor, secret_id: str) -> SecretView:
    """As `read_secret`, read together with the other payload reads of this event-loop turn and
    returned once the read's marks and audit event have committed (the API's reads)."""
    now = core.clock()
    return await payload_reads.read_together(core, lambda tx: _read_current(core, actor, tx, secret_id, now))


def _read_current(core: Core, actor: Actor, tx: Tx, secret_id: str,
                  now: datetime) -> tuple[SecretView, PayloadRead | None]:
    found = tx.get_secret_staged(secret_id, Stage.CURRENT)  # one statement: a snapshot by itself
    if found is None or not actor.may_access(found[0].secret_group_id):
        raise NotFound("secret", secret_id)
    return _payload_view(core, actor, *found, now)


def read_secret_by_name(
    core: Core, actor: Actor, group_name: str, secret_type: str, name: str
) -> tuple[SecretView, PayloadRead | None]:
    """As `read_secret`, for the secret named ``name`` of ``secret_type`` in the group named
    ``group_name``."""
    if secret_type not in CONTRACT_SECRET_TYPES:
        raise InvalidInput(f"secret_type: '{secret_type[:40]}' is not a secret type", field="secret_type")
    now = core.clock()
    with core.store.reader() as tx:
        group = tx.get_group_by_name(group_name)
        if group is None or not actor.may_access(group.id):
            raise NotFound("secret group", group_name)
        secret = tx.find_secret(group.id, secret_type, name)
        if secret is None:
            raise NotFound(f"{secret_type} secret", f"{group_name}/{name}")
        current = tx.get_staged_version(secret.id, Stage.CURRENT)
    return _payload_view(core, actor, secret, current, now)


def _payload_view(
    core: Core, actor: Actor, secret: SecretRecord, current: VersionRecord | None, now: datetime
) -> tuple[SecretView, PayloadRead | None]:
    if current is None:  # not issued yet: metadata only
        return SecretView(secret, effective_state(secret, now)), None
    data = versions.open_data(core, current)
    read = PayloadRead("secret.read_payload", secret.id, current.id, not current.downloaded, actor, now)
    secret = replace(secret, retrieved_at=now, downloaded=True)
    return SecretView(secret, effective_state(secret, now), data, current), read


def list_secrets(core: Core, actor: Actor, query: SecretQuery) -> tuple[list[SecretView], int]:
    """A page of secrets the actor may see. Raises InvalidInput for a bad page or sort."""
    if not 0 <= query.offset:
        raise InvalidInput("offset: must be 0 or more", field="offset")
    if not 1 <= query.limit <= MAX_LIST_LIMIT:
        raise InvalidInput(f"limit: must be from 1 to {MAX_LIST_LIMIT}", field="limit")
    groups = list(query.groups) if query.groups is not None else None
    if actor.groups is not None:
        groups = [g for g in groups if g in actor.groups] if groups is not None else sorted(actor.groups)
    for secret_type in query.secret_types or ():
        if secret_type not in CONTRACT_SECRET_TYPES:
            raise InvalidInput(f"secret_types: '{secret_type[:40]}' is not a secret type", field="secret_types")
    if query.labels and len(set(query.labels)) > MAX_LABELS:  # no secret holds more: none could match
        raise InvalidInput(f"match_all_labels: at most {MAX_LABELS} labels (a secret holds no more), "
                           f"got {len(set(query.labels))}", field="match_all_labels")
    now = core.clock()
    # A search lists its matches' ids, then pages them: on PostgreSQL both in one snapshot.
    with core.store.reader(one_snapshot=bool(query.search)) as tx:
        rows, total = tx.list_secrets(
            SecretQuery(
                offset=query.offset, limit=query.limit, sort=query.sort, descending=query.descending,
                search=query.search, groups=groups, secret_types=query.secret_types, labels=query.labels,
            )
        )
    return [SecretView(r, effective_state(r, now)) for r in rows], total


def update_metadata(core: Core, actor: Actor, secret_id: str, patch: dict[str, Any]) -> SecretView:
    """Apply a merge patch of metadata fields. Raises InvalidInput, NotFound, Conflict."""
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        handler = handler_for(secret.secret_type)
        allowed = {"name", "description", "labels", "custom_metadata"} | set(handler.patch_fields)
        if handler.user_expiration:
            allowed.add("expiration_date")
        unknown = sorted(set(patch) - allowed)
        if unknown:
            raise InvalidInput(
                f"{unknown[0]}: cannot be changed on a {secret.secret_type} secret "
                f"(patchable: {', '.join(sorted(allowed))})",
                field=unknown[0],
            )
        changes: dict[str, Any] = {}
        if "name" in patch:
            changes["name"] = check_name(_require_str(patch, "name"))
        if "description" in patch:
            changes["description"] = check_description(patch["description"])
        if "labels" in patch:
            changes["labels"] = check_labels(patch["labels"] or [])
        if "custom_metadata" in patch:
            changes["custom_metadata"] = check_metadata(patch["custom_metadata"] or {}, "custom_metadata")
        if "expiration_date" in patch:
            _check_expiration(patch["expiration_date"], now, secret.secret_type)
            changes["expiration_date"] = patch["expiration_date"]
            changes["next_expiry_notice"] = events.next_expiry_notice(patch["expiration_date"], now)
        typed = {k: patch[k] for k in handler.patch_fields if k in patch}
        if typed:
            ctx = HandlerContext(tx, core, actor, now, secret.id, secret.secret_group_id)
            changes["attributes"] = handler.patch(secret.attributes, typed, ctx)
            if "rotation" in typed:
                changes |= _next_rotation(tx, handler, secret, changes["attributes"], now)
        if changes:
            changes["updated_at"] = now
            tx.update_secret(secret.id, **changes)
        audit.record(tx, actor, now, "secret.update_metadata", f"secret:{secret.id}")
        updated = tx.get_secret(secret.id)
    assert updated is not None
    return SecretView(updated, effective_state(updated, now))


def _first_rotation(handler: Any, attributes: dict[str, Any], now: datetime) -> datetime | None:
    """A new secret's next_rotation_date (a certificate renewed ahead of expiry: set when issued)."""
    if not handler.rotatable or handler.renews_before_expiry:
        return None
    return rotation.next_rotation_date(attributes.get("rotation"), now, now)


def _next_rotation(tx: Tx, handler: Any, secret: SecretRecord, attributes: dict[str, Any],
                   now: datetime) -> dict[str, Any]:
    """The secret's next_rotation_date under its changed rotation policy, as a change: every
    interval from the current version, or ahead of a certificate's expiry; no change while
    there is nothing to rotate (a public certificate still being ordered sets it when issued)."""
    if not handler.rotatable:
        return {"next_rotation_date": None}
    if handler.renews_before_expiry:
        if secret.expiration_date is None or tx.active_task(secret.id, [TaskKind.ROTATION, TaskKind.PUBLIC_CERT_ORDER]):
            return {}  # nothing issued yet, or a renewal under way: its certificate sets the date
        not_before = (attributes.get("validity") or {}).get("not_before")
        return {"next_rotation_date": rotation.renewal_date(attributes.get("rotation"), secret.expiration_date,
                                                            datetime.fromisoformat(not_before) if not_before else None)}
    current = tx.get_staged_version(secret.id, Stage.CURRENT)
    if current is None:
        return {}
    return {"next_rotation_date": rotation.next_rotation_date(attributes.get("rotation"), current.created_at, now)}


def _require_str(patch: dict[str, Any], key: str) -> str:
    value = patch[key]
    if not isinstance(value, str):
        raise InvalidInput(f"{key}: must be a string", field=key)
    return value


def delete_secret(core: Core, actor: Actor, secret_id: str) -> None:
    """Delete a secret with all its versions. Raises NotFound, Locked (while any lock holds it)."""
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        locks = tx.list_locks(secret_id=secret.id)
        if not locks:
            events.emit(tx, now, events.EventType.SECRET_DELETED, secret)
            tx.delete_secret(secret.id)
            audit.record(tx, actor, now, "secret.delete", f"secret:{secret.id}")
            return
    names = sorted({lock.name for lock in locks})
    events.emit_alone(core, events.EventType.SECRET_DELETION_BLOCKED, secret, {"locks": names})
    raise Locked(f"secret '{secret.id}' is locked ({', '.join(names)}); remove its locks before deleting it", locks=names)
