"""Blobs as objects in an S3-compatible bucket, under a key prefix.

Small blobs are one PUT at commit; a blob that outgrows one part becomes a multipart upload,
which S3 makes visible only when it is completed, so a reader never sees half a blob. Clients
still get this server's own signed links: the bucket is never exposed to them.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger("qconnect_local.blobs")

PART_SIZE = 8 * 1024 * 1024  # S3 wants parts of at least 5 MiB (all but the last)
DELETE_BATCH = 1000  # the most keys one DeleteObjects accepts
MISSING = {"NoSuchKey", "404", "NotFound"}


class _S3Writer:
    def __init__(self, client: Any, bucket: str, key: str, part_size: int) -> None:
        self._client = client
        self._target = {"Bucket": bucket, "Key": key}
        self._part_size = part_size
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> int:
        self._buffer += data
        try:
            while len(self._buffer) >= self._part_size:
                self._upload_part(bytes(self._buffer[: self._part_size]))
                del self._buffer[: self._part_size]
        except BaseException:  # leave no unfinished multipart upload behind
            self.abort()
            raise
        return len(data)

    def _upload_part(self, data: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self._client.create_multipart_upload(**self._target)["UploadId"]
        number = len(self._parts) + 1
        answer = self._client.upload_part(
            **self._target, UploadId=self._upload_id, PartNumber=number, Body=data
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> None:
        try:
            if self._upload_id is None:
                self._client.put_object(**self._target, Body=bytes(self._buffer))
            else:
                if self._buffer:
                    self._upload_part(bytes(self._buffer))
                self._client.complete_multipart_upload(
                    **self._target, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
                )
        except BaseException:
            self.abort()
            raise
        self._buffer.clear()
        self._upload_id = None  # completed: nothing left for abort() to undo

    def abort(self) -> None:
        """Abandon the multipart upload, if any; never raises (it runs while another error is on its way)."""
        self._buffer.clear()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is not None:
            try:
                self._client.abort_multipart_upload(**self._target, UploadId=upload_id)
            except Exception as error:  # the bucket's lifecycle rule for unfinished uploads removes it
                log.warning("could not abort the multipart upload of %s: %s", self._target["Key"], error)


class _BodyReader(io.RawIOBase):
    """botocore's StreamingBody as a raw stream, so it can be buffered and wrapped in text."""

    def __init__(self, body: Any) -> None:
        super().__init__()
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        part_size: int = PART_SIZE,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = part_size
        # Path-style addressing: what S3-compatible servers on a plain host:port understand.
        config = Config(s3={"addressing_style": "path"}) if endpoint_url else None
        # boto3's default session: its loaded service models are shared by every store.
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)

    def _key(self, key: str) -> str:
        return self.prefix + key

    def writer(self, key: str) -> _S3Writer:
        return _S3Writer(self.client, self.bucket, self._key(key), self.part_size)

    def open(self, key: str) -> BinaryIO:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                raise FileNotFoundError(f"no blob {key!r}") from error
            raise
        return cast(BinaryIO, io.BufferedReader(_BodyReader(answer["Body"]), 256 * 1024))

    def chunks(self, key: str, size: int = 64 * 1024) -> Iterator[bytes]:
        with self.open(key) as handle:
            while chunk := handle.read(size):
                yield chunk

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> None:
        folder = prefix.strip("/")
        keys = [self._key(folder)] if folder else []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(folder + "/" if folder else "")
        )
        keys += [item["Key"] for page in pages for item in page.get("Contents", [])]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + DELETE_BATCH]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def keys(self, prefix: str = "") -> Iterator[str]:
        # S3 lists in UTF-8 binary order, which is code-point order.
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix)
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :]

    def close(self) -> None:
        self.client.close()
