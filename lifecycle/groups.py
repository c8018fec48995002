"""Secret groups: named containers that scope secrets and tokens; `default` is built in."""

from __future__ import annotations

from typing import Any

from lifecycle import audit
from lifecycle.core import Actor, Core
from lifecycle.errors import Conflict, Forbidden, InvalidInput, NotFound
from lifecycle.ids import new_id
from lifecycle.records import GroupRecord
from lifecycle.rules import check_description, check_group_name

DEFAULT_GROUP = "default"
MAX_GROUPS = 200  # the v2 contract's limit per instance


def _load(tx: Any, actor: Actor, group_id: str) -> GroupRecord:
    group = tx.get_group(group_id)
    if group is None or not actor.may_access(group.id):
        raise NotFound("secret group", group_id)
    return group


def create_group(core: Core, actor: Actor, name: str, description: str | None) -> GroupRecord:
    """Raises InvalidInput, Conflict (name taken or too many groups), Forbidden (scoped token)."""
    check_group_name(name)
    check_description(description)
    if actor.groups is not None:
        raise Forbidden("a token limited to secret groups cannot create groups")
    now = core.clock()
    group = GroupRecord(new_id(now), name, description, actor.principal, now, now)
    with core.store.transaction() as tx:
        if len(tx.list_groups()) >= MAX_GROUPS:
            raise Conflict(f"an instance holds at most {MAX_GROUPS} secret groups")
        tx.insert_group(group)
        audit.record(tx, actor, now, "group.create", f"group:{group.id}")
    return group


def list_groups(core: Core, actor: Actor) -> list[GroupRecord]:
    with core.store.reader() as tx:
        return tx.list_groups(actor.groups)


def get_group(core: Core, actor: Actor, group_id: str) -> GroupRecord:
    with core.store.reader() as tx:
        return _load(tx, actor, group_id)


def update_group(core: Core, actor: Actor, group_id: str, patch: dict[str, Any]) -> GroupRecord:
    """Raises InvalidInput (unknown field, bad name; the default group's name), NotFound, Conflict."""
    unknown = sorted(set(patch) - {"name", "description"})
    if unknown:
        raise InvalidInput(f"{unknown[0]}: cannot be changed on a secret group (patchable: name, description)", field=unknown[0])
    changes: dict[str, Any] = {}
    if patch.get("name") is not None:
        changes["name"] = check_group_name(patch["name"])
    if "description" in patch:
        changes["description"] = check_description(patch["description"])
    now = core.clock()
    with core.store.transaction() as tx:
        group = _load(tx, actor, group_id)
        if group.id == DEFAULT_GROUP and "name" in changes and changes["name"] != DEFAULT_GROUP:
            raise InvalidInput("name: the default secret group cannot be renamed", field="name")
        if changes:
            tx.update_group(group.id, **changes, updated_at=now)
        audit.record(tx, actor, now, "group.update", f"group:{group.id}")
        updated = tx.get_group(group.id)
    assert updated is not None
    return updated


def delete_group(core: Core, actor: Actor, group_id: str) -> None:
    """Raises NotFound, Conflict (the default group, or a group that still holds secrets)."""
    now = core.clock()
    with core.store.transaction() as tx:
        group = _load(tx, actor, group_id)
        if group.id == DEFAULT_GROUP:
            raise Conflict("the default secret group cannot be deleted")
        count = tx.count_secrets_in_group(group.id)
        if count:
            raise Conflict(f"secret group '{group.id}' still holds {count} secret(s); move or delete them first")
        tx.delete_group(group.id)
        audit.record(tx, actor, now, "group.delete", f"group:{group.id}")
