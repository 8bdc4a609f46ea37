"""BlobStore on S3 (boto3 behind asyncio.to_thread); conditional writes use If-None-Match."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from adapters.blob_store.keys import check_key
from adapters.errors import StoreError, StoreUnavailable
from domain.errors import NotFoundError

T = TypeVar("T")

_MISSING = {"404", "NoSuchKey", "NotFound"}
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

    def __init__(self, client: Any, bucket: str, *, prefix: str = "") -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

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

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _call(self, function: Callable[..., T], /, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(function, **kwargs)
        except ClientError as error:
            raise _translate(error) from error
        except BotoCoreError as error:
            # Endpoint unreachable, connect/read timeout, closed connection.
            raise StoreUnavailable(f"S3 unavailable: {error}") from error


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
