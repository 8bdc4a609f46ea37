"""A small GraphQL client over the real app in-process, and a demo ontology."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx

from app.bootstrap import Container
from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN_HEADERS

T = TypeVar("T")

RECEIPT = "... on CommandReceipt { commandId aggregateId seq status position duplicate validatedOnly }"
PROBLEMS = """
  ... on ConflictError { message aggregateId expectedSeq actualSeq }
  ... on ValidationError { message errors { path code message } }
  ... on NotFoundError { message kind key }
  ... on PermissionError { message }
"""
RESULT = f"__typename {RECEIPT} {PROBLEMS}"

CUSTOMER = {
    "id": "Customer",
    "label": "Customer",
    "labelI18n": {"ko": "고객"},
    "primaryKey": "customer_id",
    "titleKey": "name",
    "properties": [
        {"name": "customer_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
    ],
}
PRODUCT = {
    "id": "Product",
    "label": "Product",
    "primaryKey": "product_id",
    "titleKey": "name",
    "properties": [
        {"name": "product_id", "type": "string", "required": True},
        {"name": "name", "type": "string"},
    ],
    "relationships": [
        {
            "predicate": "owned_by",
            "target": "Customer",
            "cardinality": "MANY_TO_ONE",
            "inverse": {"predicate": "owns"},
        }
    ],
}


class GraphQL:
    def __init__(
        self, http: httpx.AsyncClient, container: Container, app: Any = None
    ) -> None:
        self.http = http
        self.container = container
        self.app = app  # the SpiceApp, when the client runs it in-process

    async def post(
        self, query: str, path: str = "/graphql", **variables: Any
    ) -> dict[str, Any]:
        response = await self.http.post(
            path, json={"query": query, "variables": variables}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, path: str = "/graphql", **variables: Any
    ) -> dict[str, Any]:
        body = await self.post(query, path, **variables)
        assert body.get("errors") is None, body
        result: dict[str, Any] = body["data"]
        return result

    async def token(self, name: str, *grants: tuple[str, str]) -> dict[str, str]:
        """Headers with a new API token of principal `name`, for (db, role) grants."""
        data = await self.data(
            "mutation($n: String!, $g: [GrantInput!]!) { createToken(name: $n, grants: $g) { secret } }",
            n=name,
            g=[{"db": db, "role": role} for db, role in grants],
        )
        return {"Authorization": f"Bearer {data['createToken']['secret']}"}

    async def define(self, db: str, *classes: dict[str, Any]) -> None:
        for definition in classes:
            data = await self.data(
                f'mutation($i: ClassInput!) {{ defineClass(db: "{db}", input: $i) {{ {RESULT} }} }}',
                i=definition,
            )
            assert data["defineClass"]["__typename"] == "CommandReceipt", data

    async def create_database(self, name: str) -> None:
        data = await self.data(
            f'mutation {{ createDatabase(name: "{name}", wait: APPLIED) {{ {RESULT} }} }}'
        )
        assert data["createDatabase"]["__typename"] == "CommandReceipt", data


@asynccontextmanager
async def open_client(
    settings: Settings, headers: dict[str, str] | None = None
) -> AsyncIterator[GraphQL]:
    """The real app with its lifespan (container and workers) started; requests
    carry the admin token unless `headers` says otherwise."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://spice",
            headers=ADMIN_HEADERS if headers is None else headers,
        ) as http:
            yield GraphQL(http, app.state.container, app)


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    within: float = 10.0,
) -> T:
    """Polls `probe` until `accept` holds: read models are eventually consistent.
    Returns the last value either way, so the caller's assertion shows it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if accept(value) or loop.time() > deadline:
            return value
        await asyncio.sleep(0.05)
