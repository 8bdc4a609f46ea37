"""BlobStore on S3 (boto3 behind asyncio.to_thread); conditional writes use If-None-Match.

Files go up in one PUT up to `part_bytes`, above it as a multipart upload of parts
of `part_bytes` (one part in memory at a time; If-None-Match on the completion, so
a conditional multipart write is as atomic as a PUT) and come down as one streamed
GET into a temporary file renamed into place.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from adapters.blob_store.keys import check_key
from adapters.blob_store.local_files import require_file, write_atomically
from adapters.errors import StoreError, StoreUnavailable
from domain.errors import NotFoundError

T = TypeVar("T")

_MISSING = {"404", "NoSuchKey", "NotFound"}
# S3's smallest part is 5 MiB; 16 MiB parts keep 10,000 parts (the most S3 takes)
# above 150 GB while holding one part in memory.
PART_BYTES = 16 * 1024 * 1024
_DOWNLOAD_CHUNK = 1024 * 1024
# ConditionalRequestConflict: a concurrent conditional write; S3 asks for a retry.
_UNAVAILABLE = {
    "500",
    "502",
    "503",
    "504",
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "Throttling",
    "ConditionalRequestConflict",
}


class S3BlobStore:
    """Keys live under `prefix` in `bucket`; the bucket must exist."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        prefix: str = "",
        part_bytes: int = PART_BYTES,
    ) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_bytes = part_bytes

    @classmethod
    def connect(
        cls,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
    ) -> S3BlobStore:
        """Credentials come from boto3's usual chain (environment, profile, role)."""
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
        )
        client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )
        return cls(client, bucket, prefix=prefix)

    async def put(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        extra = {"IfNoneMatch": "*"} if if_absent else {}
        try:
            await self._call(
                self._client.put_object,
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                **extra,
            )
        except _Refused:
            return False
        return True

    async def put_file(self, key: str, path: Path, *, if_absent: bool = False) -> bool:
        name = self._key(key)
        size = require_file(path)
        extra = {"IfNoneMatch": "*"} if if_absent else {}
        try:
            send = self._put_from if size <= self.part_bytes else self._multipart
            await self._call(send, path, name, extra)
        except _Refused:
            return False
        return True

    async def get_file(self, key: str, path: Path) -> None:
        def download() -> None:
            body = self._client.get_object(Bucket=self.bucket, Key=self._key(key))[
                "Body"
            ]
            try:
                write_atomically(path, lambda out: _drain(body, out))
            finally:
                body.close()

        try:
            await self._call(download)
        except _Missing as error:
            raise NotFoundError("blob", key) from error

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            with response["Body"] as body:
                return bytes(body.read())

        try:
            return await self._call(read)
        except _Missing as error:
            raise NotFoundError("blob", key) from error

    async def exists(self, key: str) -> bool:
        try:
            await self._call(
                self._client.head_object, Bucket=self.bucket, Key=self._key(key)
            )
        except _Missing:
            return False
        return True

    async def delete(self, key: str) -> None:
        await self._call(
            self._client.delete_object, Bucket=self.bucket, Key=self._key(key)
        )

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    def _put_from(self, path: Path, key: str, extra: dict[str, str]) -> None:
        # botocore streams a file body from disk (checksum pass, then the send).
        with path.open("rb") as body:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)

    def _multipart(self, path: Path, key: str, extra: dict[str, str]) -> None:
        upload = self._client.create_multipart_upload(Bucket=self.bucket, Key=key)
        where = {"Bucket": self.bucket, "Key": key, "UploadId": upload["UploadId"]}
        try:
            parts = self._parts(path, where)
            self._client.complete_multipart_upload(
                **where, MultipartUpload={"Parts": parts}, **extra
            )
        except BaseException:
            # Parts of an upload never completed are billed until aborted; a failed
            # abort must not hide why the upload failed.
            with contextlib.suppress(ClientError, BotoCoreError):
                self._client.abort_multipart_upload(**where)
            raise

    def _parts(self, path: Path, where: dict[str, Any]) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        with path.open("rb") as file:
            while chunk := file.read(self.part_bytes):
                number = len(parts) + 1
                sent = self._client.upload_part(**where, PartNumber=number, Body=chunk)
                parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        return parts

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _call(
        self, function: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> T:
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except ClientError as error:
            raise _translate(error) from error
        except BotoCoreError as error:
            # Endpoint unreachable, connect/read timeout, closed connection.
            raise StoreUnavailable(f"S3 unavailable: {error}") from error


def _drain(body: Any, out: IO[bytes]) -> None:
    for chunk in body.iter_chunks(_DOWNLOAD_CHUNK):
        out.write(chunk)


class _Missing(StoreError):
    """The object does not exist (404)."""


class _Refused(StoreError):
    """A conditional write found the object already there (412)."""


def _translate(error: ClientError) -> StoreError:
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    if status == "412" or code == "PreconditionFailed":
        return _Refused(str(error))
    if code in _MISSING or status == "404":
        return _Missing(str(error))
    if code in _UNAVAILABLE or status in _UNAVAILABLE:
        return StoreUnavailable(f"S3 unavailable: {error}")
    return StoreError(f"S3 request failed: {error}")
