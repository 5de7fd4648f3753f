"""Document bytes in a bucket of any S3-compatible store (AWS, MinIO, Ceph, R2, …).

Objects are named ``<prefix><key>`` with the same generated keys as on local disk;
the prefix lets several trackers, or other data, share one bucket. Uploads go
from the staged temporary file with ``upload_file``, which switches to multipart
for large files and reads them in parts, so memory stays flat whatever the size.
"""

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, BinaryIO, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from tracker.documents.storage import Staged, new_key

KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")
PART = 16 * 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class StorageError(RuntimeError):
    """The store did not keep what it was given."""


@lru_cache(maxsize=8)
def make_client(
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> Any:
    """One client per set of settings: building one is slow, and clients are thread-safe."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        # Checksums only where S3 demands them: several S3-compatible stores reject
        # the extra checksum headers that newer clients send by default.
        config=Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"mode": "standard"},
        ),
    )


def setting(config: Mapping[str, Any], name: str) -> str | None:
    """A setting as text: from_prefixed_env reads a value such as ``2024`` as a number."""
    value = config.get(name)
    return None if value is None or value == "" else str(value)


def normalise_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


def not_found(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in NOT_FOUND


class S3Storage:
    """Objects in one bucket, under an optional prefix."""

    name = "s3"

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = normalise_prefix(prefix)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "S3Storage":
        bucket = config.get("S3_BUCKET")
        if not bucket:
            raise RuntimeError("STORAGE_BACKEND is s3 but TRACKER_S3_BUCKET is not set.")
        client = make_client(
            setting(config, "S3_ENDPOINT_URL"),
            setting(config, "S3_REGION"),
            setting(config, "S3_ACCESS_KEY_ID"),
            setting(config, "S3_SECRET_ACCESS_KEY"),
        )
        return cls(client, str(bucket), setting(config, "S3_PREFIX") or "")

    def object_name(self, key: str) -> str:
        if not KEY.fullmatch(key):
            raise KeyError(key)
        return self.prefix + key

    def put(self, staged: Staged) -> str:
        key = new_key()
        self.put_at(key, staged)
        return key

    def put_at(self, key: str, staged: Staged) -> None:
        name = self.object_name(key)
        self.client.upload_file(
            str(staged.path),
            self.bucket,
            name,
            ExtraArgs={"Metadata": {"sha256": staged.sha256}},
            Config=TRANSFER,
        )
        size = self.client.head_object(Bucket=self.bucket, Key=name)["ContentLength"]
        if size != staged.size:
            self.client.delete_object(Bucket=self.bucket, Key=name)
            raise StorageError(f"the store kept {size} bytes of {staged.size}")

    def open(self, key: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.object_name(key))
        except ClientError as error:
            if not_found(error):
                raise FileNotFoundError(key) from error
            raise
        # botocore's StreamingBody is an io.IOBase with read(n) and close().
        return cast(BinaryIO, response["Body"])

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_name(key))

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            return cast(
                dict[str, Any],
                self.client.head_object(Bucket=self.bucket, Key=self.object_name(key)),
            )
        except ClientError as error:
            if not_found(error):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def modified_at(self, key: str) -> datetime | None:
        head = self.head(key)
        return None if head is None else cast(datetime, head["LastModified"])

    def keys(self) -> Iterator[str]:
        """Keys the tracker made; other objects that share the bucket are none of its business."""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                key = str(item["Key"])[len(self.prefix) :]
                if KEY.fullmatch(key):
                    yield key
