"""GroupCommit: what is submitted in one loop turn commits in one batch, and every waiter
learns how its batch ended."""

from __future__ import annotations

import asyncio

import pytest

from lifecycle.errors import StoreUnavailable
from lifecycle.group_commit import MAX_WAIT_TURNS, GroupCommit


def test_submits_of_one_turn_share_a_batch_and_later_ones_start_the_next() -> None:
    batches: list[list[int]] = []

    async def main() -> None:
        group: GroupCommit[int] = GroupCommit()
        await asyncio.gather(*(group.submit(i, batches.append) for i in range(5)))
        await group.submit(99, batches.append)  # alone: committed on the next turn, not held back

    asyncio.run(main())
    assert batches == [[0, 1, 2, 3, 4], [99]]


def test_a_batch_waits_for_submits_that_keep_arriving_but_only_for_a_few_turns() -> None:
    batches: list[list[int]] = []

    async def main() -> None:
        group: GroupCommit[int] = GroupCommit()
        waiting = []
        for i in range(3 * MAX_WAIT_TURNS):  # one more submit every loop turn
            waiting.append(asyncio.ensure_future(group.submit(i, batches.append)))
            await asyncio.sleep(0)  # yields one loop turn, no waiting for time
        await asyncio.gather(*waiting)

    asyncio.run(main())
    assert [i for batch in batches for i in batch] == list(range(3 * MAX_WAIT_TURNS))
    assert len(batches[0]) > 1  # submits of later turns joined the first batch
    assert len(batches) > 1 and max(len(b) for b in batches) <= MAX_WAIT_TURNS + 1  # but it did not wait for ever


def test_a_failed_commit_fails_every_waiter_of_its_batch_only() -> None:
    outcomes: list[object] = []
    committed: list[list[str]] = []

    def failing(batch: list[str]) -> None:
        raise StoreUnavailable("database error: OperationalError")

    async def main() -> None:
        group: GroupCommit[str] = GroupCommit()
        results = await asyncio.gather(group.submit("a", failing), group.submit("b", failing), return_exceptions=True)
        outcomes.extend(results)
        await group.submit("c", committed.append)

    asyncio.run(main())
    assert [type(o) for o in outcomes] == [StoreUnavailable, StoreUnavailable]
    assert committed == [["c"]]


def test_a_cancelled_waiter_does_not_stop_the_others() -> None:
    committed: list[list[str]] = []

    async def main() -> None:
        group: GroupCommit[str] = GroupCommit()
        gone = asyncio.ensure_future(group.submit("gone", committed.append))
        stays = asyncio.ensure_future(group.submit("stays", committed.append))
        await asyncio.sleep(0)  # both submitted; the commit is due on the next turn
        gone.cancel()
        await stays
        with pytest.raises(asyncio.CancelledError):
            await gone

    asyncio.run(main())
    assert committed == [["gone", "stays"]]  # submitted before the cancel: still written
