"""A merge command's strategy and resolutions, read and checked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import FieldError, ValidationFailed
from domain.merge.plan import Requested
from domain.merge.three_way import Side, Strategy


def strategy_of(name: str) -> Strategy:
    try:
        return Strategy(name)
    except ValueError:
        message = f"strategy must be one of {', '.join(s.value for s in Strategy)}"
        raise ValidationFailed(
            errors=[FieldError(("strategy",), "invalid_strategy", message)],
            summary=message,
        ) from None


def requested(resolutions: Sequence[Mapping[str, Any]]) -> list[Requested]:
    """Each resolution takes a side or gives a value (a present `value` key, which
    may be None to clear the field), never both."""
    found: list[Requested] = []
    errors: list[FieldError] = []
    for index, item in enumerate(resolutions):
        path = ("resolutions", str(index))
        take, problem = _side(item.get("take"))
        if problem is None and (take is None) == ("value" not in item):
            problem = "give either take or value"
        if problem is not None:
            errors.append(FieldError(path, "invalid_resolution", problem))
            continue
        found.append(
            Requested(
                class_id=str(item.get("class_id", "")),
                instance_id=str(item.get("id", "")),
                field=str(item.get("field", "")),
                take=take,
                value=item.get("value"),
                index=index,
            )
        )
    if errors:
        raise ValidationFailed(errors=errors, summary="invalid conflict resolutions")
    return found


def _side(raw: Any) -> tuple[Side | None, str | None]:
    if raw is None:
        return None, None
    try:
        return Side(raw), None
    except ValueError:
        return None, "take must be SOURCE or TARGET"
