"""The objects of a lake in object storage, read through pyarrow's S3 file system.

What the cheap checks and ``lake check`` need of a lake in a bucket, that delta-rs does not
give: the objects under a table or the whole lake (name and size), an object's bytes, and
whether the store answers at all (:func:`reach`, run before a command reads or writes, so that
bad credentials, a missing bucket or an unreachable endpoint stop it with the reason before
anything is written; it lists the lake's objects on the way).
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from pyarrow import fs

from attestlake.errors import LakeError
from attestlake.lake.object_store import ObjectLake
from attestlake.redaction import redact

#: What the store's errors mean, by the words pyarrow's S3 client puts in them.
_REASONS = (
    (("NO_SUCH_BUCKET", "NoSuchBucket"), "the bucket does not exist"),
    (
        ("INVALID_ACCESS_KEY_ID", "InvalidAccessKeyId", "SIGNATURE_DOES_NOT_MATCH",
         "SignatureDoesNotMatch", "ACCESS_DENIED", "AccessDenied", "Forbidden", "403",
         "EXPIRED_TOKEN", "ExpiredToken", "InvalidToken"),
        "the credentials were refused (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
        "AWS_SESSION_TOKEN or AWS_PROFILE, and the bucket's permissions)",
    ),
    (
        ("curlCode", "Couldn't connect", "Could not resolve", "NETWORK_CONNECTION",
         "Connection refused", "Timeout", "timed out"),
        "the endpoint cannot be reached (check AWS_ENDPOINT_URL and the network)",
    ),
)  # fmt: skip


def why(exc: BaseException) -> str:
    """The reason a store operation failed, in words, without credentials."""
    text = str(exc)
    for words, reason in _REASONS:
        if any(w in text for w in words):
            return reason
    return redact((text.strip().splitlines() or [type(exc).__name__])[0])


@functools.lru_cache(maxsize=16)
def _filesystem(options: tuple[tuple[str, str], ...]) -> fs.S3FileSystem:
    opts = dict(options)
    endpoint = opts.get("aws_endpoint")
    parts = urlsplit(endpoint) if endpoint else None
    return fs.S3FileSystem(
        access_key=opts.get("aws_access_key_id"),
        secret_key=opts.get("aws_secret_access_key"),
        session_token=opts.get("aws_session_token"),
        region=opts.get("aws_region") or "us-east-1",
        endpoint_override=parts.netloc if parts else None,
        scheme=parts.scheme if parts else "https",
        connect_timeout=5,
        request_timeout=30,
        retry_strategy=fs.AwsStandardS3RetryStrategy(max_attempts=2),
    )


def filesystem(lake: ObjectLake) -> fs.S3FileSystem:
    """pyarrow's S3 file system with the lake's storage options."""
    return _filesystem(tuple(sorted(lake.options.items())))


def _objects(infos: list[fs.FileInfo], base: str) -> dict[str, int]:
    return {
        info.path[len(base) + 1 :]: int(info.size or 0)
        for info in infos
        if info.type == fs.FileType.File
    }


def reach(lake: ObjectLake) -> dict[str, int]:
    """Every object under the lake's prefix (as :func:`listing` gives them); LakeError naming
    why the store cannot be read (missing bucket, refused credentials, unreachable endpoint)."""
    selector = fs.FileSelector(lake.key(), allow_not_found=True, recursive=True)
    try:
        if filesystem(lake).get_file_info(lake.bucket).type == fs.FileType.NotFound:
            raise LakeError(f"cannot use the lake {lake}: the bucket does not exist")
        return _objects(filesystem(lake).get_file_info(selector), lake.key())
    except OSError as exc:
        raise LakeError(f"cannot use the lake {lake}: {why(exc)}") from None


def listing(lake: ObjectLake, *parts: str) -> dict[str, int]:
    """Every object under ``parts`` of the lake: its key relative to there, and its size."""
    base = lake.key(*parts)
    selector = fs.FileSelector(base, allow_not_found=True, recursive=True)
    try:
        infos = filesystem(lake).get_file_info(selector)
    except OSError as exc:
        raise LakeError(f"cannot list {lake.child(*parts)}: {why(exc)}") from None
    return _objects(infos, base)


def read_bytes(lake: ObjectLake, *parts: str) -> bytes:
    """The bytes of the object at ``parts`` of the lake; OSError when it cannot be read."""
    with filesystem(lake).open_input_stream(lake.key(*parts)) as stream:
        return bytes(stream.read())
