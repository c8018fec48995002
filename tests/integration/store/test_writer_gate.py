"""SQLite's writers take turns through the writer gate: a second writer of the process waits
for the first to commit, then writes; nested transactions in one thread do not wait on
themselves; a turn another process never gives back ends in a clear error, not a hang.
(How fast a turn is handed over is measured by benchmark 6, not here.)"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from fixtures.records import secret_record
from fixtures.sql_trace import sent_statements
from lifecycle.errors import StoreUnavailable
from lifecycle.store import SqlStore
from lifecycle.store.writer_gate import WriterGate

WAIT_S = 30  # bound on every wait below; none is reached when the gate works


def test_a_second_writer_of_the_process_starts_when_the_first_commits(sqlite_store: SqlStore) -> None:
    inside, release, done = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with sqlite_store.transaction() as tx:
            tx.insert_secret(secret_record(1))
            inside.set()
            assert release.wait(WAIT_S)
            order.append("first commits")

    def second() -> None:
        with sqlite_store.transaction() as tx:
            order.append("second writes")
            tx.insert_secret(secret_record(2))
        done.set()

    with sent_statements(sqlite_store.engine) as sent:
        a = threading.Thread(target=first, name="first")
        a.start()
        assert inside.wait(WAIT_S)
        b = threading.Thread(target=second, name="second")
        b.start()
        assert not done.wait(0.05)  # still waiting for its turn (not a timing assertion: it cannot finish)
        began = [s.thread for s in sent if s.statement.startswith("BEGIN IMMEDIATE")]
        assert began == ["first"]  # the second waits at the gate, not inside SQLite's busy handler
        release.set()
        a.join(WAIT_S)
        b.join(WAIT_S)
    assert order == ["first commits", "second writes"]
    with sqlite_store.reader() as tx:
        assert all(tx.get_secret(secret_record(i).id) is not None for i in (1, 2))


def test_a_transaction_opened_inside_another_in_the_same_thread_does_not_wait_on_the_gate(tmp_path: Path) -> None:
    gate = WriterGate(tmp_path / "db.sqlite", timeout_s=WAIT_S)
    with gate.turn(), gate.turn():
        pass
    other = os.open(gate.path, os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # given back when the outer turn ended
    finally:
        os.close(other)
    gate.close()


def test_a_turn_another_process_never_gives_back_ends_in_a_clear_error(tmp_path: Path) -> None:
    gate = WriterGate(tmp_path / "db.sqlite", timeout_s=0.2)
    holder = os.open(gate.path, os.O_RDWR | os.O_CREAT)  # another open file: as another process holds it
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(StoreUnavailable, match="another process kept the turn to write"):
            with gate.turn():
                pass
    finally:
        os.close(holder)
    with gate.turn():  # and the gate is usable once it is free
        pass
    gate.close()
