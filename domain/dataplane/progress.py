"""What a long run reports while it runs (SPEC §6.1 `Progress`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

FINAL_STAGES: Final = frozenset({"SUCCEEDED", "PARTIAL", "FAILED"})


@dataclass(frozen=True, slots=True)
class ProgressState:
    run_id: str
    stage: str  # RUNNING while it writes, then its final status
    done: int
    total: int
    message: str = ""
