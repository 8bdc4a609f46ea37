"""The authorization seam: every root field of every schema runs behind a rule.

`guard_schema` wraps the resolver (and subscriber) of each root field of a
built schema with the check of its `Rule`, so a resolver cannot be reached
without one: a root field without a rule makes building the schema fail. That
holds for the fields later features add: their rule is one line in the tables
below (or in `GENERATED_RULES` for the generated schemas).

A rule names the role needed and where its database comes from: the endpoint
(`/graphql/{db}`), an argument, every database (ADMIN), or the resolver itself
(`Scope.RESOLVER`: lists that show each caller only its databases, or commands
looked up by id) — those resolvers check `context.principal` themselves.

Denied: a mutation whose result union has PermissionError returns it; any other
field resolves to null with the error code FORBIDDEN. Each denial is recorded.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    default_field_resolver,
    get_named_type,
)

from domain.security import ALL_DATABASES, ANONYMOUS, Role
from resolvers.context import Context
from schema.results import PermissionProblem

log = logging.getLogger(__name__)

FORBIDDEN = "FORBIDDEN"


class Scope(enum.Enum):
    ENDPOINT = "endpoint"  # the database of the endpoint the request came to
    ARGUMENT = "argument"  # the database named by an argument of the field
    GLOBAL = "global"  # every database: only an ADMIN
    RESOLVER = "resolver"  # the resolver checks (any authenticated caller gets in)


@dataclass(frozen=True, slots=True)
class Rule:
    role: Role | None
    scope: Scope
    argument: str = "db"


def on_endpoint(role: Role) -> Rule:
    return Rule(role, Scope.ENDPOINT)


def on_argument(role: Role, argument: str = "db") -> Rule:
    return Rule(role, Scope.ARGUMENT, argument)


ADMIN_ONLY = Rule(Role.ADMIN, Scope.GLOBAL)
SELF_CHECKED = Rule(None, Scope.RESOLVER)

# The system schema at /graphql, by "Type.field".
SYSTEM_RULES: Mapping[str, Rule] = {
    "Query.databases": SELF_CHECKED,  # lists the caller's databases
    "Query.ontology": on_argument(Role.VIEWER),
    "Query.lint": on_argument(Role.VIEWER),
    "Query.branches": on_argument(Role.VIEWER),
    "Query.command": SELF_CHECKED,  # the command's database, once found
    "Query.commands": SELF_CHECKED,  # only the caller's databases
    "Query.deadLetters": ADMIN_ONLY,
    "Query.auditLog": SELF_CHECKED,  # OWNER of the database asked for
    "Query.auditTrail": on_argument(Role.OWNER),
    "Query.verifyAuditChain": on_argument(Role.OWNER),
    "Query.me": SELF_CHECKED,  # anyone may ask who they are
    "Query.tokens": SELF_CHECKED,  # own tokens; an ADMIN sees all
    "Query.grants": on_argument(Role.OWNER),
    "Query.accessPolicies": on_argument(Role.OWNER),
    "Query.datasets": on_argument(Role.VIEWER),
    "Query.dataset": on_argument(Role.VIEWER),
    "Query.datasetRows": on_argument(Role.VIEWER),
    "Query.suggestClass": on_argument(Role.VIEWER),
    "Query.objectifyRun": on_argument(Role.VIEWER),
    "Query.lineage": on_argument(Role.VIEWER),
    "Query.pipeline": on_argument(Role.VIEWER),
    "Query.pipelineRun": on_argument(Role.VIEWER),
    # A preview shows rows of the inputs: as datasetRows, a VIEWER read.
    "Query.previewPipeline": on_argument(Role.VIEWER),
    # Diffs and previews show stored values unmasked: policies bind roles below
    # OWNER, so these are OWNER reads, like branches are OWNER writes.
    "Query.branchDiff": on_argument(Role.OWNER),
    "Query.mergePreview": on_argument(Role.OWNER),
    # Proposal checks run a merge preview over unmasked values: EDITOR, the
    # role that may propose and review.
    "Query.proposals": on_argument(Role.EDITOR),
    "Query.proposal": on_argument(Role.EDITOR),
    "Mutation.defineMapping": on_argument(Role.DATA_ENGINEER),
    "Mutation.objectify": on_argument(Role.DATA_ENGINEER),
    "Mutation.definePipeline": on_argument(Role.DATA_ENGINEER),
    "Mutation.buildPipeline": on_argument(Role.DATA_ENGINEER),
    "Mutation.deployPipeline": on_argument(Role.DATA_ENGINEER),
    "Mutation.createDatabase": ADMIN_ONLY,
    "Mutation.deleteDatabase": on_argument(Role.OWNER, "name"),
    "Mutation.defineClass": on_argument(Role.OWNER),
    "Mutation.updateClass": on_argument(Role.OWNER),
    "Mutation.deprecateClass": on_argument(Role.OWNER),
    "Mutation.createBranch": on_argument(Role.OWNER),
    "Mutation.deleteBranch": on_argument(Role.OWNER),
    "Mutation.mergeBranch": on_argument(Role.OWNER),
    "Mutation.rebaseBranch": on_argument(Role.OWNER),
    "Mutation.revertCommand": on_argument(Role.OWNER),
    "Mutation.protectBranch": on_argument(Role.OWNER),
    # Editors propose, review and merge proposals: the target's rules (approvals
    # by others than the author) are what guards a protected branch.
    "Mutation.openProposal": on_argument(Role.EDITOR),
    "Mutation.reviewProposal": on_argument(Role.EDITOR),
    "Mutation.mergeProposal": on_argument(Role.EDITOR),
    "Mutation.closeProposal": on_argument(Role.EDITOR),
    "Mutation.redriveDeadLetter": ADMIN_ONLY,
    "Mutation.createToken": SELF_CHECKED,  # grants at most the caller's roles
    "Mutation.revokeToken": SELF_CHECKED,  # its creator, or an ADMIN
    "Mutation.grantRole": on_argument(Role.OWNER),  # and never above one's own
    "Mutation.revokeRole": on_argument(Role.OWNER),
    "Mutation.setAccessPolicy": on_argument(Role.OWNER),
    "Mutation.uploadDataset": on_argument(Role.DATA_ENGINEER),
    "Subscription.commandStatus": SELF_CHECKED,  # the command's database
    "Subscription.progress": SELF_CHECKED,  # the run's database
}

# Every generated schema (/graphql/{db}[/{branch}]): reads need VIEWER and
# instance writes EDITOR on the endpoint's database.
GENERATED_RULES: Mapping[str, Rule] = {
    "Query": on_endpoint(Role.VIEWER),
    "Mutation": on_endpoint(Role.EDITOR),
    "Subscription": on_endpoint(Role.VIEWER),
}

Denial = Callable[[Context, str, str, str], Awaitable[None]]  # context, what, why, db


class UnguardedField(Exception):
    """A root field has no rule: add one to the tables of app/security/seam.py."""


@dataclass(frozen=True, slots=True)
class Denied:
    message: str
    db: str  # whose audit chain records it ("" or "*": the system's)


def required(rule: Rule, context: Context, args: Mapping[str, Any]) -> Denied | None:
    """Why `context.principal` may not run a field under `rule` (None: it may)."""
    principal = context.principal
    if principal is ANONYMOUS:  # never authenticated: nothing runs
        return Denied("Authentication required.", context.db)
    if rule.role is None:
        return None
    if rule.scope is Scope.GLOBAL:
        db = ALL_DATABASES
    elif rule.scope is Scope.ENDPOINT:
        db = context.db
    else:
        value = args.get(rule.argument)
        db = value if isinstance(value, str) else ALL_DATABASES
    if principal.may(rule.role, db):
        return None
    where = "every database" if db == ALL_DATABASES else f"database {db!r}"
    return Denied(f"{rule.role.name} role required on {where}.", db)


def guard_schema(
    schema: GraphQLSchema,
    rule_of: Callable[[str, str], Rule | None],
    on_denied: Denial,
) -> GraphQLSchema:
    """Wraps every root field of `schema` (in place) with its rule's check."""
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is None:
            continue
        for name, field in root.fields.items():
            rule = rule_of(root.name, name)
            if rule is None:
                raise UnguardedField(f"{root.name}.{name} has no authorization rule")
            _guard_field(root, name, field, rule, on_denied)
    return schema


