"""The multipart reader: streaming to temporary files, limits, `map` substitution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.graphql.multipart import MultipartError, read_form, substitute
from domain.dataplane.datasets import Upload

NOWHERE = Path("never-written.csv")


def body(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--b\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += content + b"\r\n"
    return out + b"--b--\r\n"


def chunked(data: bytes, size: int = 7) -> Any:
    """An ASGI receive that streams `data` without a Content-Length."""
    chunks = [data[i : i + size] for i in range(0, len(data), size)]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    return receive


SCOPE: dict[str, Any] = {"headers": []}


@pytest.mark.asyncio
async def test_files_are_spooled_and_fields_kept(tmp_path: Path) -> None:
    data = body(("operations", None, b'{"a": 1}'), ("0", "x.csv", b"a,b\n1,2\n"))
    form = await read_form(SCOPE, chunked(data), boundary="b", max_bytes=10_000,
                           max_field_bytes=100, spool_dir=str(tmp_path))  # fmt: skip
    assert form.fields == {"operations": b'{"a": 1}'}
    upload = form.files["0"]
    assert (upload.filename, upload.path.read_bytes()) == ("x.csv", b"a,b\n1,2\n")
    form.discard()
    assert _files(tmp_path) == []


@pytest.mark.asyncio
async def test_a_streamed_body_over_the_limit_is_413_and_leaves_no_file(
    tmp_path: Path,
) -> None:
    data = body(("0", "x.csv", b"1\n" * 5000))
    with pytest.raises(MultipartError) as caught:
        await read_form(SCOPE, chunked(data, 512), boundary="b", max_bytes=4096,
                        max_field_bytes=100, spool_dir=str(tmp_path))  # fmt: skip
    assert (caught.value.status, caught.value.code) == (413, "UPLOAD_TOO_LARGE")
    assert _files(tmp_path) == []


@pytest.mark.asyncio
async def test_a_large_text_field_is_413(tmp_path: Path) -> None:
    data = body(("operations", None, b"x" * 500))
    with pytest.raises(MultipartError) as caught:
        await read_form(SCOPE, chunked(data), boundary="b", max_bytes=10_000,
                        max_field_bytes=100, spool_dir=str(tmp_path))  # fmt: skip
    assert caught.value.status == 413


def test_map_paths_reach_into_batches_and_lists() -> None:
    upload = Upload("a.csv", "text/csv", NOWHERE)
    operations = [{"variables": {"files": [None, None]}}]
    mapping = {"0": ["0.variables.files.1"]}
    assert substitute(operations, mapping, {"0": upload}) == [
        {"variables": {"files": [None, upload]}}
    ]


@pytest.mark.parametrize(
    "mapping",
    [{"1": ["variables.file"]}, {"0": ["variables.nope"]}, {"0": "variables.file"}, []],
)
def test_a_bad_map_is_refused(mapping: Any) -> None:
    upload = Upload("a.csv", "text/csv", NOWHERE)
    with pytest.raises(MultipartError):
        substitute({"variables": {"file": None}}, mapping, {"0": upload})


def _files(directory: Path) -> list[Path]:
    return list(directory.iterdir())
