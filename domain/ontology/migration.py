"""Migration plans of breaking class changes: parsed steps, checked against the
change they migrate, and applied to one instance's values.

A plan is `{"steps": [...]}` (other keys are kept as notes). Each step is one of
`{"op": "rename", "from": a, "to": b}`, `{"op": "convert", "property": p}`
(the new type comes from the new definition), `{"op": "split", "property": p,
"into": [a, b, ...], "separator": s}` (or `"pattern"`: a regex whose groups fill
`into`) and `{"op": "remove", "property": p}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import re2  # type: ignore[import-untyped,unused-ignore]

from domain.errors import FieldError, ValidationFailed
from domain.ontology.convert import ConversionError, convert
from domain.ontology.defs import ClassDef

OPS = ("rename", "convert", "split", "remove")


MAX_PATTERN = 1_000  # characters of a split pattern


@dataclass(frozen=True, slots=True)
class Step:
    op: str
    source: str
    targets: tuple[str, ...] = ()
    separator: str | None = None
    pattern: Any = None  # an RE2 pattern: matches in linear time

    @property
    def touched(self) -> tuple[str, ...]:
        return (self.source, *self.targets)


def parse_plan(plan: object) -> list[Step]:
    """The steps of a plan; ValidationFailed naming every malformed one."""
    if not isinstance(plan, Mapping):
        problem = FieldError(("migration_plan",), "invalid_plan", "a plan is an object")
        raise _invalid([problem])
    raw = plan.get("steps", [])
    if not isinstance(raw, list):
        raise _invalid([FieldError(("steps",), "invalid_plan", "steps is a list")])
    steps: list[Step] = []
    errors: list[FieldError] = []
    for index, item in enumerate(raw):
        try:
            steps.append(_step(item))
        except ValueError as error:
            errors.append(FieldError(("steps", str(index)), "invalid_step", str(error)))
    if errors:
        raise _invalid(errors)
    return steps


def check_steps(old: ClassDef, new: ClassDef, steps: list[Step]) -> list[FieldError]:
    """Errors of steps that do not describe the change from `old` to `new`."""
    before = {p.name: p for p in old.properties}
    after = {p.name: p for p in new.properties}
    errors: list[FieldError] = []
    for index, step in enumerate(steps):
        problem = _mismatch(step, before, after)
        if problem:
            errors.append(FieldError(("steps", str(index)), "step_mismatch", problem))
    return errors


def uncovered(
    problems: list[FieldError], steps: list[Step], old: ClassDef, new: ClassDef
) -> list[FieldError]:
    """What a plan leaves unanswered: property changes no step migrates, steps on
    unique properties (their claimed keys would not follow the values), and a
    plan for a change that breaks nothing. Key and relationship changes are only
    acknowledged by a plan: no step applies to them."""
    touched = {name for step in steps for name in step.touched}
    errors = [
        p for p in problems
        if p.path[0] == "properties" and p.path[1] not in touched
    ]  # fmt: skip
    unique = {p.name for p in (*old.properties, *new.properties) if p.unique}
    errors += [
        FieldError(("steps", str(i)), "unique_not_migratable",
                   f"{step.source!r}: steps on unique properties are not supported")
        for i, step in enumerate(steps) if unique & set(step.touched)
    ]  # fmt: skip
    if not problems and not steps:
        errors.append(FieldError(("migration_plan",), "plan_not_needed",
                                 "the change breaks nothing; drop the plan"))  # fmt: skip
    return errors


def apply_steps(
    steps: list[Step], values: Mapping[str, Any], new: Mapping[str, str]
) -> dict[str, Any]:
    """The values after the steps; `new` maps property names to their new type.
    ConversionError when a value does not convert or split."""
    result = dict(values)
    for step in steps:
        if step.source not in result:
            continue
        value = result.pop(step.source)
        if step.op == "rename":
            result[step.targets[0]] = value
        elif step.op == "convert":
            result[step.source] = convert(value, new[step.source])
        elif step.op == "split":
            result.update(_split(step, value))
    return result


def _split(step: Step, value: Any) -> dict[str, Any]:
    text = str(value)
    if step.pattern is not None:
        match = step.pattern.fullmatch(text)
        if match is None:
            raise ConversionError(f"{text!r} does not match the split pattern")
        parts = list(match.groups())
    else:
        parts = text.split(step.separator, len(step.targets) - 1)
    if len(parts) != len(step.targets):
        raise ConversionError(f"{text!r} splits into {len(parts)} parts")
    return {
        k: v for k, v in zip(step.targets, parts, strict=True) if v not in ("", None)
    }


def _step(item: object) -> Step:
    if not isinstance(item, Mapping):
        raise ValueError("a step is an object with an op")
    op = item.get("op")
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(OPS)}")
    if op == "rename":
        return Step(op, _name(item, "from"), (_name(item, "to"),))
    if op == "split":
        return _split_step(item)
    return Step(str(op), _name(item, "property"))


def _split_step(item: Mapping[str, Any]) -> Step:
    into = item.get("into")
    if (
        not isinstance(into, list)
        or len(into) < 2
        or not all(isinstance(i, str) for i in into)
    ):
        raise ValueError("split needs `into`: two or more property names")
    separator, pattern = item.get("separator"), item.get("pattern")
    if (separator is None) == (pattern is None):
        raise ValueError("split needs exactly one of `separator` and `pattern`")
    if separator is not None:
        if not isinstance(separator, str) or not separator:
            raise ValueError("separator is a non-empty string")
        return Step("split", _name(item, "property"), tuple(into), separator=separator)
    compiled = _compiled(pattern, len(into))
    return Step("split", _name(item, "property"), tuple(into), pattern=compiled)


def _compiled(pattern: object, groups: int) -> Any:
    """The pattern compiled by RE2: it is matched against every instance's value
    inside a write, so it must take linear time whatever a client sends (`(a+)+b`
    would not in `re`); RE2 refuses what cannot (backreferences, lookaround)."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("pattern is a non-empty string")
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"pattern is longer than {MAX_PATTERN} characters")
    try:
        compiled = re2.compile(pattern)
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        raise ValueError(f"invalid pattern: {reason}") from None
    if compiled.groups != groups:
        raise ValueError(f"pattern needs {groups} groups, one per `into` name")
    return compiled


def _name(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"`{key}` names a property")
    return value


def _mismatch(step: Step, before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """Why a step does not fit the change, or '' when it does."""
    if step.source not in before:
        return f"{step.source!r} is not a property of the class"
    if step.op == "convert":
        if step.source not in after:
            return f"{step.source!r} is removed; use remove or rename"
        if after[step.source].type == before[step.source].type:
            return f"{step.source!r} keeps its type; nothing to convert"
        return ""
    if step.source in after:
        return f"{step.source!r} stays on the class; {step.op} removes it"
    missing = [t for t in step.targets if t not in after]
    if missing:
        return f"{', '.join(map(repr, missing))} is not a property of the new class"
    return ""


def _invalid(errors: list[FieldError]) -> ValidationFailed:
    return ValidationFailed(errors=errors, summary="invalid migration plan")
