"""The rule every stored string obeys: no NUL character (U+0000).

PostgreSQL refuses NUL in text and in jsonb, and SQLite's JSON and text
functions stop at it, so a filter would compare a different value than the one
stored. Rejecting it on the way in keeps every store seeing the same strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, Final

from domain.errors import FieldError

NUL: Final = "\x00"
NUL_CODE: Final = "nul_character"
Path = tuple[str, ...]
_PLAIN_SCALARS: Final = frozenset({int, float, bool, type(None)})


def nul_path(value: object, path: Path = ()) -> Path | None:
    """The path of a string (or mapping key) in `value` that holds a NUL, or
    None. Lists and mappings are walked with a stack, so depth is no hazard."""
    # The common cases first: this runs for every value of every write.
    kind = type(value)
    if kind is str:
        return path if NUL in value else None  # type: ignore[operator]
    if kind in _PLAIN_SCALARS:
        return None
    stack: list[tuple[object, Path]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return where
        elif isinstance(item, Mapping):
            for key, child in item.items():
                place = (*where, str(key).replace(NUL, "\\0"))
                if isinstance(key, str) and NUL in key:
                    return place
                stack.append((child, place))
        elif isinstance(item, list | tuple):
            stack.extend((child, (*where, str(i))) for i, child in enumerate(item))
    return None


def nul_error(path: Path) -> FieldError:
    return FieldError(path, NUL_CODE, "text cannot contain the NUL character (U+0000)")


def command_nul_error(command: Any) -> FieldError | None:
    """A NUL anywhere in a command (a dataclass), at the path its input uses:
    property paths inside instance data and definitions, `inputs.<i>...` inside
    bulk items (as the instance checks report them), else the field's name."""
    for field in fields(command):
        value = getattr(command, field.name)
        found = nul_path(value)
        if found is None:
            continue
        if isinstance(value, str):
            return nul_error((field.name,))
        if isinstance(value, list | tuple):
            return nul_error(("inputs", *found) if len(value) > 1 else found[1:])
        return nul_error(found)
    return None
