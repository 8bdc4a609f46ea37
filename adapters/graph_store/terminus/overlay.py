"""The branch overlay, computed from per-branch reads (pure, no I/O).

TerminusDB answers one branch at a time; these functions combine the answers
for a lineage exactly as the SQL graph store's `visible_clause` and `_latest` do:
a span of the lineage sees its branch's versions up to its fork limit (and the
as-of position), and the highest visible seq of an instance wins wherever it
lives, because a stream on a branch continues its parent's seq.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from domain.ports import ReadScope

InstanceKey = tuple[str, str]  # (class_id, instance_id)


@dataclass(frozen=True, slots=True)
class SpanRead:
    """One branch to read, and the highest position visible on it (None: all)."""

    branch: str
    bound: int | None


@dataclass(frozen=True, slots=True)
class Head:
    """A version's identity and liveness, as a heads query returns it."""

    branch: str
    class_id: str
    instance_id: str
    seq: int
    deleted: bool


@dataclass(frozen=True, slots=True)
class EdgeHit:
    """An edge of some version (current or not) of a source to a target."""

    class_id: str
    instance_id: str
    seq: int
    target: str


def span_reads(scope: ReadScope) -> list[SpanRead]:
    """The branch first, then its ancestors, each bounded by its fork limit and
    by the scope's as-of position."""
    return [
        SpanRead(span.branch, _min_limit(span.until_position, scope.as_of))
        for span in scope.lineage
    ]


def latest(heads_per_span: Iterable[Iterable[Head]]) -> dict[InstanceKey, Head]:
    """The highest visible seq per (class, instance). Spans come nearest first;
    an equal seq on a farther span (which valid histories never have) loses."""
    best: dict[InstanceKey, Head] = {}
    for heads in heads_per_span:
        for head in heads:
            key = (head.class_id, head.instance_id)
            if key not in best or head.seq > best[key].seq:
                best[key] = head
    return best


def live(heads: Mapping[InstanceKey, Head]) -> list[Head]:
    """The heads that are not tombstones, by (instance id, class id)."""
    return sorted(
        (h for h in heads.values() if not h.deleted),
        key=lambda h: (h.instance_id, h.class_id),
    )


def first_ids(pages: Iterable[Sequence[str]], count: int) -> list[str]:
    """The first `count` ids of the union of per-span pages, each of which holds
    its span's first `count` ids: the union's first `count` are then exact."""
    return sorted({i for page in pages for i in page})[:count]


def current_sources(
    edges: Iterable[EdgeHit], heads: Mapping[InstanceKey, Head]
) -> dict[str, list[InstanceKey]]:
    """For each target, the sources (by id) whose latest visible version links to
    it: an edge of an older version, or of a deleted source, does not count."""
    found: dict[str, set[InstanceKey]] = {}
    for edge in edges:
        key = (edge.class_id, edge.instance_id)
        head = heads.get(key)
        if head is not None and not head.deleted and head.seq == edge.seq:
            found.setdefault(edge.target, set()).add(key)
    return {t: sorted(keys, key=lambda k: (k[1], k[0])) for t, keys in found.items()}


def kept(
    by_target: Mapping[str, Sequence[InstanceKey]], limit_per_target: int | None
) -> set[InstanceKey]:
    """The sources to return: all, or the first `limit_per_target` of each target."""
    cut = slice(None) if limit_per_target is None else slice(max(limit_per_target, 0))
    return {key for keys in by_target.values() for key in keys[cut]}


def counts(
    by_target: Mapping[str, Sequence[InstanceKey]], targets: Iterable[str]
) -> dict[str, int]:
    return {t: len(by_target.get(t, ())) for t in sorted(set(targets))}


def _min_limit(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
