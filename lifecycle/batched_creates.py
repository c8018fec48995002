"""Secrets created together, committed together: the API's creations share transactions.

Each creation is first made dry, on a read-only connection (`plan`): rules checked, the group
and the type's configurations read (a private certificate's template and CA), the key made
and the certificate signed, the payload sealed, and every write it would make held
(Tx.held_writes). The creations planned in one event-loop turn then go to the store as one
transaction (lifecycle/group_commit.py): it checks once that the configurations and
webhooks the plans read are unchanged and replays every plan's writes, one executemany per
table. Each request answers once that transaction committed.

The rows a plan reads (the group, the configurations, the webhooks) are taken from
`PlanHints`, what the last batch's transaction read, and read from the database only when
not known there: each batch checks the configurations and webhooks again (and the group's
foreign key holds), so a hint gone stale costs a batch made again alone, never a wrong
write. A refusal is never made on hints: a plan refused while using them is made again on
fresh reads before the request is answered.

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
from lifecycle.records import ConfigRecord, GroupRecord, WebhookRecord
from lifecycle.secrets import SecretDraft, SecretView
from lifecycle.plan_hints import PlanHints
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
    group: GroupRecord


class _Changed(Exception):
    """A configuration or webhook the plans read changed before their batch was written."""


def plan(core: Core, actor: Actor, draft: SecretDraft) -> PlannedCreate | None:
    """The creation made dry, or None where it must be made alone (see the module's docstring).
    Raises what `secrets.create_secret` raises for the request itself (InvalidInput, NotFound,
    Forbidden, the type's refusals)."""
    if draft.client_request_token is not None:  # its replay check belongs in the write transaction
        return None
    checked = secrets.check_draft(core, actor, draft)
    hints = core.create_hints
    if hints.known():
        try:
            return _plan(core, actor, draft, checked, hints)
        except CertkeeperError:
            pass  # perhaps refused on a stale hint: the answer comes from fresh reads
    return _plan(core, actor, draft, checked, None)


def _plan(core: Core, actor: Actor, draft: SecretDraft, checked: secrets.CheckedDraft,
          hints: PlanHints | None) -> PlannedCreate | None:
    # No snapshot needed: what the plan reads is checked again by its batch's transaction.
    with core.store.reader(unwrapped=True) as tx, tx.held_writes(dry=True):
        if hints is not None:
            hints.seed(tx)
        try:
            view = secrets.create_in(tx, core, actor, draft, checked)
        except CannotHold:
            return None
        group = tx.get_group(draft.secret_group_id)
        assert group is not None  # create_in has found it
        return PlannedCreate(actor, draft, view, tx.held_since(0), tx.configs_read(), tx.list_webhooks(), group)


def commit(core: Core, plans: list[PlannedCreate]) -> list[SecretView | Exception]:
    """Write ``plans`` in one transaction and answer each with its view; when that fails, make
    each again alone and answer with its view or its error."""
    hints = core.create_hints
    try:
        with core.store.transaction() as tx, tx.held_writes():
            webhooks = tx.list_webhooks()
            configs = {name: tx.get_config(name) for p in plans for name in p.configs}
            hints.learn(configs, webhooks)  # fresh, whether or not the plans still hold
            if any(p.webhooks != webhooks or any(configs[n] != seen for n, seen in p.configs.items()) for p in plans):
                raise _Changed
            for p in plans:
                tx.replay(p.writes)
    except _Changed:
        return [_alone(core, p) for p in plans]
    except CertkeeperError:
        hints.forget()  # a group gone, say: the plans start from the database again
        return [_alone(core, p) for p in plans]
    hints.learn_groups([p.group for p in plans])  # they exist: the secrets inserted name them
    return [p.view for p in plans]


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
