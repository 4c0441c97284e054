"""The soak (bench/soak.py) for two minutes: a server under mixed Flight SQL and HTTP clients
while its registry gains a version every second, every answer checked.

Fewer clients than the bench's 16 keep the suite's load down; a version every second (the
server's poll of the registry) makes a hundred versions, so anything kept per version shows:
the catalogs left alive, the engine inputs and, with a generous margin, the server's RSS."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import soak as soak_bench  # noqa: E402

# RSS may grow this much from the end of the warm-up to the end of the soak: glibc arenas of
# the server's threads and DuckDB's buffers settle within the first minute (+17 and +33 MiB
# measured here); a catalog kept per version (1.2 MiB of Python objects each, before its
# plans and tables) over ~100 versions would go past it.
RSS_GROWTH = 128 * 2**20


def test_two_minutes_of_mixed_clients_while_the_registry_changes(tmp_path: Path) -> None:
    soak = soak_bench.run_soak(
        tmp_path, 2.0, warmup_s=40.0, interval_s=1.0, flight_clients=6, http_clients=2,
        input_idle_s=10.0,
    )  # fmt: skip
    report = soak_bench.markdown(soak)
    assert soak_bench.check(soak) == [], report
    assert len(soak.versions.written) > 60, report  # the writer kept up
    kinds = {o.kind for o in soak.outcomes if o.ok}
    assert set(soak_bench.KINDS) | set(soak_bench.HTTP_KINDS) <= kinds, report
    warm = [s["vmrss"] for s in soak.samples if s["t"] >= soak.warmup_s]
    assert warm and soak.after["vmrss"] - warm[0] <= RSS_GROWTH, report
