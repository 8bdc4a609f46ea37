"""Objectify's staging: batches come back in order, whether held or spilled."""

from __future__ import annotations

from domain.dataplane.objectify import Changes, Item
from resolvers.objectify_staging import StagedBatch, Staging


def batch(first: int, count: int) -> StagedBatch:
    items = [
        Item(row, f"id{row}", {"k": f"id{row}"}, {"k": f"id{row}"}, {})
        for row in range(first, first + count)
    ]
    return StagedBatch(Changes(items, [], [], []), frozenset({f"id{first}"}))


def test_batches_come_back_in_order_held_or_spilled() -> None:
    for spill_after, spilled in ((100, False), (5, True)):
        staging = Staging(spill_after)
        added = [batch(1, 3), batch(4, 3), batch(7, 3)]
        for each in added:
            staging.add(each)
        assert staging.spilled is spilled
        assert list(staging) == added
        assert list(staging) == added  # read again: the file is rewound
        staging.close()
        assert list(staging) == []
