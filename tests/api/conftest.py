"""Fixtures: the real app in-process on each database, with a demo database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.settings import Settings
from tests.graphql.client import CUSTOMER, PRODUCT, GraphQL, open_client


@pytest.fixture
async def gql(settings: Settings) -> AsyncIterator[GraphQL]:
    async with open_client(settings) as client:
        yield client


@pytest.fixture
async def shop(gql: GraphQL) -> GraphQL:
    """Database `shop` with Customer and Product (owned_by -> Customer, n:1)."""
    await gql.create_database("shop")
    await gql.define("shop", CUSTOMER, PRODUCT)
    return gql
