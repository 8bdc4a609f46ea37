"""The planned writes of an objectify run, held between its checks and its
writes: the run-wide gates can fail only after the last row was read, and a
FAILED run writes nothing, so every batch's changes wait until then.

Small runs keep them in memory; past `spill_after` instances they go to a
temporary file (pickled, one record a batch) and are read back one batch at a
time, so a run of millions of rows holds its keys, not its rows.

Staged batches live until the run ends, and every full garbage collection would
scan them again: a profile put a fifth to a third of a run's time in
collections landing on allocations. So each batch is frozen (`gc.freeze`: moved
out of the collector's generations, which costs nothing per object) when
staged, and everything is unfrozen when the run closes its staging.
"""

from __future__ import annotations

import gc
import pickle
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from domain.dataplane.objectify import Changes

SPILL_AFTER = 100_000  # planned instances held in memory before spilling


@dataclass(frozen=True, slots=True)
class StagedBatch:
    """One batch of rows diffed against current state; `tombstoned` are the ids
    whose streams end in a delete (re-created by upsert)."""

    changes: Changes
    tombstoned: frozenset[str]

    def __len__(self) -> int:
        changes = self.changes
        return len(changes.created) + len(changes.updated) + changes.unchanged


class Staging:
    """Batches in arrival order, in memory or spilled to a temporary file."""

    def __init__(self, spill_after: int = SPILL_AFTER) -> None:
        self._spill_after = spill_after
        self._held: list[StagedBatch] = []
        self._count = 0
        self._file: IO[bytes] | None = None

    def add(self, batch: StagedBatch) -> None:
        self._count += len(batch)
        if self._file is None and self._count <= self._spill_after:
            self._held.append(batch)
            gc.freeze()
            return
        if self._file is None:
            # Closed by close(), which the run calls in a finally.
            self._file = tempfile.TemporaryFile(prefix="spice-objectify-")  # noqa: SIM115
            for held in self._held:
                pickle.dump(held, self._file, pickle.HIGHEST_PROTOCOL)
            self._held = []
        pickle.dump(batch, self._file, pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[StagedBatch]:
        yield from self._held
        if self._file is None:
            return
        self._file.seek(0)
        while True:
            try:
                # Safe: our own temporary file, written by add() above.
                yield pickle.load(self._file)  # noqa: S301
            except EOFError:
                return

    @property
    def spilled(self) -> bool:
        return self._file is not None

    def close(self) -> None:
        gc.unfreeze()
        if self._file is not None:
            self._file.close()
            self._file = None
        self._held = []
