"""Property types: parse type specs, validate and normalise values, check constraints.

The implementation lives beside the rest of the ontology (`domain.ontology.ptypes`,
`.values`, `.checks`, `.rules`, `.formats`); this module is its stable import path.
"""

from domain.ontology.ptypes import Family, PropertyType, parse_type, try_parse_type
from domain.ontology.rules import allowed_constraints, validate_constraints
from domain.ontology.values import validate_value

__all__ = [
    "Family",
    "PropertyType",
    "allowed_constraints",
    "parse_type",
    "try_parse_type",
    "validate_constraints",
    "validate_value",
]
