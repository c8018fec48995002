"""Group commit on an event loop: the writes that requests hand over together go out in one
transaction, and each request goes on once the transaction that holds its write committed.

A request that must not answer before something is durable (a payload read is not answered
before its audit event is committed) calls `GroupCommit.submit` and awaits it. The first
submit of a batch schedules the commit for the loop's next turn, so every request whose
handler ran in the same turn (the connections that were readable together) joins the batch:
with N requests in flight the store sees one BEGIN, one executemany per table and one COMMIT
instead of N of each. No thread and no timer: a request alone is committed on the very next
turn, and nothing waits for a batch to fill.

The commit runs on the loop, as every store call of a handler does. If it fails, every
request of the batch gets the error, since none of their writes is durable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """Batches of items per event loop (a test may drive one app from several loops in turn)."""

    def __init__(self) -> None:
        self._batches: dict[asyncio.AbstractEventLoop, list[tuple[T, asyncio.Future[None]]]] = {}

    async def submit(self, item: T, commit: Callable[[list[T]], None]) -> None:
        """Returns once a transaction holding ``item`` committed; raises what the commit raised.

        ``commit`` writes a batch in one transaction; the first submit of a batch chooses it, so
        every caller sharing this GroupCommit passes the same function."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        batch = self._batches.get(loop)
        if batch is None:
            batch = self._batches[loop] = []
            loop.call_soon(self._commit, loop, commit)
        batch.append((item, done))
        await done

    def _commit(self, loop: asyncio.AbstractEventLoop, commit: Callable[[list[T]], None]) -> None:
        batch = self._batches.pop(loop)
        try:
            commit([item for item, _ in batch])
        except Exception as exc:
            for _, done in batch:
                if not done.done():  # a request cancelled meanwhile has nobody to tell
                    done.set_exception(exc)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)
