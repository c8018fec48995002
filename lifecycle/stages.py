"""Stage labels: list them, move one to another version, remove a custom one.

`current` is never removed, only moved; moving it makes the old current `previous`.
A labelled version keeps its data (see retention in `lifecycle/versions.py`).
"""

from __future__ import annotations

from lifecycle import audit, versions
from lifecycle.core import Actor, Core
from lifecycle.errors import InvalidInput, Locked
from lifecycle.secrets import load_secret
from lifecycle.vocabulary import Stage


def list_stages(core: Core, actor: Actor, secret_id: str) -> dict[str, str]:
    with core.store.reader() as tx:
        secret = load_secret(tx, actor, secret_id)
        return tx.get_stages(secret.id)


def move_stage(core: Core, actor: Actor, secret_id: str, stage: str, version_ref: str) -> dict[str, str]:
    """Put ``stage`` on a version. Raises InvalidInput (bad label, `previous`, a version
    without data), NotFound, Locked (moving `current` would push a locked previous out)."""
    versions.check_stage_labels([stage])
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        version = versions.resolve(tx, secret.id, version_ref)
        if not version.payload_available:
            raise InvalidInput(f"version_id: version '{version.id}' has no data to label", field="version_id")
        stages = tx.get_stages(secret.id)
        if stage not in stages and len(stages) >= versions.MAX_STAGES:
            raise InvalidInput(f"stage: a secret holds at most {versions.MAX_STAGES} stage labels", field="stage")
        if stage == Stage.CURRENT:
            previous = stages.get(Stage.PREVIOUS)
            if previous and stages.get(Stage.CURRENT) != version.id and previous != version.id:
                locked = tx.list_locks(version_id=previous)
                if locked:
                    raise Locked(f"secret '{secret.id}': the previous version is locked; moving current would replace it",
                                 locks=[lock.name for lock in locked])
            versions.move_current(tx, secret.id, version.id, stages)
            tx.update_secret(secret.id, updated_at=now)
        else:
            tx.set_stage(secret.id, stage, version.id)
        kept = versions.apply_retention(tx, secret.id)
        tx.update_secret(secret.id, versions_total=kept)
        audit.record(tx, actor, now, "stage.move", f"secret:{secret.id}/stage:{stage}/version:{version.id}")
        return tx.get_stages(secret.id)


def remove_stage(core: Core, actor: Actor, secret_id: str, stage: str) -> dict[str, str]:
    """Remove a custom label (or `pending`). Raises InvalidInput for `current`/`previous`."""
    if stage in (Stage.CURRENT, Stage.PREVIOUS):
        raise InvalidInput(f"stage: '{stage}' cannot be removed, only moved", field="stage")
    now = core.clock()
    with core.store.transaction() as tx:
        secret = load_secret(tx, actor, secret_id, for_update=True)
        tx.remove_stage(secret.id, stage)
        versions.apply_retention(tx, secret.id)
        audit.record(tx, actor, now, "stage.remove", f"secret:{secret.id}/stage:{stage}")
        return tx.get_stages(secret.id)
