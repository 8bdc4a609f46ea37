"""The real app over HTTP for dataset tests, with a `data` database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.settings import Settings
from tests.graphql.client import GraphQL, open_client


@pytest.fixture
async def gql(settings: Settings) -> AsyncIterator[GraphQL]:
    async with open_client(settings) as client:
        yield client


@pytest.fixture
async def data(gql: GraphQL) -> GraphQL:
    await gql.create_database("data")
    return gql
