"""Domain errors: expected business outcomes carried as structured data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation problem: where (property path), what (stable code), and why."""

    path: tuple[str, ...]
    code: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"path": list(self.path), "code": self.code, "message": self.message}


class DomainError(Exception):
    """Base of every expected outcome that rejects a command."""

    code: str = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(DomainError):
    code = "not_found"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} does not exist")
        self.kind = kind
        self.key = key


class AlreadyExistsError(DomainError):
    code = "already_exists"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} already exists")
        self.kind = kind
        self.key = key


@dataclass(eq=False)
class ValidationFailed(DomainError):
    """Input broke the ontology or a definition rule; `errors` says where and why."""

    errors: Sequence[FieldError] = field(default_factory=list)
    summary: str = "validation failed"
    code: str = "validation_failed"

    def __post_init__(self) -> None:
        DomainError.__init__(self, self.summary)


@dataclass(frozen=True, slots=True)
class TakenKey:
    """A unique key (see domain.claims) `claimant` asked for and `owner` holds."""

    scope: str
    key: str
    claimant: str
    owner: str


@dataclass(eq=False)
class ClaimTaken(ValidationFailed):
    """An append would take unique keys other instances hold. A ValidationFailed,
    so a caller that does not look closer still answers a ValidationError."""

    taken: Sequence[TakenKey] = ()


class ConcurrencyConflict(DomainError):
    """Optimistic concurrency: the stream head is not the expected seq."""

    code = "optimistic_concurrency_conflict"

    def __init__(self, aggregate_id: str, *, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {aggregate_id!r} is at seq {actual}, expected {expected}"
        )
        self.aggregate_id = aggregate_id
        self.expected = expected
        self.actual = actual


class IdempotencyConflict(DomainError):
    """A command id was reused with a different payload."""

    code = "command_id_reused"

    def __init__(self, command_id: str) -> None:
        super().__init__(
            f"command id {command_id!r} was already used for another request"
        )
        self.command_id = command_id


class PermissionDenied(DomainError):
    code = "permission_denied"


class StaleModel(DomainError):
    """The registry or ontology changed since the command was validated: retry it."""

    code = "stale_model"

    def __init__(self, db: str) -> None:
        super().__init__(
            f"the ontology of {db!r} changed while the command was validated"
        )
        self.db = db
