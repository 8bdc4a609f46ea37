"""The GraphQL multipart request spec: `operations`, `map` and file parts.

https://github.com/jaydenseric/graphql-multipart-request-spec. Files are
streamed to temporary files as they arrive (never buffered whole) and become
`Upload` values in the variables; the whole body is bounded by
SPICE_UPLOAD_MAX_BYTES and each non-file part by the JSON body limit.

CSRF: a browser may send multipart/form-data cross-site without a preflight,
but not an `Authorization` header, and every request here must carry
`Authorization: Bearer` (app/security/gate.py refuses it with 401 before this
runs; no cookie ever authenticates). So accepting multipart opens no CSRF hole.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import Receive, Scope

from domain.dataplane.datasets import Upload

MULTIPART: Final = "multipart/form-data"
_MAX_PARTS: Final = 64


class MultipartError(Exception):
    """The multipart body is unusable: status, message and code for the client."""

    def __init__(self, message: str, status: int = 400, code: str = "BAD_MULTIPART"):
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(slots=True)
class Form:
    """The parsed body: text fields by name and file parts by name."""

    fields: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def discard(self) -> None:
        for upload in self.files.values():
            upload.path.unlink(missing_ok=True)


@dataclass(slots=True)
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = "application/octet-stream"
    data: bytearray = field(default_factory=bytearray)
    sink: IO[bytes] | None = None
    path: Path | None = None


class _Collector:
    """python-multipart callbacks: headers per part, data to memory or a file."""

    def __init__(
        self, form: Form, *, max_field_bytes: int, spool_dir: str | None
    ) -> None:
        self.form = form
        self._max_field = max_field_bytes
        self._dir = spool_dir
        self._part = _Part()
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._count = 0

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._count += 1
        if self._count > _MAX_PARTS:
            raise MultipartError(f"Too many parts (limit {_MAX_PARTS}).")
        self._part = _Part()
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(
            self._headers.get(b"content-disposition", b"")
        )
        part = self._part
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            return
        if part.name in self.form.files:
            raise MultipartError(f"Two file parts are named {part.name!r}.")
        part.filename = filename.decode("utf-8", "replace")
        part.content_type = (
            self._headers.get(b"content-type", b"").decode("latin-1")
            or "application/octet-stream"
        )
        handle, name = tempfile.mkstemp(prefix="spice-upload-", dir=self._dir)
        part.sink = os.fdopen(handle, "wb")
        part.path = Path(name)
        # Registered at once, so that a failure later still removes the file.
        self.form.files[part.name] = Upload(part.filename, part.content_type, part.path)

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.sink is not None:
            part.sink.write(data[start:end])
            return
        part.data += data[start:end]
        if len(part.data) > self._max_field:
            raise MultipartError(
                f"The part {part.name!r} is too large (limit {self._max_field} bytes).",
                413,
                "BODY_TOO_LARGE",
            )

    def _end(self) -> None:
        part = self._part
        if part.sink is not None:
            part.sink.close()
            part.sink = None
        else:
            self.form.fields[part.name] = bytes(part.data)

    def close(self) -> None:
        if self._part.sink is not None:
            self._part.sink.close()


async def read_form(
    scope: Scope,
    receive: Receive,
    *,
    boundary: str,
    max_bytes: int,
    max_field_bytes: int,
    spool_dir: str | None = None,
) -> Form:
    """The parsed multipart body; raises MultipartError (413 over `max_bytes`,
    by Content-Length or while streaming) after removing any spooled file."""
    declared = dict(scope.get("headers") or ()).get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    form = Form()
    collector = _Collector(form, max_field_bytes=max_field_bytes, spool_dir=spool_dir)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    try:
        await _feed(parser, receive, max_bytes)
    except BaseException:
        collector.close()
        form.discard()
        raise
    return form


async def _feed(parser: MultipartParser, receive: Receive, max_bytes: int) -> None:
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise MultipartError("The client disconnected during the upload.")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        try:
            parser.write(chunk)
        except MultipartError:
            raise
        except Exception as error:  # python-multipart's parse errors
            raise MultipartError(f"Malformed multipart body: {error}") from None
        if not message.get("more_body", False):
            parser.finalize()
            return


def _too_large(limit: int) -> MultipartError:
    return MultipartError(
        f"Upload too large (limit {limit} bytes, SPICE_UPLOAD_MAX_BYTES).",
        413,
        "UPLOAD_TOO_LARGE",
    )


def boundary_of(content_type: str) -> str | None:
    media, options = parse_options_header(content_type)
    if media.decode("latin-1").lower() != MULTIPART:
        return None
    boundary = options.get(b"boundary")
    if not boundary:
        raise MultipartError("multipart/form-data needs a boundary parameter.")
    return boundary.decode("latin-1")


def substitute(operations: Any, mapping: Any, files: dict[str, Upload]) -> Any:
    """Puts each file at the object paths the `map` part names for it."""
    if not isinstance(mapping, dict):
        raise MultipartError("The `map` part must be a JSON object.")
    for key, paths in mapping.items():
        upload = files.get(key)
        if upload is None:
            raise MultipartError(f"The `map` names file {key!r}, which was not sent.")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise MultipartError(f"The `map` entry {key!r} must be a list of paths.")
        for path in paths:
            _put(operations, path.split("."), upload)
    return operations


def _put(target: Any, path: list[str], value: Upload) -> None:
    *parents, last = path
    node = target
    for step in parents:
        node = _step(node, step)
    if isinstance(node, dict) and last in node:
        node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    else:
        raise MultipartError(
            f"The `map` path {'.'.join(path)!r} is not in `operations`."
        )


def _step(node: Any, step: str) -> Any:
    if isinstance(node, dict) and step in node:
        return node[step]
    if isinstance(node, list) and step.isdigit() and int(step) < len(node):
        return node[int(step)]
    raise MultipartError(f"The `map` path step {step!r} is not in `operations`.")
