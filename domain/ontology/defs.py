"""Definitions of the ontology: classes, their properties and relationships."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from domain.ontology.ptypes import PropertyType
from domain.ontology.text import LocalizedText


class Cardinality(StrEnum):
    """How many targets a source holds and how many sources may point at one target."""

    ONE_TO_ONE = "1:1"
    ONE_TO_MANY = "1:n"
    MANY_TO_ONE = "n:1"
    MANY_TO_MANY = "n:m"

    @classmethod
    def parse(cls, raw: object) -> Cardinality:
        """Accept `1:n` and `ONE_TO_MANY` forms, case-insensitively.

        Raises:
            ValueError: when `raw` names no cardinality.
        """
        if isinstance(raw, str):
            text = raw.strip()
            if text.upper() in cls.__members__:
                return cls[text.upper()]
            if text.lower() in cls._value2member_map_:
                return cls(text.lower())
        raise ValueError(f"invalid cardinality {raw!r}")

    @property
    def to_many(self) -> bool:
        """A source holds many targets (1:n, n:m)."""
        return self in (Cardinality.ONE_TO_MANY, Cardinality.MANY_TO_MANY)

    @property
    def shared_targets(self) -> bool:
        """A target may be held by many sources (n:1, n:m)."""
        return self in (Cardinality.MANY_TO_ONE, Cardinality.MANY_TO_MANY)


class DanglingPolicy(StrEnum):
    """What a write does with a link to an instance that does not exist."""

    REJECT = "reject"
    ALLOW = "allow"

    @classmethod
    def parse(cls, raw: object) -> DanglingPolicy:
        """Accept `reject`/`REJECT` and `allow`/`ALLOW`.

        Raises:
            ValueError: when `raw` names no policy.
        """
        if isinstance(raw, str) and raw.strip().lower() in cls._value2member_map_:
            return cls(raw.strip().lower())
        raise ValueError(f"invalid dangling policy {raw!r}")


@dataclass(frozen=True, slots=True)
class PropertyDef:
    """A property; `default` and `constraints` are JSON values, treated as read-only."""

    name: str
    type: PropertyType
    label: LocalizedText | None = None
    required: bool = False
    unique: bool = False
    default: Any = None
    description: LocalizedText | None = None
    constraints: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InverseDef:
    """The name under which the target class sees a relationship (not stored twice)."""

    predicate: str
    label: LocalizedText | None = None


@dataclass(frozen=True, slots=True)
class RelationshipDef:
    predicate: str
    target: str
    label: LocalizedText | None = None
    cardinality: Cardinality = Cardinality.MANY_TO_ONE
    inverse: InverseDef | None = None
    required: bool = False
    dangling_policy: DanglingPolicy = DanglingPolicy.REJECT


@dataclass(frozen=True, slots=True)
class ClassDef:
    """An object type; `primary_key` and `title_key` are None when inherited or absent."""

    id: str
    label: LocalizedText
    description: LocalizedText | None = None
    parent: str | None = None
    abstract: bool = False
    primary_key: str | None = None
    title_key: str | None = None
    properties: tuple[PropertyDef, ...] = ()
    relationships: tuple[RelationshipDef, ...] = ()
    deprecated: bool = False

    def own_property(self, name: str) -> PropertyDef | None:
        """The class's own property `name` (see Ontology for inherited ones)."""
        return next((p for p in self.properties if p.name == name), None)

    def own_relationship(self, predicate: str) -> RelationshipDef | None:
        return next((r for r in self.relationships if r.predicate == predicate), None)
