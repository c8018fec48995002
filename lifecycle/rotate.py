"""The rotate entry point (certkeeper extension): a new version made the type's way
(a new password, a new private certificate), with a task id, idempotent by token."""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle import audit, version_ops
from lifecycle.core import Actor, Core
from lifecycle.errors import Conflict, InvalidInput
from lifecycle.rules import check_client_request_token
from lifecycle.secrets import load_secret
from lifecycle.types import handler_for
from lifecycle.vocabulary import Stage, State, TaskKind

PENDING_KINDS = (TaskKind.ROTATION, TaskKind.PUBLIC_CERT_ORDER)


@dataclass(frozen=True, slots=True)
class RotateResult:
    version_id: str | None
    task_id: str | None


def rotate(
    core: Core, actor: Actor, secret_id: str, *, client_request_token: str | None = None,
    version_stages: list[str] | None = None, trigger: str = "manual_secret_rotation", auto: bool = False,
) -> RotateResult:
    """Raises InvalidInput (type cannot rotate itself), NotFound, Conflict (a rotation is
    pending, or the token was used with other data), Locked (previous version locked)."""
    check_client_request_token(client_request_token)
    with core.store.reader() as tx:
        secret = load_secret(tx, actor, secret_id)
        pending = tx.active_task(secret.id, PENDING_KINDS)
    handler = handler_for(secret.secret_type)
    if not handler.rotatable:
        raise InvalidInput(
            f"secret_type: a {secret.secret_type} secret has no generated data to rotate; create a version with new data",
            field="secret_type",
        )
    if getattr(handler, "asynchronous", False):
        reordered = _order_again(core, actor, secret.id, trigger, client_request_token)
        if reordered is not None:
            return reordered
    if pending is not None:
        raise Conflict(f"secret '{secret.id}' has a rotation pending (task {pending.id})")
    view = version_ops.create_version(
        core, actor, secret.id, {}, client_request_token=client_request_token, version_stages=version_stages,
        auto_rotated=auto, rotation_trigger=trigger,
    )
    return RotateResult(view.version.id, view.task_id)


def _order_again(core: Core, actor: Actor, secret_id: str, trigger: str, token: str | None) -> RotateResult | None:
    """A public certificate whose first order failed for good (its CA refused it, its DNS
    provider said no) gets a new first order: the way out the contract gives ('start a new
    order'); the same client_request_token again answers the same task. None when it has a
    certificate: then a rotation is a renewal."""
    from lifecycle.types.public_cert import start_order

    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        if token is not None:
            for task in tx.list_tasks(secret.id):
                if task.kind == TaskKind.PUBLIC_CERT_ORDER and task.params.get("client_request_token") == token:
                    return RotateResult(None, task.id)
        if Stage.CURRENT in tx.get_stages(secret.id):
            return None
        if (pending := tx.active_task(secret.id, PENDING_KINDS)) is not None:
            raise Conflict(f"secret '{secret.id}' has an order pending (task {pending.id})")
        now = core.clock()
        task_id = start_order(tx, secret, now, trigger=trigger, created_by=actor.principal, rotation=False,
                              client_request_token=token)
        tx.update_secret(secret.id, state=State.PRE_ACTIVATION, updated_at=now)
        audit.record(tx, actor, now, "secret.reorder", f"secret:{secret.id}/task:{task_id}")
    return RotateResult(None, task_id)