def system_rule(type_name: str, field_name: str) -> Rule | None:
    return SYSTEM_RULES.get(f"{type_name}.{field_name}")


def generated_rule(type_name: str, field_name: str) -> Rule | None:
    del field_name  # one rule per root type: every field of it is alike
    return GENERATED_RULES.get(type_name)


def _guard_field(
    root: GraphQLObjectType,
    name: str,
    field: GraphQLField,
    rule: Rule,
    on_denied: Denial,
) -> None:
    what = f"{root.name}.{name}"
    resolve = field.resolve or default_field_resolver
    refusal = _refusal(field)

    # Positional-only: a field may have an argument named `source` (mergeBranch).
    def guarded(source: Any, info: Any, /, **args: Any) -> Any:
        denied = required(rule, info.context, args)
        if denied is None:
            return resolve(source, info, **args)
        return _denied(info.context, what, denied, on_denied, refusal)

    field.resolve = guarded
    if field.subscribe is not None:
        subscribe = field.subscribe

        def guarded_subscribe(source: Any, info: Any, /, **args: Any) -> Any:
            denied = required(rule, info.context, args)
            if denied is None:
                return subscribe(source, info, **args)
            return _denied_subscription(info.context, what, denied, on_denied)

        field.subscribe = guarded_subscribe


def _refusal(field: GraphQLField) -> Callable[[Denied], Any]:
    named = get_named_type(field.type)
    offers_permission_error = isinstance(named, GraphQLUnionType) and any(
        t.name == "PermissionError" for t in named.types
    )

    def refuse(denied: Denied) -> Any:
        if offers_permission_error:
            return PermissionProblem(message=denied.message)
        raise GraphQLError(denied.message, extensions={"code": FORBIDDEN})

    return refuse


async def _denied(
    context: Context,
    what: str,
    denied: Denied,
    on_denied: Denial,
    refuse: Callable[[Denied], Any],
) -> Any:
    await on_denied(context, what, denied.message, denied.db)
    return refuse(denied)


async def _denied_subscription(
    context: Context, what: str, denied: Denied, on_denied: Denial
) -> Any:
    """Awaited by graphql-core's subscribe: the error becomes the result."""
    await on_denied(context, what, denied.message, denied.db)
    raise GraphQLError(denied.message, extensions={"code": FORBIDDEN})
