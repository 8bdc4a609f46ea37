"""`find` and `count_where` as one WOQL query each, over the whole lineage.

Each span of the lineage is one TerminusDB branch, read with `using`, so the
query runs on any of them. A version matches where it lives when it is of the
classes, at or below its span's bound, not a tombstone, matches the filter, and
no visible version of its instance has a higher seq: on its own span (bounded
alike) or on any other span of the lineage, each by its own bound. That is the
SQL store's `live_nodes` (the highest visible seq wins wherever it lives).
The matches of all spans are then ordered and paged together, and only the
page's documents are read, each on its own branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from terminusdb import WOQLQuery

from adapters.graph_store.terminus import woql
from adapters.graph_store.terminus.documents import NODE
from adapters.graph_store.terminus.filters import Compiler, Declined
from domain.queries import NodeFilter, SortKey


@dataclass(frozen=True, slots=True)
class SpanGraph:
    """One span as a query reads it: its branch's collection, and the highest
    position visible on it (None: all)."""

    collection: str  # team/database/local/branch/name
    bound: int | None


def collection(team: str, database: str, branch: str) -> str:
    # Database and branch ids are names.py's escapes: [A-Za-z0-9_] only.
    return f"{team}/{database}/local/branch/{branch}"


def find_query(
    spans: Sequence[SpanGraph],
    class_ids: Sequence[str],
    *,
    where: NodeFilter | None,
    order: Sequence[SortKey],
    offset: int,
    limit: int,
) -> woql.Query:
    """The page's NodeVersion documents (`Json`), in order. Declined as the
    filter and sort keys are (filters.py)."""
    if offset < 0 or limit < 0:
        raise Declined("a negative offset or limit")
    compiler = Compiler()
    lookups, ordering = compiler.sort_values(order)
    matches = _matches(spans, class_ids, compiler, where, lookups)
    page = woql.order_by(ordering, matches)
    if offset:
        page = woql.start(offset, page)
    paged = woql.and_(woql.limit(limit, page), _read(spans))
    return woql.built(woql.select(["Json"], paged))


def count_query(
    spans: Sequence[SpanGraph], class_ids: Sequence[str], where: NodeFilter | None
) -> woql.Query:
    """How many versions match (`Count`)."""
    matches = _matches(spans, class_ids, Compiler(), where, [])
    return woql.built(woql.select(["Count"], woql.count("Count", matches)))


def _matches(
    spans: Sequence[SpanGraph],
    class_ids: Sequence[str],
    compiler: Compiler,
    where: NodeFilter | None,
    lookups: Sequence[WOQLQuery],
) -> WOQLQuery:
    """`Doc`, `Id`, `Span` (the span's index) and the sort values of every
    matching version, one solution each."""
    test = [] if where is None else [compiler.where(where)]
    parts = []
    for index, span in enumerate(spans):
        newer_elsewhere = [
            woql.not_(woql.using(other.collection, _newer(other.bound)))
            for other in spans
            if other is not span
        ]
        found = woql.and_(
            *_candidates(class_ids, span.bound),
            *test,  # before the anti-joins: a selective filter spares them
            woql.not_(_newer(span.bound)),
            *newer_elsewhere,
            *lookups,
            woql.equal(woql.var("Span"), woql.integer(index)),
        )
        parts.append(woql.using(span.collection, found))
    return parts[0] if len(parts) == 1 else woql.or_(*parts)


def _candidates(class_ids: Sequence[str], bound: int | None) -> list[WOQLQuery]:
    return [
        woql.member("Class", [woql.string(c) for c in class_ids]),
        woql.field("Doc", "class_id", woql.var("Class")),
        woql.is_a("Doc", NODE),
        woql.field("Doc", "deleted", woql.boolean(False)),
        *woql.at_most(bound),
        woql.field("Doc", "instance_id", woql.var("Id")),
        woql.field("Doc", "seq", woql.var("Seq")),
    ]


def _newer(bound: int | None) -> WOQLQuery:
    """A version of the same instance with a higher seq, at most at the bound."""
    return woql.and_(
        woql.field("Newer", "instance_id", woql.var("Id")),
        woql.field("Newer", "class_id", woql.var("Class")),
        woql.field("Newer", "seq", woql.var("NewerSeq")),
        woql.greater(woql.var("NewerSeq"), woql.var("Seq")),
        *woql.at_most(bound, subject="Newer", position="NewerPosition"),
    )


def _read(spans: Sequence[SpanGraph]) -> WOQLQuery:
    """The page's documents, each read on the branch it was found on."""
    reads = [
        woql.and_(
            woql.equal(woql.var("Span"), woql.integer(index)),
            woql.using(span.collection, woql.read_document("Doc", "Json")),
        )
        for index, span in enumerate(spans)
    ]
    return reads[0] if len(reads) == 1 else woql.or_(*reads)
