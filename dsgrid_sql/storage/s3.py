"""S3 paths and filesystems: pyarrow's S3 filesystem (the AWS SDK for C++, in every pyarrow
wheel), so DuckDB and the catalog read objects through the same well-kept client.

:class:`S3Path` offers the small part of ``pathlib.Path`` the catalog uses to find a dataset's
files (``/``, ``name``, ``parent``, ``is_dir``, ``rglob`` ...), so the catalog's lookups read the
same for local folders and buckets. Failures become one-sentence :class:`StorageError` s that
name the bucket and key — never a credential.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from dsgrid_sql.errors import StorageError

from .options import StorageOptions

SCHEMES = ("s3://", "s3a://")
# Attempts per request (the SDK's standard strategy backs off between them): an endpoint that
# refuses connections fails within a few connect timeouts.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class S3Path:
    """An object or a prefix ("folder") in a bucket: ``s3://bucket/key``."""

    bucket: str
    key: str
    options: StorageOptions = field(default_factory=StorageOptions, compare=False, repr=False)
    # What a listing already said this is ("file", "dir"): no request to ask again.
    known: str | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, url: str, options: StorageOptions | None = None) -> S3Path:
        text = str(url)
        scheme = next((s for s in SCHEMES if text.lower().startswith(s)), None)
        if scheme is None:
            raise StorageError(f"'{text}' is not an s3:// URL.")
        rest = text[len(scheme) :]
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise StorageError(f"The URL '{text}' names no bucket; use s3://bucket/key.")
        parts = [p for p in key.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise StorageError(f"The URL '{text}' has '..' in its key; give the key in full.")
        return cls(bucket, "/".join(parts), options or StorageOptions())

    # -- the path ----------------------------------------------------------------------------

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"

    def __truediv__(self, other: str | PurePosixPath) -> S3Path:
        joined = (
            posixpath.normpath(posixpath.join(self.key, str(other))) if self.key else str(other)
        )
        return S3Path.parse(f"s3://{self.bucket}/{joined}", self.options)

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1] if self.key else ""

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix if self.name else ""

    @property
    def parent(self) -> S3Path:
        return S3Path(self.bucket, self.key.rpartition("/")[0], self.options)

    @property
    def parts(self) -> tuple[str, ...]:
        return (f"s3://{self.bucket}", *PurePosixPath(self.key).parts)

    def relative_to(self, other: S3Path) -> PurePosixPath:
        if other.bucket != self.bucket:
            raise ValueError(f"{self} is not under {other}")
        return PurePosixPath(self.key).relative_to(other.key or ".")

    def is_absolute(self) -> bool:
        return True

    def expanduser(self) -> S3Path:
        return self

    @property
    def fs_path(self) -> str:
        """The path pyarrow's filesystem takes: ``bucket/key``."""
        return f"{self.bucket}/{self.key}" if self.key else self.bucket

    @property
    def filesystem(self) -> pafs.S3FileSystem:
        return filesystem(self.options)

    # -- what is there -----------------------------------------------------------------------

    def _type(self) -> pafs.FileType:
        if self.known == "file":
            return pafs.FileType.File
        if self.known == "dir":
            return pafs.FileType.Directory
        info = call(lambda: self.filesystem.get_file_info(self.fs_path), self)
        return info.type

    def exists(self) -> bool:
        return self._type() != pafs.FileType.NotFound

    def is_file(self) -> bool:
        return self._type() == pafs.FileType.File

    def is_dir(self) -> bool:
        return self._type() == pafs.FileType.Directory

    def rglob(self, pattern: str = "*") -> Iterator[S3Path]:
        """Every object and folder below this prefix (``pattern`` must be ``*``)."""
        assert pattern == "*", "only rglob('*') is offered"
        selector = pafs.FileSelector(self.fs_path, recursive=True, allow_not_found=True)
        infos = call(lambda: self.filesystem.get_file_info(selector), self)
        for info in infos:
            bucket, _, key = info.path.partition("/")
            known = "file" if info.type == pafs.FileType.File else "dir"
            yield S3Path(bucket, key, self.options, known)

    def object_identity(self) -> tuple[str, int]:
        """(ETag or, where the store gives none, the modification time; size) of the object:
        what changes when the object is replaced."""

        def head() -> tuple[str, int]:
            with self.filesystem.open_input_file(self.fs_path) as handle:
                meta = handle.metadata()
                size = handle.size()
            tag = meta.get("ETag") or meta.get("VersionId") or meta.get("Last-Modified") or b""
            return (tag.decode() if isinstance(tag, bytes) else str(tag), size)

        return call(head, self)

    def check_bucket(self) -> None:
        """A StorageError naming the bucket when it does not exist."""
        info = call(lambda: self.filesystem.get_file_info(self.bucket), self)
        if info.type == pafs.FileType.NotFound:
            raise StorageError(
                f"The bucket '{self.bucket}' does not exist (reading '{self}').",
                hint="Check the bucket name and the endpoint (--storage-option endpoint=...).",
            )

    def not_found(self, what: str = "object") -> StorageError:
        """The error for a missing key, after checking that the bucket exists."""
        self.check_bucket()
        return StorageError(
            f"No {what} at '{self}': the bucket '{self.bucket}' has no key '{self.key}'.",
        )


