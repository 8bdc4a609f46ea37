"""SearchIndex on Elasticsearch (the official `elasticsearch` AsyncElasticsearch).

It shares the index logic, mappings and queries with the OpenSearch adapter
(document_index, dsl); only the client calls differ. The search index contract,
the alias swap and the error translation run against a real Elasticsearch 9
node that `scripts/services.sh` builds from Maven Central jars.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    NotFoundError,
    SerializationError,
    TransportError,
)

from adapters.errors import StoreDataError, StoreUnavailable
from adapters.search_index.document_index import (
    DEFAULT_REFRESH,
    DEFAULT_REFRESH_INTERVAL,
    DocumentSearchIndex,
    status_error,
)


@asynccontextmanager
async def _translated(action: str) -> AsyncIterator[None]:
    try:
        yield
    except ApiError as error:
        raise status_error(error.meta.status, error.message) from error
    except SerializationError as error:
        raise StoreDataError(f"elasticsearch {action}: {error}") from error
    except (TransportError, OSError, TimeoutError) as error:
        # elastic_transport's TransportError: refused, timeout, TLS.
        raise StoreUnavailable(f"elasticsearch {action}: {error!r}") from error


class ElasticsearchBackend:
    """`document_index.SearchBackend` on an AsyncElasticsearch client."""

    def __init__(self, client: AsyncElasticsearch) -> None:
        self._client = client

    @classmethod
    def connect(
        cls, url: str, *, timeout: float = 10.0, max_retries: int = 2
    ) -> ElasticsearchBackend:
        client = AsyncElasticsearch(
            hosts=[url],
            request_timeout=timeout,
            max_retries=max_retries,
            retry_on_timeout=max_retries > 0,
        )
        return cls(client)

    async def bulk(
        self, operations: list[dict[str, Any]], *, refresh: str, require_alias: bool
    ) -> dict[str, Any]:
        mode: Any = {"true": True, "false": False}.get(refresh, refresh)
        async with _translated("bulk"):
            response = await self._client.bulk(
                operations=operations, refresh=mode, require_alias=require_alias
            )
        return dict(response.body)

    async def search(self, index: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        async with _translated("search"):
            response = await self._client.search(
                index=index, body=body, ignore_unavailable=True, allow_no_indices=True
            )
        hits: list[dict[str, Any]] = response.body["hits"]["hits"]
        return hits

    async def mget(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not docs:
            return []
        async with _translated("mget"):
            response = await self._client.mget(docs=docs)
        found: list[dict[str, Any]] = response.body["docs"]
        return found

    async def create_index(self, name: str, body: dict[str, Any]) -> bool:
        async with _translated("create index"):
            try:
                await self._client.indices.create(index=name, body=body)
            except ApiError as error:
                if error.error == "resource_already_exists_exception":
                    return False
                raise
        return True

    async def alias_exists(self, name: str) -> bool:
        async with _translated("alias exists"):
            return bool(await self._client.indices.exists_alias(name=name))

    async def aliases(self, pattern: str) -> dict[str, list[str]]:
        async with _translated("get aliases"):
            try:
                response = await self._client.indices.get_alias(name=pattern)
            except NotFoundError:
                return {}
        by_alias: dict[str, list[str]] = {}
        for index, entry in response.body.items():
            for alias in entry.get("aliases", {}):
                by_alias.setdefault(alias, []).append(index)
        return by_alias

    async def indexes(self, pattern: str) -> list[str]:
        async with _translated("list indexes"):
            response = await self._client.indices.get(
                index=pattern, allow_no_indices=True, ignore_unavailable=True
            )
        return sorted(response.body)

    async def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        async with _translated("update aliases"):
            await self._client.indices.update_aliases(actions=actions)

    async def refresh(self, pattern: str) -> None:
        async with _translated("refresh"):
            await self._client.indices.refresh(
                index=pattern, allow_no_indices=True, ignore_unavailable=True
            )

    async def delete_indexes(self, names: Sequence[str]) -> None:
        if not names:
            return
        async with _translated("delete indexes"):
            await self._client.indices.delete(
                index=",".join(names), ignore_unavailable=True
            )

    async def close(self) -> None:
        await self._client.close()


class ElasticsearchSearchIndex(DocumentSearchIndex):
    """The cluster search index on Elasticsearch; see DocumentSearchIndex."""

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        prefix: str = "spice",
        timeout: float = 10.0,
        max_retries: int = 2,
        shards: int = 1,
        replicas: int = 1,
        refresh: str = DEFAULT_REFRESH,
        refresh_interval: str = DEFAULT_REFRESH_INTERVAL,
    ) -> ElasticsearchSearchIndex:
        backend = ElasticsearchBackend.connect(
            url, timeout=timeout, max_retries=max_retries
        )
        return cls(
            backend,
            prefix=prefix,
            shards=shards,
            replicas=replicas,
            refresh=refresh,
            refresh_interval=refresh_interval,
        )
