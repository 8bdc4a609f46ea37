"""The real app over HTTP for pipeline tests, with a `data` database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.settings import Settings
from tests.graphql.client import GraphQL, open_client


@pytest.fixture
async def data(settings: Settings) -> AsyncIterator[GraphQL]:
    async with open_client(settings) as client:
        await client.create_database("data")
        yield client
