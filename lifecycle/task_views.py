"""Reading a secret's tasks (ACME orders, rotations), as the task routes show them."""

from __future__ import annotations

from lifecycle.core import Actor, Core
from lifecycle.errors import NotFound
from lifecycle.records import TaskRecord
from lifecycle.secrets import load_secret


def list_secret_tasks(core: Core, actor: Actor, secret_id: str) -> list[TaskRecord]:
    with core.store.reader() as tx:
        secret = load_secret(tx, actor, secret_id)
        return tx.list_tasks(secret.id)


def get_secret_task(core: Core, actor: Actor, secret_id: str, task_id: str) -> TaskRecord:
    with core.store.reader() as tx:
        secret = load_secret(tx, actor, secret_id)
        task = tx.get_task(task_id)
    if task is None or task.secret_id != secret.id:
        raise NotFound("task", task_id)
    return task
