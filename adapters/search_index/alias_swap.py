"""Rebuild swap for the cluster search index: build a new generation of indexes,
then point the live aliases at it in one atomic alias update."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.search_index import dsl
from adapters.search_index.document_index import DocumentSearchIndex


async def swap_in_shadow(
    live: DocumentSearchIndex,
    shadow: DocumentSearchIndex,
    horizon: Mapping[str, int],
) -> list[str]:
    """Makes the shadow generation live and returns the retired index names.

    Like the SQL swap, documents written after the horizon stay: they are copied
    into the shadow first (external versions keep the newer one), and once more
    after the alias update for writes that reached the old index in between.
    Every live alias of a database in the horizon is swapped; one the shadow has
    no index for gets an empty one, so documents the replay did not produce go.
    """
    backend = live.backend
    live_aliases = await backend.aliases(live.pattern())
    for alias in live_aliases:
        db, branch_part = _parts(alias)
        if db in horizon:
            base = dsl.index_base(shadow.prefix, shadow.generation)
            await backend.create_index(f"{base}.{db}.{branch_part}", shadow.index_body)
    shadow_indexes = sorted(await backend.indexes(shadow.pattern()))
    plan = {index: dsl.alias_for_index(live.prefix, index) for index in shadow_indexes}
    await _carry_over(shadow, plan, live_aliases, horizon)
    # The shadow writes without waiting for refreshes: make all of it searchable
    # before it goes live, and the late documents carried over after the swap.
    await backend.refresh(shadow.pattern())
    actions: list[dict[str, Any]] = []
    retired: list[str] = []
    for index, alias in plan.items():
        for old in live_aliases.get(alias, []):
            actions.append({"remove": {"index": old, "alias": alias}})
            retired.append(old)
        actions.append({"add": {"index": index, "alias": alias}})
    if actions:
        await backend.update_aliases(actions)
    await _carry_over(shadow, plan, live_aliases, horizon)
    await backend.refresh(shadow.pattern())
    if retired:
        await backend.delete_indexes(retired)
    return retired


async def _carry_over(
    shadow: DocumentSearchIndex,
    plan: Mapping[str, str],
    live_aliases: Mapping[str, list[str]],
    horizon: Mapping[str, int],
) -> None:
    for alias in plan.values():
        db, _ = _parts(alias)
        for old in live_aliases.get(alias, []):
            late = await shadow.documents_after(old, horizon.get(db, 0))
            await shadow.upsert(late)


def _parts(alias: str) -> tuple[str, str]:
    """`<prefix>.<db>.<branch>` -> (db, encoded branch)."""
    _, db, branch_part = alias.split(".", 2)
    return db, branch_part
