"""The package version, kept apart so the build reads it without importing dependencies."""

from __future__ import annotations

__version__ = "0.1.0"
