"""Rows a dry plan may assume instead of reading: what the last batch's write transaction read.

Used by lifecycle/batched_creates.py, whose batches check every assumed row again, so a hint
gone stale costs a batch made again, never a wrong write.
"""

from __future__ import annotations

from lifecycle.records import ConfigRecord, GroupRecord, WebhookRecord
from lifecycle.store import Tx


class PlanHints:
    """The group, configuration and webhook rows the last batch of creations read in its write
    transaction, for the next plans to start from (per process; each batch checks them)."""

    def __init__(self) -> None:
        self.configs: dict[str, ConfigRecord] = {}
        self.webhooks: list[WebhookRecord] | None = None
        self.groups: dict[str, GroupRecord] = {}

    def known(self) -> bool:
        return self.webhooks is not None or bool(self.configs) or bool(self.groups)

    def seed(self, tx: Tx) -> None:
        tx.assume(configs=dict(self.configs), webhooks=self.webhooks, groups=dict(self.groups))

    def learn(self, configs: dict[str, ConfigRecord | None], webhooks: list[WebhookRecord]) -> None:
        self.configs = {n: c for n, c in {**self.configs, **configs}.items() if c is not None}  # None: gone
        self.webhooks = webhooks

    def learn_groups(self, groups: list[GroupRecord]) -> None:
        self.groups = {**self.groups, **{g.id: g for g in groups}}

    def forget(self) -> None:
        self.configs, self.webhooks, self.groups = {}, None, {}
