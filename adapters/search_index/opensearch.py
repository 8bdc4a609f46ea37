"""SearchIndex on OpenSearch (opensearch-py's AsyncOpenSearch)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as OpenSearchConnectionError
from opensearchpy.exceptions import (
    NotFoundError,
    RequestError,
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
    except (
        OpenSearchConnectionError
    ) as error:  # refused, timeout, TLS: before TransportError
        raise StoreUnavailable(f"opensearch {action}: {error}") from error
    except TransportError as error:
        raise status_error(error.status_code, error.error) from error
    except SerializationError as error:
        raise StoreDataError(f"opensearch {action}: {error}") from error
    except (OSError, TimeoutError) as error:
        raise StoreUnavailable(f"opensearch {action}: {error!r}") from error


class OpenSearchBackend:
    """`document_index.SearchBackend` on an AsyncOpenSearch client."""

    def __init__(self, client: AsyncOpenSearch) -> None:
        self._client = client

    @classmethod
    def connect(
        cls, url: str, *, timeout: float = 10.0, max_retries: int = 2
    ) -> OpenSearchBackend:
        client = AsyncOpenSearch(
            hosts=[url],
            timeout=timeout,
            max_retries=max_retries,
            retry_on_timeout=max_retries > 0,
        )
        return cls(client)

    async def bulk(
        self, operations: list[dict[str, Any]], *, refresh: str, require_alias: bool
    ) -> dict[str, Any]:
        async with _translated("bulk"):
            response: dict[str, Any] = await self._client.bulk(
                body=operations, refresh=refresh, require_alias=require_alias
            )
        return response

    async def search(self, index: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        async with _translated("search"):
            response = await self._client.search(
                index=index, body=body, ignore_unavailable=True, allow_no_indices=True
            )
        hits: list[dict[str, Any]] = response["hits"]["hits"]
        return hits

    async def mget(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not docs:
            return []
        async with _translated("mget"):
            response = await self._client.mget(body={"docs": docs})
        found: list[dict[str, Any]] = response["docs"]
        return found

    async def create_index(self, name: str, body: dict[str, Any]) -> bool:
        async with _translated("create index"):
            try:
                await self._client.indices.create(index=name, body=body)
            except RequestError as error:
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
        for index, entry in response.items():
            for alias in entry.get("aliases", {}):
                by_alias.setdefault(alias, []).append(index)
        return by_alias

    async def indexes(self, pattern: str) -> list[str]:
        async with _translated("list indexes"):
            response = await self._client.indices.get(
                index=pattern, allow_no_indices=True, ignore_unavailable=True
            )
        return sorted(response)

    async def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        async with _translated("update aliases"):
            await self._client.indices.update_aliases(body={"actions": actions})

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


class OpenSearchSearchIndex(DocumentSearchIndex):
    """The cluster search index on OpenSearch; see DocumentSearchIndex."""

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
    ) -> OpenSearchSearchIndex:
        backend = OpenSearchBackend.connect(
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
