"""The full-text body of a search document, shared by every search adapter so
they find the same words."""

from __future__ import annotations

from typing import Any

from domain.ports import SearchDocument


def body_text(d: SearchDocument) -> str:
    """The full-text body: the instance id and every scalar found in its data."""
    parts = [d.instance_id]
    stack: list[Any] = [dict(d.data)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            parts.append(str(item))
    return " ".join(parts)
