"""`spice codegen`: a typed GraphQL client from a database's generated SDL.

The generators are third-party tools kept out of the project's environment: ariadne-codegen
pins a graphql-core older than strawberry's, and graphql-codegen is a Node.js package. Both
live under tools/codegen (installed by `make codegen-tools`) and run as subprocesses on a
temporary config that points at the exported SDL and the operation files.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from dataclasses import dataclass
from itertools import dropwhile, takewhile
from keyword import iskeyword
from pathlib import Path
from typing import ClassVar, Literal

from app.settings import Settings

Language = Literal["python", "typescript"]
LANGUAGES: tuple[Language, ...] = ("python", "typescript")
TOOLS_DIR = Path(__file__).resolve().parents[1] / "tools" / "codegen"
INSTALL_HINT = "run `make codegen-tools` in the SPICE checkout (or pass --tools DIR)"
NODE_HINT = "install Node.js 20 or later"
OPERATION_SUFFIXES = (".graphql", ".gql")
TYPESCRIPT_MODULE = "graphql.ts"
TOOL_NAMES: dict[Language, str] = {
    "python": "ariadne-codegen",
    "typescript": "graphql-codegen",
}
TOOL_TIMEOUT = 600.0
TRACEBACK = "Traceback (most recent call last):"
CHAINED = ("The above exception", "During handling of the above exception")

# Custom scalars of the generated schema (schema/scalars.py) in each language. Decimal
# and Long travel as text where a JSON number would lose precision.
PYTHON_SCALARS = {
    "Decimal": "decimal.Decimal",
    "Long": "int",
    "DateTime": "datetime.datetime",
    "Date": "datetime.date",
    "Time": "datetime.time",
}
TYPESCRIPT_SCALARS = {
    "Decimal": "string",
    "Long": "number | string",
    "DateTime": "string",
    "Date": "string",
    "Time": "string",
    "JSON": "unknown",
}


class CodegenError(Exception):
    """No client was written; the message says why and what to do about it."""

    exit_code: ClassVar[int] = 2


class OperationsError(CodegenError):
    """The operations directory is missing or holds no operation files."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"operations {str(path)!r} {problem}")
        self.path = path


class TargetError(CodegenError):
    """--out cannot hold the client (a Python package needs an identifier as name)."""


class ToolMissingError(CodegenError):
    """A generator (or the runtime it needs) is not installed."""

    def __init__(self, tool: str, path: Path | str, hint: str = INSTALL_HINT) -> None:
        super().__init__(f"{tool} is not installed (looked for {path}); {hint}")
        self.tool = tool


class ToolFailedError(CodegenError):
    """The generator ran and refused, typically because an operation is invalid."""

    exit_code: ClassVar[int] = 1

    def __init__(self, tool: str, returncode: int, output: str) -> None:
        super().__init__(f"{tool} failed (exit {returncode}):\n{output}")
        self.tool = tool
        self.returncode = returncode
        self.output = output


@dataclass(frozen=True, slots=True, kw_only=True)
class CodegenRequest:
    language: Language
    db: str
    branch: str = "main"
    operations: Path
    out: Path
    tools: Path = TOOLS_DIR


@dataclass(frozen=True, slots=True)
class CodegenResult:
    out: Path
    files: tuple[Path, ...]


async def generate_client(settings: Settings, request: CodegenRequest) -> CodegenResult:
    """Writes the client for `request.db`/`request.branch` into `request.out`.

    Inputs and tools are checked before the database is opened, so a usage mistake
    fails fast. Raises `CodegenError`, or `NotFoundError` for an unknown database or
    branch.
    """
    operations = find_operations(request.operations)
    out = request.out.resolve()
    command = _tool_command(request.language, request.tools)
    _check_target(request.language, out)
    # Imported here: the schema builder is heavy, and `spice` builds this command's
    # parser on every run.
    from app.graphql_sdl import export_sdl

    sdl = await export_sdl(settings, request.db, request.branch)
    # The generators create `out` itself, and only once the operations are valid.
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="spice-codegen-") as work:
        schema = Path(work) / "schema.graphql"
        schema.write_text(sdl, encoding="utf-8")
        config = _write_config(
            request, Path(work), schema=schema, operations=operations
        )
        await _run(
            command, config, cwd=request.tools, tool=TOOL_NAMES[request.language]
        )
    return CodegenResult(out, _written_files(request.language, out))


def find_operations(path: Path) -> tuple[Path, ...]:
    """The operation files under `path`, recursively, in a stable order."""
    if not path.is_dir():
        raise OperationsError(path, "is not a directory")
    files = tuple(
        sorted(f.resolve() for f in path.rglob("*") if f.suffix in OPERATION_SUFFIXES)
    )
    if not files:
        raise OperationsError(path, f"holds no {' or '.join(OPERATION_SUFFIXES)} files")
    return files


