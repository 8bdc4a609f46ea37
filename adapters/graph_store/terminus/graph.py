"""The GraphStore operations on TerminusDB, blocking: each runs in one thread.

Reads are per branch of the lineage (one WOQL query per span and chunk of ids),
combined by overlay.py; documents are fetched only for the winning versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from adapters.graph_store.terminus import woql
from adapters.graph_store.terminus.connection import TerminusConnection
from adapters.graph_store.terminus.documents import (
    hash_row,
    version_documents,
    version_from_document,
)
from adapters.graph_store.terminus.errors import DocumentExistsError
from adapters.graph_store.terminus.filters import Declined
from adapters.graph_store.terminus.find import (
    SpanGraph,
    collection,
    count_query,
    find_query,
)
from adapters.graph_store.terminus.names import branch_id, database_id, version_key
from adapters.graph_store.terminus.overlay import (
    EdgeHit,
    Head,
    InstanceKey,
    SpanRead,
    current_sources,
    first_ids,
    kept,
    latest,
    live,
    span_reads,
)
from adapters.serialization import canonical_json
from domain.ports import NodeVersion, ReadScope
from domain.queries import NodeFilter, SortKey

T = TypeVar("T")
_CHUNK = 500  # values per WOQL member list, documents per insert
_PAGE = 1000  # documents per page when hashing
_TOMBSTONE_SLACK = 8  # over-read per page so a few deleted nodes cost no extra round
_INSERT_ATTEMPTS = 3


class TerminusGraph:
    def __init__(self, connection: TerminusConnection) -> None:
        self._conn = connection
        self._prefix = connection.config.prefix
        self._team = connection.config.team

    def close(self) -> None:
        self._conn.close()

    # --- writes -------------------------------------------------------------

    def put(self, versions: Sequence[NodeVersion]) -> None:
        groups: dict[tuple[str, str], list[NodeVersion]] = {}
        for v in versions:
            groups.setdefault((v.db, v.branch), []).append(v)
        for (db, branch), group in groups.items():
            self._put_group(database_id(self._prefix, db), branch_id(branch), group)

    def _put_group(
        self, database: str, branch: str, versions: list[NodeVersion]
    ) -> None:
        """Inserts the documents not stored yet; a stored key is never rewritten,
        so a redelivered or conflicting version changes nothing."""
        documents: dict[str, dict[str, Any]] = {}
        for v in versions:
            for document in version_documents(v):
                documents.setdefault(document["key"], document)
        self._conn.ensure_branch(database, branch)
        for attempt in range(_INSERT_ATTEMPTS):
            stored = self._stored_keys(database, branch, list(documents))
            missing = [d for k, d in documents.items() if k not in stored]
            try:
                for chunk in _chunks(missing):
                    self._conn.insert(database, branch, chunk)
                return
            except DocumentExistsError:
                # A concurrent writer stored some of them: look again.
                if attempt == _INSERT_ATTEMPTS - 1:
                    raise

    def _stored_keys(self, database: str, branch: str, keys: list[str]) -> set[str]:
        stored: set[str] = set()
        for chunk in _chunks(keys):
            rows = self._conn.query(database, branch, woql.stored_keys_query(chunk))
            stored.update(woql.text(r, "Key") for r in rows)
        return stored

    # --- reads --------------------------------------------------------------

    def get_many(
        self, scope: ReadScope, class_ids: Sequence[str], instance_ids: Sequence[str]
    ) -> dict[str, NodeVersion]:
        heads = self.heads(scope, class_ids, sorted(set(instance_ids)))
        return _by_instance(self.versions(scope.db, live(heads)))

    def list_nodes(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        after_id: str | None,
        limit: int,
    ) -> list[NodeVersion]:
        found: list[NodeVersion] = []
        cursor = after_id
        while len(found) < limit:
            wanted = limit - len(found) + _TOMBSTONE_SLACK
            ids = self._next_ids(scope, class_ids, cursor, wanted)
            nodes = self.get_many(scope, class_ids, ids)
            found.extend(nodes[i] for i in ids if i in nodes)
            if len(ids) < wanted:
                break
            cursor = ids[-1]
        return found[:limit]

    def count(self, scope: ReadScope, class_ids: Sequence[str]) -> int:
        # Counted on the server (find.py): no filter is ever declined.
        counted = self.count_where(scope, class_ids, None)
        if counted is None:
            return len(live(self.heads(scope, class_ids, None)))
        return counted

    def linking_to(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        predicate: str,
        target_ids: Sequence[str],
        *,
        limit_per_target: int | None,
    ) -> list[NodeVersion]:
        by_target, heads = self.links(scope, class_ids, predicate, target_ids)
        keep = kept(by_target, limit_per_target)
        versions = self.versions(scope.db, [heads[k] for k in keep])
        found = _by_instance(versions)
        return [found[i] for i in sorted(found)]

    def links(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        predicate: str,
        target_ids: Sequence[str],
    ) -> tuple[dict[str, list[InstanceKey]], dict[InstanceKey, Head]]:
        """Current sources per target, and the heads they were judged by."""
        targets = sorted(set(target_ids))
        edges: list[EdgeHit] = []
        for database, branch, span in self._spans(scope, class_ids):
            for chunk in _chunks(targets):
                query = woql.edges_query(class_ids, predicate, chunk, span.bound)
                edges += [_edge(r) for r in self._conn.query(database, branch, query)]
        sources = sorted({e.instance_id for e in edges})
        heads = self.heads(scope, class_ids, sources)
        return current_sources(edges, heads), heads

    def heads(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        instance_ids: Sequence[str] | None,
    ) -> dict[InstanceKey, Head]:
        """The latest visible version of each instance (all, or the given ids)."""
        batches = [None] if instance_ids is None else list(_chunks(instance_ids))
        per_span = []
        for database, branch, span in self._spans(scope, class_ids):
            rows = [
                row
                for batch in batches
                for row in self._conn.query(
                    database, branch, woql.heads_query(class_ids, batch, span.bound)
                )
            ]
            per_span.append([_head(span.branch, r) for r in rows])
        return latest(per_span)

    def versions(self, db: str, heads: Iterable[Head]) -> list[NodeVersion]:
        """The stored versions the heads name (one query per branch and chunk)."""
        keys: dict[str, list[str]] = {}
        for h in heads:
            keys.setdefault(h.branch, []).append(
                version_key(
                    db=db,
                    branch=h.branch,
                    class_id=h.class_id,
                    instance_id=h.instance_id,
                    seq=h.seq,
                )
            )
        database = database_id(self._prefix, db)
        found = []
        for branch, branch_keys in keys.items():
            for chunk in _chunks(branch_keys):
                query = woql.documents_query(chunk)
                rows = self._conn.query(database, branch_id(branch), query)
                found += [version_from_document(woql.value(r, "Json")) for r in rows]
        return found

    def find(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        *,
        where: NodeFilter | None,
        order: Sequence[SortKey],
        offset: int,
        limit: int,
    ) -> list[NodeVersion] | None:
        """One query over the lineage (find.py); None where it is declined."""
        lineage = self._lineage(scope, class_ids)
        if lineage is None:
            return []
        (database, branch), spans = lineage
        try:
            query = find_query(
                spans, class_ids, where=where, order=order, offset=offset, limit=limit
            )
        except Declined:
            return None
        rows = self._conn.query(database, branch, query)
        return [version_from_document(woql.value(r, "Json")) for r in rows]

    def count_where(
        self, scope: ReadScope, class_ids: Sequence[str], where: NodeFilter | None
    ) -> int | None:
        lineage = self._lineage(scope, class_ids)
        if lineage is None:
            return 0
        (database, branch), spans = lineage
        try:
            query = count_query(spans, class_ids, where)
        except Declined:
            return None
        rows = self._conn.query(database, branch, query)
        return woql.number(rows[0], "Count") if rows else 0

    def _lineage(
        self, scope: ReadScope, class_ids: Sequence[str]
    ) -> tuple[tuple[str, str], list[SpanGraph]] | None:
        """Where to send a lineage query (the first span's branch: each part
        names its own with `using`), and the spans of branches written to."""
        found = [
            (database, branch, span.bound)
            for database, branch, span in self._spans(scope, class_ids)
        ]
        if not found:
            return None
        spans = [
            SpanGraph(collection(self._team, d, b), bound) for d, b, bound in found
        ]
        return (found[0][0], found[0][1]), spans

    def _next_ids(
        self,
        scope: ReadScope,
        class_ids: Sequence[str],
        after_id: str | None,
        count: int,
    ) -> list[str]:
        pages = []
        for database, branch, span in self._spans(scope, class_ids):
            query = woql.ids_page_query(
                class_ids, after_id=after_id, bound=span.bound, count=count
            )
            rows = self._conn.query(database, branch, query)
            pages.append([woql.text(r, "Id") for r in rows])
        return first_ids(pages, count)

    def _spans(
        self, scope: ReadScope, class_ids: Sequence[str]
    ) -> Iterator[tuple[str, str, SpanRead]]:
        """The spans worth a query: a branch never written to holds nothing."""
        if not class_ids:
            return
        database = database_id(self._prefix, scope.db)
        for span in span_reads(scope):
            branch = branch_id(span.branch)
            if self._conn.has_branch(database, branch):
                yield database, branch, span

    # --- content hash ---------------------------------------------------------

    def content_hash(self, db: str | None) -> str:
        """The SQL graph store's hash of the same versions: sha256 over their
        canonical rows in (db, class, id, branch, seq) order, so a projection
        on TerminusDB can be compared with a clean run on any adapter. The
        order is taken here, not from the server, which lists in its own."""
        if db is None:
            databases = self._conn.databases()
        else:
            databases = [database_id(self._prefix, db)]
        rows = sorted(
            (hash_row(v) for database in databases for v in self._stored(database)),
            key=lambda row: (row[0], row[1], row[2], row[3], row[4]),
        )
        digest = hashlib.sha256()
        for row in rows:
            digest.update(canonical_json(row).encode())
        return digest.hexdigest()

    def _stored(self, database: str) -> Iterator[NodeVersion]:
        for branch in sorted(self._conn.branches(database)):
            skip = 0
            while True:
                page = self._conn.documents(database, branch, skip=skip, count=_PAGE)
                yield from (version_from_document(d) for d in page)
                if len(page) < _PAGE:
                    break
                skip += len(page)


def _head(branch: str, row: Any) -> Head:
    return Head(
        branch=branch,
        class_id=woql.text(row, "Class"),
        instance_id=woql.text(row, "Id"),
        seq=woql.number(row, "Seq"),
        deleted=woql.flag(row, "Deleted"),
    )


def _edge(row: Any) -> EdgeHit:
    return EdgeHit(
        class_id=woql.text(row, "Class"),
        instance_id=woql.text(row, "Id"),
        seq=woql.number(row, "Seq"),
        target=woql.text(row, "Target"),
    )


def _by_instance(versions: Iterable[NodeVersion]) -> dict[str, NodeVersion]:
    ordered = sorted(versions, key=lambda v: (v.instance_id, v.class_id))
    return {v.instance_id: v for v in ordered}


def _chunks(items: Sequence[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), _CHUNK):
        yield list(items[start : start + _CHUNK])
