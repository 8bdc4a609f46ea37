"""The ontology: classes, properties, relationships, their validation, lint and evolution."""

from domain.ontology.breaking import breaking_changes
from domain.ontology.definition import validate_class_definition
from domain.ontology.defs import (
    Cardinality,
    ClassDef,
    DanglingPolicy,
    InverseDef,
    PropertyDef,
    RelationshipDef,
)
from domain.ontology.lint import LintIssue, lint
from domain.ontology.model import InverseLink, Ontology
from domain.ontology.ptypes import Family, PropertyType, parse_type, try_parse_type
from domain.ontology.serde import class_from_dict, class_to_dict
from domain.ontology.text import LocalizedText

__all__ = [
    "Cardinality",
    "ClassDef",
    "DanglingPolicy",
    "Family",
    "InverseDef",
    "InverseLink",
    "LintIssue",
    "LocalizedText",
    "Ontology",
    "PropertyDef",
    "PropertyType",
    "RelationshipDef",
    "breaking_changes",
    "class_from_dict",
    "class_to_dict",
    "lint",
    "parse_type",
    "try_parse_type",
    "validate_class_definition",
]
