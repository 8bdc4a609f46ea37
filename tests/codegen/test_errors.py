"""`spice codegen` refuses clearly: a message on stderr, a non-zero exit, no client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.codegen.support import (
    ARIADNE_CODEGEN,
    DB,
    GRAPHQL_CODEGEN,
    OPERATIONS,
    Server,
    require_tool,
)

pytestmark = pytest.mark.timeout(300)

TOOLS = {"python": ARIADNE_CODEGEN, "typescript": GRAPHQL_CODEGEN}


def _codegen(
    server: Server,
    tmp_path: Path,
    language: str,
    *,
    db: str = DB,
    operations: Path = OPERATIONS,
    out: str = "client",
    extra: tuple[str, ...] = (),
) -> tuple[int, str, Path]:
    target = tmp_path / out
    result = server.codegen(
        language,
        *("--db", db, "--operations", str(operations), "--out", str(target), *extra),
        cwd=tmp_path,
    )
    return result.returncode, result.stderr, target


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_unknown_database(server: Server, tmp_path: Path, language: str) -> None:
    require_tool(TOOLS[language])
    code, err, out = _codegen(server, tmp_path, language, db="nope")
    assert code == 2
    assert "spice: database 'nope' does not exist" in err
    assert not out.exists()


def test_unknown_branch(server: Server, tmp_path: Path) -> None:
    require_tool(ARIADNE_CODEGEN)
    code, err, out = _codegen(
        server, tmp_path, "python", extra=("--branch", "no-such-branch")
    )
    assert code == 2
    assert "spice: branch 'no-such-branch' does not exist" in err
    assert not out.exists()


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_missing_operations_directory(
    server: Server, tmp_path: Path, language: str
) -> None:
    missing = tmp_path / "missing"
    code, err, _ = _codegen(server, tmp_path, language, operations=missing)
    assert code == 2
    assert f"spice codegen: operations {str(missing)!r} is not a directory" in err


def test_operations_directory_without_graphql_files(
    server: Server, tmp_path: Path
) -> None:
    empty = tmp_path / "operations"
    empty.mkdir()
    (empty / "notes.txt").write_text("query Q { products { totalCount } }")
    code, err, _ = _codegen(server, tmp_path, "typescript", operations=empty)
    assert code == 2
    assert f"operations {str(empty)!r} holds no .graphql or .gql files" in err


def test_python_target_must_be_a_package_name(server: Server, tmp_path: Path) -> None:
    code, err, out = _codegen(server, tmp_path, "python", out="shop-client")
    assert code == 2
    assert "must be an identifier such as shop_client" in err
    assert not out.exists()


@pytest.mark.parametrize("language", ["python", "typescript"])
def test_missing_tool_says_how_to_install_it(
    server: Server, tmp_path: Path, language: str
) -> None:
    empty = tmp_path / "tools"
    empty.mkdir()
    code, err, out = _codegen(server, tmp_path, language, extra=("--tools", str(empty)))
    assert code == 2
    assert f"{TOOLS[language].name} is not installed" in err
    assert "run `make codegen-tools`" in err
    assert not out.exists()


def _operations(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "operations"
    folder.mkdir()
    (folder / "broken.graphql").write_text(text)
    return folder


INVALID = [
    pytest.param(
        "python",
        'query Broken { product(id: "p1") { nope } }',
        (
            "ariadne-codegen failed (exit 1):\n"
            "InvalidOperationForSchema: Cannot query field 'nope' on type 'Product'.",
        ),
        id="python-unknown-field",
    ),
    pytest.param(
        "python",
        "query Broken {",
        (
            "ariadne-codegen failed (exit 1):\n"
            "InvalidGraphqlSyntax: Invalid graphql syntax in file ",
            "broken.graphql\ncaused by: graphql.error.syntax_error.GraphQLSyntaxError: "
            "Syntax Error: Expected Name, found <EOF>.",
            "GraphQL request:1:15\n1 | query Broken {",
        ),
        id="python-syntax-error",
    ),
    pytest.param(
        "typescript",
        'query Broken { product(id: "p1") { nope } }',
        (
            "graphql-codegen failed (exit 1):\n",
            'Cannot query field "nope" on type "Product".',
            "broken.graphql:1:36",
        ),
        id="typescript-unknown-field",
    ),
]


@pytest.mark.parametrize(("language", "text", "fragments"), INVALID)
def test_invalid_operations_surface_the_tools_message(
    server: Server, tmp_path: Path, language: str, text: str, fragments: tuple[str, ...]
) -> None:
    require_tool(TOOLS[language])
    operations = _operations(tmp_path, text)
    code, err, out = _codegen(server, tmp_path, language, operations=operations)
    assert code == 1
    for fragment in fragments:
        assert fragment in err
    assert "Traceback" not in err
    assert not out.exists()
