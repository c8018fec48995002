"""Records to wire JSON in the v2 contract's shapes (the `secrets_manager_v2` models)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lifecycle.configurations import ConfigView, secret_type_of
from lifecycle.core import Core
from lifecycle.locks import SecretLocks
from lifecycle.records import (
    ConfigRecord,
    EventRecord,
    GroupRecord,
    LockRecord,
    SecretRecord,
    TaskRecord,
    WebhookRecord,
)
from lifecycle.secrets import SecretView
from lifecycle.types import handler_for
from lifecycle.version_ops import VersionView
from lifecycle.vocabulary import TaskStatus


def ts(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a 'Z', as the SDK writes and reads dates."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def group(g: GroupRecord) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "description": g.description or "",
        "created_by": g.created_by,
        "created_at": ts(g.created_at),
        "updated_at": ts(g.updated_at),
    }


def secret_metadata(core: Core, view: SecretView) -> dict[str, Any]:
    s = view.secret
    handler = handler_for(s.secret_type)
    body: dict[str, Any] = {
        "id": s.id,
        "crn": core.crn("secret", s.id),
        "name": s.name,
        "description": s.description or "",
        "secret_type": s.secret_type,
        "secret_group_id": s.secret_group_id,
        "labels": s.labels,
        "custom_metadata": s.custom_metadata,
        "state": int(view.state),
        "state_description": view.state.description,
        "created_by": s.created_by,
        "created_at": ts(s.created_at),
        "updated_at": ts(s.updated_at),
        "downloaded": s.downloaded,
        "versions_total": s.versions_total,
        "locks_total": s.locks_total,
        "referenced_by": [],
    }
    if s.retrieved_at is not None:
        body["retrieved_at"] = ts(s.retrieved_at)
    if handler.has_expiration:
        body["expiration_date"] = ts(s.expiration_date)
    if s.next_rotation_date is not None:
        body["next_rotation_date"] = ts(s.next_rotation_date)
    # certkeeper: every secret shows where its rotation stands
    body["rotation_state"] = s.attributes.get("rotation_state", "idle")
    body["last_rotation_failed"] = bool(s.attributes.get("last_rotation_failed", False))
    if s.attributes.get("rotation_error"):
        body["rotation_error"] = s.attributes["rotation_error"]
    body.update(handler.metadata(s.attributes))
    return body


def secret(core: Core, view: SecretView) -> dict[str, Any]:
    body = secret_metadata(core, view)
    for key, value in (view.data or {}).items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = body[key] | value  # a sealed part of a metadata object (managed_csr's private_key)
        else:
            body[key] = value
    return body


def version_metadata(view: VersionView) -> dict[str, Any]:
    s, v = view.secret, view.version
    body: dict[str, Any] = {
        "id": v.id,
        "secret_id": s.id,
        "secret_type": s.secret_type,
        "secret_group_id": s.secret_group_id,
        "secret_name": s.name,
        "created_by": v.created_by,
        "created_at": ts(v.created_at),
        "downloaded": v.downloaded,
        "auto_rotated": v.auto_rotated,
        "payload_available": v.payload_available,
        "version_custom_metadata": v.custom_metadata,
    }
    if view.alias:
        body["alias"] = view.alias
    if view.stages:
        body["version_stages"] = list(view.stages)  # certkeeper extension: every label on the version
    if view.task_id:
        body["task_id"] = view.task_id  # certkeeper extension: the rotation's task
    handler = handler_for(s.secret_type)
    if handler.has_expiration and s.expiration_date is not None:
        body["expiration_date"] = ts(s.expiration_date)
    body.update(handler.version_metadata(v.attributes))
    return body


def version(view: VersionView) -> dict[str, Any]:
    body = version_metadata(view)
    if view.data is not None:
        body.update(view.data)
    return body


def lock(record: LockRecord, secret: SecretRecord, alias: str | None) -> dict[str, Any]:
    return {
        "name": record.name,
        "description": record.description or "",
        "attributes": record.attributes,
        "created_by": record.created_by,
        "created_at": ts(record.created_at),
        "updated_at": ts(record.updated_at),
        "secret_group_id": secret.secret_group_id,
        "secret_id": secret.id,
        "secret_version_id": record.version_id,
        "secret_version_alias": alias or "",
    }


def secret_locks(summary: SecretLocks) -> dict[str, Any]:
    s = summary.secret
    return {
        "secret_id": s.id,
        "secret_group_id": s.secret_group_id,
        "secret_type": s.secret_type,
        "secret_name": s.name,
        "versions": [
            {
                "version_id": v.version_id,
                "version_alias": v.alias,
                "locks": v.locks,
                "payload_available": v.payload_available,
            }
            for v in summary.versions
        ],
    }


def page(url: Any, items_key: str, items: list[Any], total: int, offset: int, limit: int) -> dict[str, Any]:
    """A paginated collection with first/next/previous/last links the SDK's pagers follow."""

    def href(at: int) -> dict[str, str]:
        return {"href": str(url.include_query_params(offset=at, limit=limit))}

    last = max(0, ((total - 1) // limit) * limit) if total else 0
    body: dict[str, Any] = {
        "total_count": total,
        "limit": limit,
        "offset": offset,
        "first": href(0),
        "last": href(last),
        items_key: items,
    }
    if offset + limit < total:
        body["next"] = href(offset + limit)
    if offset > 0:
        body["previous"] = href(max(0, offset - limit))
    return body


def configuration_metadata(config: ConfigRecord) -> dict[str, Any]:
    attrs = dict(config.attributes)
    body: dict[str, Any] = {
        "config_type": config.config_type,
        "name": config.name,
        "secret_type": secret_type_of(config.config_type),
        "created_by": config.created_by,
        "created_at": ts(config.created_at),
        "updated_at": ts(config.updated_at),
    }
    if config.status is not None:
        body["status"] = config.status
    for key in ("common_name", "issuer", "key_type", "key_bits", "signing_method", "certificate_authority",
                "expiration_date", "lets_encrypt_environment"):
        if key in attrs:
            body[key] = attrs[key]
    if "expiration_date" in attrs:
        body["expiration_date"] = attrs["expiration_date"].replace("+00:00", "Z")
    return body


def configuration(view: ConfigView) -> dict[str, Any]:
    # account: the CA's registration record; earlier_serials: a CA's certificates before its
    # current one (revoked with it); key_generation, bare_urls_generation, key_not_after: its key's
    # generation (named in the URLs it embeds), the one its URLs without a generation serve, when
    # its key's last certificate expires: internal
    hidden = {"expiration_date", "account", "earlier_serials", "key_generation", "bare_urls_generation", "key_not_after"}
    body = {k: v for k, v in view.config.attributes.items() if k not in hidden} | configuration_metadata(view.config)
    if view.data is not None:
        body["data"] = view.data
        if "serial_number" in view.data:  # the certificate's, as the contract shows it (colon hex)
            body["serial_number"] = view.data["serial_number"]
    return body


def task(record: TaskRecord) -> dict[str, Any]:
    """The contract's SecretTask, plus certkeeper's attempts, next attempt and last error."""
    body: dict[str, Any] = {
        "id": record.id,
        "type": record.kind,
        "status": record.status,
        "trigger": record.trigger,
        "secret_id": record.secret_id,
        "created_by": record.created_by,
        "updated_by": record.lease_owner or record.created_by,
        "creation_date": ts(record.created_at),
        "last_update_date": ts(record.updated_at),
        "attempts": record.attempts,
    }
    if record.status == TaskStatus.QUEUED:
        body["next_attempt_date"] = ts(record.run_after)
    if record.result and record.result.get("version_id"):
        body["secret_version_id"] = record.result["version_id"]
    if record.last_error_code:
        body["errors"] = [{"code": record.last_error_code, "description": record.last_error or ""}]
    return body


def event(record: EventRecord) -> dict[str, Any]:
    return {
        "id": record.id, "event_type": record.event_type, "at": ts(record.at), "secret_id": record.secret_id,
        "secret_group_id": record.secret_group_id, "secret_type": record.secret_type,
        "secret_name": record.secret_name, "detail": record.detail,
    }


def webhook(record: WebhookRecord) -> dict[str, Any]:
    return {
        "id": record.id, "url": record.url, "event_types": record.event_types, "description": record.description or "",
        "created_by": record.created_by, "created_at": ts(record.created_at),
    }
