"""Secrets created together, committed together: the API's creations share transactions.

Each creation is first made dry, in a read-only snapshot (`plan`): rules checked, the group
and the type's configurations read (a private certificate's template and CA), the key made
and the certificate signed, the payload sealed, and every write it would make held
(Tx.held_writes). The creations planned in one event-loop turn then go to the store as one
transaction (lifecycle/group_commit.py): it checks once that the configurations and
webhooks the plans read are unchanged and replays every plan's writes, one executemany per
table. Each request answers once that transaction committed.

A plan that is refused (bad input, no such group, a template's rules) fails alone and
never joins a batch. If the batch's transaction fails (a name that another request took
first, two requests of the batch naming the same secret, a configuration changed since the
plans were made), it is rolled back whole and each of its creations is done again alone, as
`secrets.create_secret` does it: the ones that can succeed do, and each refusal names its
own cause. Creations with a client_request_token, and those whose writes cannot all be
held (an event a webhook wants needs its id), are not planned: they are made alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from lifecycle import secrets
from lifecycle.core import Actor, Core
from lifecycle.errors import CertkeeperError
from lifecycle.records import ConfigRecord, WebhookRecord
from lifecycle.secrets import SecretDraft, SecretView
from lifecycle.store.held import CannotHold, HeldWrite


@dataclass(frozen=True, slots=True)
class PlannedCreate:
    """A creation made dry: its answer, its held writes and what they were made from."""

    actor: Actor
    draft: SecretDraft
    view: SecretView = field(repr=False)  # the data among it
    writes: list[HeldWrite] = field(repr=False)
    configs: dict[str, ConfigRecord | None]  # the configurations read, as read
    webhooks: list[WebhookRecord]


class _Changed(Exception):
    """A configuration or webhook the plans read changed before their batch was written."""


def plan(core: Core, actor: Actor, draft: SecretDraft) -> PlannedCreate | None:
    """The creation made dry, or None where it must be made alone (see the module's docstring).
    Raises what `secrets.create_secret` raises for the request itself (InvalidInput, NotFound,
    Forbidden, the type's refusals)."""
    if draft.client_request_token is not None:  # its replay check belongs in the write transaction
        return None
    checked = secrets.check_draft(core, actor, draft)
    with core.store.reader(one_snapshot=True) as tx, tx.held_writes(dry=True):
        try:
            view = secrets.create_in(tx, core, actor, draft, checked)
        except CannotHold:
            return None
        return PlannedCreate(actor, draft, view, tx.held_since(0), tx.configs_read(), tx.list_webhooks())


def commit(core: Core, plans: list[PlannedCreate]) -> list[SecretView | Exception]:
    """Write ``plans`` in one transaction and answer each with its view; when that fails, make
    each again alone and answer with its view or its error."""
    try:
        with core.store.transaction() as tx, tx.held_writes():
            webhooks = tx.list_webhooks()
            for p in plans:
                if p.webhooks != webhooks or any(tx.get_config(name) != seen for name, seen in p.configs.items()):
                    raise _Changed
                tx.replay(p.writes)
        return [p.view for p in plans]
    except (_Changed, CertkeeperError):
        return [_alone(core, p) for p in plans]


def _alone(core: Core, p: PlannedCreate) -> SecretView | Exception:
    try:
        return secrets.create_secret(core, p.actor, p.draft)
    except CertkeeperError as exc:
        return exc


async def create(core: Core, actor: Actor, draft: SecretDraft) -> SecretView:
    """`secrets.create_secret` for a request served on an event loop: planned, then committed
    with the other creations of this loop turn."""
    planned = plan(core, actor, draft)
    if planned is None:
        return secrets.create_secret(core, actor, draft)
    return await core.creates.submit(planned, partial(commit, core))
