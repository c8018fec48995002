"""Webhooks: registered URLs that receive events as signed JSON POSTs, with retries and
a delivery log (the delivery tasks).

Each webhook has its own HMAC-SHA256 key, shown once at registration and sealed at
rest. The signature header is ``X-Certkeeper-Signature: t=<unix time>,v1=<hex>``
over ``"<t>.<body>"``, so a receiver can check both origin and freshness. URLs that
resolve to private or loopback addresses are refused unless the operator allows
them: a webhook must not become a way to reach internal services.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lifecycle import audit, tasks, webhook_http
from lifecycle.core import Actor, Core
from lifecycle.crypto import Sealed
from lifecycle.errors import Forbidden, InvalidInput, NotFound
from lifecycle.ids import new_id
from lifecycle.records import TaskRecord, WebhookRecord
from lifecycle.vocabulary import TaskKind

DELIVERY_TIMEOUT_S = 10
MAX_ATTEMPTS = 10  # then the delivery stays failed in the log
Resolver = webhook_http.Resolver


def _resolve(host: str) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, None)]


@dataclass(frozen=True, slots=True)
class Registered:
    webhook: WebhookRecord
    signing_key: str  # shown once


def _binding(hook_id: str) -> str:
    return f"webhooks/{hook_id}"


def check_url(url: str, *, allow_private: bool, resolve: Resolver | None = None) -> None:
    """Raises InvalidInput for a URL that is not http(s) or resolves to a private address."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError as exc:  # a bracketed host that is not an IPv6 address, a bad port
        raise InvalidInput(f"url: cannot be parsed ({exc})", field="url") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput("url: must be an http:// or https:// URL with a host", field="url")
    if not (parts.path + parts.query).isascii() or any(c.isspace() or ord(c) < 32 for c in parts.path + parts.query):
        raise InvalidInput("url: its path and query must be ASCII without spaces (percent-encode the rest)", field="url")
    if allow_private:
        return
    try:
        addresses = (resolve or _resolve)(parts.hostname)
    except UnicodeError:  # the resolver's IDNA encoding refuses the name (an empty or 64+ character label)
        raise InvalidInput(f"url: host '{parts.hostname[:80]}' is not a valid host name", field="url") from None
    except OSError:
        raise InvalidInput(f"url: host '{parts.hostname[:80]}' does not resolve", field="url") from None
    refused = webhook_http.first_refused(addresses)
    if refused is not None:
        raise InvalidInput(
            f"url: '{parts.hostname}' resolves to {refused}, a private or loopback address; "
            "the operator can allow such webhooks with CERTKEEPER_ALLOW_PRIVATE_WEBHOOKS", field="url")


def register(core: Core, actor: Actor, url: str, event_types: list[str], description: str | None, *,
             allow_private: bool, resolve: Resolver | None = None) -> Registered:
    from lifecycle.events import EventType

    if actor.groups is not None:
        raise Forbidden("webhooks see every group's events; a token limited to secret groups cannot register one")
    check_url(url, allow_private=allow_private, resolve=resolve)
    for name in event_types:
        if name not in set(EventType):
            raise InvalidInput(f"event_types: '{name[:60]}' is not an event type", field="event_types")
    now = core.clock()
    hook_id = new_id(now)
    key = os.urandom(32).hex()
    sealed = core.keyring.seal(key.encode(), _binding(hook_id))
    hook = WebhookRecord(hook_id, url, list(dict.fromkeys(event_types)), sealed.ciphertext, sealed.wrapped_key,
                         sealed.key_id, description, actor.principal, now)
    with core.store.transaction() as tx:
        tx.insert_webhook(hook)
        audit.record(tx, actor, now, "webhook.create", f"webhook:{hook_id}")
    return Registered(hook, key)


def list_webhooks(core: Core) -> list[WebhookRecord]:
    with core.store.reader() as tx:
        return tx.list_webhooks()


def delete_webhook(core: Core, actor: Actor, hook_id: str) -> None:
    now = core.clock()
    with core.store.transaction() as tx:
        if tx.get_webhook(hook_id) is None:
            raise NotFound("webhook", hook_id)
        tx.delete_webhook(hook_id)
        audit.record(tx, actor, now, "webhook.delete", f"webhook:{hook_id}")


def deliveries(core: Core, hook_id: str, limit: int = 100) -> list[TaskRecord]:
    with core.store.reader() as tx:
        if tx.get_webhook(hook_id) is None:
            raise NotFound("webhook", hook_id)
        return tx.tasks_of_kind(TaskKind.WEBHOOK_DELIVERY, "webhook_id", hook_id, limit)


def signature(key: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def deliver(core: Core, claimed: tasks.Claimed) -> None:
    """Worker handler: POST one event to one webhook; non-2xx or no answer retries with backoff."""
    params = claimed.task.params
    with core.store.reader() as tx:
        hook = tx.get_webhook(params["webhook_id"])
        event = tx.get_event(int(params["event_id"]))
    now = core.clock()
    if hook is None or event is None:
        with core.store.transaction() as tx:
            tasks.fail(tx, claimed, now, "gone", "webhook or event no longer exists", retry=False)
        return
    key = core.keyring.open(Sealed(hook.key_payload, hook.key_wrapped, hook.key_id), _binding(hook.id)).decode()
    body = json.dumps(_payload(event), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json", "User-Agent": "certkeeper-webhooks",
        "X-Certkeeper-Event": event.event_type, "X-Certkeeper-Delivery": claimed.task.id,
        "X-Certkeeper-Signature": signature(key, int(now.timestamp()), body),
    }
    code = None
    try:
        status = webhook_http.post(hook.url, body, headers, allow_private=core.allow_private_webhooks,
                                   resolve=_resolve, timeout=DELIVERY_TIMEOUT_S)
        error = None if 200 <= status < 300 else f"HTTP {status}"
        if 300 <= status < 400:
            error += " (redirects are not followed)"
    except webhook_http.Refused as exc:
        status, code, error = 0, "refused", str(exc)
    except webhook_http.ProxyError as exc:  # its message names the proxy by address, never its credentials
        status, code, error = 0, "proxy", f"no answer: {exc}"
    except (OSError, http.client.HTTPException, ValueError) as exc:  # ValueError: a URL registered before it was checked
        status, error = 0, f"no answer: {type(exc).__name__}"
    with core.store.transaction() as tx:
        if error is None:
            tasks.succeed(tx, claimed, now, {"status_code": status})
        else:
            tasks.fail(tx, claimed, now, code or (f"http_{status}" if status else "unreachable"), error,
                       retry=claimed.task.attempts < MAX_ATTEMPTS)


def _payload(event: Any) -> dict[str, Any]:
    return {
        "id": event.id, "event_type": event.event_type, "at": event.at.isoformat().replace("+00:00", "Z"),
        "secret_id": event.secret_id, "secret_group_id": event.secret_group_id, "secret_type": event.secret_type,
        "secret_name": event.secret_name, "detail": event.detail,
    }


HANDLERS = {TaskKind.WEBHOOK_DELIVERY: deliver}
