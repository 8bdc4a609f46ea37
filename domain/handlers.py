"""Command dispatch: load -> decide -> append, over ports only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from domain import commands as c
from domain import events as ev
from domain.appender import Appender, receipt_from
from domain.class_handlers import ClassHandlers
from domain.commands import CommandMeta, Receipt, command_fingerprint
from domain.database import (
    DatabaseState,
    decide_create_branch,
    decide_create_database,
    decide_delete_branch,
    decide_delete_database,
)
from domain.dataplane.datasets import DATASET, decide_register_version, version_of
from domain.dataplane.mapping import MappingSpec
from domain.dataplane.records import (
    MAPPING,
    OBJECTIFY_RUN,
    decide_define_mapping,
    decide_record_run,
)
from domain.errors import (
    DomainError,
    IdempotencyConflict,
    NotFoundError,
    StaleModel,
    ValidationFailed,
)
from domain.events import EventEnvelope, NewEvent, StreamId
from domain.governance.guard import ProtectionGuard
from domain.governance.handlers import GovernanceHandlers
from domain.ids import DATABASE_NAME
from domain.instance_handlers import InstanceHandlers
from domain.merge.handlers import MergeHandlers
from domain.pipelines.deploy import Schedule, decide_deploy_pipeline
from domain.pipelines.records import (
    PIPELINE,
    PIPELINE_RUN,
    decide_define_pipeline,
    decide_record_pipeline_run,
)
from domain.pipelines.spec import PipelineSpec
from domain.ports import (
    EventStore,
    RejectionLog,
    StreamAppend,
)
from domain.strings import command_nul_error
from domain.write_model import WriteModel

Handler = Callable[[Any, CommandMeta], Awaitable[Receipt]]

_STALE_RETRIES = 3
_INSTANCE_COMMANDS = (
    c.CreateInstance,
    c.UpdateInstance,
    c.DeleteInstance,
    c.CreateInstances,
    c.UpsertInstances,
    c.DeleteInstances,
    c.RevertCommand,
    c.RebaseBranch,
    c.OpenProposal,
    c.ReviewProposal,
    c.CloseProposal,
    c.MergeProposal,
    # Change no registry or ontology: the cached write model stays valid.
    c.RegisterDatasetVersion,
    c.DefineMapping,
    c.RecordObjectifyRun,
    c.DefinePipeline,
    c.DeployPipeline,
    c.RecordPipelineRun,
)


class CommandHandlers:
    """Routes each command type to its handler; records every rejection."""

    def __init__(
        self, store: EventStore, rejections: RejectionLog | None = None
    ) -> None:
        self.store = store
        self.model = WriteModel(store)
        self._rejections = rejections
        appender = Appender(store)
        classes = ClassHandlers(self.model, appender)
        instances = InstanceHandlers(self.model, appender)
        merges = MergeHandlers(self.model, appender)
        governance = GovernanceHandlers(self.model, appender, merges)
        self._table: dict[type, Handler] = {
            c.CreateDatabase: self._create_database,
            c.DeleteDatabase: self._delete_database,
            c.CreateBranch: self._create_branch,
            c.DeleteBranch: self._delete_branch,
            c.RegisterDatasetVersion: self._register_dataset_version,
            c.DefineMapping: self._define_mapping,
            c.RecordObjectifyRun: self._record_objectify_run,
            c.DefinePipeline: self._define_pipeline,
            c.DeployPipeline: self._deploy_pipeline,
            c.RecordPipelineRun: self._record_pipeline_run,
            **classes.table(),
            **instances.table(),
            **merges.table(),
            **governance.table(),
        }
        # Protection rules, checked before every handler (see governance/guard.py).
        self._table = _guarded(self._table, ProtectionGuard(self.model))
        self._appender = appender

    async def dispatch(self, command: c.Command, meta: CommandMeta) -> Receipt:
        nul = command_nul_error(command)
        if nul is not None:
            # Checked first, for every command, and not recorded: the stores
            # (the rejection log too) cannot hold the text as it was sent.
            raise ValidationFailed(errors=[nul], summary="text cannot contain NUL")
        try:
            stored = await self._stored_result(command, meta)
            if stored is not None:
                return stored
            return await self._handle_or_stored(command, meta)
        except DomainError as error:
            if not meta.validate_only:
                await self._record(command, meta, error)
            raise

    async def _handle_or_stored(self, command: c.Command, meta: CommandMeta) -> Receipt:
        """A client retry sent while the first request was still in flight can be
        rejected on state that first request wrote (its own update moved the seq):
        if the command id got stored meanwhile, answer as an identical retry."""
        try:
            return await self._handle_fresh(command, meta)
        except DomainError:
            stored = await self._stored_result(command, meta)
            if stored is None:
                raise
            return stored

    async def _handle_fresh(self, command: c.Command, meta: CommandMeta) -> Receipt:
        """Handles against the cached write model; if the registry moved meanwhile
        (StaleModel), or a rejection may come from a stale cache, reloads and retries."""
        handler = self._table[type(command)]
        db = _database_of(command)
        for _ in range(_STALE_RETRIES):
            try:
                receipt = await handler(command, meta)
                if not isinstance(command, _INSTANCE_COMMANDS):
                    # Our own registry change: reload the model next time.
                    self.model.invalidate(db)
                return receipt
            except StaleModel:
                self.model.invalidate(db)
            except DomainError:
                if not await self.model.refresh_if_stale(db):
                    raise
        return await handler(command, meta)

    async def _stored_result(
        self, command: c.Command, meta: CommandMeta
    ) -> Receipt | None:
        """An identical retry returns the original receipt before any validation,
        since the state it was validated against may have moved on since."""
        if not meta.client_command_id or meta.validate_only:
            return None
        stored = await self.store.find_command(meta.command_id)
        if stored is None:
            return None
        if stored.request_hash != command_fingerprint(command):
            raise IdempotencyConflict(meta.command_id)
        first = next(iter(stored.result.heads))
        return receipt_from(stored.result, first)

    async def _record(
        self, command: c.Command, meta: CommandMeta, error: DomainError
    ) -> None:
        if self._rejections is None:
            return
        await self._rejections.record_rejection(
            command_id=meta.command_id,
            db=_database_of(command),
            branch=str(getattr(command, "branch", ev.MAIN_BRANCH)),
            aggregate_id=_aggregate_hint(command, error),
            actor=meta.actor,
            error=error_payload(error),
        )

    async def _create_database(
        self, cmd: c.CreateDatabase, meta: CommandMeta
    ) -> Receipt:
        model = (
            await self.model.database(cmd.name) if _valid_db_name(cmd.name) else None
        )
        state = model.database if model else DatabaseState(name=cmd.name)
        events = decide_create_database(state, cmd)
        stream = StreamId(cmd.name, ev.MAIN_BRANCH, ev.DATABASE, cmd.name)
        appends = [StreamAppend(stream=stream, expected_seq=state.seq, events=events)]
        return await self._appender.append(
            meta, cmd, db=cmd.name, branch=ev.MAIN_BRANCH, appends=appends
        )

    async def _delete_database(
        self, cmd: c.DeleteDatabase, meta: CommandMeta
    ) -> Receipt:
        state = (await self.model.database(cmd.name)).database
        events = decide_delete_database(state, cmd)
        stream = StreamId(cmd.name, ev.MAIN_BRANCH, ev.DATABASE, cmd.name)
        appends = [StreamAppend(stream=stream, expected_seq=state.seq, events=events)]
        return await self._appender.append(
            meta, cmd, db=cmd.name, branch=ev.MAIN_BRANCH, appends=appends
        )

    async def _create_branch(self, cmd: c.CreateBranch, meta: CommandMeta) -> Receipt:
        ctx = await self.model.branch_context(cmd.db, cmd.from_branch)
        head = (await self.store.last_positions()).get(cmd.db, 0)
        events = decide_create_branch(dict(ctx.branches), cmd, head_position=head)
        stream = StreamId(cmd.db, ev.MAIN_BRANCH, ev.BRANCH, cmd.name)
        appends = [StreamAppend(stream=stream, expected_seq=0, events=events)]
        return await self._appender.append(
            meta, cmd, db=cmd.db, branch=ev.MAIN_BRANCH, appends=appends
        )

    async def _delete_branch(self, cmd: c.DeleteBranch, meta: CommandMeta) -> Receipt:
        ctx = await self.model.branch_context(cmd.db, ev.MAIN_BRANCH)
        events = decide_delete_branch(dict(ctx.branches), cmd)
        stream = StreamId(cmd.db, ev.MAIN_BRANCH, ev.BRANCH, cmd.name)
        appends = [
            StreamAppend(stream=stream, expected_seq=cmd.expected_seq, events=events)
        ]
        return await self._appender.append(
            meta, cmd, db=cmd.db, branch=ev.MAIN_BRANCH, appends=appends
        )

    async def _register_dataset_version(
        self, cmd: c.RegisterDatasetVersion, meta: CommandMeta
    ) -> Receipt:
        if not (await self.model.database(cmd.db)).database.live:
            raise NotFoundError("database", cmd.db)
        stream = StreamId(cmd.db, ev.MAIN_BRANCH, DATASET, cmd.name)
        stored = await self.store.read_stream(stream)
        events = decide_register_version([version_of(e) for e in stored], cmd)
        if not events:  # the same file again: its version, nothing appended
            return Receipt(command_id=meta.command_id, db=cmd.db,
                           aggregate_id=cmd.name, seq=len(stored),
                           first_position=0, last_position=0, duplicate=True)  # fmt: skip
        appends = [StreamAppend(stream=stream, expected_seq=len(stored), events=events)]
        return await self._appender.append(
            meta, cmd, db=cmd.db, branch=ev.MAIN_BRANCH, appends=appends
        )

    async def _define_mapping(self, cmd: c.DefineMapping, meta: CommandMeta) -> Receipt:
        spec = MappingSpec.from_input(cmd.spec)
        stream = StreamId(cmd.db, ev.MAIN_BRANCH, MAPPING, cmd.mapping_id)
        return await self._append_once(
            cmd, meta, stream, lambda stored: decide_define_mapping(stored, spec)
        )

    async def _record_objectify_run(
        self, cmd: c.RecordObjectifyRun, meta: CommandMeta
    ) -> Receipt:
        stream = StreamId(cmd.db, ev.MAIN_BRANCH, OBJECTIFY_RUN, cmd.run_id)
        return await self._append_once(
            cmd, meta, stream, lambda stored: decide_record_run(stored, cmd.outcome)
        )

    async def _define_pipeline(
        self, cmd: c.DefinePipeline, meta: CommandMeta
    ) -> Receipt:
        spec = PipelineSpec.from_input(cmd.spec)
        stream = StreamId(cmd.db, ev.MAIN_BRANCH, PIPELINE, cmd.pipeline_id)
        return await self._append_once(
            cmd, meta, stream, lambda stored: decide_define_pipeline(stored, spec)
        )

    async def _deploy_pipeline(
        self, cmd: c.DeployPipeline, meta: CommandMeta
    ) -> Receipt:
        stream = StreamId(cmd.db, ev.MAIN_BRANCH, PIPELINE, cmd.pipeline_id)
        schedule = (
            None
            if cmd.cron is None and cmd.interval_seconds is None
            else Schedule(cmd.cron, cmd.interval_seconds)
        )
        return await self._append_once(
            cmd,
            meta,
            stream,
            lambda stored: decide_deploy_pipeline(stored, schedule, cmd.depends_on),
        )

    async def _record_pipeline_run(
        self, cmd: c.RecordPipelineRun, meta: CommandMeta
    ) -> Receipt:
        stream = StreamId(cmd.db, ev.MAIN_BRANCH, PIPELINE_RUN, cmd.run_id)
        return await self._append_once(
            cmd,
            meta,
            stream,
            lambda stored: decide_record_pipeline_run(stored, cmd.record),
        )

    async def _append_once(
        self,
        cmd: c.DefineMapping
        | c.RecordObjectifyRun
        | c.DefinePipeline
        | c.DeployPipeline
        | c.RecordPipelineRun,
        meta: CommandMeta,
        stream: StreamId,
        decide: Callable[[list[EventEnvelope]], list[NewEvent]],
    ) -> Receipt:
        """Appends what `decide` makes of the stream; nothing decided: a
        duplicate receipt at the stream's head."""
        if not (await self.model.database(cmd.db)).database.live:
            raise NotFoundError("database", cmd.db)
        stored = list(await self.store.read_stream(stream))
        events = decide(stored)
        if not events:
            return Receipt(command_id=meta.command_id, db=cmd.db,
                           aggregate_id=stream.aggregate_id, seq=len(stored),
                           first_position=0, last_position=0, duplicate=True)  # fmt: skip
        appends = [StreamAppend(stream=stream, expected_seq=len(stored), events=events)]
        return await self._appender.append(
            meta, cmd, db=cmd.db, branch=ev.MAIN_BRANCH, appends=appends
        )


