"""The change reason of a request: the `X-Change-Reason` header, carried into the
metadata of every command the request dispatches (and so onto its events and
its audit entry). Branches protected with `requireReason` refuse writes
without one.

Header values are Latin-1 on the wire, so the text is percent-encoded UTF-8
(`encodeURIComponent` in a browser); plain ASCII needs no encoding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final
from urllib.parse import unquote

from domain.commands import Command, CommandMeta, Receipt
from domain.governance.guard import MAX_REASON, REASON
from resolvers.context import Dispatcher

HEADER: Final = "x-change-reason"
_reason: ContextVar[str | None] = ContextVar("spice_change_reason", default=None)


def reason_of(headers: Mapping[str, str]) -> str | None:
    raw = headers.get(HEADER)
    if raw is None:
        return None
    text = unquote(raw, errors="replace").strip()
    # NUL would be refused by every command: a reason never carries one.
    return text.replace("\x00", "")[:MAX_REASON] or None


@contextmanager
def bound_reason(headers: Mapping[str, str]) -> Iterator[None]:
    """The request's reason, visible to the dispatcher while it is served."""
    token = _reason.set(reason_of(headers))
    try:
        yield
    finally:
        _reason.reset(token)


class ReasonDispatcher:
    """The Dispatcher port, adding the request's change reason to each command."""

    def __init__(self, inner: Dispatcher) -> None:
        self._inner = inner

    async def dispatch(self, command: Command, meta: CommandMeta) -> Receipt:
        reason = _reason.get()
        if reason is not None and REASON not in meta.metadata:
            metadata = {**meta.metadata, REASON: reason}
            meta = dataclasses.replace(meta, metadata=metadata)
        return await self._inner.dispatch(command, meta)
