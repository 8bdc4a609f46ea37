"""One live server with the shop database for every codegen test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.codegen.support import Server, shop_server


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with shop_server(tmp_path_factory.mktemp("spice")) as running:
        yield running