_filesystems: dict[StorageOptions, pafs.S3FileSystem] = {}
_filesystems_lock = threading.Lock()


def filesystem(options: StorageOptions | None = None) -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem for ``options`` (with the environment's endpoint and region);
    one per set of options, kept: the SDK client keeps its connections."""
    options = (options or StorageOptions()).resolved()
    if not hasattr(pafs, "S3FileSystem"):
        raise StorageError(
            "This pyarrow was built without S3 support; install pyarrow's wheel "
            "(pip install --force-reinstall pyarrow) to read s3:// paths."
        )
    with _filesystems_lock:
        found = _filesystems.get(options)
        if found is not None:
            return found
        kwargs: dict[str, Any] = {
            "connect_timeout": options.connect_timeout_s,
            "request_timeout": options.request_timeout_s,
            "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=MAX_ATTEMPTS),
            "scheme": "https" if options.use_tls() else "http",
        }
        if options.endpoint:
            kwargs["endpoint_override"] = options.endpoint_host()
        # Without a region the SDK asks the network for the bucket's; an S3-compatible
        # endpoint has one region, whatever it is called.
        kwargs["region"] = options.region or ("us-east-1" if options.endpoint else None)
        if options.path_style is not None:
            kwargs["force_virtual_addressing"] = not options.path_style
        if options.anonymous:
            kwargs["anonymous"] = True
        elif options.access_key_id or options.secret_access_key:
            kwargs["access_key"] = options.access_key_id
            kwargs["secret_key"] = options.secret_access_key
            kwargs["session_token"] = options.session_token
        if options.profile:
            # The SDK reads the profile named by AWS_PROFILE from ~/.aws; pyarrow takes no
            # profile argument, so an explicit profile is resolved to its keys here.
            kwargs.update(_profile_credentials(options.profile))
        if kwargs.get("region") is None:
            kwargs.pop("region")
        try:
            made = pafs.S3FileSystem(**kwargs)
        except (OSError, pa.ArrowException, ValueError, TypeError) as exc:
            raise StorageError(
                f"Cannot set up S3 access: {options.scrub(_first_line(exc))}."
            ) from None
        _filesystems[options] = made
        return made


def _profile_credentials(profile: str) -> dict[str, str]:
    import configparser
    import os
    from pathlib import Path

    path = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")).expanduser()
    parser = configparser.ConfigParser()
    parser.read(path)
    if not parser.has_section(profile):
        raise StorageError(
            f"The AWS profile '{profile}' is not in the shared credentials file.",
            hint="Name a profile of ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE moves it).",
        )
    section = parser[profile]
    found = {
        "access_key": section.get("aws_access_key_id"),
        "secret_key": section.get("aws_secret_access_key"),
        "session_token": section.get("aws_session_token"),
    }
    return {k: v for k, v in found.items() if v}


def call(action: Any, path: S3Path) -> Any:
    """Run ``action`` (a request about ``path``) with its failure as a StorageError."""
    try:
        return action()
    except StorageError:
        raise
    except FileNotFoundError:
        raise path.not_found() from None
    except (OSError, pa.ArrowException) as exc:
        raise storage_error(exc, path) from None


def storage_error(exc: BaseException, path: S3Path, doing: str = "reading") -> StorageError:
    """A library's S3 failure as one sentence naming the bucket and key."""
    text = _first_line(exc)
    lowered = text.lower()
    where = f"'{path}'"
    options = path.options.resolved()
    if "nosuchbucket" in lowered or "bucket does not exist" in lowered:
        return StorageError(f"The bucket '{path.bucket}' does not exist ({doing} {where}).")
    denied = ("accessdenied", "access_denied", "access denied", "forbidden", "http 403")
    refused = ("invalidaccesskeyid", "signaturedoesnotmatch", "invalid_access_key")
    if any(word in lowered for word in (*denied, *refused)):
        return StorageError(
            f"Access to {where} was denied: the credentials in use may not read the bucket "
            f"'{path.bucket}'.",
            hint="Check AWS_ACCESS_KEY_ID / AWS_PROFILE, or use --storage-option "
            "anonymous=true for a public bucket.",
        )
    if "nosuchkey" in lowered or "path does not exist" in lowered:
        return StorageError(f"No object at {where}: the bucket has no key '{path.key}'.")
    if any(
        word in lowered
        for word in ("curlcode", "could not connect", "connection", "timed out", "timeout")
    ):
        endpoint = options.endpoint_host() or "the S3 endpoint"
        return StorageError(
            f"The storage endpoint '{endpoint}' could not be reached while {doing} {where} "
            f"(timeouts: connect {options.connect_timeout_s:g} s, request "
            f"{options.request_timeout_s:g} s; {MAX_ATTEMPTS} attempts).",
            hint="Check --storage-option endpoint=... (or AWS_ENDPOINT_URL) and the network.",
        )
    return StorageError(f"S3 failed {doing} {where}: {options.scrub(text)}.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].rstrip(".")
