"""The system schema at /graphql: databases, ontology, branches, commands, audit.

Its root types bind the resolvers of `resolvers/` to the strawberry types of
`schema/`, so it lives with the rest of the wiring in the composition root.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.schema.config import StrawberryConfig

from resolvers import (
    audit,
    merges,
    objectify_api,
    pipeline_deploy,
    pipeline_runs,
    pipelines,
    security,
    subscriptions,
    suggestions,
    system_mutations,
    system_queries,
)
from resolvers import datasets as dataset_resolvers
from resolvers import lineage as lineage_resolvers
from resolvers import progress as progress_resolvers
from resolvers import proposals as proposal_resolvers
from resolvers import revert as revert_resolvers
from resolvers.context import Context
from schema.dataplane_types import (
    DATAPLANE_SCALARS,
    ClassSuggestion,
    Dataset,
    DatasetRowConnection,
    DatasetVersionResult,
    LineageGraph,
    MappingResult,
    ObjectifyResult,
    ObjectifyRun,
    Progress,
)
from schema.governance_types import Proposal, ProposalResult
from schema.merge_types import BranchDiffConnection, MergePreview, MergeResult
from schema.pipeline_types import (
    Pipeline,
    PipelinePreview,
    PipelineResult,
    PipelineRun,
    PipelineRunResult,
)
from schema.results import CommandResult
from schema.scalars import SCALAR_MAP
from schema.security_types import (
    AccessPolicy,
    Me,
    PrincipalGrant,
    TokenInfo,
    TokenResult,
)
from schema.types import (
    AuditChainReport,
    AuditEntry,
    AuditRecord,
    Branch,
    Command,
    CommandStatusEvent,
    Database,
    DeadLetter,
    LintIssue,
    Ontology,
)

Info = strawberry.Info[Context, None]


@strawberry.type
class Query:
    databases: list[Database] = strawberry.field(resolver=system_queries.databases)
    ontology: Ontology = strawberry.field(
        resolver=system_queries.ontology,
        description="Classes of a branch; labels in `lang` or Accept-Language.",
    )
    lint: list[LintIssue] = strawberry.field(resolver=system_queries.lint)
    branches: list[Branch] = strawberry.field(resolver=system_queries.branches)
    command: Command | None = strawberry.field(resolver=system_queries.command)
    commands: list[Command] = strawberry.field(resolver=system_queries.commands)
    dead_letters: list[DeadLetter] = strawberry.field(
        resolver=system_queries.dead_letters
    )
    audit_log: list[AuditEntry] = strawberry.field(resolver=system_queries.audit_log)
    verify_audit_chain: AuditChainReport = strawberry.field(
        resolver=audit.verify_audit_chain
    )
    audit_trail: list[AuditRecord] = strawberry.field(resolver=audit.audit_trail)
    me: Me = strawberry.field(resolver=security.me, description="Who is asking.")
    tokens: list[TokenInfo] = strawberry.field(
        resolver=security.tokens,
        description="API tokens the caller created (every token for an ADMIN).",
    )
    grants: list[PrincipalGrant] = strawberry.field(resolver=security.grants)
    access_policies: list[AccessPolicy] = strawberry.field(
        resolver=security.access_policies
    )
    datasets: list[Dataset] = strawberry.field(resolver=dataset_resolvers.datasets)
    dataset: Dataset | None = strawberry.field(resolver=dataset_resolvers.dataset)
    dataset_rows: DatasetRowConnection = strawberry.field(
        resolver=dataset_resolvers.dataset_rows,
        description="A version's rows as JSON objects.",
    )
    suggest_class: ClassSuggestion = strawberry.field(
        resolver=suggestions.suggest_class,
        description="A ClassInput for a dataset version, with relationship candidates.",
    )
    objectify_run: ObjectifyRun | None = strawberry.field(
        resolver=objectify_api.objectify_run
    )
    pipeline: Pipeline | None = strawberry.field(resolver=pipeline_deploy.pipeline)
    preview_pipeline: PipelinePreview = strawberry.field(
        resolver=pipelines.preview_pipeline,
        description="A node's rows over a sample of each input (cached by definition).",
    )
    pipeline_run: PipelineRun | None = strawberry.field(
        resolver=pipeline_runs.pipeline_run
    )
    lineage: LineageGraph = strawberry.field(
        resolver=lineage_resolvers.lineage,
        description="Where a node's data came from and went (edges point downstream).",
    )
    branch_diff: BranchDiffConnection = strawberry.field(
        resolver=merges.branch_diff,
        description="What `to` changed since its merge base with `from` (from...to).",
    )
    merge_preview: MergePreview = strawberry.field(resolver=merges.merge_preview)
    proposals: list[Proposal] = strawberry.field(
        resolver=proposal_resolvers.proposals,
        description="Proposals of a database, newest first; `status` filters.",
    )
    proposal: Proposal | None = strawberry.field(resolver=proposal_resolvers.proposal)


@strawberry.type
class Mutation:
    create_database: CommandResult = strawberry.field(
        resolver=system_mutations.create_database
    )
    delete_database: CommandResult = strawberry.field(
        resolver=system_mutations.delete_database
    )
    define_class: CommandResult = strawberry.field(
        resolver=system_mutations.define_class
    )
    update_class: CommandResult = strawberry.field(
        resolver=system_mutations.update_class
    )
    deprecate_class: CommandResult = strawberry.field(
        resolver=system_mutations.deprecate_class
    )
    create_branch: CommandResult = strawberry.field(
        resolver=system_mutations.create_branch
    )
    delete_branch: CommandResult = strawberry.field(
        resolver=system_mutations.delete_branch
    )
    merge_branch: MergeResult = strawberry.field(
        resolver=merges.merge_branch,
        description="Brings what `source` changed since the merge base into `target`.",
    )
    rebase_branch: MergeResult = strawberry.field(
        resolver=merges.rebase_branch,
        description="Replays `branch`'s changes onto the head of its parent `onto`.",
    )
    revert_command: CommandResult = strawberry.field(
        resolver=revert_resolvers.revert_command,
        description="Appends compensating events for a command's instance changes.",
    )
    protect_branch: CommandResult = strawberry.field(
        resolver=proposal_resolvers.protect_branch
    )
    open_proposal: ProposalResult = strawberry.field(
        resolver=proposal_resolvers.open_proposal
    )
    review_proposal: ProposalResult = strawberry.field(
        resolver=proposal_resolvers.review_proposal
    )
    merge_proposal: MergeResult = strawberry.field(
        resolver=proposal_resolvers.merge_proposal,
        description="Merges an open proposal whose checks pass.",
    )
    close_proposal: ProposalResult = strawberry.field(
        resolver=proposal_resolvers.close_proposal
    )
    redrive_dead_letter: bool = strawberry.field(
        resolver=system_mutations.redrive_dead_letter
    )
    create_token: TokenResult = strawberry.field(
        resolver=security.create_token,
        description="A new API token; its secret is in this answer only.",
    )
    revoke_token: TokenInfo = strawberry.field(resolver=security.revoke_token)
    grant_role: PrincipalGrant = strawberry.field(resolver=security.grant_role)
    revoke_role: bool = strawberry.field(resolver=security.revoke_role)
    set_access_policy: AccessPolicy | None = strawberry.field(
        resolver=security.set_access_policy,
        description="Row filter and column masks of a class for a role; "
        "neither removes the policy.",
    )
    upload_dataset: DatasetVersionResult = strawberry.field(
        resolver=dataset_resolvers.upload_dataset,
        description="A file (multipart request) as a new immutable dataset version.",
    )
    define_mapping: MappingResult = strawberry.field(
        resolver=objectify_api.define_mapping,
        description="A new version of a mapping (the same spec again: the same version).",
    )
    objectify: ObjectifyResult = strawberry.field(
        resolver=objectify_api.objectify,
        description="Writes a dataset version's rows as instances through the gates.",
    )
    define_pipeline: PipelineResult = strawberry.field(
        resolver=pipelines.define_pipeline,
        description="A new version of a pipeline, validated before it is stored.",
    )
    build_pipeline: PipelineRunResult = strawberry.field(
        resolver=pipeline_runs.build_pipeline,
        description="Each output as a new dataset version, if every check passes.",
    )
    deploy_pipeline: PipelineResult = strawberry.field(
        resolver=pipeline_deploy.deploy_pipeline,
        description="Builds on a schedule (cron or interval) and when a pipeline it "
        "depends on or an input gets a new version; neither given: undeploys.",
    )


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def command_status(
        self, info: Info, command_id: strawberry.ID
    ) -> AsyncGenerator[CommandStatusEvent, None]:
        async for event in subscriptions.command_status(info, command_id):
            yield event

    @strawberry.subscription  # a run's stage and counts as it goes, until it ends
    async def progress(
        self, info: Info, run_id: strawberry.ID
    ) -> AsyncGenerator[Progress, None]:
        async for state in progress_resolvers.progress(info, run_id):
            yield state


def build_system_schema() -> strawberry.Schema:
    """The strawberry schema; app/graphql runs it (limits, caches, masking)."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map={**SCALAR_MAP, **DATAPLANE_SCALARS}),
    )
