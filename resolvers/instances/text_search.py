"""The class-level `search` condition of `where`: full text and graph filters in
one query. The search index answers the text part (the ids of the class's live
documents that match, over the branch lineage); the graph store answers the
rest, with the ids taking part as an `id in` condition (in the same SQL when the
filter is pushed down), so paging and ordering stay the graph store's and exact.

- The id set is bounded (Limits.search_max_ids): a text matching more documents
  is a SEARCH_TOO_BROAD error, never a silently cut set, which would drop rows
  from pages and counts.
- The index keeps current documents only, and catches up with the graph
  asynchronously: a node matches by what its search document says, and
  `_meta.dataStatus` tells PARTIAL where that document is not of the node's
  version (stale, or an `asOf` read).
- An index outage is a retriable UNAVAILABLE error, never an empty list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader

from resolvers.context import Context
from resolvers.errors import RequestError
from resolvers.instances import patterns
from schema.ontology.inputs import TEXT_SEARCH
from schema.ontology.plan import ClassPlan

FIELD = TEXT_SEARCH  # the Python name of `search` in where inputs
Found = frozenset[str]


async def matching_ids(ctx: Context, plan: ClassPlan, text: Any) -> Found:
    """Ids of the class's (and subclasses') documents matching the text; asked
    of the index once per request, class and text."""
    text = patterns.searched_text(text)
    loader = ctx.loader(
        (FIELD, plan.class_ids),
        lambda: DataLoader(partial(_search_each, ctx, plan.class_ids)),
    )
    found: Found = await loader.load(text)
    return found


async def resolved(
    ctx: Context, where: Mapping[str, Any], plan: ClassPlan
) -> dict[str, Found]:
    """The id set of every `search` condition on the class itself (through
    and/or/not, not inside relationship conditions), by text."""
    texts: set[str] = set()
    _collect(where, texts)
    return {text: await matching_ids(ctx, plan, text) for text in sorted(texts)}


def _collect(where: Mapping[str, Any], texts: set[str]) -> None:
    for name, condition in where.items():
        if condition is None:
            continue
        if name == FIELD:
            texts.add(str(condition))
        elif name in ("and_", "or_"):
            for part in condition:
                _collect(part, texts)
        elif name == "not_":
            _collect(condition, texts)


async def _search_each(
    ctx: Context, class_ids: Sequence[str], texts: Sequence[str]
) -> list[Found | BaseException]:
    found: list[Found | BaseException] = []
    for text in texts:
        try:
            found.append(await _ids(ctx, class_ids, text))
        except RequestError as error:
            found.append(error)
    return found


async def _ids(ctx: Context, class_ids: Sequence[str], text: str) -> Found:
    cap = ctx.ports.limits.search_max_ids
    try:
        documents = await ctx.ports.search.search(
            ctx.db,
            [span.branch for span in ctx.lineage],
            text=text,
            class_ids=list(class_ids),
            limit=cap + 1,
        )
    except Exception as error:
        if getattr(error, "outage", False):  # the store's StoreUnavailable
            raise RequestError(
                "where.search: the search index is unavailable; retry later",
                code="UNAVAILABLE",
                details={"field": "search", "retriable": True},
            ) from error
        raise
    if len(documents) > cap:
        raise RequestError(
            f"where.search: {text!r} matches more than {cap} documents; "
            "narrow the text (no partial id set is used)",
            code="SEARCH_TOO_BROAD",
            details={"field": "search", "limit": cap},
        )
    return frozenset(d.instance_id for d in documents)
