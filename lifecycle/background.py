"""The task handlers every worker runs, by task kind: one registry for `serve` and `worker`."""

from __future__ import annotations

from lifecycle import acme_orders, scheduler, webhooks
from lifecycle.workers import Handler


def background_handlers() -> dict[str, Handler]:
    return {**scheduler.HANDLERS, **webhooks.HANDLERS, **acme_orders.HANDLERS}
