"""The per-request context: the container's ports (as Protocols), limits and loaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from strawberry.dataloader import DataLoader

from domain.commands import Command, CommandMeta, Receipt
from domain.dataplane.datasets import DatasetFiles
from domain.dataplane.progress import ProgressState
from domain.events import MAIN_BRANCH, EventEnvelope
from domain.pipelines.deploy import CronRules
from domain.pipelines.ports import PipelineEngine
from domain.ports import BranchSpan, EventStore, GraphStore, ReadScope, SearchIndex
from domain.security import (
    ANONYMOUS,
    NO_RULES,
    AccessRules,
    Principal,
    SecurityStore,
)
from domain.write_model import BranchContext
from projections.base import ConsumerState
from projections.views import AuditTrail, AuditView, CatalogView, CommandStatusView
from schema.limits import Limits


class Info(Protocol):
    """What resolvers of the generated schema use of graphql-core's resolve info."""

    @property
    def context(self) -> Context: ...


class Dispatcher(Protocol):
    async def dispatch(self, command: Command, meta: CommandMeta) -> Receipt: ...


class Waiter(Protocol):
    async def wait(
        self, stage: str, db: str, position: int, *, max_wait: float
    ) -> bool: ...


T = TypeVar("T")


class ChangeFeed(Protocol):
    """Live events of a database branch, fanned out to subscribers by shape."""

    def shared(
        self,
        key: Hashable,
        *,
        db: str,
        branch: str,
        pipeline: Callable[[AsyncIterator[EventEnvelope]], AsyncIterator[T]],
    ) -> AbstractAsyncContextManager[AsyncIterator[T]]:
        """Joins the feed of `key`: the first subscriber of a key starts
        `pipeline` over the branch's events from now on, every subscriber of the
        key receives what it yields, and the last one to leave stops it."""
        ...


class OntologySource(Protocol):
    """The write model: the current ontology of a branch, straight from the events."""

    async def branch_context(self, db: str, branch: str) -> BranchContext: ...

    async def refresh_if_stale(self, db: str) -> bool: ...


class ProgressFeed(Protocol):
    """Progress of long runs, published by the run, followed by subscribers."""

    def publish(self, db: str, state: ProgressState) -> None: ...

    def db_of(self, run_id: str) -> str | None: ...

    def follow(self, run_id: str) -> AsyncIterator[ProgressState]: ...

    def keep(self, task: asyncio.Task[None]) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Ports:
    """Everything resolvers may reach, built once per application."""

    store: EventStore
    graph: GraphStore
    search: SearchIndex
    catalog: CatalogView
    audit: AuditView
    audit_trail: AuditTrail
    security: SecurityStore  # tokens, grants, access policies
    status: CommandStatusView
    consumers: ConsumerState
    dispatcher: Dispatcher
    ontologies: OntologySource
    waiter: Waiter
    changes: ChangeFeed
    datasets: DatasetFiles  # uploads to Parquet, and rows of stored versions
    progress: ProgressFeed
    pipelines: PipelineEngine  # previews and builds (adapters/pipelines)
    cron: CronRules  # deployPipeline's schedules
    limits: Limits = field(default_factory=Limits)


@dataclass(slots=True, kw_only=True)
class Context:
    """Built per request (per connection for subscriptions); loaders never outlive it."""

    ports: Ports
    actor: str = "anonymous"  # the principal's name, recorded on commands
    principal: Principal = ANONYMOUS
    request_id: str = ""
    # Row filters and column masks of the principal's role in `db` (reads apply them).
    access: AccessRules = NO_RULES
    language: str | None = None
    db: str = ""
    branch: str = MAIN_BRANCH
    lineage: Sequence[BranchSpan] = ()
    loaders: dict[Hashable, DataLoader[Any, Any]] = field(default_factory=dict)

    def loader(
        self, key: Hashable, factory: Callable[[], DataLoader[Any, Any]]
    ) -> DataLoader[Any, Any]:
        """The request's loader for `key`, created on first use."""
        found = self.loaders.get(key)
        if found is None:
            found = self.loaders[key] = factory()
        return found

    def scope(self, as_of: int | None = None) -> ReadScope:
        return ReadScope(db=self.db, lineage=self.lineage, as_of=as_of)
