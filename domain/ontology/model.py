"""The ontology of a branch: classes by id, with inheritance and inverse lookups."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.ontology.defs import ClassDef, PropertyDef, RelationshipDef


@dataclass(frozen=True, slots=True)
class InverseLink:
    """A relationship seen from its target: `source_class` declares `relationship`."""

    source_class: str
    relationship: RelationshipDef

    @property
    def predicate(self) -> str:
        inverse = self.relationship.inverse
        return inverse.predicate if inverse is not None else ""


@dataclass(frozen=True, slots=True)
class Ontology:
    """An immutable set of classes; every lookup tolerates unknown ids and cycles."""

    classes: Mapping[str, ClassDef] = field(default_factory=dict)
    # Lookups are pure functions of an immutable ontology: memoised per instance,
    # since validation asks the same questions for every instance of a bulk write.
    _memo: dict[tuple[str, str], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def _cached(self, kind: str, class_id: str, compute: Callable[[], Any]) -> Any:
        key = (kind, class_id)
        try:
            return self._memo[key]
        except KeyError:
            self._memo[key] = found = compute()
            return found

    def memoised(self, kind: str, class_id: str, compute: Callable[[], Any]) -> Any:
        """A derived lookup of another module (e.g. an instance's shape), memoised
        with the ontology's own: `kind` keeps the modules' entries apart."""
        return self._cached(f"ext:{kind}", class_id, compute)

    def get(self, class_id: str) -> ClassDef | None:
        return self.classes.get(class_id)

    def __contains__(self, class_id: object) -> bool:
        return class_id in self.classes

    def ancestors(self, class_id: str) -> tuple[str, ...]:
        result: tuple[str, ...] = self._cached(
            "ancestors", class_id, lambda: self._ancestors(class_id)
        )
        return result

    def _ancestors(self, class_id: str) -> tuple[str, ...]:
        """Parent, grandparent, … up to the root; stops at a missing parent or a cycle."""
        chain: list[str] = []
        current = self.classes.get(class_id)
        while current is not None and current.parent is not None:
            if current.parent in chain or current.parent == class_id:
                break
            chain.append(current.parent)
            current = self.classes.get(current.parent)
        return tuple(chain)

    def subclasses(
        self, class_id: str, *, include_self: bool = True
    ) -> tuple[str, ...]:
        """Transitive subclasses, breadth first, siblings by id."""
        result: tuple[str, ...] = self._cached(
            "subclasses" if include_self else "strict_subclasses",
            class_id,
            lambda: self._subclasses(class_id, include_self=include_self),
        )
        return result

    def _subclasses(self, class_id: str, *, include_self: bool) -> tuple[str, ...]:
        found: list[str] = [class_id] if include_self else []
        frontier = [class_id]
        while frontier:
            children = sorted(
                c.id
                for c in self.classes.values()
                if c.parent in frontier and c.id != class_id and c.id not in found
            )
            found.extend(children)
            frontier = children
        return tuple(found)

    def lineage(self, class_id: str) -> tuple[ClassDef, ...]:
        result: tuple[ClassDef, ...] = self._cached(
            "lineage", class_id, lambda: self._lineage(class_id)
        )
        return result

    def _lineage(self, class_id: str) -> tuple[ClassDef, ...]:
        """The class and its ancestors, root first."""
        ids = (*reversed(self.ancestors(class_id)), class_id)
        return tuple(c for c in (self.classes.get(i) for i in ids) if c is not None)

    def effective_properties(self, class_id: str) -> tuple[PropertyDef, ...]:
        result: tuple[PropertyDef, ...] = self._cached(
            "effective_properties",
            class_id,
            lambda: self._effective_properties(class_id),
        )
        return result

    def _effective_properties(self, class_id: str) -> tuple[PropertyDef, ...]:
        """Inherited properties first (root down), then own; an own one overrides by name
        in the inherited position."""
        merged: dict[str, PropertyDef] = {}
        for classdef in self.lineage(class_id):
            merged.update((p.name, p) for p in classdef.properties)
        return tuple(merged.values())

    def effective_relationships(self, class_id: str) -> tuple[RelationshipDef, ...]:
        result: tuple[RelationshipDef, ...] = self._cached(
            "effective_relationships",
            class_id,
            lambda: self._effective_relationships(class_id),
        )
        return result

    def _effective_relationships(self, class_id: str) -> tuple[RelationshipDef, ...]:
        merged: dict[str, RelationshipDef] = {}
        for classdef in self.lineage(class_id):
            merged.update((r.predicate, r) for r in classdef.relationships)
        return tuple(merged.values())

    def effective_property(self, class_id: str, name: str) -> PropertyDef | None:
        return next(
            (p for p in self.effective_properties(class_id) if p.name == name), None
        )

    def primary_key_of(self, class_id: str) -> str | None:
        """The class's primary key property, or the nearest ancestor's."""
        return next(
            (c.primary_key for c in reversed(self.lineage(class_id)) if c.primary_key),
            None,
        )

    def title_key_of(self, class_id: str) -> str | None:
        return next(
            (c.title_key for c in reversed(self.lineage(class_id)) if c.title_key), None
        )

    def inverse_relationships_of(self, class_id: str) -> tuple[InverseLink, ...]:
        """Relationships declaring an inverse whose target is the class or an ancestor."""
        targets = {class_id, *self.ancestors(class_id)}
        return tuple(
            InverseLink(source.id, rel)
            for source in sorted(self.classes.values(), key=lambda c: c.id)
            for rel in source.relationships
            if rel.inverse is not None and rel.target in targets
        )

    def with_class(self, classdef: ClassDef) -> Ontology:
        """A new ontology with `classdef` added or replaced."""
        return Ontology({**self.classes, classdef.id: classdef})

    def without_class(self, class_id: str) -> Ontology:
        return Ontology({k: v for k, v in self.classes.items() if k != class_id})
