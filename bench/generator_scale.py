"""Generator throughput and memory: value rows per second and peak RSS at several scales.

Each scale runs in a fresh process so peak RSS belongs to that scale alone; flat peak
memory across scales shows the Parquet is streamed rather than held.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile

from dsgrid_sql.generator import estimate_rows

from .harness import CACHE
from .scale import spec_for

_CHILD = """
import json, resource, sys, time
from dsgrid_sql.generator import GeneratorSpec, generate_registry
spec = GeneratorSpec.model_validate_json(sys.argv[1])
start = time.perf_counter()
result = generate_registry(sys.argv[2], spec, overwrite=True)
elapsed = time.perf_counter() - start
print(json.dumps({"rows": sum(result.rows.values()), "seconds": elapsed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(scales: list[str]) -> str:
    lines = [
        "## Generator: rows/s and peak memory per scale",
        "",
        "| scale | value rows | seconds | rows/s | peak RSS MB |",
        "|---|---:|---:|---:|---:|",
    ]
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in scales:
        spec = spec_for(name)  # the benchmark registries' own specs
        out = tempfile.mkdtemp(prefix="gen-", dir=CACHE)
        try:
            result = subprocess.run(
                [sys.executable, "-c", _CHILD, spec.model_dump_json(), out + "/registry"],
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            shutil.rmtree(out, ignore_errors=True)
        data = json.loads(result.stdout)
        assert data["rows"] == estimate_rows(spec)
        lines.append(
            f"| {name} | {data['rows']:,} | {data['seconds']:.1f} | "
            f"{data['rows'] / data['seconds']:,.0f} | {data['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)
