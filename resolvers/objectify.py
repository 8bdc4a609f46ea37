"""Objectify's writer: check a run (domain.dataplane.objectify), then write its
changes through the command path mutations take, in bulk commands.

Every command carries `objectify_run`, `mapping` (`id:version`) and
`dataset_version` in its metadata, which the event store keeps on each event, so the
lineage dataset version → run → instance can be rebuilt from the events alone.
Gates run over the whole run before the first write: a FAILED run writes nothing.
Rows are read in batches and each batch's planned writes are staged (spilled to
disk past a size, resolvers/objectify_staging.py), so memory holds the run's keys,
not its rows. Only created instances and changed members are written, so
re-running a dataset version appends no event.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Protocol, TypeVar

from domain import commands as c
from domain import events as ev
from domain.commands import CommandMeta
from domain.dataplane.mapping import MappingSpec
from domain.dataplane.objectify import (
    FAILED,
    MAX_ERRORS,
    PARTIAL,
    SUCCEEDED,
    Changes,
    Item,
    Row,
    RowError,
    RowFeed,
    diff_items,
    gate,
    self_referencing,
    targets_first,
)
from domain.errors import DomainError
from domain.ids import new_command_id
from domain.ontology import Ontology
from domain.ports import EventStore
from resolvers.context import Dispatcher, OntologySource
from resolvers.objectify_staging import SPILL_AFTER, StagedBatch, Staging
from resolvers.objectify_state import (
    Scope,
    current_states,
    existing_targets,
    has_instances,
    missing_instances,
)

CHUNK: int = 1000  # instances per command (and streams per tip lookup): 500 measured 8-10 % slower on SQLite
IN_FLIGHT: int = 1
# progress(done, total): instances written so far, of those the run writes.
Progress = Callable[[int, int], None]
T = TypeVar("T")


class ObjectifyPorts(Protocol):
    """What the writer uses of `resolvers.context.Ports`."""

    @property
    def store(self) -> EventStore: ...

    @property
    def dispatcher(self) -> Dispatcher: ...

    @property
    def ontologies(self) -> OntologySource: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectifyRequest:
    db: str
    branch: str = ev.MAIN_BRANCH
    spec: MappingSpec
    mapping_version: int
    dataset_version: str
    run_id: str
    allow_partial: bool = False
    # Delete the live instances earlier runs of this mapping wrote whose primary
    # key this dataset version no longer has (resolvers/objectify_state.py).
    delete_missing: bool = False
    actor: str = "anonymous"
    chunk_size: int = CHUNK
    # Planned instances held in memory before they are staged on disk.
    spill_after: int = SPILL_AFTER
    # Commands dispatched at once. 4 measured no faster than 1 (PostgreSQL, 50,000
    # rows, 2 cores: 6,684 vs 6,512/s): the run is CPU-bound in validation. 1 keeps
    # the commands in file order.
    in_flight: int = IN_FLIGHT


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectifyOutcome:
    """`ObjectifyRun` minus its id: `rows` read, `rejected` counted in full."""

    status: str
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[RowError]
    command_ids: list[str] = field(default_factory=list)
    deleted: int = 0


RowSource = Iterable[Row] | AsyncIterator[Sequence[Row]]


async def objectify(
    ports: ObjectifyPorts,
    request: ObjectifyRequest,
    rows: RowSource,
    *,
    progress: Progress | None = None,
) -> ObjectifyOutcome:
    """Check every row (in batches, diffed against current state as they come),
    then the run-wide gates, then write. The mapping is assumed valid
    (`validate_mapping` at `defineMapping`); rows are 1-based data rows, given
    one by one or in batches (a dataset version's `batches`)."""
    ctx = await ports.ontologies.branch_context(request.db, request.branch)
    scope = Scope(
        ports.store, request.db, request.branch, ctx.ontology, request.chunk_size
    )
    staging = Staging(request.spill_after)
    try:
        checked = await _check(scope, request, rows, staging)
        if checked.status == FAILED:
            return checked.outcome()
        missing = (
            await missing_instances(
                scope, request.spec.id, request.spec.class_id, checked.keys
            )
            if request.delete_missing
            else {}
        )
        writer = _Writer(ports.dispatcher, request, ctx.ontology_version, progress)
        return await writer.write(scope.ontology, checked, staging, missing)
    finally:
        staging.close()


@dataclass(slots=True, kw_only=True)
class _Checked:
    """A run after its checks: the verdict and what the writes need of it."""

    status: str
    rows: int
    rejected: int
    errors: list[RowError]
    dropped_rows: set[int]
    keys: set[str]
    planned: int  # instances to create or patch, before the gates dropped any

    def outcome(self, **written: Any) -> ObjectifyOutcome:
        counts = {"created": 0, "updated": 0, "unchanged": 0, **written}
        return ObjectifyOutcome(
            status=self.status,
            rows=self.rows,
            rejected=self.rejected,
            errors=self.errors,
            **counts,
        )


async def _check(
    scope: Scope, request: ObjectifyRequest, rows: RowSource, staging: Staging
) -> _Checked:
    """Per-row checks and the diff against current state, batch by batch into
    `staging`; then the reference gate and the run's status."""
    spec = request.spec
    feed = RowFeed(scope.ontology, spec)
    diffs = _Diffs(scope, spec, staging, await has_instances(scope, spec.class_id))
    async for batch in _batches(rows, request.chunk_size):
        # The store looks the batch up while the next one is converted.
        await diffs.add(feed.feed(batch))
    await diffs.flush()
    mismatches, planned = diffs.mismatches, diffs.planned
    conversion = feed.conversion
    found = await existing_targets(scope, conversion.wanted())
    verdict = gate(
        scope.ontology,
        conversion,
        exists=lambda k, ids: found.get(k, set()) & ids,
        allow_partial=request.allow_partial,
    )
    mismatched = [e for e in mismatches if e.row not in verdict.dropped_rows]
    errors = sorted([*verdict.errors, *mismatched], key=lambda e: e.row)
    return _Checked(
        status=_status(verdict.status, bool(mismatched), request.allow_partial),
        rows=conversion.rows,
        rejected=verdict.rejected + len(mismatched),
        errors=errors[:MAX_ERRORS],
        dropped_rows=verdict.dropped_rows | {e.row for e in mismatched},
        keys=conversion.keys,
        planned=planned,
    )


class _Diffs:
    """Each batch's items diffed against current state and staged, the lookup
    of one batch running while the next is converted."""

    def __init__(
        self, scope: Scope, spec: MappingSpec, staging: Staging, populated: bool
    ) -> None:
        self._scope, self._spec, self._staging = scope, spec, staging
        # An empty class: every item is new, nothing to look up.
        self._populated = populated
        self._pending: tuple[list[Item], asyncio.Task[_States]] | None = None
        self.mismatches: list[RowError] = []  # rows naming another class's instance
        self.planned = 0

    async def add(self, items: list[Item]) -> None:
        ids = [i.instance_id for i in items]
        lookup = asyncio.create_task(self._states(ids))
        try:
            await self.flush()
        except BaseException:
            lookup.cancel()
            raise
        self._pending = (items, lookup)

    async def flush(self) -> None:
        if self._pending is None:
            return
        items, lookup = self._pending
        self._pending = None
        current, tombstoned = await lookup
        changes = diff_items(self._scope.ontology, self._spec, items, current)
        self.mismatches += changes.errors
        self.planned += len(changes.created) + len(changes.updated)
        self._staging.add(StagedBatch(changes, frozenset(tombstoned)))

    async def _states(self, ids: list[str]) -> _States:
        if not self._populated:
            return {}, set()
        return await current_states(self._scope, self._spec.class_id, ids)


_States = tuple[dict[str, Mapping[str, Any]], set[str]]


def _status(gated: str, mismatched: bool, allow_partial: bool) -> str:
    if gated == FAILED or (mismatched and not allow_partial):
        return FAILED
    return PARTIAL if gated == PARTIAL or mismatched else SUCCEEDED


async def _batches(rows: RowSource, size: int) -> AsyncIterator[Sequence[Row]]:
    """Rows in batches of `size`, from an iterable of rows or batches of any size."""
    pending: list[Row] = []
    if isinstance(rows, AsyncIterator):
        async for given in rows:
            pending.extend(given)
            while len(pending) >= size:
                yield pending[:size]
                del pending[:size]
    else:
        for row in rows:
            pending.append(row)
            if len(pending) == size:
                yield pending
                pending = []
    if pending:
        yield pending


_Write = c.CreateInstances | c.UpsertInstances | c.DeleteInstances


class _Writer:
    """Writes a checked run in bulk commands: new instances as creates (OCC
    from seq 0) of the states the checks produced against `ontology_version`,
    so the handler need not check them again; patches, and re-creations over a
    tombstone, as upserts; then the deletes of missing instances."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        request: ObjectifyRequest,
        ontology_version: int,
        progress: Progress | None,
    ) -> None:
        self._dispatcher = dispatcher
        self._request = request
        self._ontology_version = ontology_version
        self._progress = progress
        self._counts = {"created": 0, "updated": 0, "unchanged": 0}

    async def write(
        self,
        ontology: Ontology,
        checked: _Checked,
        staging: Staging,
        missing: dict[str, int],
    ) -> ObjectifyOutcome:
        request = self._request
        linked = self_referencing(ontology, request.spec)
        sent = _Sent(total=checked.planned + len(missing), progress=self._progress)
        # Targets created by the run must be stored before a command naming them
        # runs: one command at a time, in the order targets_first gives.
        batches: Iterable[StagedBatch] = self._kept(staging, checked.dropped_rows)
        if linked:
            batches = [_ordered(list(batches), linked)]
        commands = (command for batch in batches for command in self._commands(batch))
        in_flight = 1 if linked else request.in_flight
        await self._send(chain(commands, self._deletes(missing)), sent, in_flight)
        if sent.failures:
            checked.status = FAILED
            checked.errors = sorted(
                [*checked.errors, *sent.failures], key=lambda e: e.row
            )
        return checked.outcome(
            command_ids=sent.command_ids,
            deleted=len(missing) if not sent.failures else 0,
            **self._counts,
        )

    def _kept(self, staging: Staging, dropped: set[int]) -> Iterator[StagedBatch]:
        for batch in staging:
            changes = batch.changes.without_rows(dropped)
            self._counts["created"] += len(changes.created)
            self._counts["updated"] += len(changes.updated)
            self._counts["unchanged"] += changes.unchanged
            yield StagedBatch(changes, batch.tombstoned)

    def _commands(self, batch: StagedBatch) -> Iterator[_Write]:
        request, changes = self._request, batch.changes
        fresh = [
            {**i.values, **i.links}
            for i in changes.created
            if i.instance_id not in batch.tombstoned
        ]
        upserts = [i.data for i in changes.created if i.instance_id in batch.tombstoned]
        upserts += [patch for _, patch in changes.updated]
        for chunk in _chunks(fresh, request.chunk_size):
            yield c.CreateInstances(
                db=request.db,
                branch=request.branch,
                class_id=request.spec.class_id,
                items=list(chunk),
                validated_at=self._ontology_version,
            )
        for chunk in _chunks(upserts, request.chunk_size):
            yield c.UpsertInstances(
                db=request.db,
                branch=request.branch,
                class_id=request.spec.class_id,
                items=list(chunk),
            )

    def _deletes(self, missing: dict[str, int]) -> Iterator[_Write]:
        request = self._request
        for chunk in _chunks(sorted(missing.items()), request.chunk_size):
            yield c.DeleteInstances(
                db=request.db,
                branch=request.branch,
                class_id=request.spec.class_id,
                expected_seqs=dict(chunk),
            )

    async def _send(
        self, commands: Iterable[_Write], sent: _Sent, in_flight: int
    ) -> None:
        """Dispatches in order, `in_flight` at a time; stops at the first failure.
        Commands are built only as they are sent, so memory stays bounded."""
        slots = asyncio.Semaphore(in_flight)
        tasks: list[asyncio.Task[None]] = []

        async def send(command: _Write) -> None:
            try:
                meta = _meta(self._request)
                await self._dispatcher.dispatch(command, meta)
                sent.record(meta.command_id, _size(command))
            except DomainError as error:
                # A concurrent writer changed what the run planned against.
                sent.failures.append(RowError(0, None, error.code, error.message))
            finally:
                slots.release()

        for command in commands:
            await slots.acquire()
            if sent.failures:
                slots.release()
                break
            tasks.append(asyncio.create_task(send(command)))
        await asyncio.gather(*tasks)


def _ordered(batches: list[StagedBatch], linked: list[str]) -> StagedBatch:
    """All batches as one whose creates come targets first (self-referencing
    mappings only: their order spans the whole run)."""
    created = [i for b in batches for i in b.changes.created]
    changes = Changes(
        targets_first(created, linked),
        [u for b in batches for u in b.changes.updated],
        [r for b in batches for r in b.changes.unchanged_rows],
        [],
    )
    return StagedBatch(changes, frozenset().union(*(b.tombstoned for b in batches)))


def _size(command: _Write) -> int:
    if isinstance(command, c.DeleteInstances):
        return len(command.expected_seqs)
    return len(command.items)


@dataclass(slots=True, kw_only=True)
class _Sent:
    """Commands dispatched so far, reported to `progress` as they complete."""

    total: int
    progress: Progress | None
    done: int = 0
    command_ids: list[str] = field(default_factory=list)
    failures: list[RowError] = field(default_factory=list)

    def record(self, command_id: str, items: int) -> None:
        self.command_ids.append(command_id)
        self.done += items
        if self.progress is not None:
            self.progress(self.done, self.total)


def _meta(request: ObjectifyRequest) -> CommandMeta:
    return CommandMeta(
        command_id=new_command_id(),
        actor=request.actor,
        metadata={
            "objectify_run": request.run_id,
            "mapping": f"{request.spec.id}:{request.mapping_version}",
            "dataset_version": request.dataset_version,
        },
    )


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
