"""`certkeeper serve` and `worker` log lines carry their UTC time, level and logger."""

from __future__ import annotations

import re
import subprocess
import sys

LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (ERROR|WARNING|INFO) [\w.]+: ")


def test_log_lines_say_when_how_bad_and_from_where() -> None:
    program = (
        "import logging\n"
        "from api.log_config import configure\n"
        "configure('info')\n"
        "logging.getLogger('certkeeper.workers').error('worker w1: database unreachable')\n"
        "logging.getLogger('certkeeper.api').info('request r1 served')\n"
        "logging.getLogger('certkeeper.api').debug('not at info')\n"
        "logging.getLogger('uvicorn.error').info('Started server process')\n"
        "logging.getLogger('sqlalchemy.pool.impl.QueuePool').error('Exception during reset or similar')\n"
        "logging.getLogger('sqlalchemy.engine').info('not at warning')\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=30)
    lines = result.stderr.splitlines()
    assert len(lines) == 4 and all(LINE.match(line) for line in lines), result.stderr
    assert lines[0].endswith("ERROR certkeeper.workers: worker w1: database unreachable")
    assert lines[2].endswith("INFO uvicorn.error: Started server process")
    assert lines[3].endswith("ERROR sqlalchemy.pool.impl.QueuePool: Exception during reset or similar")
