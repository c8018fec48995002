"""What every benchmark is told: how long and how often to measure, and where to work."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Options:
    quick: bool
    rounds: int  # A B A B ... rounds per comparison
    seconds: float  # length of one load run
    work: Path  # scratch directory of this invocation, removed afterwards
    postgres: bool  # the PostgreSQL server at 127.0.0.1:5432 answers
    scale_sizes: tuple[int, int] = (1_000, 1_000_000)  # benchmark 5: small and large store
    rotations: int = 10_000  # benchmark 6: certificates due at once
    context: dict[str, Any] = field(default_factory=dict)  # figures one benchmark hands to a later one
