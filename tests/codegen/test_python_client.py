"""`spice codegen python`: the ariadne-codegen client runs against a live server and
type-checks under mypy --strict."""

from __future__ import annotations

import importlib
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest

from tests.codegen.support import ARIADNE_CODEGEN, DB, OPERATIONS, Server, require_tool
from tests.conftest import ADMIN_HEADERS

pytestmark = pytest.mark.timeout(300)

PACKAGE = "shop_client"

MYPY_CONFIG = f"""\
[mypy]
strict = True
# Pydantic's plugin (the project's own mypy uses it too) types the models' constructors
# by field name, which the generated models accept (populate_by_name).
plugins = pydantic.mypy

# ariadne-codegen's stand-in for a missing `websockets` package (only subscriptions
# need it) is an untyped function; every other rule holds for the copied base client.
[mypy-{PACKAGE}.async_base_client]
disallow_untyped_defs = False
"""

# What a client author writes: every value is typed from the operation files.
TYPED_USAGE = f"""\
from datetime import datetime

from {PACKAGE} import Client, CommandStage, ProductInput, ProductWhere, StringFilter


async def owner_name(client: Client, product_id: str) -> str | None:
    product = (await client.get_product(id=product_id)).product
    if product is None or product.owned_by is None:
        return None
    return product.owned_by.name


async def created_seq(client: Client) -> int | None:
    created = await client.create_product(
        input=ProductInput(product_id="p", owned_by="c"), wait=CommandStage.APPLIED
    )
    outcome = created.create_product
    # The result union narrows on __typename, as the schema's clients are meant to.
    if outcome.typename__ == "CommandReceipt":
        return outcome.seq
    return None


async def names(client: Client) -> list[str | None]:
    where = ProductWhere(name=StringFilter(starts_with="W"))
    listed = await client.list_products(where=where, first=10)
    return [edge.node.name for edge in listed.products.edges]


async def updated_at(client: Client) -> datetime | None:
    product = (await client.get_product(id="p")).product
    return None if product is None else product.meta.updated_at
"""

MISTYPED_USAGE = f"""\
from {PACKAGE} import Client


async def wrong(client: Client) -> int:
    product = (await client.get_product(id="p")).product
    assert product is not None
    await client.rename_product(id="p", name="n", expected_seq="1")
    return product.name
"""


@pytest.fixture(scope="module")
def generated(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the generated package `shop_client`."""
    require_tool(ARIADNE_CODEGEN)
    root = tmp_path_factory.mktemp("python-client")
    result = server.codegen(
        "python",
        *("--db", DB, "--operations", str(OPERATIONS), "--out", str(root / PACKAGE)),
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    assert f"to {root / PACKAGE}" in result.stdout
    return root


@pytest.fixture
def shop(generated: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(generated))
    return importlib.import_module(PACKAGE)


def test_writes_one_module_per_operation(generated: Path) -> None:
    modules = {path.stem for path in (generated / PACKAGE).glob("*.py")}
    operations = {
        "create_customer",
        "create_product",
        "rename_product",
        "get_product",
        "list_products",
    }
    assert operations <= modules
    assert {"client", "input_types", "enums", "async_base_client"} <= modules


async def test_client_creates_reads_lists_and_meets_a_conflict(
    shop: ModuleType, server: Server
) -> None:
    indexed = shop.CommandStage.INDEXED
    async with shop.Client(url=server.shop, headers=ADMIN_HEADERS) as client:
        customer = await client.create_customer(
            input=shop.CustomerInput(customer_id="py-c1", name="Acme"), wait=indexed
        )
        assert customer.create_customer.typename__ == "CommandReceipt"
        assert customer.create_customer.aggregate_id == "Customer/py-c1"

        created = await client.create_product(
            input=shop.ProductInput(
                product_id="py-p1", name="Widget", owned_by="py-c1"
            ),
            command_id="py-create-p1",
            wait=indexed,
        )
        receipt = created.create_product
        assert receipt.typename__ == "CommandReceipt"
        assert (receipt.command_id, receipt.aggregate_id, receipt.seq) == (
            "py-create-p1",
            "Product/py-p1",
            1,
        )
        assert receipt.status == shop.CommandState.COMPLETED
        await client.create_product(
            input=shop.ProductInput(product_id="py-p2", name="Gizmo"), wait=indexed
        )

        product = (await client.get_product(id="py-p1")).product
        assert product is not None
        assert (product.product_id, product.name) == ("py-p1", "Widget")
        assert product.owned_by is not None
        assert (product.owned_by.id, product.owned_by.name) == ("py-c1", "Acme")
        assert (product.meta.seq, product.meta.branch) == (1, "main")
        # DateTime is mapped to datetime: the client parsed the server's ISO instant.
        assert isinstance(product.meta.updated_at, datetime)
        assert product.meta.updated_at.tzinfo is not None
        assert (await client.get_product(id="py-missing")).product is None

        ours = shop.ProductWhere(product_id=shop.StringFilter(starts_with="py-"))
        listed = (await client.list_products(where=ours, first=10)).products
        assert listed.total_count == 2
        assert [e.node.id for e in listed.edges] == ["py-p1", "py-p2"]
        widgets = shop.ProductWhere(
            and_=[ours, shop.ProductWhere(name=shop.StringFilter(eq="Widget"))]
        )
        only = (await client.list_products(where=widgets)).products
        assert [e.node.name for e in only.edges] == ["Widget"]

        stale = await client.rename_product(id="py-p1", name="Gadget", expected_seq=7)
        conflict = stale.update_product
        assert conflict.typename__ == "ConflictError"
        assert (conflict.aggregate_id, conflict.expected_seq, conflict.actual_seq) == (
            "Product/py-p1",
            7,
            1,
        )

        renamed = await client.rename_product(
            id="py-p1", name="Gadget", expected_seq=1, wait=indexed
        )
        assert renamed.update_product.typename__ == "CommandReceipt"
        assert renamed.update_product.seq == 2
        product = (await client.get_product(id="py-p1")).product
        assert product is not None
        assert (product.name, product.meta.seq) == ("Gadget", 2)


def _mypy(cwd: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    (cwd / "mypy.ini").write_text(MYPY_CONFIG)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", *targets],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )


def test_generated_code_and_its_use_pass_mypy_strict(generated: Path) -> None:
    (generated / "typed_usage.py").write_text(TYPED_USAGE)
    result = _mypy(generated, PACKAGE, "typed_usage.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")


def test_mypy_rejects_code_that_misuses_the_generated_types(generated: Path) -> None:
    (generated / "mistyped_usage.py").write_text(MISTYPED_USAGE)
    result = _mypy(generated, "mistyped_usage.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Argument "expected_seq" to "rename_product" of "Client"' in result.stdout
    assert (
        'Incompatible return value type (got "str | None", expected "int")'
        in result.stdout
    )
