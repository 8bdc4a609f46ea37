"""The write side's view of a database: registry, branches and per-branch ontologies.

Commands validate against it; it is rebuilt from the event store whenever the
store's registry version (last database/branch/class event) moves, so several
API processes stay consistent without sharing memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain import events as ev
from domain.database import (
    BranchState,
    DatabaseState,
    evolve_branch,
    replay_database,
    require_live_branch,
    require_live_database,
)
from domain.events import EventEnvelope, StreamId
from domain.ontology import Ontology, class_from_dict
from domain.ports import EventStore
from domain.single_flight import SingleFlight


@dataclass(frozen=True, slots=True)
class BranchOntology:
    """The ontology visible on one branch, with each class stream's seq."""

    ontology: Ontology
    class_seqs: dict[str, int]
    version: int  # position of the last class event visible on the branch


@dataclass(slots=True)
class DatabaseModel:
    database: DatabaseState
    branches: dict[str, BranchState]
    version: int
    ontologies: dict[str, BranchOntology] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BranchContext:
    """Everything a command on (db, branch) validates against."""

    db: str
    branch: str
    database: DatabaseState
    branches: dict[str, BranchState]
    ontology: Ontology
    class_seqs: dict[str, int]
    ontology_version: int
    registry_version: int


class WriteModel:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._models: dict[str, DatabaseModel] = {}
        # A cold database under concurrent commands is loaded once, not once per
        # command (each load replays the registry and class streams).
        self._loading: SingleFlight[str, DatabaseModel] = SingleFlight()
        # Keyed by the model's version too: a caller on a newer model must not
        # join a load made for an older one.
        self._loading_branch: SingleFlight[tuple[str, str, int], BranchOntology] = (
            SingleFlight()
        )

    async def database(self, db: str) -> DatabaseModel:
        """The cached model; appends carry its version, so a stale cache is caught
        by the event store (StaleModel) and never writes."""
        cached = self._models.get(db)
        if cached is not None:
            return cached
        return await self._loading.run(db, lambda: self._load_and_cache(db))

    def invalidate(self, db: str) -> None:
        self._models.pop(db, None)
        self._loading.forget(db)

    async def refresh_if_stale(self, db: str) -> bool:
        """Drops the cached model if another writer moved the registry; True if so."""
        cached = self._models.get(db)
        if cached is None or cached.version == await self._store.registry_version(db):
            return False
        self.invalidate(db)
        return True

    async def branch_context(self, db: str, branch: str) -> BranchContext:
        model = await self.database(db)
        require_live_database(model.database)
        require_live_branch(model.branches, branch)
        onto = model.ontologies.get(branch)
        if onto is None:
            onto = await self._loading_branch.run(
                (db, branch, model.version),
                lambda: self._load_branch(model, db, branch),
            )
        return BranchContext(
            db=db,
            branch=branch,
            database=model.database,
            branches=model.branches,
            ontology=onto.ontology,
            class_seqs=onto.class_seqs,
            ontology_version=onto.version,
            registry_version=model.version,
        )

    async def _load_and_cache(self, db: str) -> DatabaseModel:
        version = await self._store.registry_version(db)
        model = await self._load(db, version)
        self._models[db] = model
        return model

    async def _load_branch(
        self, model: DatabaseModel, db: str, branch: str
    ) -> BranchOntology:
        events = await self._store.read_aggregate_type(db, branch, ev.CLASS)
        onto = build_branch_ontology(events)
        model.ontologies[branch] = onto
        return onto

    async def _load(self, db: str, version: int) -> DatabaseModel:
        stream = StreamId(db, ev.MAIN_BRANCH, ev.DATABASE, db)
        database = replay_database(db, await self._store.read_stream(stream))
        branch_events = await self._store.read_aggregate_type(
            db, ev.MAIN_BRANCH, ev.BRANCH
        )
        return DatabaseModel(database, replay_branches(branch_events), version)


def replay_branches(events: Iterable[EventEnvelope]) -> dict[str, BranchState]:
    branches: dict[str, BranchState] = {}
    for event in events:
        name = event.aggregate_id
        branches[name] = evolve_branch(
            branches.get(name, BranchState(name=name)), event
        )
    return branches


def build_branch_ontology(events: Iterable[EventEnvelope]) -> BranchOntology:
    """Every class event carries the class's full definition after the change."""
    classes = {}
    seqs: dict[str, int] = {}
    version = 0
    for event in events:
        classdef = class_from_dict(event.data["definition"])
        classes[classdef.id] = classdef
        seqs[classdef.id] = event.seq
        version = max(version, event.position)
    return BranchOntology(Ontology(classes=classes), seqs, version)