def _guarded(table: dict[type, Handler], guard: ProtectionGuard) -> dict[type, Handler]:
    def wrap(handler: Handler) -> Handler:
        async def checked(command: Any, meta: CommandMeta) -> Receipt:
            await guard.check(command, meta)
            return await handler(command, meta)

        return checked

    return {kind: wrap(handler) for kind, handler in table.items()}


def error_payload(error: DomainError) -> dict[str, Any]:
    """A JSON-able description of a rejection, stable enough for clients."""
    payload: dict[str, Any] = {"code": error.code, "message": error.message}
    if isinstance(error, ValidationFailed):
        payload["errors"] = [e.as_dict() for e in error.errors]
    for name in ("aggregate_id", "expected", "actual", "kind", "key"):
        if hasattr(error, name):
            payload[name] = getattr(error, name)
    return payload


def _database_of(command: c.Command) -> str:
    return str(getattr(command, "db", None) or getattr(command, "name", ""))


def _aggregate_hint(command: c.Command, error: DomainError) -> str:
    """The stream the rejected command was about, as accepted commands name it
    where known (a conflict names its stream)."""
    conflicting = getattr(error, "aggregate_id", None)
    if isinstance(conflicting, str) and conflicting:
        return conflicting
    for name in ("instance_id", "class_id", "name", "db"):
        value = getattr(command, name, None)
        if isinstance(value, str):
            return value
    return ""


def _valid_db_name(name: str) -> bool:
    return bool(DATABASE_NAME.match(name))
