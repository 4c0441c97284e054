"""Durable jobs: queries submitted for later, kept as Parquet, fetched from any process.

One model under every front end (DESIGN.md §6): the Python API (``session.submit``), the
HTTP API and Flight all use :class:`JobRunner` over a :class:`JobStore`.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from .job import Job
from .model import JobRecord, JobState
from .runner import JobRunner
from .store import JobStore, default_jobs_dir

__all__ = [
    "Job",
    "JobRecord",
    "JobRunner",
    "JobState",
    "JobStore",
    "default_jobs_dir",
    "local_owner",
    "open_job",
]


def local_owner() -> str:
    """Who owns jobs submitted from Python: the operating system's user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def open_job(job_id: str, jobs_dir: str | Path | None = None) -> Job:
    """A job submitted from Python by this user, found again (e.g. in another process)."""
    store = JobStore(jobs_dir)
    owner = local_owner()
    store.get(job_id, owner)  # unknown (or another user's) job: an error now
    return Job(job_id, owner, runner=None, store=store)
