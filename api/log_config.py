"""How `certkeeper serve` and `certkeeper worker` write their logs: every line on stderr
with its UTC time, level and logger (`2026-12-07T15:20:01Z ERROR certkeeper.workers: ...`),
so an operator can line them up with a failover or a deploy; uvicorn's own lines included.
Request access lines stay uvicorn's, on stdout."""

from __future__ import annotations

import copy
import logging
import logging.config
import time
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UTCFormatter(logging.Formatter):
    converter = time.gmtime

    def __init__(self, fmt: str = FORMAT, use_colors: bool | None = None) -> None:  # uvicorn may pass use_colors
        super().__init__(fmt, datefmt="%Y-%m-%dT%H:%M:%SZ")


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration with timestamped lines, certkeeper's own loggers at
    ``level`` and every other library's warnings and errors in the same form."""
    import uvicorn.config

    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["formatters"]["default"] = {"()": f"{__name__}.UTCFormatter"}
    ours = "DEBUG" if level.lower() == "trace" else level.upper()  # uvicorn's trace is below logging's levels
    config["loggers"]["certkeeper"] = {"handlers": ["default"], "level": ours, "propagate": False}
    config["root"] = {"handlers": ["default"], "level": "WARNING"}  # the libraries': acme, SQLAlchemy's pool, alembic
    return config


def configure(level: str) -> None:
    """For processes uvicorn does not configure (`certkeeper worker`)."""
    logging.config.dictConfig(log_config(level))
