"""The `search` of secret listings: what text a secret is found by, and the condition that finds it
through a trigram index instead of a scan of every secret.

A secret matches when the term is a case-insensitive substring of its id, name, description,
type or one of its labels. Each secret's text lives in `secret_search`; terms of three characters
or more use its index for a few of their trigrams (PostgreSQL: pg_trgm GIN through `LIKE`;
SQLite: the FTS5 trigram table through `MATCH`), then keep the rows holding the whole term.
Shorter terms, which no trigram can narrow, scan that table.

Which trigrams: an index reads one posting list per trigram asked, as long as the number of
secrets holding it, so a trigram most secrets share ("app", "con") costs a read of nearly the
whole index and narrows nothing. `TrigramSample` keeps how often each trigram occurs in a random
sample of the stored texts (as a query planner keeps column statistics); `narrowing_trigrams`
asks a few rare ones, chosen by estimated cost. The sample steers cost, never the answer: every
row is still tested for the whole term.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Integer, bindparam, column, exists, func, or_, select, text

from lifecycle.store import schema as t
from lifecycle.store.tx_base import _escape_like

MIN_INDEXED_TERM = 3  # a trigram index narrows only terms of at least one trigram
SEPARATOR = "\n"  # between fields, so a term cannot match across two of them (terms with it scan)
FTS_TABLE = "secret_search_fts"
SAMPLE_SIZE = 1_000  # texts sampled; a trigram absent from them is held by few secrets (~1 in 1,000)
SAMPLE_TTL = 300.0  # seconds a sample serves before a search has a new one taken
GROWING_TTL = 10.0  # the same for a sample that read the whole (small, maybe growing) table
# What asking the index costs, in rows fetched and tested for the whole term (~1.1 us each on
# SQLite, ~0.7 us on PostgreSQL, cache warm): each trigram asked costs its lookup, GRAM_COST
# rows, and each entry of its posting list POSTING_COST of one. Timed on the scale
# benchmark's store at 1M secrets (300 searches per backend, sets of one to three trigrams):
# a lookup cost ~210 rows on SQLite FTS5 and ~130 on pg_trgm, an entry a 430th and a 210th;
# 250 chose best over 4 samples x 100 names on both (p99 2.3 ms on SQLite, 3.6 on PostgreSQL,
# from 3.3 and 4.1 with the rule before). A trigram held by more than COMMON of the secrets
# is asked alone or not at all: the fit did not reach posting lists that long.
GRAM_COST = 250.0
POSTING_COST = 1 / 300
COMMON = 0.05
# How much more often than by chance two trigrams of a term are taken to be found together:
# those starting at most NEAR characters apart share characters ("528" and "282"; "722" and
# "22-", where the name ends), and were found together 5-10 times more often than by chance
# in the benchmark's numbered names. Those further apart were found together about as often
# as by chance (median 0.7x over 825 pairs at 1M secrets), but one pair in ten 1.5x or more,
# and a name's number repeated in its id and description makes some far more: two such
# trigrams left ~1,000 rows to fetch where chance gave ~50 (4 ms on SQLite). CORRELATION
# overstates them on purpose, so a third rare trigram (a posting list, ~0.3 ms) is asked
# where two might leave many rows: over 3 x 600 names at 1M on SQLite, p99 2.0-2.8 ms
# against 4.5-5.3 with 2.0, p50 the same (1.3 ms). pg_trgm uses the same rule; its search in
# the benchmark at eab4f3a stayed within 1.19x of the 1k figure at p99.
CORRELATION = 5.0
NEAR_CORRELATION = 20.0
NEAR = 2

log = logging.getLogger("certkeeper.search")

_SAMPLE_ROWS = select(t.secret_search.c.search_text).where(t.secret_search.c.id.in_(bindparam("ids", expanding=True)))
_ID_RANGE = select(func.min(t.secret_search.c.id), func.max(t.secret_search.c.id))


def search_text(secret_id: str, name: str, description: str | None, secret_type: str, labels: Iterable[str]) -> str:
    """The lowercased text a secret is found by."""
    return SEPARATOR.join([secret_id, name, description or "", secret_type, *labels]).lower()


def trigrams(text_: str) -> dict[str, int]:
    """The distinct trigrams of a text, each with where it first occurs, in that order."""
    found: dict[str, int] = {}
    for i in range(len(text_) - MIN_INDEXED_TERM + 1):
        found.setdefault(text_[i:i + MIN_INDEXED_TERM], i)
    return found


@dataclass(frozen=True)
class Frequencies:
    """In how many of ``sampled`` search texts, drawn from ``total``, each trigram occurs."""

    counts: Counter[str]
    sampled: int
    whole: bool = False  # the sample is the whole table (small, maybe still growing)
    total: int = 0  # secrets the sample was drawn from (0: as many as sampled)

    def share(self, gram: str) -> float:
        """Estimated share of secrets holding ``gram``; one absent from the sample gets half a sighting."""
        return (self.counts.get(gram, 0) + 0.5) / (self.sampled + 1)


def narrowing_trigrams(term: str, frequencies: Frequencies | None, *, words_only: bool = False) -> list[str]:
    """The trigrams of ``term`` to ask the index for: the rarest first, then, one at a time,
    the one that lowers the search's estimated cost most (its lookup and posting list against
    the rows it spares fetching and testing), while one does. A trigram near a chosen one
    narrows less than another would (`NEAR_CORRELATION` against `CORRELATION`) but still
    narrows: for a name whose rare trigrams all overlap ("0005282" holds "528" and "282", the
    rest common), asking one alone fetched 12,000 rows at 1M secrets (40 ms on PostgreSQL),
    asking both 1,000 (3 ms). Without a sample, the trigrams tiling the term.

    ``words_only`` (PostgreSQL): pg_trgm indexes the trigrams of words, letters and digits
    only, padding each word with blanks, so a trigram holding any other character ("-12")
    is not one it keeps as such; only trigrams of letters and digits are chosen from (the
    term tiled when it has none)."""
    at = trigrams(term)
    if words_only:
        at = {g: i for g, i in at.items() if g.isalnum()}
    if frequencies is None or frequencies.sampled == 0 or not at:
        return tiling_trigrams(term)
    total = max(frequencies.total, frequencies.sampled)
    held = {gram: frequencies.share(gram) * total for gram in at}  # secrets holding each, estimated
    chosen = [min(at, key=held.__getitem__)]  # the rarest (of equals, the first in the term)
    postings = left = held[chosen[0]]  # index entries read, rows left to fetch and test
    cost = GRAM_COST + postings * POSTING_COST + left
    while True:  # add the trigram that lowers the cost most, while one does
        best: tuple[float, str, float] | None = None  # (cost, trigram, rows left) with it
        for gram in (g for g in at if g not in chosen and held[g] <= COMMON * total):  # in order: ties go to the first
            near = any(abs(at[gram] - at[other]) <= NEAR for other in chosen)
            left_with = left * min(1.0, (NEAR_CORRELATION if near else CORRELATION) * held[gram] / total)
            cost_with = GRAM_COST * (len(chosen) + 1) + (postings + held[gram]) * POSTING_COST + left_with
            if cost_with < (best[0] if best else cost):
                best = (cost_with, gram, left_with)
        if best is None:
            return chosen
        cost, gram, left = best
        chosen.append(gram)
        postings += held[gram]


class TrigramSample:
    """Trigram frequencies of a random sample of `secret_search`, shared by a store's transactions.

    A search never waits for a sample: the first search after the last one is older than
    ``ttl`` (a sample that read the whole, small table: older than `GROWING_TTL`) has a new one
    taken in the background on a connection of its own, and searches go on with the one they
    have (or tile their terms, the first time). `take` samples synchronously on a given
    connection; `taken` counts the samples taken, `attempts` the samples begun in the background."""

    def __init__(self, engine: Engine | None = None, size: int = SAMPLE_SIZE, ttl: float = SAMPLE_TTL,
                 rng: random.Random | None = None) -> None:
        self.size, self.ttl = size, ttl
        self._engine = engine
        self._rng = rng or random.Random()
        self._last: tuple[float, Frequencies | None] | None = None  # (when, what) of the last attempt
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.taken = 0
        self.attempts = 0

    def frequencies(self) -> Frequencies | None:
        last = self._last
        if last is None or time.monotonic() - last[0] >= self._ttl_of(last[1]):
            self._refresh_in_background()
        return last[1] if last else None

    def take(self, conn: Connection) -> Frequencies:
        fresh = self._sample(conn)
        self._last = (time.monotonic(), fresh)
        self.taken += 1
        return fresh

    def wait(self, timeout: float = 10.0) -> None:
        """Wait for a sample being taken in the background, if one is."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def close(self) -> None:
        """No more samples; wait for one being taken (its connection is the engine's)."""
        with self._lock:
            self._engine = None
        self.wait()

    def _ttl_of(self, frequencies: Frequencies | None) -> float:
        return self.ttl if frequencies is not None and not frequencies.whole else min(self.ttl, GROWING_TTL)

    def _refresh_in_background(self) -> None:
        with self._lock:
            if self._engine is None or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(target=self._refresh, args=(self._engine,), daemon=True,
                                            name="certkeeper-search-sample")
            self.attempts += 1
            try:
                self._thread.start()
            except RuntimeError as exc:  # no thread to be had (or shutting down): this search tiles
                self._failed(exc)

    def _refresh(self, engine: Engine) -> None:
        try:
            with engine.connect() as conn:
                self.take(conn)
        except Exception as exc:  # no sample: searches tile their terms, as before one was taken
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        previous = self._last[1] if self._last else None
        self._last = (time.monotonic(), previous)  # tried now: again after the ttl, not at every search
        log.warning("search: sampling trigram frequencies failed (%s); trying again in %.0f s",
                    type(exc).__name__, self._ttl_of(previous))

    def _sample(self, conn: Connection) -> Frequencies:
        low, high = conn.execute(_ID_RANGE).one()
        if low is None:
            return Frequencies(Counter(), 0, whole=True)
        span = range(low, high + 1)
        whole = len(span) <= self.size
        ids = list(span) if whole else self._rng.sample(span, self.size)
        counts: Counter[str] = Counter()
        sampled = 0
        for (text_,) in conn.execute(_SAMPLE_ROWS, {"ids": ids}):
            counts.update(trigrams(text_).keys())
            sampled += 1
        return Frequencies(counts, sampled, whole, total=len(span))


