"""Workers: claim due tasks and run the handler registered for each task kind.

In-process worker threads serve the default deployment; `run_due` is the same loop
body, called directly by tests and by `certkeeper worker` processes. Idle workers wake
when a transaction of this process queues a task (the store's doorbell) and otherwise
poll, which is how they see tasks queued by other processes or coming due later.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta

from lifecycle import tasks
from lifecycle.core import Core
from lifecycle.errors import CertkeeperError, StoreUnreachable

log = logging.getLogger("certkeeper.workers")

Handler = Callable[[Core, tasks.Claimed], None]
BatchHandler = Callable[[Core, list[tasks.Claimed]], None]
POLL_INTERVAL_S = 0.25  # an idle look for due tasks is one indexed read, no write lock
BATCH_LIMIT = 100  # tasks of a batched kind claimed and run together (in one transaction, by the handler)


def batched(handler: BatchHandler) -> Handler:
    """Mark a handler that takes a list of claimed tasks of its kind; `run_due` claims up to
    BATCH_LIMIT of them at once. Used where one transaction per task is most of the cost."""
    handler.takes_batch = True  # type: ignore[attr-defined]
    return handler  # type: ignore[return-value]


def run_due(core: Core, handlers: Mapping[str, Handler], *, owner: str | None = None, limit: int = 10,
            lease: timedelta = tasks.DEFAULT_LEASE, batch_limit: int = BATCH_LIMIT) -> int:
    """Claim and run up to ``limit`` due tasks, and up to ``batch_limit`` of batched kinds;
    returns how many ran. A handler records its own outcome (tasks.succeed / fail / wait) in
    the transaction that applies its effect; an exception it lets out is recorded as a
    failure to retry."""
    owner = owner or f"worker-{uuid.uuid4().hex[:8]}"
    single = [kind for kind, h in handlers.items() if not getattr(h, "takes_batch", False)]
    grouped = [kind for kind in handlers if kind not in single]
    ran = 0
    for _ in range(limit if single else 0):
        # One at a time: a task claimed ahead would wait behind a slow one (an order's DNS
        # propagation check), out of other workers' reach, and past its lease run twice.
        claimed = tasks.claim(core.store, owner, core.clock(), limit=1, lease=lease, kinds=single)
        if not claimed:
            break
        item = claimed[0]
        _guard(core, [item], lambda: handlers[item.task.kind](core, item))
        ran += 1
    if grouped:
        claimed = tasks.claim(core.store, owner, core.clock(), limit=batch_limit, lease=lease, kinds=grouped)
        for kind in grouped:
            batch = [item for item in claimed if item.task.kind == kind]
            if batch:
                _guard(core, batch, lambda: handlers[kind](core, batch))  # type: ignore[arg-type]
        ran += len(claimed)
    return ran


def _guard(core: Core, items: list[tasks.Claimed], run: Callable[[], None]) -> None:
    try:
        run()
    except tasks.StaleLease:
        log.warning("task %s: lease lost to another worker; result discarded", items[0].task.id)
    except Exception as exc:  # the tasks must not stay claimed until their lease runs out
        code = getattr(exc, "code", None) or type(exc).__name__
        message = _said(exc)
        for done, item in enumerate(items):
            log.error("task %s (%s) failed: %s", item.task.id, item.task.kind, code)
            try:
                with core.store.transaction() as tx:
                    tasks.fail(tx, item, core.clock(), str(code), message, retry=True)
            except tasks.StaleLease:
                pass
            except StoreUnreachable as unreachable:  # each record would wait out the connect timeout in turn
                log.error("%d task failure(s) not recorded (%s); those tasks run again when their lease ends",
                          len(items) - done, unreachable.message)
                return
            except Exception as record_error:  # a dropped connection, say: the others may still be recorded
                log.error("task %s: its failure could not be recorded (%s); it runs again when its lease ends",
                          item.task.id, _said(record_error))


def _said(exc: Exception) -> str:
    """What a failure may say in a task's record and a log line: a domain error's message (they
    name no value), else only its class."""
    return exc.message if isinstance(exc, CertkeeperError) else f"unexpected {type(exc).__name__}"


class RepeatedErrors:
    """One log line when an error begins, one a minute while it repeats (with how many were
    held back), and, when it repeated, one when it ends (how many times, for how long): a worker
    polling a database that is down four times a second would otherwise write hundreds of
    identical lines through an outage."""

    EVERY_S = 60.0

    def __init__(self, what: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._what, self._clock = what, clock
        self._message: str | None = None
        self._held = self._times = 0
        self._logged_at = self._since = 0.0

    def failed(self, message: str) -> None:
        now = self._clock()
        if message != self._message:
            log.error("%s: %s", self._what, message)
            self._message, self._held, self._times, self._logged_at, self._since = message, 0, 1, now, now
            return
        self._times += 1
        if now - self._logged_at >= self.EVERY_S:
            log.error("%s: %s (again %d times since the last line)", self._what, message, self._held + 1)
            self._held, self._logged_at = 0, now
        else:
            self._held += 1

    def succeeded(self) -> None:
        if self._message is not None and self._times > 1:
            log.warning("%s: working again after %d times in %.0f s: %s", self._what, self._times,
                        self._clock() - self._since, self._message)
        self._message, self._held, self._times = None, 0, 0


SCHEDULER_INTERVAL_S = 15.0  # how often due rotations are looked for; rotations are not minute-exact
MAX_TICKS_IN_A_ROW = 1000  # a backlog is drained tick after tick, up to this many before the pause


class WorkerPool:
    """Background threads running `run_due` until stopped, and (optionally) one thread
    running the scheduler's `tick`."""

    def __init__(self, core: Core, handlers: Mapping[str, Handler], *, threads: int = 2,
                 poll_interval: float = POLL_INTERVAL_S, tick: Callable[[Core], object] | None = None,
                 tick_interval: float = SCHEDULER_INTERVAL_S, lease: timedelta = tasks.DEFAULT_LEASE) -> None:
        self._core, self._handlers, self._poll, self._lease = core, handlers, poll_interval, lease
        self._tick, self._tick_interval = tick, tick_interval
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, name=f"certkeeper-worker-{i}", daemon=True)
                         for i in range(threads)]
        if tick is not None:
            self._threads.append(threading.Thread(target=self._schedule, name="certkeeper-scheduler", daemon=True))

    def _schedule(self) -> None:
        assert self._tick is not None
        errors = RepeatedErrors("scheduler")
        while not self._stop.is_set():
            for _ in range(MAX_TICKS_IN_A_ROW):  # a full batch means more may be due: go on at once
                try:
                    more = getattr(self._tick(self._core), "more", False)
                except CertkeeperError as exc:
                    errors.failed(exc.message)
                    break
                errors.succeeded()
                if not more or self._stop.is_set():
                    break
            self._stop.wait(self._tick_interval)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._core.store.task_bell.ring()  # idle workers wait on the doorbell
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        owner = f"{threading.current_thread().name}-{uuid.uuid4().hex[:6]}"
        bell = self._core.store.task_bell
        errors = RepeatedErrors(f"worker {owner}")
        while not self._stop.is_set():
            seen = bell.rings  # before claiming: a task queued while claiming still wakes us
            try:
                ran = run_due(self._core, self._handlers, owner=owner, lease=self._lease)
            except CertkeeperError as exc:
                errors.failed(exc.message)
                ran = 0
            else:
                errors.succeeded()
            if not ran and not self._stop.is_set():
                bell.wait(seen, self._poll)
