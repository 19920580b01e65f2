"""A lake in object storage: ``s3://bucket/prefix``, with credentials from the AWS environment.

A lake is either a local directory (a :class:`~pathlib.Path`) or an :class:`ObjectLake`: the
URI of a prefix in an S3 bucket (or an S3-compatible store) plus the storage options delta-rs
and pyarrow need to reach it. :func:`lake_root` tells them apart once, where a command reads
its ``--lake``; every module below takes a :data:`LakeRoot` and asks :func:`is_object` rather
than looking at the text.

The storage options come from the usual AWS variables (:func:`options_from_env`):
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` (or
``AWS_DEFAULT_REGION``), ``AWS_PROFILE`` and ``AWS_ENDPOINT_URL`` for an S3-compatible endpoint.
A plain-http endpoint is refused unless it is on this machine (``localhost``, ``127.0.0.1``,
``[::1]``) or ``AWS_ALLOW_HTTP=true`` says so. The options are never printed: an ObjectLake
shows as its URI only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from attestlake.errors import InputError

#: The URI schemes of object storage a lake may live in.
SCHEMES = ("s3", "s3a")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
#: The AWS variables read, and the storage option each one becomes.
_VARIABLES = {
    "AWS_ACCESS_KEY_ID": "aws_access_key_id",
    "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
    "AWS_SESSION_TOKEN": "aws_session_token",
    "AWS_PROFILE": "aws_profile",
    "AWS_ENDPOINT_URL": "aws_endpoint",
}


@dataclass(frozen=True)
class ObjectLake:
    """A lake under ``uri`` (``s3://bucket/prefix``, no trailing slash) in object storage.

    ``options`` are delta-rs storage options (credentials among them): never part of its text.
    """

    uri: str
    options: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __str__(self) -> str:
        return self.uri

    @property
    def bucket(self) -> str:
        return urlsplit(self.uri).netloc

    @property
    def prefix(self) -> str:
        """The key prefix under the bucket (no leading or trailing slash; may be empty)."""
        return urlsplit(self.uri).path.strip("/")

    def child(self, *parts: str) -> str:
        """The URI of ``parts`` under the lake (``s3://bucket/prefix/runs/_delta_log``)."""
        return "/".join([self.uri, *parts])

    def key(self, *parts: str) -> str:
        """``bucket/prefix/parts...``: the path pyarrow's S3 file system names it by."""
        return "/".join(p for p in (self.bucket, self.prefix, *parts) if p)


#: Where a lake is: a local directory, or a prefix in object storage.
LakeRoot = Path | ObjectLake


def is_object(root: LakeRoot) -> bool:
    return isinstance(root, ObjectLake)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def _endpoint_options(endpoint: str, env: Mapping[str, str]) -> dict[str, str]:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"AWS_ENDPOINT_URL must be an http(s) URL such as https://s3.example.com, not "
            f"{parts.scheme or 'a text without a scheme'}"
        )
    if parts.username or parts.password:
        raise InputError("AWS_ENDPOINT_URL must not hold credentials: set AWS_ACCESS_KEY_ID ...")
    if parts.scheme == "https":
        return {}
    if parts.hostname in _LOCAL_HOSTS or _truthy(env.get("AWS_ALLOW_HTTP")):
        return {"aws_allow_http": "true"}
    raise InputError(
        f"AWS_ENDPOINT_URL {parts.scheme}://{parts.hostname} is plain http, which sends the "
        "lake and its signed requests unencrypted: use https, or set AWS_ALLOW_HTTP=true if "
        "the network is trusted (http to localhost/127.0.0.1 is always allowed)"
    )


def options_from_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """delta-rs storage options from the AWS variables of ``env`` (default: the process's)."""
    env = os.environ if env is None else env
    options = {opt: env[var] for var, opt in _VARIABLES.items() if env.get(var)}
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        options["aws_region"] = region
    if "aws_endpoint" in options:
        options.update(_endpoint_options(options["aws_endpoint"], env))
    if ("aws_access_key_id" in options) != ("aws_secret_access_key" in options):
        raise InputError(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both, or neither "
            "(then AWS_PROFILE or the machine's role gives the credentials)"
        )
    return options


def parse_object_uri(text: str, env: Mapping[str, str] | None = None) -> ObjectLake:
    """The ObjectLake of ``s3://bucket/prefix``; InputError naming what is wrong with it."""
    parts = urlsplit(text)
    if parts.scheme not in SCHEMES:
        raise InputError(f"the lake {text!r} is no s3:// URI")
    bucket = parts.netloc
    if "@" in bucket or ":" in bucket:
        raise InputError(
            "the lake URI must not hold credentials or a port: s3://bucket/prefix (credentials "
            "come from AWS_ACCESS_KEY_ID ..., the endpoint from AWS_ENDPOINT_URL)"
        )
    if not _BUCKET.match(bucket):
        raise InputError(f"the lake URI {parts.scheme}://{bucket}/... names no valid bucket")
    if parts.query or parts.fragment:
        raise InputError("the lake URI must be s3://bucket/prefix, without '?' or '#'")
    prefix = parts.path.strip("/")
    pieces = prefix.split("/") if prefix else []
    if any(p in ("", ".", "..") for p in pieces) or re.search(r"[%\[\]\\\s]", prefix):
        raise InputError(
            f"the lake prefix {prefix!r} must be plain key segments separated by '/' (no empty, "
            "'.' or '..' segment, no '%', '[', ']', '\\' or spaces)"
        )
    uri = f"s3://{bucket}" + (f"/{prefix}" if prefix else "")
    return ObjectLake(uri, options_from_env(env))


def lake_root(text: str | Path) -> LakeRoot:
    """A command's ``--lake``: an ObjectLake for ``s3://...``, a local Path otherwise.

    Another URI scheme (``gs://``, ``az://``, ``file://``) is refused by name."""
    raw = str(text)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", raw)
    if scheme is None:
        if re.match(r"^(?:s3a?|gs|az|abfss?|file):/?(?!/)", raw, re.IGNORECASE):
            raise InputError(
                f"the lake {raw!r} looks like a URI with a slash missing: give s3://bucket/prefix "
                f"(or ./{raw} for a local directory of that name)"
            )
        return Path(raw)
    if scheme.group(1).lower() in SCHEMES:
        return parse_object_uri(raw)
    raise InputError(
        f"the lake {raw!r}: {scheme.group(1)}:// is not supported; give a local directory or "
        "s3://bucket/prefix"
    )
