"""SearchIndex over an OpenSearch or Elasticsearch cluster (one index per database
and branch behind an alias), written once against a small backend Protocol."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from adapters.errors import StoreDataError, StoreError, StoreUnavailable
from adapters.search_index import dsl
from adapters.serialization import canonical_json
from domain.ports import FieldFilter, SearchDocument

REFRESH_MODES = ("true", "false", "wait_for")
# Each bulk write refreshes the shards it touched before it returns, so a batch
# is searchable (INDEXED) when the write returns. The search consumer writes one
# bulk per batch, so that is one refresh per batch, not per document. With
# wait_for the write returned at the index's next scheduled refresh instead: up
# to a refresh interval spent waiting on every batch, on the consumer's critical
# path (at 500 commands/s INDEXED trailed APPLIED by 0.4-1 s at p50).
DEFAULT_REFRESH = "true"
# Scheduled refreshes only matter for writes that do not refresh themselves (a
# rebuild's shadow refreshes before it goes live), so OpenSearch's own default.
DEFAULT_REFRESH_INTERVAL = "1s"
_INTERVAL = re.compile(r"^(-1|[1-9][0-9]*(ms|s|m))$")
_MGET_CHUNK = 1000
_HASH_PAGE = 1000
_FIRST_GENERATION = "g0"


class SearchBackend(Protocol):
    """The few cluster calls the index needs; each backend translates its client's
    errors into adapters.errors (see `status_error`)."""

    async def bulk(
        self, operations: list[dict[str, Any]], *, refresh: str, require_alias: bool
    ) -> dict[str, Any]: ...

    async def search(self, index: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The hits; missing indexes are ignored."""
        ...

    async def mget(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    async def create_index(self, name: str, body: dict[str, Any]) -> bool:
        """False if the index already exists."""
        ...

    async def alias_exists(self, name: str) -> bool: ...

    async def aliases(self, pattern: str) -> dict[str, list[str]]:
        """Alias name -> the indexes it points at, for aliases matching the pattern."""
        ...

    async def indexes(self, pattern: str) -> list[str]: ...

    async def update_aliases(self, actions: list[dict[str, Any]]) -> None: ...

    async def refresh(self, pattern: str) -> None: ...

    async def delete_indexes(self, names: Sequence[str]) -> None: ...

    async def close(self) -> None: ...


def status_error(status: object, error: object) -> StoreError:
    """An HTTP status from the cluster -> the adapter error (B6)."""
    if not isinstance(status, int) or status == 429 or status >= 500:
        return StoreUnavailable(f"search cluster unavailable: {error}")
    return StoreError(f"search cluster refused the request ({status}): {error}")


class DocumentSearchIndex:
    """Writes are bulk `index` operations with external versioning by seq, so a stale
    or duplicate write is a version conflict (409), which counts as success.

    With `generation=None` the index reads and writes through the aliases
    `<prefix>.<db>.<branch>`; with a generation it works on that generation's
    concrete indexes only (a rebuild shadow, see alias_swap)."""

    def __init__(
        self,
        backend: SearchBackend,
        *,
        prefix: str = "spice",
        generation: str | None = None,
        shards: int = 1,
        replicas: int = 1,
        refresh: str = DEFAULT_REFRESH,
        refresh_interval: str = DEFAULT_REFRESH_INTERVAL,
        owns_backend: bool = True,
    ) -> None:
        if not dsl.PREFIX.match(prefix):
            raise ValueError(f"invalid index prefix {prefix!r}: use [a-z0-9-], max 40")
        if refresh not in REFRESH_MODES:
            raise ValueError(f"refresh must be one of {REFRESH_MODES}, not {refresh!r}")
        if not _INTERVAL.match(refresh_interval):
            raise ValueError(
                f"refresh_interval must be like 200ms, 1s or -1, not {refresh_interval!r}"
            )
        self.backend = backend
        self.prefix = prefix
        self.generation = generation
        self._base = dsl.index_base(prefix, generation)
        self.index_body = dsl.index_body(
            shards=shards, replicas=replicas, refresh_interval=refresh_interval
        )
        self._shards, self._replicas, self._refresh = shards, replicas, refresh
        self._interval = refresh_interval
        self._owns_backend = owns_backend
        self._ready: set[str] = set()

    def shadow(self, generation: str | None = None) -> DocumentSearchIndex:
        """A write target for a rebuild: a fresh generation on the same cluster.

        Its bulk writes do not wait for a refresh: nobody searches a shadow, and
        whatever reads it (its content hash, the carry-over of late documents in
        alias_swap) refreshes it first, so it is searchable when it goes live."""
        return DocumentSearchIndex(
            self.backend,
            prefix=self.prefix,
            generation=generation or f"r{time.time_ns():x}",
            shards=self._shards,
            replicas=self._replicas,
            refresh="false",
            refresh_interval=self._interval,
            owns_backend=False,
        )

    def name(self, db: str, branch: str) -> str:
        return f"{self._base}.{db}.{dsl.encode_branch(branch)}"

    def pattern(self, db: str | None = None) -> str:
        return f"{self._base}.{db}.*" if db is not None else f"{self._base}.*"

    async def close(self) -> None:
        if self._owns_backend:
            await self.backend.close()

    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        if not documents:
            return
        now = datetime.now(UTC).isoformat()
        operations: list[dict[str, Any]] = []
        for d in documents:
            name = self.name(d.db, d.branch)
            await self._ensure(name)
            action = {
                "_index": name,
                "_id": dsl.doc_id(d.class_id, d.instance_id),
                "version": d.seq,
                "version_type": "external",
            }
            operations += [{"index": action}, dsl.source(d, now)]
        response = await self.backend.bulk(
            operations, refresh=self._refresh, require_alias=self.generation is None
        )
        if response.get("errors"):
            self._raise_for_items(response.get("items", []))

    async def get_many(
        self, db: str, branches: Sequence[str], instance_keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str, str], SearchDocument]:
        keys = sorted(set(instance_keys))
        wanted = [
            {"_index": self.name(db, b), "_id": dsl.doc_id(c, i)}
            for b in dict.fromkeys(branches)
            for c, i in keys
        ]
        found: dict[tuple[str, str, str], SearchDocument] = {}
        for start in range(0, len(wanted), _MGET_CHUNK):
            for item in await self.backend.mget(wanted[start : start + _MGET_CHUNK]):
                if item.get("found"):
                    doc = dsl.document(item["_source"])
                    found[(doc.branch, doc.class_id, doc.instance_id)] = doc
        return found

    async def search(
        self,
        db: str,
        branches: Sequence[str],
        *,
        text: str | None = None,
        class_ids: Sequence[str] | None = None,
        filters: Sequence[FieldFilter] = (),
        limit: int = 20,
    ) -> list[SearchDocument]:
        lineage = list(dict.fromkeys(branches))
        if not lineage or limit <= 0:
            return []
        size = min(max(limit * 2, 50), 1000)
        body: dict[str, Any] = {
            "query": dsl.search_query(
                db, text=text, class_ids=class_ids, filters=filters
            ),
            "sort": dsl.search_sort(by_score=bool(text and text.strip())),
            "size": size,
            "track_total_hits": False,
        }
        index = ",".join(self.name(db, b) for b in lineage)
        found: list[SearchDocument] = []
        while len(found) < limit:
            hits = await self.backend.search(index, body)
            docs = [dsl.document(hit["_source"]) for hit in hits]
            found.extend(await self._visible(db, lineage, docs))
            if len(hits) < size:
                break
            body = {**body, "search_after": hits[-1]["sort"]}
        return found[:limit]

    async def content_hash(self, db: str | None = None) -> str:
        """The same digest as the SQLite index computes for the same documents."""
        pattern = self.pattern(db)
        await self.backend.refresh(pattern)
        body: dict[str, Any] = {
            "query": {"match_all": {}},
            "sort": [{"db": "asc"}, *dsl.search_sort(by_score=False)],
            "size": _HASH_PAGE,
        }
        digest = hashlib.sha256()
        while True:
            hits = await self.backend.search(pattern, body)
            for hit in hits:
                d = dsl.document(hit["_source"])
                row: list[Any] = [d.db, d.class_id, d.instance_id, d.branch]
                row += [d.seq, d.position, d.deleted, d.data]
                digest.update(canonical_json(row).encode())
            if len(hits) < _HASH_PAGE:
                return digest.hexdigest()
            body = {**body, "search_after": hits[-1]["sort"]}

    async def documents_after(self, index: str, position: int) -> list[SearchDocument]:
        """Every document of one index (or alias) written after the position."""
        await self.backend.refresh(index)
        body: dict[str, Any] = {
            "query": {"range": {"position": {"gt": position}}},
            "sort": dsl.search_sort(by_score=False),
            "size": _HASH_PAGE,
        }
        docs: list[SearchDocument] = []
        while True:
            hits = await self.backend.search(index, body)
            docs += [dsl.document(hit["_source"]) for hit in hits]
            if len(hits) < _HASH_PAGE:
                return docs
            body = {**body, "search_after": hits[-1]["sort"]}

    async def ensure_index(self, db: str, branch: str) -> str:
        name = self.name(db, branch)
        await self._ensure(name)
        return name

    async def _ensure(self, name: str) -> None:
        if name in self._ready:
            return
        if self.generation is not None:
            await self.backend.create_index(name, self.index_body)
        elif not await self.backend.alias_exists(name):
            first = f"{self.prefix}_{_FIRST_GENERATION}{name[len(self.prefix) :]}"
            body = {**self.index_body, "aliases": {name: {}}}
            # The first generation's name is fixed, so two workers racing to create
            # it end with one index, not two behind one alias.
            if not await self.backend.create_index(
                first, body
            ) and not await self.backend.alias_exists(name):
                await self.backend.update_aliases(
                    [{"add": {"index": first, "alias": name}}]
                )
        self._ready.add(name)

    async def _visible(
        self, db: str, lineage: list[str], docs: list[SearchDocument]
    ) -> list[SearchDocument]:
        """Branch overlay: a document is hidden if an earlier branch of the lineage
        holds any version of it (a tombstone included)."""
        rank = {branch: i for i, branch in enumerate(lineage)}
        inherited = [d for d in docs if rank[d.branch] > 0]
        if not inherited:
            return docs
        deepest = max(rank[d.branch] for d in inherited)
        held = await self.get_many(
            db, lineage[:deepest], [(d.class_id, d.instance_id) for d in inherited]
        )

        def shadowed(d: SearchDocument) -> bool:
            return any(
                (b, d.class_id, d.instance_id) in held
                for b in lineage[: rank[d.branch]]
            )

        return [d for d in docs if not shadowed(d)]

    def _raise_for_items(self, items: list[dict[str, Any]]) -> None:
        rejected: list[str] = []
        for item in items:
            result = next(iter(item.values()))
            status = int(result.get("status", 500))
            if status < 300 or status == 409:  # 409: an equal or newer seq is stored
                continue
            if status == 404:
                # The alias vanished (dropped index): create it again on retry.
                self._ready.clear()
                raise StoreUnavailable(f"search index missing: {result.get('error')}")
            error = status_error(status, result.get("error"))
            if isinstance(error, StoreUnavailable):
                raise error
            rejected.append(f"{result.get('_id')}: {result.get('error')}")
        if rejected:
            raise StoreDataError(f"search index rejected documents: {rejected[:5]}")
