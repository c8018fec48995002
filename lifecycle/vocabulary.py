"""The words of the domain in one place: secret types, states, stage labels, roles, and the
kinds and statuses of background tasks."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class SecretType(StrEnum):
    ARBITRARY = "arbitrary"
    KV = "kv"
    USERNAME_PASSWORD = "username_password"
    IMPORTED_CERT = "imported_cert"
    PRIVATE_CERT = "private_cert"
    PUBLIC_CERT = "public_cert"


# Every secret type the v2 contract names; a list filter may name any of them, even
# those certkeeper does not store (yet): the answer is then simply empty.
CONTRACT_SECRET_TYPES = frozenset({
    "arbitrary", "iam_credentials", "imported_cert", "kv", "private_cert", "public_cert",
    "service_credentials", "username_password", "custom_credentials",
})


class State(IntEnum):
    """NIST SP 800-57 key states, as the v2 contract numbers them."""

    PRE_ACTIVATION = 0
    ACTIVE = 1
    SUSPENDED = 2
    DEACTIVATED = 3
    DESTROYED = 5

    @property
    def description(self) -> str:
        return self.name.lower()


class Stage(StrEnum):
    """Reserved stage labels; any other label is a user label."""

    CURRENT = "current"
    PREVIOUS = "previous"
    PENDING = "pending"


class LockMode(StrEnum):
    REMOVE_PREVIOUS = "remove_previous"
    REMOVE_PREVIOUS_AND_DELETE = "remove_previous_and_delete"


class TaskKind(StrEnum):
    """What a task row's `kind` names, each run by one handler (lifecycle/background.py)."""

    ROTATION = "rotation"  # rotate a secret (lifecycle/scheduler.py queues and runs them)
    PUBLIC_CERT_ORDER = "public_cert_order"  # place and complete an ACME order (lifecycle/acme_orders.py)
    WEBHOOK_DELIVERY = "webhook_delivery"  # deliver one event to one webhook (lifecycle/webhooks.py)


class TaskStatus(StrEnum):
    """A task row's `status` (lifecycle/tasks.py moves a task between them)."""

    QUEUED = "queued"  # waits for a worker (from run_after on)
    PROCESSING = "processing"  # claimed by a worker, under its lease
    WAITING = "waiting"  # waits for an outside party (an ACME order's DNS records) to be resumed
    SUCCEEDED = "succeeded"
    FAILED = "failed"


UNFINISHED_TASK = (TaskStatus.QUEUED, TaskStatus.PROCESSING, TaskStatus.WAITING)  # statuses before an end

class Role(StrEnum):
    """Roles in increasing power; each includes what the ones before it may do."""

    READER = "Reader"
    SECRETS_READER = "SecretsReader"
    WRITER = "Writer"
    MANAGER = "Manager"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str) -> Role:
        for role in cls:
            if role.value.lower() == text.strip().lower():
                return role
        raise ValueError(f"role '{text}' is not one of {', '.join(r.value for r in cls)}")
