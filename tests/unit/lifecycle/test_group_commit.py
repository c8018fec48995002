"""GroupCommit: what is submitted in one loop turn commits in one batch, and every waiter
learns how its batch ended."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from lifecycle.errors import StoreUnavailable
from lifecycle.group_commit import MAX_WAIT_TURNS, GroupCommit


def keeping(batches: list[list[Any]]) -> Callable[[list[Any]], list[None]]:
    """A commit that keeps each batch it is given and answers None to every item."""
    def commit(batch: list[Any]) -> list[None]:
        batches.append(batch)
        return [None] * len(batch)
    return commit


def test_submits_of_one_turn_share_a_batch_and_later_ones_start_the_next() -> None:
    batches: list[list[int]] = []

    async def main() -> None:
        group: GroupCommit[int, None] = GroupCommit()
        await asyncio.gather(*(group.submit(i, keeping(batches)) for i in range(5)))
        await group.submit(99, keeping(batches))  # alone: committed on the next turn, not held back

    asyncio.run(main())
    assert batches == [[0, 1, 2, 3, 4], [99]]


def test_a_batch_waits_for_submits_that_keep_arriving_but_only_for_a_few_turns() -> None:
    batches: list[list[int]] = []

    async def main() -> None:
        group: GroupCommit[int, None] = GroupCommit()
        waiting = []
        for i in range(3 * MAX_WAIT_TURNS):  # one more submit every loop turn
            waiting.append(asyncio.ensure_future(group.submit(i, keeping(batches))))
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
        group: GroupCommit[str, None] = GroupCommit()
        results = await asyncio.gather(group.submit("a", failing), group.submit("b", failing), return_exceptions=True)
        outcomes.extend(results)
        await group.submit("c", keeping(committed))

    asyncio.run(main())
    assert [type(o) for o in outcomes] == [StoreUnavailable, StoreUnavailable]
    assert committed == [["c"]]


def test_a_cancelled_waiter_does_not_stop_the_others() -> None:
    committed: list[list[str]] = []

    async def main() -> None:
        group: GroupCommit[str, None] = GroupCommit()
        gone = asyncio.ensure_future(group.submit("gone", keeping(committed)))
        stays = asyncio.ensure_future(group.submit("stays", keeping(committed)))
        await asyncio.sleep(0)  # both submitted; the commit is due on the next turn
        gone.cancel()
        await stays
        with pytest.raises(asyncio.CancelledError):
            await gone

    asyncio.run(main())
    assert committed == [["gone", "stays"]]  # submitted before the cancel: still written


def test_each_waiter_gets_what_the_commit_answered_for_its_item() -> None:
    def commit(batch: list[int]) -> list[int | Exception]:
        return [ValueError(f"item {i} refused") if i % 2 else i * 10 for i in batch]

    async def main() -> list[object]:
        group: GroupCommit[int, int] = GroupCommit()
        return await asyncio.gather(*(group.submit(i, commit) for i in range(4)), return_exceptions=True)

    answers = asyncio.run(main())
    assert answers[0] == 0 and answers[2] == 20
    assert [str(answers[1]), str(answers[3])] == ["item 1 refused", "item 3 refused"]
