"""Branch diff, merge preview and merge (SPEC §5.1) over the system schema."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from typing import Annotated, TypeVar

import strawberry

from domain import commands as c
from domain.commands import CommandMeta, Receipt
from domain.errors import DomainError, NotFoundError, ValidationFailed
from domain.errors import FieldError as DomainFieldError
from domain.events import MAIN_BRANCH
from domain.ids import COMMAND_ID, new_command_id
from domain.merge import queries
from domain.merge.diff import ObjectChange
from domain.merge.three_way import Conflict, MergeConflict
from resolvers.commands import error_result, receipt_result, validation_error
from resolvers.context import Context
from resolvers.errors import RequestError
from resolvers.instances.pagination import decode, encode, page_size
from resolvers.plain import to_plain
from schema import merge_types as m
from schema.results import CommandReceipt, CommandStage

Info = strawberry.Info[Context, None]
T = TypeVar("T")
_CURSOR = "d"  # a diff cursor holds the object's stream id: stable as branches move


async def branch_diff(
    info: Info,
    db: str,
    from_: Annotated[str, strawberry.argument(name="from")],
    to: str,
    classes: list[strawberry.ID] | None = None,
    first: int | None = None,
    after: str | None = None,
) -> m.BranchDiffConnection:
    """What `to` changed since its merge base with `from` (git's from...to).

    Every page computes the whole diff and cuts it by stream id (the cursor):
    simple and stable, ~1.5 s for 10,000 changed objects (bench/merge.py)."""
    ctx = info.context
    size = page_size(ctx, first)
    start = decode(after, _CURSOR)
    changes = await _queried(
        queries.branch_diff(
            ctx.ports.ontologies, ctx.ports.store, db, from_=from_, to=to
        )
    )
    if classes is not None:
        wanted = await _with_subclasses(ctx, db, (from_, to), classes)
        changes = [x for x in changes if x.class_id in wanted]
    rest = [x for x in changes if start is None or x.key > start]
    edges = [
        m.BranchDiffEdge(cursor=encode(_CURSOR, x.key), node=_node(x))
        for x in rest[:size]
    ]
    info_ = m.PageInfo(
        has_next_page=len(rest) > size,
        has_previous_page=start is not None,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return m.BranchDiffConnection(
        edges=edges,
        nodes=[e.node for e in edges],
        page_info=info_,
        total_count=len(changes),
    )


async def merge_preview(
    info: Info, db: str, source: str, target: str | None = MAIN_BRANCH
) -> m.MergePreview:
    ctx = info.context
    preview = await _queried(
        queries.merge_preview(
            ctx.ports.ontologies,
            ctx.ports.store,
            db,
            source=source,
            target=target or MAIN_BRANCH,
        )
    )
    return m.MergePreview(
        mergeable=preview.mergeable,
        changes=preview.changes,
        conflicts=[
            _conflict(x.conflict, preview.classes)
            for x in preview.conflicts
            if x.conflict is not None
        ],
        checks=[
            m.MergeCheck(name=x.name, passed=x.passed, message=x.message)
            for x in preview.checks
        ],
    )


async def merge_branch(
    info: Info,
    db: str,
    source: str,
    target: str | None = MAIN_BRANCH,
    strategy: m.MergeStrategy | None = m.MergeStrategy.FAIL,
    resolutions: list[m.ConflictResolution] | None = None,
    command_id: strawberry.ID | None = None,
    wait: CommandStage | None = None,
) -> m.MergeResult:
    if command_id is not None and not COMMAND_ID.match(command_id):
        problem = DomainFieldError(
            ("commandId",), "invalid_command_id", "use 1 to 200 of A-Z a-z 0-9 _ : . -"
        )
        return validation_error("invalid command id", [problem])
    command = c.MergeBranch(
        db=db,
        source=source,
        target=target or MAIN_BRANCH,
        strategy=(strategy or m.MergeStrategy.FAIL).value,
        resolutions=tuple(to_plain(r) for r in resolutions or ()),
    )
    return await run_merge(info.context, command, command_id=command_id, wait=wait)


async def rebase_branch(
    info: Info,
    db: str,
    branch: str,
    onto: str | None = MAIN_BRANCH,
    strategy: m.MergeStrategy | None = m.MergeStrategy.FAIL,
    resolutions: list[m.ConflictResolution] | None = None,
    wait: CommandStage | None = None,
) -> m.MergeResult:
    """Replays `branch`'s changes since its merge base onto the head of its
    parent `onto`; conflicts read as in a merge of `branch` into `onto`."""
    command = c.RebaseBranch(
        db=db,
        branch=branch,
        onto=onto or MAIN_BRANCH,
        strategy=(strategy or m.MergeStrategy.FAIL).value,
        resolutions=tuple(to_plain(r) for r in resolutions or ()),
    )
    return await run_merge(info.context, command, wait=wait)


async def run_merge(
    ctx: Context,
    command: c.Command,
    *,
    command_id: str | None = None,
    wait: CommandStage | None = None,
    records: int = 1,
) -> m.MergeResult:
    """Dispatches a command that merges (merge, rebase, a proposal's merge) and
    maps its outcome onto MergeResult; `records` counts the events it appends
    besides the merged objects."""
    meta = CommandMeta(
        command_id=command_id or new_command_id(),
        actor=ctx.actor,
        client_command_id=command_id is not None,
    )
    try:
        receipt = await ctx.ports.dispatcher.dispatch(command, meta)
    except DomainError as error:
        return _refusal(error)
    return await _merge_receipt(ctx, receipt, wait, records)


def _refusal(error: DomainError) -> m.MergeResult:
    if isinstance(error, MergeConflict):
        return m.MergeConflictError(
            message=error.message,
            conflicts=[_conflict(x, error.classes) for x in error.conflicts],
        )
    refusal = error_result(error)
    if isinstance(refusal, CommandReceipt):  # pragma: no cover - errors only
        raise TypeError("an error cannot become a receipt") from error
    return refusal


async def _merge_receipt(
    ctx: Context, receipt: Receipt, wait: CommandStage | None, records: int = 1
) -> m.MergeReceipt:
    settled = await receipt_result(ctx, receipt, wait)
    return m.MergeReceipt(
        command_id=settled.command_id,
        # The merge record, then one event per merged object, at consecutive
        # positions (one atomic batch): the positions count the objects.
        merged=receipt.last_position - receipt.first_position + 1 - records,
        seq=receipt.seq,
        status=settled.status,
        position=settled.position,
        duplicate=settled.duplicate,
    )


async def _queried(work: Awaitable[T]) -> T:
    """A read's expected failures as request errors: unknown names are NOT_FOUND,
    a merge that makes no sense is BAD_USER_INPUT (with the input at fault)."""
    try:
        return await work
    except NotFoundError as error:
        raise RequestError(error.message, code="NOT_FOUND") from error
    except ValidationFailed as error:
        fields = [{"path": list(e.path), "code": e.code} for e in error.errors]
        raise RequestError(error.message, details={"errors": fields}) from error


async def _with_subclasses(
    ctx: Context, db: str, branches: Sequence[str], classes: Sequence[str]
) -> set[str]:
    """The classes named and their subclasses, as either branch defines them."""
    found: set[str] = set()
    for branch in branches:
        ontology = (await ctx.ports.ontologies.branch_context(db, branch)).ontology
        found.update(
            s for k in classes if k in ontology for s in ontology.subclasses(k)
        )
    unknown = sorted(set(classes) - found)
    if unknown:
        raise RequestError(f"unknown classes: {', '.join(unknown)}", code="NOT_FOUND")
    return found


def _node(change: ObjectChange) -> m.ObjectDiff:
    return m.ObjectDiff(
        class_id=strawberry.ID(change.class_id),
        id=strawberry.ID(change.instance_id),
        change=m.ChangeKind(change.kind.value),
        fields=[
            m.FieldDiff(name=f.name, from_=f.before, to=f.after) for f in change.fields
        ],
    )


def _conflict(conflict: Conflict, classes: Mapping[str, str]) -> m.MergeConflict:
    root, _, instance_id = conflict.key.partition("/")
    return m.MergeConflict(
        class_id=strawberry.ID(classes.get(conflict.key, root)),
        id=strawberry.ID(instance_id),
        kind=m.ConflictKind(conflict.kind.value),
        fields=[
            m.ConflictField(name=f.name, base=f.base, source=f.source, target=f.target)
            for f in conflict.fields
        ],
    )