def _tool_command(language: Language, tools: Path) -> list[str]:
    if language == "python":
        executable = tools / ".venv" / "bin" / "ariadne-codegen"
        if not executable.is_file():
            raise ToolMissingError("ariadne-codegen", executable)
        return [str(executable), "client", "--config"]
    node = shutil.which("node")
    if node is None:
        raise ToolMissingError("Node.js (node)", "PATH", NODE_HINT)
    script = tools / "node_modules" / ".bin" / "graphql-codegen"
    if not script.is_file():
        raise ToolMissingError("graphql-codegen", script)
    return [node, str(script), "--config"]


def _check_target(language: Language, out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise TargetError(f"--out {str(out)!r} exists and is not a directory")
    if language == "python" and (not out.name.isidentifier() or iskeyword(out.name)):
        raise TargetError(
            f"--out {str(out)!r}: the last part names the Python package, so it must "
            "be an identifier such as shop_client"
        )


def _write_config(
    request: CodegenRequest, work: Path, *, schema: Path, operations: tuple[Path, ...]
) -> Path:
    if request.language == "python":
        config = work / "pyproject.toml"
        config.write_text(_ariadne_config(request, schema), encoding="utf-8")
    else:
        config = work / "codegen.json"
        config.write_text(
            _graphql_codegen_config(request, schema, operations), encoding="utf-8"
        )
    return config


def _toml(value: str) -> str:
    # A JSON string (ASCII, escaped quotes/backslashes/controls) is a TOML basic string.
    return json.dumps(value)


def _ariadne_config(request: CodegenRequest, schema: Path) -> str:
    out = request.out.resolve()
    lines = [
        "[tool.ariadne-codegen]",
        f"schema_path = {_toml(str(schema))}",
        f"queries_path = {_toml(str(request.operations.resolve()))}",
        f"target_package_name = {_toml(out.name)}",
        f"target_package_path = {_toml(str(out.parent))}",
    ]
    for name, python_type in PYTHON_SCALARS.items():
        lines += [
            f"[tool.ariadne-codegen.scalars.{name}]",
            f"type = {_toml(python_type)}",
        ]
    return "\n".join(lines) + "\n"


def _graphql_codegen_config(
    request: CodegenRequest, schema: Path, operations: tuple[Path, ...]
) -> str:
    output = request.out.resolve() / TYPESCRIPT_MODULE
    target = {
        # typescript-operations (v6) emits the schema types the operations use, so the
        # `typescript` plugin would only duplicate them. typed-document-node in string
        # mode makes each operation a typed query string that any client, or plain
        # fetch, can post; the module needs nothing at run time.
        "plugins": ["typescript-operations", "typed-document-node"],
        "config": {
            "documentMode": "string",
            "useTypeImports": True,
            "scalars": TYPESCRIPT_SCALARS,
            "defaultScalarType": "unknown",
        },
    }
    config = {
        "overwrite": True,
        "schema": str(schema),
        "documents": [str(path) for path in operations],
        "generates": {str(output): target},
    }
    return json.dumps(config, indent=2)


async def _run(command: list[str], config: Path, *, cwd: Path, tool: str) -> None:
    # cwd is the tools folder: graphql-codegen resolves its plugins from there.
    process = await asyncio.create_subprocess_exec(
        *command,
        str(config),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), TOOL_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ToolFailedError(
            tool, -1, f"no answer within {TOOL_TIMEOUT:.0f} s"
        ) from None
    if process.returncode:
        output = stderr.decode(errors="replace") or stdout.decode(errors="replace")
        raise ToolFailedError(tool, process.returncode, _tool_message(output))


def _tool_message(output: str) -> str:
    """The tool's own words. ariadne-codegen reports a refusal as a traceback, often
    chained (`InvalidGraphqlSyntax` from graphql's `GraphQLSyntaxError`, which has the
    location): keep each exception's message, the last one first, and drop the frames."""
    if TRACEBACK not in output:
        return output.strip()
    messages = [_exception_message(part) for part in output.split(TRACEBACK)[1:]]
    return "\ncaused by: ".join(reversed(messages))


def _exception_message(traceback: str) -> str:
    lines = traceback.strip("\n").splitlines()
    body = dropwhile(lambda line: not line or line.startswith(" "), lines)
    message = takewhile(lambda line: not line.startswith(CHAINED), body)
    return "\n".join(message).strip().removeprefix("ariadne_codegen.exceptions.")


def _written_files(language: Language, out: Path) -> tuple[Path, ...]:
    if language == "typescript":
        return (out / TYPESCRIPT_MODULE,)
    return tuple(sorted(out.glob("*.py")))
