"""The `spice` command: serve, worker, migrate, rebuild, schema, codegen."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.bootstrap import WORKER_NAMES, open_container, run_workers
from app.settings import Settings

SCHEDULER = "scheduler"  # `spice worker scheduler` (app/scheduler.py)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        settings = Settings()
    except ValueError as error:
        print(f"spice: invalid configuration: {error}", file=sys.stderr)  # noqa: T201
        return 2
    return int(args.run(settings, args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spice", description="SPICE ontology server")
    commands = parser.add_subparsers(required=True)
    serve = commands.add_parser(
        "serve", help="run the API (and, by default, every worker)"
    )
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--no-workers", action="store_true")
    serve.set_defaults(run=_serve)
    worker = commands.add_parser(
        "worker",
        help="run one worker (relay, graph, search, catalog, audit, scheduler)",
    )
    worker.add_argument("name", choices=(*WORKER_NAMES, SCHEDULER))
    worker.set_defaults(run=_worker)
    migrate = commands.add_parser("migrate", help="upgrade the database schema")
    migrate.set_defaults(run=_migrate)
    rebuild = commands.add_parser(
        "rebuild", help="rebuild a projection from the event store"
    )
    rebuild.add_argument("projection", choices=("graph", "search", "catalog", "audit"))
    rebuild.set_defaults(run=_rebuild)
    _schema_parser(commands)
    _codegen_parser(commands)
    _audit_parser(commands)
    _ingest_parser(commands)
    _objectify_parser(commands)
    return parser


def _schema_parser(commands: argparse._SubParsersAction[Any]) -> None:
    schema = commands.add_parser("schema", help="export or compare generated SDL")
    actions = schema.add_subparsers(required=True)
    export = actions.add_parser("export", help="write a database's generated SDL")
    export.add_argument("--db", required=True)
    export.add_argument("--branch", default="main")
    export.add_argument("--out", default=None, help="file (default: stdout)")
    export.set_defaults(run=_schema_export)
    diff = actions.add_parser(
        "diff", help="list breaking changes from OLD to NEW (exit 1 if any)"
    )
    diff.add_argument("old")
    diff.add_argument("new")
    diff.set_defaults(run=_schema_diff)


def _audit_parser(commands: argparse._SubParsersAction[Any]) -> None:
    audit = commands.add_parser("audit", help="export or verify the audit trail")
    actions = audit.add_subparsers(required=True)
    export = actions.add_parser("export", help="write a database's chain as JSON lines")
    export.add_argument("--db", required=True, help='database ("_system": no database)')
    export.add_argument("--out", default=None, help="file (default: stdout)")
    export.set_defaults(run=_audit_export)
    verify = actions.add_parser(
        "verify", help="check a database's chain (exit 1 if broken)"
    )
    verify.add_argument("--db", required=True, help='database ("_system": no database)')
    verify.set_defaults(run=_audit_verify)


def _ingest_parser(commands: argparse._SubParsersAction[Any]) -> None:
    ingest = commands.add_parser(
        "ingest", help="upload a file to a running server as a dataset version"
    )
    ingest.add_argument("file", type=Path)
    ingest.add_argument("--db", required=True)
    ingest.add_argument("--name", default=None, help="dataset (default: file stem)")
    ingest.add_argument("--url", default="http://127.0.0.1:8000")
    ingest.add_argument(
        "--token", default=None, help="default: $SPICE_TOKEN, else ./var/admin.token"
    )
    ingest.add_argument("--format", choices=("CSV", "XLSX", "JSONL"), default=None)
    ingest.add_argument("--delimiter", default=None)
    ingest.add_argument("--encoding", default=None)
    ingest.add_argument("--sheet", default=None)
    header = ingest.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None)
    header.add_argument("--no-header", dest="header", action="store_false")
    ingest.add_argument("--idempotency-key", default=None)
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(run=_ingest)


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    del settings  # the server has them; this only talks HTTP
    from app.ingest_cli import IngestRequest, ingest, token_of

    token = token_of(args.token)
    if token is None:
        print("spice ingest: no token (--token, SPICE_TOKEN, ./var/admin.token)",  # noqa: T201
              file=sys.stderr)  # fmt: skip
        return 2
    names = ("format", "delimiter", "encoding", "sheet", "header")
    options = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    request = IngestRequest(
        file=args.file, db=args.db, name=args.name or args.file.stem, url=args.url,
        token=token, options=options, idempotency_key=args.idempotency_key,
    )  # fmt: skip
    try:
        result = ingest(request, show_progress=not args.quiet)
    except (OSError, RuntimeError) as error:
        print(f"spice ingest: {error}", file=sys.stderr)  # noqa: T201
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))  # noqa: T201
    return 0 if result.get("__typename") == "DatasetVersion" else 1


def _objectify_parser(commands: argparse._SubParsersAction[Any]) -> None:
    run = commands.add_parser(
        "objectify", help="objectify a dataset version on a running server"
    )
    run.add_argument("--db", required=True)
    run.add_argument("--mapping", required=True)
    run.add_argument(
        "--version", default=None, help="dataset version (default: latest)"
    )
    run.add_argument("--allow-partial", action="store_true")
    run.add_argument(
        "--delete-missing",
        action="store_true",
        help="delete instances this mapping wrote whose rows are gone",
    )
    run.add_argument("--url", default="http://127.0.0.1:8000")
    run.add_argument(
        "--token", default=None, help="default: $SPICE_TOKEN or ./var/admin.token"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(run=_objectify)


def _objectify(settings: Settings, args: argparse.Namespace) -> int:
    del settings  # the server has them; this only talks to it
    from app.ingest_cli import token_of
    from app.objectify_cli import ObjectifyCall, objectify

    token = token_of(args.token)
    if token is None:
        print("spice objectify: no token (--token, SPICE_TOKEN, ./var/admin.token)",  # noqa: T201
              file=sys.stderr)  # fmt: skip
        return 2
    call = ObjectifyCall(
        db=args.db, mapping=args.mapping, version=args.version,
        allow_partial=args.allow_partial, delete_missing=args.delete_missing,
        url=args.url.rstrip("/"), token=token,
    )  # fmt: skip
    try:
        result = objectify(call, show_progress=not args.quiet)
    except (OSError, RuntimeError) as error:
        print(f"spice objectify: {error}", file=sys.stderr)  # noqa: T201
        return 1
    print(json.dumps(result, indent=2, ensure_ascii=False))  # noqa: T201
    return 0 if result.get("status") in ("SUCCEEDED", "PARTIAL") else 1


def _codegen_parser(commands: argparse._SubParsersAction[Any]) -> None:
    from app.codegen import LANGUAGES, TOOLS_DIR

    codegen = commands.add_parser(
        "codegen", help="generate a typed GraphQL client for a database's schema"
    )
    codegen.add_argument("language", choices=LANGUAGES)
    codegen.add_argument("--db", required=True, help="database whose schema to target")
    codegen.add_argument("--branch", default="main", help="branch (default: main)")
    codegen.add_argument(
        "--operations", required=True, type=Path, help="folder of .graphql files"
    )
    codegen.add_argument(
        "--out",
        required=True,
        type=Path,
        help="client folder (for Python, its last part is the package name)",
    )
    codegen.add_argument(
        "--tools",
        type=Path,
        default=TOOLS_DIR,
        help="generators folder (make codegen-tools)",
    )
    codegen.set_defaults(run=_codegen)


def _observe(settings: Settings) -> None:
    """Log format and tracing exporter from the settings (long-running commands)."""
    from app.observability.logging import configure_logging
    from app.observability.tracing import configure_tracing

    configure_logging(settings)
    configure_tracing(settings)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    _observe(settings)
    app = create_app(settings, workers=not args.no_workers)
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        access_log=False,
        # uvicorn's own loggers propagate to ours (JSON when configured).
        log_config=None,
    )
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    _observe(settings)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with open_container(settings) as container:
            if args.name == SCHEDULER:  # builds, not a projection consumer
                from app.scheduler import run_scheduler

                await run_scheduler(container, stop)
            else:
                await run_workers(container, (args.name,), stop)

    asyncio.run(run())
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    async def run() -> None:
        async with open_container(settings.model_copy(update={"auto_migrate": True})):
            pass

    asyncio.run(run())
    print("database is at the latest schema")  # noqa: T201
    return 0


def _rebuild(settings: Settings, args: argparse.Namespace) -> int:
    from app.rebuild import RebuildUnsupported, rebuild

    async def run() -> dict[str, object]:
        async with open_container(settings) as container:
            report = await rebuild(container, args.projection)
            return {
                "projection": report.projection,
                "events": report.events,
                "hash_equal": report.shadow_hash == report.live_hash,
                "hash": report.live_hash,
            }

    try:
        print(json.dumps(asyncio.run(run())))  # noqa: T201
    except RebuildUnsupported as error:
        print(json.dumps({"error": str(error)}), file=sys.stderr)  # noqa: T201
        return 2
    return 0


def _schema_export(settings: Settings, args: argparse.Namespace) -> int:
    from app.graphql_sdl import export_sdl
    from domain.errors import NotFoundError

    try:
        sdl = asyncio.run(export_sdl(settings, args.db, args.branch))
    except NotFoundError as error:
        print(f"spice: {error.message}", file=sys.stderr)  # noqa: T201
        return 2
    if args.out is None:
        sys.stdout.write(sdl)
    else:
        Path(args.out).write_text(sdl, encoding="utf-8")
    return 0


def _codegen(settings: Settings, args: argparse.Namespace) -> int:
    from app.codegen import CodegenError, CodegenRequest, generate_client
    from domain.errors import NotFoundError

    request = CodegenRequest(
        language=args.language,
        db=args.db,
        branch=args.branch,
        operations=args.operations,
        out=args.out,
        tools=args.tools,
    )
    try:
        result = asyncio.run(generate_client(settings, request))
    except NotFoundError as error:
        print(f"spice: {error.message}", file=sys.stderr)  # noqa: T201
        return 2
    except CodegenError as error:
        print(f"spice codegen: {error}", file=sys.stderr)  # noqa: T201
        return error.exit_code
    endpoint = f"/graphql/{args.db}" + (
        "" if args.branch == "main" else f"/{args.branch}"
    )
    print(  # noqa: T201
        f"wrote {len(result.files)} files to {result.out} (endpoint {endpoint})"
    )
    return 0


def _audit_export(settings: Settings, args: argparse.Namespace) -> int:
    from app.audit_cli import export_chain

    if args.out is None:
        asyncio.run(export_chain(settings, args.db, sys.stdout))
        return 0
    with Path(args.out).open("w", encoding="utf-8") as out:
        asyncio.run(export_chain(settings, args.db, out))
    return 0


def _audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from app.audit_cli import verify_chain

    report = asyncio.run(verify_chain(settings, args.db))
    print(json.dumps(dataclasses.asdict(report)))  # noqa: T201
    return 0 if report.ok else 1


def _schema_diff(_settings: Settings, args: argparse.Namespace) -> int:
    from graphql import GraphQLError

    from app.graphql_sdl import diff_sdl

    try:
        old = Path(args.old).read_text(encoding="utf-8")
        new = Path(args.new).read_text(encoding="utf-8")
        diff = diff_sdl(old, new)
    except (OSError, GraphQLError, TypeError) as error:
        print(f"spice: cannot compare: {error}", file=sys.stderr)  # noqa: T201
        return 2
    for line in diff.lines():
        print(line)  # noqa: T201
    if not diff.lines():
        print("no breaking or dangerous changes")  # noqa: T201
    return 1 if diff.breaking else 0


if __name__ == "__main__":
    raise SystemExit(main())
