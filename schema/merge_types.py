"""Types of branch diffs and merges (SPEC §5.1): connection, preview, results."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from schema.results import (
    CommandState,
    ConflictError,
    NotFoundError,
    PermissionProblem,
    ValidationError,
)
from schema.scalars import JSON


@strawberry.enum(description="How an object changed since the merge base.")
class ChangeKind(Enum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


@strawberry.enum(
    description="On conflict: fail, take the source's value, keep the target's."
)
class MergeStrategy(Enum):
    FAIL = "FAIL"
    SOURCE = "SOURCE"
    TARGET = "TARGET"


@strawberry.enum
class MergeSide(Enum):
    SOURCE = "SOURCE"
    TARGET = "TARGET"


@strawberry.enum(
    description="Both sides changed a field, or one deleted what the other changed."
)
class ConflictKind(Enum):
    UPDATE_UPDATE = "UPDATE_UPDATE"
    DELETE_UPDATE = "DELETE_UPDATE"


@strawberry.input(
    description="Decides one conflicting field: take a side, or give a value (null clears it)."
)
class ConflictResolution:
    class_id: strawberry.ID
    id: strawberry.ID
    field: str
    take: MergeSide | None = strawberry.UNSET
    value: JSON | None = strawberry.UNSET


@strawberry.type
class FieldDiff:
    name: str
    from_: JSON | None = strawberry.field(name="from")
    to: JSON | None


@strawberry.type(
    description=(
        "One object or class member the `to` branch changed since the merge base. "
        "For an instance: classId and its id. For the ontology: classId is the class "
        "and id the member, `@class` (the class's own fields), `@property.<name>` or "
        "`@relationship.<predicate>`; fields are the member's (type, required, ...). "
        "Class changes come first. Conflicts and resolutions name members alike."
    )
)
class ObjectDiff:
    class_id: strawberry.ID
    id: strawberry.ID
    change: ChangeKind
    fields: list[FieldDiff]


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class BranchDiffEdge:
    cursor: str
    node: ObjectDiff


@strawberry.type(
    description="Changed class members, then changed objects ordered by class root and id; cursors stay valid as the branches move."
)
class BranchDiffConnection:
    edges: list[BranchDiffEdge]
    nodes: list[ObjectDiff]
    page_info: PageInfo
    total_count: int


@strawberry.type(
    description="A field of a conflict; the deleting side's value is null."
)
class ConflictField:
    name: str
    base: JSON | None
    source: JSON | None
    target: JSON | None


@strawberry.type(
    description="An object in conflict, or a class member (id `@class`, `@property.<name>`, `@relationship.<predicate>`)."
)
class MergeConflict:
    class_id: strawberry.ID
    id: strawberry.ID
    kind: ConflictKind
    fields: list[ConflictField]


@strawberry.type
class MergeCheck:
    name: str
    passed: bool
    message: str


@strawberry.type(description="What a merge would do now; nothing is written.")
class MergePreview:
    mergeable: bool
    changes: int = strawberry.field(
        description="Classes and objects the merge changes on the target, conflicts decided for the target."
    )
    conflicts: list[MergeConflict]
    checks: list[MergeCheck]


@strawberry.type(description="The merge was appended to the target as one command.")
class MergeReceipt:
    command_id: strawberry.ID
    merged: int = strawberry.field(
        description="Classes and objects the merge changed on the target."
    )
    seq: int = strawberry.field(
        description="The merge's number among merges of this source into the target."
    )
    status: CommandState
    position: int | None = None
    duplicate: bool = False


@strawberry.type(
    description="Both sides changed the same objects; nothing was written."
)
class MergeConflictError:
    message: str
    conflicts: list[MergeConflict]


MergeResult = Annotated[
    MergeReceipt
    | MergeConflictError
    | ValidationError
    | NotFoundError
    | PermissionProblem
    | ConflictError,
    strawberry.union("MergeResult"),
]
