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

from dsgrid_sql.generator import GeneratorSpec, estimate_rows

from .harness import CACHE

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

# Counties × 8,760 hours; two commercial subsectors, four end uses; residential off by
# using one model year and one scenario with one subsector and one end use.
SCALES = {"1M": 40, "10M": 400, "100M": 3100}


def spec_for(counties: int) -> GeneratorSpec:
    return GeneratorSpec(
        project_id="bench_scale",
        counties=counties,
        hours=8760,
        datasets=3,
        commercial_subsectors_per_county=2,
        commercial_end_uses=2,
        residential_subsectors_per_county=1,
        residential_end_uses=1,
        model_years=("2020", "2030"),
        scenarios=("reference",),
    )


def run(scales: list[str]) -> str:
    lines = [
        "## Generator: rows/s and peak memory per scale",
        "",
        "| scale | value rows | seconds | rows/s | peak RSS MB |",
        "|---|---:|---:|---:|---:|",
    ]
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in scales:
        spec = spec_for(SCALES[name])
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
