"""Settings, read once at start-up from flags and CERTKEEPER_* environment variables.

Flags win over the environment. This is the only module that reads os.environ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8200
DEFAULT_DATA_DIR = "./data"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    root_key: str | None = field(default=None, repr=False)
    public_url: str | None = None
    log_level: str = "info"

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
            log_level=str(pick("log_level", "info")),
        )
