"""Server and worker processes keep their start-up objects out of full garbage collections (api.cli)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.cli import _app, _worker_pool
from api.settings import Settings
from lifecycle.core import Core


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The test process's own heap as it was: unfrozen before and after."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_server_app_freezes_what_start_up_made(core: Core, unfrozen: None) -> None:
    before = len(gc.get_objects())  # what a full collection walks: every tracked object not frozen
    app = _app(Settings(workers=0), core)
    walked = gc.get_objects()
    # The app, its routes and the modules it imported are no longer walked, nor was anything
    # else alive at start-up (the test process's own objects included).
    assert not any(o is app or o is app.router for o in walked)
    assert len(walked) < before // 10


def test_worker_process_freezes_what_start_up_made(core: Core, unfrozen: None) -> None:
    before = len(gc.get_objects())
    pool = _worker_pool(Settings(), core, threads=1)  # built, not started
    walked = gc.get_objects()
    assert not any(o is pool for o in walked)
    assert len(walked) < before // 10
