"""Keeping SQLite's search index in few segments: merging them in the background.

FTS5 writes a new segment for each transaction that changed search texts and merges them
four at a time per level; a search asks every segment for each trigram it looks up. A bulk
load of a million secrets left 10 segments (a thousand secrets created one by one, 16), and
merged into one the same searches took 1.5 ms at p50 instead of 2.5 in process (0.57
instead of 0.68 at a thousand).

The scheduler calls `SearchUpkeep.run` after each pass. When the segments beside the largest
hold a quarter of its pages or more (sizes read from FTS5's %_idx table: an upper estimate
for segments FTS5 is itself merging, whose consumed pages it still counts), it merges every
segment into one with FTS5's `merge` command (negative to begin, positive to go on),
`STEP_PAGES` pages a step, each step a write transaction of its own (through the
writers' gate, so requests' writes take turns with it) followed by a pause as long, for at
most `PASS_BUDGET_S` a pass; a merge begun goes on at the next pass until it is done. The
quarter bounds how often a page is rewritten as the index grows (each merge at least 25%
more pages than the last), and a merge of a million secrets' index (330 MB) took 263 steps of
15 ms at p50 (up to ~90 ms). Reading the segment sizes took 3-5 ms at a million secrets; a
pass reads them only when FTS5's structure record (the one row naming every segment)
changed since the last look. PostgreSQL's GIN index needs none of this.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection

from lifecycle.store.search import FTS_TABLE

if TYPE_CHECKING:
    from lifecycle.store.sql import SqlStore

GROWTH = 0.25  # merge when the other segments hold this share of the largest one's pages
STEP_PAGES = 128  # pages (4 KiB) a merge step writes, about
PASS_BUDGET_S = 2.0  # seconds of merging and pausing in one scheduler pass, at most

# FTS5's %_idx table has a row per leaf page that starts a b-tree entry of a segment;
# its pgno is the page number shifted left by one (the low bit flags a doclist index).
_SEGMENT_PAGES = text(f"SELECT max(pgno) >> 1 FROM {FTS_TABLE}_idx GROUP BY segid")
_STRUCTURE = text(f"SELECT block FROM {FTS_TABLE}_data WHERE id = 10")  # FTS5's structure record
_NOT_YET = object()  # no structure record read yet
_MERGE = text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('merge', :pages)")


def merge_step(conn: Connection, pages: int, *, begin: bool) -> bool:
    """One step of merging: with ``begin``, the first step of merging every segment into one,
    whatever their levels (a negative 'merge'); without, a step of the merge under way (a
    positive one, which resumes it and leaves segments written since it began alone; a negative
    one would begin anew with them: with a write between each step, it never ended and the
    index grew to hundreds of segments until SQLite found it malformed). False when there was
    nothing left to merge (FTS5's documented test: fewer than two rows changed)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    before = driver.total_changes
    conn.execute(_MERGE, {"pages": -pages if begin else pages})
    return bool(driver.total_changes - before >= 2)


def worth_merging(pages: list[int]) -> bool:
    """Whether segments of these sizes are worth merging into one."""
    return len(pages) > 1 and sum(pages) - max(pages) >= GROWTH * max(pages)


class SearchUpkeep:
    """Merges a SQLite store's search index segments, a bounded amount at each `run`."""

    def __init__(self, store: SqlStore, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store, self._sleep, self._clock = store, sleep, clock
        self.merging = False  # a merge was begun and is not done yet
        self.steps = 0  # merge steps taken, in all
        self._structure_seen: bytes | None | object = _NOT_YET  # FTS5's structure record at the last look

    def segment_pages(self) -> list[int]:
        """The pages of each segment of the index, about."""
        with self._store.engine.connect() as conn:
            return [pages for (pages,) in conn.execute(_SEGMENT_PAGES)]

    def _sizes_if_changed(self) -> list[int] | None:
        """The segment sizes, read in one snapshot with the structure record; None when the
        record is as it was at the last look (the same segments, found not worth merging then)."""
        with self._store.engine.connect() as conn, conn.begin():  # BEGIN DEFERRED: one snapshot
            structure = conn.execute(_STRUCTURE).scalar()
            if structure == self._structure_seen:
                return None
            pages = [p for (p,) in conn.execute(_SEGMENT_PAGES)]
        self._structure_seen = structure
        return pages

    def run(self, budget_s: float = PASS_BUDGET_S) -> int:
        """Merge steps for at most ``budget_s`` seconds, if a merge is due or under way; the
        number of steps taken. Without one due, a read of the index's structure record, and
        of its segment sizes when that changed."""
        if not self.merging:
            pages = self._sizes_if_changed()
            if pages is None or not worth_merging(pages):
                return 0
        taken, deadline = 0, self._clock() + budget_s
        while self._clock() < deadline:
            with self._store.transaction() as tx:  # timed once the writers' turn is ours
                started = self._clock()
                worked = tx.merge_search_index(STEP_PAGES, begin=not self.merging)
            held = self._clock() - started
            taken += 1
            self.merging = worked
            if not worked or self._clock() + held >= deadline:
                break
            self._sleep(held)  # writers get as long as the step held the lock
        self.steps += taken
        return taken
