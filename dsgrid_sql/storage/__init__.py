"""Where a registry and its data live: local paths or object storage (``s3://``).

A leaf beside the catalog (layer 0): the catalog finds files through it, engines read
through it, exports write through it. See README "Registries on object storage (S3)".
"""

from __future__ import annotations

from pathlib import Path

from .options import StorageOptions, is_remote
from .s3 import S3Path

Location = Path | S3Path
"""A local path or an object-store path: what the catalog's file lookups take."""


def location(text: str | Path | S3Path, options: StorageOptions | None = None) -> Location:
    """``text`` as a local path (``~`` expanded) or, for ``s3://`` / ``s3a://``, an S3Path."""
    if isinstance(text, S3Path):
        return text
    if is_remote(str(text)):
        return S3Path.parse(str(text), options)
    return Path(text).expanduser()


__all__ = ["Location", "S3Path", "StorageOptions", "is_remote", "location"]
