"""The kinds of background task: what a task row's `kind` names, each run by one handler
(lifecycle/background.py collects them)."""

from __future__ import annotations

ROTATION = "rotation"  # rotate a secret (lifecycle/scheduler.py queues and runs them)
PUBLIC_CERT_ORDER = "public_cert_order"  # place and complete an ACME order (lifecycle/acme_orders.py)
WEBHOOK_DELIVERY = "webhook_delivery"  # deliver one event to one webhook (lifecycle/webhooks.py)
