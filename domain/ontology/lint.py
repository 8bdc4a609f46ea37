"""Ontology lint: warnings about modelling smells and errors about broken references."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from domain.ontology.defs import ClassDef
from domain.ontology.model import Ontology

Severity = Literal["error", "warning"]
_EVENT_LIKE = re.compile(
    r".*(?:Event|Created|Updated|Deleted|Changed|Log|History)s?"
    r"|.*_(?:event|created|updated|deleted|changed|log|history)s?"
)
_KEY_LIKE_NAMES = frozenset({"id", "key", "uuid"})


@dataclass(frozen=True, slots=True)
class LintIssue:
    severity: Severity
    code: str
    class_id: str
    message: str
    path: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "code": self.code,
            "class_id": self.class_id,
            "message": self.message,
            "path": list(self.path),
        }


Rule = Callable[[Ontology, ClassDef], list[LintIssue]]


def lint(ontology: Ontology) -> list[LintIssue]:
    """Issues of every live class, by class id; deprecated classes are not linted."""
    return [
        issue
        for class_id in sorted(ontology.classes)
        if not ontology.classes[class_id].deprecated
        for rule in _RULES
        for issue in rule(ontology, ontology.classes[class_id])
    ]


def _issue(
    severity: Severity, code: str, c: ClassDef, message: str, *path: str
) -> LintIssue:
    return LintIssue(severity, code, c.id, message, tuple(path))


def _inheritance(ontology: Ontology, c: ClassDef) -> list[LintIssue]:
    if c.parent is None:
        return []
    parent = ontology.get(c.parent)
    if c.parent == c.id or c.id in ontology.ancestors(c.parent):
        return [
            _issue(
                "error",
                "cyclic_inheritance",
                c,
                f"{c.id} inherits from itself",
                "parent",
            )
        ]
    if parent is None:
        return [
            _issue(
                "error",
                "parent_missing",
                c,
                f"parent {c.parent} is not defined",
                "parent",
            )
        ]
    if parent.deprecated:
        return [
            _issue(
                "warning",
                "deprecated_parent",
                c,
                f"parent {c.parent} is deprecated",
                "parent",
            )
        ]
    return []


def _targets(ontology: Ontology, c: ClassDef) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for index, rel in enumerate(c.relationships):
        target = ontology.get(rel.target)
        if target is None or target.deprecated:
            state = "not defined" if target is None else "deprecated"
            message = f"{rel.predicate} points at {rel.target}, which is {state}"
            issues.append(
                _issue(
                    "error",
                    "dangling_target",
                    c,
                    message,
                    "relationships",
                    str(index),
                    "target",
                )
            )
    return issues


def _keys(ontology: Ontology, c: ClassDef) -> list[LintIssue]:
    issues: list[LintIssue] = []
    key_name = ontology.primary_key_of(c.id)
    key = ontology.effective_property(c.id, key_name) if key_name else None
    if key is not None and not key.required:
        message = f"primary key {key.name} is not marked required, but every instance needs it"
        issues.append(_issue("warning", "implicit_key", c, message, "primary_key"))
    own_key_name = (c.id + "id").lower()
    for index, prop in enumerate(c.properties):
        squashed = prop.name.replace("_", "").lower()
        if prop.name != key_name and (
            squashed == own_key_name or prop.name in _KEY_LIKE_NAMES
        ):
            message = f"{prop.name} looks like the key of {c.id} but the primary key is {key_name}"
            issues.append(
                _issue(
                    "warning",
                    "implicit_key",
                    c,
                    message,
                    "properties",
                    str(index),
                    "name",
                )
            )
    return issues


def _naming(_ontology: Ontology, c: ClassDef) -> list[LintIssue]:
    if not _EVENT_LIKE.fullmatch(c.id):
        return []
    message = f"{c.id} sounds like an event or log entry; model the thing that changes, events are recorded for you"
    return [_issue("warning", "event_like_class_name", c, message, "id")]


def _documentation(ontology: Ontology, c: ClassDef) -> list[LintIssue]:
    issues: list[LintIssue] = []
    if c.description is None or not c.description.default.strip():
        issues.append(
            _issue(
                "warning",
                "missing_description",
                c,
                f"{c.id} has no description",
                "description",
            )
        )
    if not c.abstract and ontology.title_key_of(c.id) is None:
        message = f"{c.id} has no title_key, so its instances are shown by id"
        issues.append(_issue("warning", "missing_title_key", c, message, "title_key"))
    return issues


def _shape(ontology: Ontology, c: ClassDef) -> list[LintIssue]:
    issues: list[LintIssue] = []
    if not ontology.effective_properties(c.id):
        issues.append(
            _issue(
                "warning", "no_properties", c, f"{c.id} has no properties", "properties"
            )
        )
    if c.abstract and not _is_used(ontology, c.id):
        message = (
            f"abstract class {c.id} has no subclasses and no relationship points at it"
        )
        issues.append(
            _issue("warning", "unreferenced_abstract_class", c, message, "abstract")
        )
    return issues


def _is_used(ontology: Ontology, class_id: str) -> bool:
    if ontology.subclasses(class_id, include_self=False):
        return True
    return any(
        rel.target == class_id
        for other in ontology.classes.values()
        if not other.deprecated
        for rel in other.relationships
    )


_RULES: tuple[Rule, ...] = (
    _inheritance,
    _targets,
    _keys,
    _naming,
    _documentation,
    _shape,
)
