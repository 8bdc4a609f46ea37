"""GraphQL over HTTP, SSE and WebSocket for the system and generated schemas."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from starlette.routing import Route, WebSocketRoute

from app.bootstrap import Container
from app.graphql.endpoint import GraphQLEndpoint, limits_of, ports_of
from schema.limits import Limits

__all__ = [
    "GraphQLEndpoint",
    "graphql_path_params",
    "limits_of",
    "mount_graphql",
    "ports_of",
    "watch_schemas",
]


PREFIX = "/graphql"


def mount_graphql(app: FastAPI, *, limits: Limits | None = None) -> GraphQLEndpoint:
    """Adds the GraphQL routes; the container comes from `app.state` per request."""
    endpoint = GraphQLEndpoint(limits)
    for path in (PREFIX, PREFIX + "/{db}", PREFIX + "/{db}/{branch:path}"):
        app.router.routes.append(Route(path, endpoint, methods=["GET", "POST"]))
        app.router.routes.append(WebSocketRoute(path, endpoint))
    return endpoint


def graphql_path_params(path: str) -> dict[str, str] | None:
    """`{db, branch}` of a GraphQL path (none for the system schema), or None if
    the path is not a GraphQL endpoint."""
    if path in (PREFIX, PREFIX + "/"):
        return {}
    if not path.startswith(PREFIX + "/"):
        return None
    db, _, branch = path[len(PREFIX) + 1 :].partition("/")
    if not db:
        return None
    return {"db": db, "branch": branch} if branch else {"db": db}


async def watch_schemas(
    endpoint: GraphQLEndpoint, container: Container, stop: asyncio.Event
) -> None:
    """Rebuilds generated schemas in the background when ontologies change."""
    await endpoint.schemas(container).watch(stop)
