"""Log lines that say which request, which principal and which trace they belong to.

The request id and the principal live in context variables: asyncio copies the
context into every task a request starts, so a line logged deep in a resolver or
an adapter carries them without being passed along. The trace id is read from
the current OpenTelemetry span. With `log_format=json` each line is one JSON
object (for log shippers); `text` keeps the human format, with the same fields.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from app.settings import Settings

request_id: ContextVar[str | None] = ContextVar("spice_request_id", default=None)
principal: ContextVar[str | None] = ContextVar("spice_principal", default=None)

# A client's id is echoed into logs and event metadata: only short plain tokens,
# so that it can neither forge log structure nor bloat every stored event.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")
TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s "
    "[request=%(request_id)s principal=%(principal)s trace=%(trace_id)s] %(message)s"
)


def request_id_of(headers: Mapping[str, str]) -> str:
    """The client's `X-Request-Id` when it is sane, else a fresh uuid4.

    `headers` is any case-insensitive mapping (starlette's Headers) or a dict
    with lower-case keys."""
    given = headers.get("x-request-id")
    if given is not None and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return str(uuid.uuid4())


@contextmanager
def bind_request(request_id_value: str, principal_value: str) -> Iterator[None]:
    """Within the block every log line (and every command's event metadata)
    carries this request id and principal; restored on exit, even on error."""
    tokens = (request_id.set(request_id_value), principal.set(principal_value))
    try:
        yield
    finally:
        principal.reset(tokens[1])
        request_id.reset(tokens[0])


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class RequestFields(logging.Filter):
    """Adds request_id, principal and trace_id to every record (None when unset)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.principal = principal.get()
        record.trace_id = current_trace_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the fields a log shipper indexes come first."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "principal": getattr(record, "principal", None),
            "trace_id": getattr(record, "trace_id", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def log_handler(settings: Settings) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestFields())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(settings: Settings) -> None:
    """Replaces the root logger's handlers; uvicorn's loggers propagate to it
    (`spice serve` runs uvicorn with `log_config=None`)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(log_handler(settings))
    root.setLevel(settings.log_level.upper())
