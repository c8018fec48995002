"""Settings from flags and CERTKEEPER_* variables, and back (how `serve --processes N` hands them on)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.settings import Settings


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's own environment, without CERTKEEPER_* (what `export` writes goes no further)."""
    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if not k.startswith("CERTKEEPER_")})


def test_settings_round_trip_through_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _clear(monkeypatch)
    os.environ["CERTKEEPER_ROOT_KEY"] = "k" * 44
    given = Settings.load(data_dir=str(tmp_path), port=9443, host="0.0.0.0", public_url="https://ck.example",
                          workers=0, processes=3, database_url="sqlite:///" + str(tmp_path / "x.db"),
                          scheduler_interval="2.5", allow_private_webhooks="true")
    env = given.environment()
    assert env["CERTKEEPER_PROCESSES"] == "3" and env["CERTKEEPER_WORKERS"] == "0"
    assert "CERTKEEPER_TEST_HOOK" not in env  # unset settings stay unset
    _clear(monkeypatch)
    given.export()
    assert Settings.load() == given


@pytest.mark.parametrize(("name", "value", "message"), [
    ("processes", "0", "processes: '0' is not a number of processes from 1 to 64"),
    ("processes", "65", "processes: '65' is not a number of processes from 1 to 64"),
    ("processes", "two", "processes: 'two' is not a number of processes from 1 to 64"),
    ("workers", "-1", "workers: '-1' is not a number of threads from 0 to 64"),
    ("log_level", "verbose", "log_level: 'verbose' is not one of critical, error, warning, info, debug, trace"),
])
def test_counts_out_of_range_are_refused_by_name(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                 message: str) -> None:
    _clear(monkeypatch)
    os.environ[f"CERTKEEPER_{name.upper()}"] = value
    with pytest.raises(ValueError) as err:
        Settings.load()
    assert str(err.value) == message
