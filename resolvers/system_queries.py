"""Query resolvers of the system schema."""

from __future__ import annotations

import strawberry

from domain.errors import NotFoundError
from domain.events import MAIN_BRANCH
from domain.ontology import lint as lint_ontology
from domain.security import ALL_DATABASES, Role
from domain.write_model import BranchContext
from projections.views import CommandFilter
from resolvers import converters
from resolvers.context import Context
from resolvers.denials import forbidden
from resolvers.errors import RequestError
from resolvers.plain import to_plain
from schema import types
from schema.inputs import CommandWhere
from schema.scalars import DateTime

Info = strawberry.Info[Context, None]
MAX_LIST = 1000


async def branch_context(ctx: Context, db: str, branch: str) -> BranchContext:
    """The write model's view of (db, branch); unknown ones are a NOT_FOUND error."""
    try:
        await ctx.ports.ontologies.refresh_if_stale(db)
        return await ctx.ports.ontologies.branch_context(db, branch)
    except NotFoundError as error:
        raise RequestError(error.message, code="NOT_FOUND") from error


def _bounded(first: int, *, limit: int = MAX_LIST) -> int:
    if not 0 <= first <= limit:
        raise RequestError(f"first must be between 0 and {limit}")
    return first


async def databases(info: Info) -> list[types.Database]:
    """The databases the caller holds a role in (all of them for an ADMIN)."""
    principal = info.context.principal
    return [
        converters.database(r)
        for r in await info.context.ports.catalog.databases()
        if principal.may(Role.VIEWER, r.name)
    ]


async def ontology(
    info: Info, db: str, branch: str | None = MAIN_BRANCH, lang: str | None = None
) -> types.Ontology:
    branch = branch or MAIN_BRANCH
    ctx = await branch_context(info.context, db, branch)
    language = lang or info.context.language
    classes = [
        converters.ontology_class(c, seq=ctx.class_seqs.get(c.id, 0), lang=language)
        for c in sorted(ctx.ontology.classes.values(), key=lambda c: c.id)
    ]
    return types.Ontology(
        db=db, branch=branch, version=ctx.ontology_version, classes=classes
    )


async def lint(
    info: Info, db: str, branch: str | None = MAIN_BRANCH
) -> list[types.LintIssue]:
    ctx = await branch_context(info.context, db, branch or MAIN_BRANCH)
    return [converters.lint_issue(i) for i in lint_ontology(ctx.ontology)]


async def branches(info: Info, db: str) -> list[types.Branch]:
    ctx = await branch_context(info.context, db, MAIN_BRANCH)
    records = [
        converters.branch(r) for r in await info.context.ports.catalog.branches(db)
    ]
    if any(b.name == MAIN_BRANCH for b in records):
        return records
    # main is implied by the database itself, not created by a branch event.
    main = types.Branch(
        db=db,
        name=MAIN_BRANCH,
        parent=None,
        fork_position=None,
        seq=ctx.database.seq,
        created_at=None,
    )
    return [main, *records]


async def command(info: Info, id: strawberry.ID) -> types.Command | None:
    """Null for an unknown command and for one of a database the caller has no
    role in (which is not told apart from unknown)."""
    status = await info.context.ports.status.status(str(id))
    if status is None or not info.context.principal.may(Role.VIEWER, status.db):
        return None
    return converters.command(status)


async def commands(
    info: Info,
    where: CommandWhere | None = None,
    db: str | None = None,
    first: int = 50,
) -> list[types.Command]:
    """Newest first; `db` is a shorthand for `where: {db: ...}`."""
    chosen = to_plain(where) if where is not None else {}
    states = frozenset(chosen.get("status") or ())
    db = chosen.get("db") or db
    await _require(info, Role.VIEWER, db, "commands")
    condition = CommandFilter(
        db=db,
        branch=chosen.get("branch"),
        aggregate_id=chosen.get("aggregate_id"),
        actor=chosen.get("actor"),
        states=states,
    )
    recent = await info.context.ports.status.recent(
        where=condition, limit=_bounded(first)
    )
    return [converters.command(s) for s in recent]


async def _require(info: Info, role: Role, db: str | None, what: str) -> None:
    """Lists across databases are for an ADMIN; anyone else names a database
    they hold `role` in."""
    principal = info.context.principal
    if principal.may(role, db or ALL_DATABASES):
        return
    if db is None:
        message = f"{what}: name a database (db); only an ADMIN lists across databases"
    else:
        message = f"{what}: {role.name} role required on {db!r}"
    raise await forbidden(info.context, db, what, message)


async def dead_letters(
    info: Info, consumer: str | None = None, status: str | None = None
) -> list[types.DeadLetter]:
    letters = await info.context.ports.consumers.dead_letters(consumer, status=status)
    return [converters.dead_letter(d) for d in letters]


async def audit_log(
    info: Info,
    db: str | None = None,
    actor: str | None = None,
    aggregate_id: str | None = None,
    since: DateTime | None = None,
    until: DateTime | None = None,
    first: int = 100,
) -> list[types.AuditEntry]:
    await _require(info, Role.OWNER, db, "auditLog")
    entries = await info.context.ports.audit.entries(
        db=db,
        actor=actor,
        aggregate_id=aggregate_id,
        since=since,
        until=until,
        limit=_bounded(first),
    )
    return [converters.audit_entry(e) for e in entries]
