"""Generated schemas per (db, branch, ontology version): each built once, off the
event loop, and rebuilt in the background when the ontology changes.

A request never waits for the registry: the write model is re-checked against the
event store at most once per `refresh_interval` per database (changes made
through this process are seen at once, since its own handlers reload the model).
When a check finds a change, the new versions of every branch already in use are
built straight away, before their next request asks. A request for a version
still being built awaits that one build; nothing ever sees a half-built schema.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from graphql import GraphQLSchema

from app.graphql.engine import Admission, Engine
from app.graphql.wiring import INSTANCE_RESOLVERS
from domain.errors import NotFoundError
from domain.ontology import Ontology
from domain.ports import BranchSpan
from resolvers.context import Ports
from schema.ontology.builder import build_generated_schema

log = logging.getLogger(__name__)

SchemaKey = tuple[str, str, int]  # db, branch, ontology version


@dataclass(frozen=True, slots=True)
class GeneratedView:
    db: str
    branch: str
    version: int
    engine: Engine
    lineage: Sequence[BranchSpan]
    ontology: Ontology  # what access policies are resolved against


class GeneratedSchemas:
    def __init__(
        self,
        ports: Ports,
        *,
        dev: bool,
        refresh_interval: float = 1.0,
        size: int = 64,
        lean: bool = True,
        guard: Callable[[GraphQLSchema], GraphQLSchema] | None = None,
        admission: Admission | None = None,
    ) -> None:
        self._ports = ports
        self._guard = guard
        self._admission = admission
        self._lean = lean
        self._dev = dev
        self._interval = refresh_interval
        self._size = size
        self._builds: OrderedDict[SchemaKey, asyncio.Future[GeneratedView]] = (
            OrderedDict()
        )
        self._checked: dict[str, float] = {}
        self._checks: dict[str, asyncio.Future[bool]] = {}

    async def view(self, db: str, branch: str) -> GeneratedView:
        """The current schema of the branch; NotFoundError for unknown ones."""
        await self.refresh(db)
        ctx = await self._ports.ontologies.branch_context(db, branch)
        return await self._get((db, branch, ctx.ontology_version), ctx.ontology)

    async def refresh(self, db: str, *, force: bool = False) -> bool:
        """Re-checks the registry if the last check is older than the interval;
        concurrent callers share one check. True if the model had moved."""
        now = time.monotonic()
        if not force and now - self._checked.get(db, -1e9) < self._interval:
            return False
        check = self._checks.get(db)
        if check is None:
            check = asyncio.ensure_future(self._check(db))
            self._checks[db] = check
            check.add_done_callback(lambda _: self._checks.pop(db, None))
        return await asyncio.shield(check)

    async def _check(self, db: str) -> bool:
        moved = await self._ports.ontologies.refresh_if_stale(db)
        self._checked[db] = time.monotonic()
        if moved:
            await self._prebuild(db)
        return moved

    async def _prebuild(self, db: str) -> None:
        """Starts the new builds of the branches of `db` that have a schema."""
        branches = {key[1] for key in self._builds if key[0] == db}
        for branch in branches:
            try:
                ctx = await self._ports.ontologies.branch_context(db, branch)
            except NotFoundError:  # a deleted branch simply has no new schema
                continue
            self._start((db, branch, ctx.ontology_version), ctx.ontology)

    async def watch(self, stop: asyncio.Event) -> None:
        """Checks every database in use once per interval until `stop` is set."""
        while not stop.is_set():
            for db in {key[0] for key in self._builds}:
                try:
                    await self.refresh(db)
                except Exception:
                    log.warning("schema refresh of %s failed", db, exc_info=True)
            try:
                await asyncio.wait_for(stop.wait(), self._interval)
            except TimeoutError:
                continue

    async def _get(self, key: SchemaKey, ontology: Ontology) -> GeneratedView:
        build = self._start(key, ontology)
        self._builds.move_to_end(key)
        try:
            return await asyncio.shield(build)
        except Exception:
            self._builds.pop(key, None)  # let a later request try again
            raise

    def _start(
        self, key: SchemaKey, ontology: Ontology
    ) -> asyncio.Future[GeneratedView]:
        build = self._builds.get(key)
        if build is None:
            build = asyncio.ensure_future(self._build(key, ontology))
            self._builds[key] = build
            while len(self._builds) > self._size:
                self._builds.popitem(last=False)
        return build

    async def _build(self, key: SchemaKey, ontology: Ontology) -> GeneratedView:
        db, branch, version = key
        lineage = await self._ports.store.lineage(db, branch)
        started = time.perf_counter()
        built = await asyncio.to_thread(
            build_generated_schema,
            ontology,
            resolvers=INSTANCE_RESOLVERS,
            db=db,
            branch=branch,
            version=version,
        )
        log.info(
            "schema %s/%s@%s built in %.0f ms",
            db,
            branch,
            version,
            (time.perf_counter() - started) * 1000,
        )
        for warning in built.plan.warnings:
            log.warning("schema %s/%s@%s: %s", db, branch, version, warning)
        schema = built.schema if self._guard is None else self._guard(built.schema)
        engine = Engine(
            schema,
            limits=self._ports.limits,
            dev=self._dev,
            lean=self._lean,
            admission=self._admission,
        )
        # A schema is tens of thousands of long-lived objects: out of the cyclic
        # GC's generations, its full passes stay short.
        gc.collect()
        gc.freeze()
        return GeneratedView(db, branch, version, engine, lineage, ontology)
