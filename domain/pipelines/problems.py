"""What makes a pipeline invalid, named by node and column (SPEC §6.1)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.errors import FieldError, ValidationFailed


class NodeProblem(Exception):
    """One node's definition cannot run; `column` names the culprit when there is one."""

    def __init__(self, code: str, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.column = code, message, column


class PipelineInvalid(ValidationFailed):
    """The definition was refused before anything ran."""


def field_error(node: str, problem: NodeProblem, *, where: str = "nodes") -> FieldError:
    path = ("input", where, node) + ((problem.column,) if problem.column else ())
    column = f", column {problem.column!r}" if problem.column else ""
    return FieldError(path, problem.code, f"node {node!r}{column}: {problem.message}")


def invalid(pipeline: str, errors: Sequence[FieldError]) -> PipelineInvalid:
    first = errors[0].message if errors else ""
    return PipelineInvalid(
        errors=list(errors), summary=f"invalid pipeline {pipeline!r}: {first}"
    )
