"""Settings, read once at start-up from flags and CERTKEEPER_* environment variables.

Flags win over the environment. This is the only module that reads or writes os.environ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8200
DEFAULT_DATA_DIR = "./data"


def _seconds(value: object, name: str) -> float:
    try:
        seconds = float(str(value))
    except ValueError:
        raise ValueError(f"{name}: '{value}' is not a number of seconds") from None
    if not 0 < seconds <= 86400:
        raise ValueError(f"{name}: must be more than 0 and at most 86400 seconds")
    return seconds


def _count(value: object, name: str, what: str, low: int) -> int:
    text = str(value)
    if not text.isdigit() or not low <= int(text) <= 64:
        raise ValueError(f"{name}: '{text}' is not a number of {what} from {low} to 64")
    return int(text)


LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    root_key: str | None = field(default=None, repr=False)
    public_url: str | None = None
    log_level: str = "info"
    workers: int = 2  # background worker threads per server process
    processes: int = 1  # server processes sharing the listening socket
    scheduler_interval: float = 15.0  # seconds between looks for due rotations
    task_lease: float = 300.0  # seconds a worker holds a task before another may take it over
    allow_private_webhooks: bool = False
    test_hook: str | None = None  # tests only: pause a rotation before it commits (crash tests)

    @classmethod
    def load(cls, **flags: object) -> Settings:
        """Flags (None when not given) over CERTKEEPER_* variables over defaults; raises ValueError."""
        env = os.environ

        def pick(name: str, default: object = None) -> object:
            value = flags.get(name)
            if value is not None:
                return value
            return env.get(f"CERTKEEPER_{name.upper()}", default)

        port_text = str(pick("port", DEFAULT_PORT))
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"port: '{port_text}' is not a TCP port (1-65535)")
        log_level = str(pick("log_level", "info")).lower()
        if log_level not in LOG_LEVELS:
            raise ValueError(f"log_level: '{log_level}' is not one of {', '.join(LOG_LEVELS)}")
        database_url = pick("database_url")
        if database_url is not None and not str(database_url).startswith(("sqlite", "postgresql")):
            raise ValueError("database_url: must start with sqlite:/// or postgresql+psycopg://")
        return cls(
            host=str(pick("host", DEFAULT_HOST)),
            port=int(port_text),
            data_dir=Path(str(pick("data_dir", DEFAULT_DATA_DIR))).expanduser().resolve(),
            database_url=str(database_url) if database_url else None,
            root_key=str(env["CERTKEEPER_ROOT_KEY"]) if env.get("CERTKEEPER_ROOT_KEY") else None,
            public_url=str(pick("public_url")) if pick("public_url") else None,
            log_level=log_level,
            workers=_count(pick("workers", 2), "workers", "threads", 0),
            processes=_count(pick("processes", 1), "processes", "processes", 1),
            scheduler_interval=_seconds(pick("scheduler_interval", 15.0), "scheduler_interval"),
            task_lease=_seconds(pick("task_lease", 300.0), "task_lease"),
            test_hook=str(pick("test_hook")) if pick("test_hook") else None,
            allow_private_webhooks=str(pick("allow_private_webhooks", "false")).lower() in ("1", "true", "yes"),
        )

    def environment(self) -> dict[str, str]:
        """These settings as the CERTKEEPER_* variables `load` reads back (every field, by its
        name; unset ones left out): how `serve --processes N` hands them to the server processes
        it starts (each loads its own)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {f"CERTKEEPER_{name.upper()}": str(value).lower() if isinstance(value, bool) else str(value)
                for name, value in values.items() if value is not None}

    def export(self) -> None:
        """Put `environment()` in this process's environment, for the processes it starts."""
        os.environ.update(self.environment())
