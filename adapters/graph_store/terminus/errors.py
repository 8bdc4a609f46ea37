"""TerminusDB client errors -> the adapter errors (STYLE B6).

The official client raises `requests` exceptions for transport failures,
`InterfaceError` when `connect` cannot reach the server, and `DatabaseError`
(with the HTTP status and the server's JSON error) for a refused request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from terminusdb_client.errors import DatabaseError, InterfaceError

from adapters.errors import StoreDataError, StoreError, StoreUnavailable

# A status the server may answer differently later: busy, down, or refusing our
# credentials (a configuration outage; no event is at fault, so none is dead-lettered).
_OUTAGE_STATUSES = {401, 403, 408, 429}


class DocumentExistsError(StoreError):
    """An insert named a document that is already stored (a concurrent writer):
    retrying the whole put is right, it then skips what is stored."""

    retriable = True


@contextmanager
def translated(action: str) -> Iterator[None]:
    try:
        yield
    except (requests.RequestException, InterfaceError, OSError) as error:
        raise StoreUnavailable(f"terminusdb {action}: {error}") from error
    except DatabaseError as error:
        raise from_status(action, error) from error
    except ValueError as error:  # a response that is not the JSON expected
        raise StoreDataError(f"terminusdb {action}: {error}") from error


def from_status(action: str, error: DatabaseError) -> StoreError:
    status = getattr(error, "status_code", None)
    detail = f"terminusdb {action} ({status}): {_message(error)}"
    if error_type(error) == "api:DocumentIdAlreadyExists":
        return DocumentExistsError(detail)
    if not isinstance(status, int) or status >= 500 or status in _OUTAGE_STATUSES:
        return StoreUnavailable(detail)
    return StoreDataError(detail)


def error_type(error: DatabaseError) -> str | None:
    """The server's error type, e.g. "api:DocumentIdAlreadyExists"."""
    body: Any = getattr(error, "error_obj", None)
    if not isinstance(body, dict):
        return None
    inner = body.get("api:error")
    if isinstance(inner, dict) and isinstance(inner.get("@type"), str):
        return str(inner["@type"])
    return None


def _message(error: DatabaseError) -> str:
    # The client's message ends with the whole JSON body; its first line says it.
    return str(getattr(error, "message", error)).split("\n", 1)[0]