def matching_ids(term: str, dialect: str, frequencies: Frequencies | None = None) -> Any:
    """A subquery of the ids of secrets matching ``term``; use as ``secrets.id.in_(...)``."""
    term = term.lower()
    s = t.secret_search.c
    if SEPARATOR in term:  # the joined text would let such a term span two fields
        return _per_field(term)
    if len(term) < MIN_INDEXED_TERM:
        return select(s.secret_id).where(s.search_text.like(f"%{_escape_like(term)}%", escape="\\"))
    # The index narrows by a few trigrams of the term; a test the index cannot serve (strpos,
    # instr) then keeps exactly the rows holding the whole term.
    grams = narrowing_trigrams(term, frequencies, words_only=dialect != "sqlite")
    if dialect == "sqlite":
        fts = " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)  # quoted: no FTS5 operators
        rowids = text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q").bindparams(q=fts)
        return select(s.secret_id).where(s.id.in_(rowids.columns(column("rowid", Integer))),
                                         func.instr(s.search_text, term) > 0)
    return select(s.secret_id).where(*(s.search_text.like(f"%{_escape_like(g)}%", escape="\\") for g in grams),
                                     func.strpos(s.search_text, term) > 0)


def tiling_trigrams(term: str) -> list[str]:
    """The trigrams that tile term without overlap, plus its last one: every row holding term
    holds them all, and they ask a third as many posting lists as every trigram of the term."""
    starts = list(range(0, len(term) - MIN_INDEXED_TERM + 1, MIN_INDEXED_TERM))
    if starts[-1] != len(term) - MIN_INDEXED_TERM:
        starts.append(len(term) - MIN_INDEXED_TERM)
    return list(dict.fromkeys(term[i:i + MIN_INDEXED_TERM] for i in starts))


def _per_field(term: str) -> Any:
    """Field by field over secrets and labels: a full scan, for the rare term holding a newline."""
    pattern = f"%{_escape_like(term)}%"
    c, labels = t.secrets.c, t.secret_labels.c
    return select(c.id).where(or_(
        *(func.lower(col).like(pattern, escape="\\") for col in (c.id, c.name, c.description, c.secret_type)),
        exists().where(labels.secret_id == c.id, func.lower(labels.label).like(pattern, escape="\\")),
    ))
