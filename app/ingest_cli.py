"""`spice ingest FILE --db DB`: uploads a file to a running server as a dataset version.

It speaks the GraphQL multipart request spec over HTTP like any client, with a
progress bar on stderr while the file is sent (the server reads it as it
arrives); the result is JSON on stdout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

UPLOAD = """
mutation($db: String!, $name: String!, $file: Upload!, $options: IngestOptions,
         $key: String) {
  uploadDataset(db: $db, name: $name, file: $file, options: $options,
                idempotencyKey: $key) {
    __typename
    ... on DatasetVersion { id dataset rowCount contentHash duplicate columns { name } }
    ... on ValidationError { message errors { path code message } }
  }
}
"""
TOKEN_FILE = Path("var/admin.token")


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestRequest:
    file: Path
    db: str
    name: str
    url: str
    token: str
    options: dict[str, Any]
    idempotency_key: str | None = None


class _Counted:
    """A read-only file that reports how many bytes were read (the bar's feed)."""

    def __init__(self, file: IO[bytes], advance: Callable[[int], None]) -> None:
        self._file = file
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._advance(len(chunk))
        return chunk

    def fileno(self) -> int:  # lets httpx send a Content-Length
        return self._file.fileno()

    def tell(self) -> int:
        return self._file.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)


def token_of(explicit: str | None) -> str | None:
    """--token, else $SPICE_TOKEN, else ./var/admin.token."""
    if explicit:
        return explicit
    if os.environ.get("SPICE_TOKEN"):
        return os.environ["SPICE_TOKEN"]
    if TOKEN_FILE.is_file():
        return TOKEN_FILE.read_text().strip() or None
    return None


def ingest(request: IngestRequest, *, show_progress: bool = True) -> dict[str, Any]:
    """The `uploadDataset` result; raises httpx.HTTPError or RuntimeError."""
    variables = {
        "db": request.db,
        "name": request.name,
        "file": None,
        "options": request.options or None,
        "key": request.idempotency_key,
    }
    operations = json.dumps({"query": UPLOAD, "variables": variables})
    size = request.file.stat().st_size
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())  # fmt: skip
    with (
        Progress(
            *columns, console=Console(stderr=True), disable=not show_progress
        ) as progress,
        request.file.open("rb") as raw,
    ):
        task = progress.add_task(f"uploading {request.file.name}", total=size)
        counted = _Counted(raw, lambda n: progress.advance(task, n))
        response = _post(
            request.url.rstrip("/") + "/graphql",
            data={
                "operations": operations,
                "map": json.dumps({"0": ["variables.file"]}),
            },
            files={"0": (request.file.name, counted, "application/octet-stream")},
            headers={"Authorization": f"Bearer {request.token}"},
            timeout=httpx.Timeout(30.0, read=None),
        )
    return _result(response)


def _post(url: str, **kwargs: Any) -> httpx.Response:
    try:
        return httpx.post(url, **kwargs)
    except httpx.HTTPError as error:
        raise RuntimeError(f"{url}: {error}") from error


def _result(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise RuntimeError(
            f"HTTP {response.status_code}: {response.text[:200]}"
        ) from None
    if body.get("errors"):
        messages = "; ".join(e.get("message", "") for e in body["errors"])
        raise RuntimeError(f"HTTP {response.status_code}: {messages}")
    result: dict[str, Any] = body["data"]["uploadDataset"]
    return result
