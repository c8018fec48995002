"""Merging SQLite's FTS5 search index in the background (lifecycle/store/search_upkeep.py):
segments left by many transactions become one, in bounded steps that go on pass after pass,
searches answer the same before and after, and a merge is begun only once the smaller
segments hold a quarter of the largest one's pages."""

from __future__ import annotations

import pytest

from fixtures.records import secret_record
from fixtures.sql_trace import sent_statements
from lifecycle.store import SecretQuery, SqlStore, search_upkeep
from lifecycle.store.search_upkeep import SearchUpkeep, worth_merging

TERMS = ["app-0007", "config", "0000-000000000012", "-001", "nowhere"]


def _created(store: SqlStore, transactions: int, per_transaction: int = 50) -> None:
    """Secrets app-NNNN-config; each transaction leaves a segment (FTS5 merges them 4 by 4)."""
    for first in range(0, transactions * per_transaction, per_transaction):
        with store.transaction() as tx:
            for i in range(first, first + per_transaction):
                tx.insert_secret(secret_record(i, name=f"app-{i:04d}-config", description=f"secret number {i}"))


def _answers(store: SqlStore) -> dict[str, tuple[list[str], int]]:
    found = {}
    for term in TERMS:
        with store.reader() as tx:
            rows, total = tx.list_secrets(SecretQuery(search=term, limit=200))
        found[term] = (sorted(r.name for r in rows), total)
    return found


class _Clock:
    """Monotonic time that moves only when the upkeep pauses (1 s a pause)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, _seconds: float) -> None:
        self.now += 1.0


def test_the_merge_rule_bounds_rewrites_by_growth() -> None:
    assert not worth_merging([]) and not worth_merging([500])
    assert not worth_merging([400, 60, 39])  # 99 pages beside 400: under a quarter
    assert worth_merging([400, 60, 40])  # a quarter: merged, each page rewritten once per 25% growth
    assert worth_merging([1, 1])


def test_many_segments_become_one_and_searches_answer_the_same(sqlite_store: SqlStore) -> None:
    _created(sqlite_store, 40)
    upkeep = sqlite_store.search_upkeep
    assert upkeep is not None
    before = upkeep.segment_pages()
    assert len(before) > 4 and worth_merging(before), before
    answers = _answers(sqlite_store)
    assert answers["app-0007"] == (["app-0007-config"], 1) and answers["config"][1] == 2000
    clock = _Clock()
    upkeep._sleep, upkeep._clock = clock.sleep, clock
    assert upkeep.run() >= 1
    assert len(upkeep.segment_pages()) == 1 and not upkeep.merging
    assert _answers(sqlite_store) == answers


def test_a_merge_goes_on_pass_after_pass_within_each_pass_budget(sqlite_store: SqlStore,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _created(sqlite_store, 40)
    answers = _answers(sqlite_store)
    monkeypatch.setattr(search_upkeep, "STEP_PAGES", 1)  # a page a step: the merge takes many steps
    clock = _Clock()
    upkeep = SearchUpkeep(sqlite_store, sleep=clock.sleep, clock=clock)
    passes = []
    while True:
        passes.append(upkeep.run(budget_s=1.5))  # two steps fit: at 0 s and, after a pause, at 1 s
        if not upkeep.merging or len(passes) > 200:
            break
    assert len(passes) > 2 and set(passes[:-1]) == {2}, passes  # bounded per pass, resumed at the next
    assert len(upkeep.segment_pages()) == 1, passes
    assert _answers(sqlite_store) == answers
    assert upkeep.run() == 0  # done: nothing is due


def test_a_merge_goes_on_to_its_end_while_secrets_are_written_between_its_steps(
        sqlite_store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each step's pause lets writers in; a merge that began anew at each step with the
    segments written meanwhile never ended, and the index grew until SQLite found it malformed."""
    _created(sqlite_store, 40)
    monkeypatch.setattr(search_upkeep, "STEP_PAGES", 2)
    written = iter(range(5000, 6000))

    def write_while_paused(_seconds: float) -> None:
        with sqlite_store.transaction() as tx:  # a segment of its own
            i = next(written)
            tx.insert_secret(secret_record(i, name=f"written-while-merging-{i}"))

    upkeep = SearchUpkeep(sqlite_store, sleep=write_while_paused)
    steps = upkeep.run(budget_s=3600.0)
    assert not upkeep.merging and steps < 200, steps
    segments = upkeep.segment_pages()
    assert len(segments) <= 4 and max(segments) > 10 * sum(sorted(segments)[:-1]), segments  # one big, a few new
    with sqlite_store.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO secret_search_fts(secret_search_fts) VALUES ('integrity-check')")
    answers = _answers(sqlite_store)
    assert answers["app-0007"] == (["app-0007-config"], 1) and answers["config"][1] == 2000
    with sqlite_store.reader() as tx:
        assert tx.list_secrets(SecretQuery(search="written-while"))[1] == steps - 1  # a write per pause


def test_a_little_growth_after_a_merge_is_left_to_fts5(sqlite_store: SqlStore) -> None:
    _created(sqlite_store, 40)
    upkeep = SearchUpkeep(sqlite_store, sleep=lambda _s: None)
    upkeep.run()
    merged = upkeep.segment_pages()
    with sqlite_store.transaction() as tx:
        tx.insert_secret(secret_record(9999, name="one-more"))  # a page beside the merged segment's pages
    grown = upkeep.segment_pages()
    assert len(merged) == 1 and len(grown) == 2 and not worth_merging(grown), (merged, grown)
    assert upkeep.run() == 0 and upkeep.segment_pages() == grown


def test_postgresql_has_no_upkeep(store: SqlStore) -> None:
    assert (store.search_upkeep is None) == (store.backend == "postgresql")


def test_a_pass_reads_the_segment_sizes_only_when_the_segments_changed(sqlite_store: SqlStore) -> None:
    """Reading every segment's size took milliseconds at a million secrets; a pass with no
    search text written since the last one reads only FTS5's structure record."""
    _created(sqlite_store, 40)
    upkeep = SearchUpkeep(sqlite_store, sleep=lambda _s: None)
    assert upkeep.run() > 0 and len(upkeep.segment_pages()) == 1  # merged into one

    def statements_of_a_pass() -> list[str]:
        with sent_statements(sqlite_store.engine) as sent:
            assert upkeep.run() == 0  # one segment, or a small one beside it: nothing worth merging
        return [s.statement for s in sent if s.statement.startswith("SELECT")]

    assert any("_idx" in s for s in statements_of_a_pass())  # the first look reads the sizes
    assert not any("_idx" in s for s in statements_of_a_pass())  # nothing changed: the record alone
    with sqlite_store.transaction() as tx:
        tx.update_secret(secret_record(1).id, description="changed: a new segment")  # a search text rewritten
    assert any("_idx" in s for s in statements_of_a_pass())
    assert not any("_idx" in s for s in statements_of_a_pass())
    for first in range(2000, 4000, 50):  # as many again, each transaction a segment: merged at the next pass
        with sqlite_store.transaction() as tx:
            for i in range(first, first + 50):
                tx.insert_secret(secret_record(i, name=f"more-{i}"))
    assert upkeep.run() > 0 and len(upkeep.segment_pages()) == 1
