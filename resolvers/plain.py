"""Strawberry input objects -> plain JSON-like dicts for commands."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from strawberry.types.base import has_object_definition
from strawberry.types.unset import UnsetType


def to_plain(value: Any) -> Any:
    """Input objects become dicts keyed by Python field name, without absent (UNSET)
    fields; an explicit null stays None, since in a patch it clears the value."""
    if has_object_definition(value) and dataclasses.is_dataclass(value):
        return {
            f.name: to_plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not isinstance(getattr(value, f.name), UnsetType)
        }
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    return value


def given(value: Any) -> Any:
    """None for an absent (UNSET) argument, else the value."""
    return None if isinstance(value, UnsetType) else value
