"""`spice codegen typescript`: the graphql-codegen module type-checks under tsc --strict
and its typed documents run against a live server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.codegen.support import (
    DB,
    GRAPHQL_CODEGEN,
    OPERATIONS,
    TOOLS,
    TSC,
    Server,
    node,
    require_tool,
)
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.timeout(300)

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "target": "ES2022",
        "module": "commonjs",
        # fetch and console come from the DOM library (Node.js has both).
        "lib": ["ES2022", "DOM"],
        "outDir": "build",
        "rootDir": ".",
        "noEmitOnError": True,
        # The generated module and the usage code are checked in full; the libraries'
        # own declarations (graphql's among them) are theirs to check.
        "skipLibCheck": True,
        "types": [],
    },
    "include": ["generated", "usage.ts"],
}

# What a client author writes: a ten-line executor over fetch, typed by the documents.
USAGE = """\
import {
  CreateCustomerDocument,
  CreateProductDocument,
  GetProductDocument,
  ListProductsDocument,
  RenameProductDocument,
  type TypedDocumentString,
} from "./generated/graphql";

const AUTHORIZATION = TOKEN;

export async function execute<TResult, TVariables>(
  url: string,
  document: TypedDocumentString<TResult, TVariables>,
  variables: NoInfer<TVariables>,
): Promise<TResult> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: AUTHORIZATION },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const body = (await response.json()) as { data?: TResult; errors?: unknown };
  if (body.errors !== undefined || body.data === undefined) {
    throw new Error(JSON.stringify(body));
  }
  return body.data;
}

export async function scenario(url: string) {
  const customer = await execute(url, CreateCustomerDocument, {
    input: { customerId: "ts-c1", name: "Acme" },
    wait: "INDEXED",
  });
  const created = (
    await execute(url, CreateProductDocument, {
      input: { productId: "ts-p1", name: "Widget", ownedBy: "ts-c1" },
      commandId: "ts-create-p1",
      wait: "INDEXED",
    })
  ).createProduct;
  const read = await execute(url, GetProductDocument, { id: "ts-p1" });
  const listed = await execute(url, ListProductsDocument, {
    where: { productId: { startsWith: "ts-" } },
    first: 10,
  });
  const stale = (
    await execute(url, RenameProductDocument, {
      id: "ts-p1",
      name: "Gadget",
      expectedSeq: 7,
    })
  ).updateProduct;
  // The result union narrows on __typename: seq exists only on CommandReceipt.
  return {
    customer: customer.createCustomer.__typename,
    receipt:
      created.__typename === "CommandReceipt"
        ? { commandId: created.commandId, aggregateId: created.aggregateId, seq: created.seq }
        : null,
    owner: read.product?.ownedBy?.name ?? null,
    listed: listed.products.edges.map((edge) => edge.node.id),
    conflict:
      stale.__typename === "ConflictError"
        ? { expectedSeq: stale.expectedSeq, actualSeq: stale.actualSeq }
        : null,
  };
}
"""

MAIN = """\
import { scenario } from "./usage";

scenario(URL).then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error);
    throw error;
  },
);
"""

MISTYPED = """\
import { GetProductDocument, RenameProductDocument } from "./generated/graphql";
import { execute } from "./usage";

export async function wrong(url: string): Promise<number> {
  await execute(url, RenameProductDocument, { id: "ts-p1", expectedSeq: "1" });
  const read = await execute(url, GetProductDocument, { id: "ts-p1" });
  return read.product?.name;
}
"""


@pytest.fixture(scope="module")
def project(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TypeScript project: the generated module, usage code, and a tsconfig."""
    require_tool(GRAPHQL_CODEGEN)
    require_tool(TSC)
    root = tmp_path_factory.mktemp("typescript-client")
    result = server.codegen(
        "typescript",
        *(
            "--db",
            DB,
            "--operations",
            str(OPERATIONS),
            "--out",
            str(root / "generated"),
        ),
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    assert f"to {root / 'generated'}" in result.stdout
    # The generated module imports types only; tsc finds them in the tools' packages.
    (root / "node_modules").symlink_to(TOOLS / "node_modules", target_is_directory=True)
    (root / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    bearer = json.dumps(f"Bearer {ADMIN_TOKEN}")
    (root / "usage.ts").write_text(USAGE.replace("= TOKEN;", f"= {bearer};"))
    return root


def _tsc(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return node(TSC, "--pretty", "false", *args, cwd=project)


def test_writes_typed_documents_for_every_operation(project: Path) -> None:
    module = (project / "generated" / "graphql.ts").read_text()
    for operation in ("CreateCustomer", "CreateProduct", "RenameProduct"):
        assert (
            f"TypedDocumentString<{operation}Mutation, {operation}MutationVariables>"
            in module
        )
    for operation in ("GetProduct", "ListProducts"):
        assert (
            f"TypedDocumentString<{operation}Query, {operation}QueryVariables>"
            in module
        )


def test_generated_module_and_its_use_pass_tsc_strict(project: Path) -> None:
    result = _tsc(project, "--noEmit", "-p", "tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_tsc_rejects_code_that_misuses_the_generated_types(project: Path) -> None:
    (project / "mistyped.ts").write_text(MISTYPED)
    (project / "tsconfig.mistyped.json").write_text(
        json.dumps({"extends": "./tsconfig.json", "include": ["mistyped.ts"]})
    )
    result = _tsc(project, "--noEmit", "-p", "tsconfig.mistyped.json")
    assert result.returncode != 0, result.stdout
    errors = [line for line in result.stdout.splitlines() if "error TS" in line]
    assert len(errors) == 2, result.stdout
    assert "mistyped.ts(5," in errors[0]
    assert "Type 'string' is not assignable to type 'number'" in errors[0]
    assert "mistyped.ts(7," in errors[1]
    assert "'string | null | undefined' is not assignable to type 'number'" in errors[1]


def test_typed_documents_run_against_the_server(project: Path, server: Server) -> None:
    (project / "main.ts").write_text(MAIN.replace("URL", json.dumps(server.shop)))
    (project / "tsconfig.main.json").write_text(
        json.dumps({"extends": "./tsconfig.json", "include": ["main.ts"]})
    )
    built = _tsc(project, "-p", "tsconfig.main.json")
    assert built.returncode == 0, built.stdout + built.stderr
    ran = subprocess.run(
        ["node", str(project / "build" / "main.js")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {
        "customer": "CommandReceipt",
        "receipt": {
            "commandId": "ts-create-p1",
            "aggregateId": "Product/ts-p1",
            "seq": 1,
        },
        "owner": "Acme",
        "listed": ["ts-p1"],
        "conflict": {"expectedSeq": 7, "actualSeq": 1},
    }
