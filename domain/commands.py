"""Commands: imperative requests, each handled by the function of the same name."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from domain.events import MAIN_BRANCH


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandMeta:
    """Who asks, under which id, and whether it is only a dry run."""

    command_id: str
    actor: str = "anonymous"
    correlation_id: str | None = None
    causation_id: str | None = None
    validate_only: bool = False
    # True when the client chose the id: only then can a request be a retry.
    client_command_id: bool = False
    # Operational context stored with every event of the command, never used by
    # decisions: `request_id`, W3C `traceparent` and `tracestate`, so that an
    # audit line or a projection's span can be tied back to the request.
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateDatabase:
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteDatabase:
    name: str
    expected_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateBranch:
    db: str
    name: str
    from_branch: str = MAIN_BRANCH
    at_position: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteBranch:
    db: str
    name: str
    expected_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DefineClass:
    db: str
    branch: str = MAIN_BRANCH
    definition: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateClass:
    """Replaces the given top-level fields of a class definition."""

    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    patch: Mapping[str, Any]
    expected_seq: int
    migration_plan: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeprecateClass:
    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    expected_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AddProperty:
    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    property: Mapping[str, Any]
    expected_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeProperty:
    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    property: Mapping[str, Any]
    expected_seq: int
    migration_plan: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveProperty:
    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    name: str
    expected_seq: int
    migration_plan: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddRelationship:
    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    relationship: Mapping[str, Any]
    expected_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveRelationship:
    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    predicate: str
    expected_seq: int
    migration_plan: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateInstance:
    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateInstance:
    """A patch: an absent key is unchanged, an explicit None clears the value."""

    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    instance_id: str
    patch: Mapping[str, Any]
    expected_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteInstance:
    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    instance_id: str
    expected_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateInstances:
    """Bulk create: atomic, every instance or none."""

    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    items: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    # Set only by a server-side writer (objectify) whose items are the results of
    # `validate_instance` against this ontology version: while the branch is still
    # at that version the handler does not validate them a second time.
    validated_at: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UpsertInstances:
    """Bulk create-or-patch by primary key: atomic, every instance or none."""

    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    items: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteInstances:
    """Bulk delete: atomic, every instance or none. `expected_seqs` maps each
    instance id to the seq its deleter last saw (optimistic concurrency)."""

    db: str
    branch: str = MAIN_BRANCH
    class_id: str
    expected_seqs: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterDatasetVersion:
    """Records an ingested file (already in the blob store) as a dataset version."""

    db: str
    name: str
    version_id: str
    content_hash: str
    blob_key: str
    row_count: int
    format: str
    filename: str
    columns: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class DefineMapping:
    """A new version of an objectify mapping (validated by the caller against
    the ontology and the dataset's columns)."""

    db: str
    mapping_id: str
    spec: Mapping[str, Any] = field(default_factory=dict)  # MappingInput, GraphQL names


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordObjectifyRun:
    """The outcome of an objectify run (its instance writes are commands of their own)."""

    db: str
    run_id: str
    outcome: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DefinePipeline:
    """A new version of a pipeline (validated by the caller: schemas, expressions)."""

    db: str
    pipeline_id: str
    # PipelineInput, GraphQL names
    spec: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployPipeline:
    """A pipeline's schedule and dependencies (validated by the caller); with
    neither, the pipeline is undeployed."""

    db: str
    pipeline_id: str
    cron: str | None = None
    interval_seconds: int | None = None
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordPipelineRun:
    """A pipeline run's start (RUNNING) or outcome (SUCCEEDED or FAILED)."""

    db: str
    run_id: str
    record: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeBranch:
    """Brings what `source` changed since its merge base with `target` into
    `target`. `strategy` is FAIL, SOURCE or TARGET; each resolution maps
    class_id, id, field and either take (SOURCE/TARGET) or value."""

    db: str
    source: str
    target: str = MAIN_BRANCH
    strategy: str = "FAIL"
    resolutions: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    @property
    def branch(self) -> str:
        """The branch the merge writes (command status and rejections show it)."""
        return self.target


# --- rebase, revert, protection and proposals (SPEC §5.1) --------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RebaseBranch:
    """Replays what `branch` changed since its merge base with its parent `onto`
    onto the parent's current head. Strategy and resolutions as for MergeBranch,
    with the branch as the source side and `onto` as the target side."""

    db: str
    branch: str
    onto: str = MAIN_BRANCH
    strategy: str = "FAIL"
    resolutions: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class RevertCommand:
    """Appends compensating events for the instance changes of `command_id`."""

    db: str
    command_id: str  # the command to revert (the revert has its own id)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtectBranch:
    """Sets (replaces) the protection rules of a branch; all off unprotects it."""

    db: str
    name: str
    require_proposal: bool = False
    required_approvals: int = 0
    require_reason: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenProposal:
    db: str
    proposal_id: str
    source: str
    target: str = MAIN_BRANCH
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewProposal:
    """`decision` is APPROVE, REJECT or REQUEST_CHANGES; the reviewer is the actor."""

    db: str
    proposal_id: str
    decision: str
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeProposal:
    """Merges an open proposal whose checks pass: the only way into a branch
    protected with require_proposal."""

    db: str
    proposal_id: str
    strategy: str = "FAIL"


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseProposal:
    db: str
    proposal_id: str
    reason: str | None = None


Command = (
    CreateDatabase
    | DeleteDatabase
    | CreateBranch
    | DeleteBranch
    | DefineClass
    | UpdateClass
    | DeprecateClass
    | AddProperty
    | ChangeProperty
    | RemoveProperty
    | AddRelationship
    | RemoveRelationship
    | CreateInstance
    | UpdateInstance
    | DeleteInstance
    | CreateInstances
    | UpsertInstances
    | DeleteInstances
    | RegisterDatasetVersion
    | DefineMapping
    | RecordObjectifyRun
    | DefinePipeline
    | DeployPipeline
    | RecordPipelineRun
    | MergeBranch
    | RebaseBranch
    | RevertCommand
    | ProtectBranch
    | OpenProposal
    | ReviewProposal
    | MergeProposal
    | CloseProposal
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """What a handled command returns: where its events landed."""

    command_id: str
    db: str
    aggregate_id: str
    seq: int
    first_position: int
    last_position: int
    duplicate: bool = False
    validated_only: bool = False


def command_fingerprint(command: Command) -> str:
    """A stable hash of a command's type and payload: equal requests, equal hash."""
    # Field values are JSON-like already; no deep copy (asdict) on bulk commands.
    fields_ = {f.name: getattr(command, f.name) for f in fields(command)}
    payload = {"type": type(command).__name__, "fields": fields_}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
