"""The registries the query benchmarks run on, generated once per scale and cached on disk.

Every scale has the same catalog: 3,000 counties in 50 states, hourly time, a commercial
(two-table, period-ending), a residential (one-table) and an annual EV dataset, and the
generator's supplemental dimensions with fractional mappings (states, census regions, end
uses by fuel type). Only the span of hourly time grows with the scale, so a difference
between scales is data volume alone, never catalog size.

    python -m bench.scale 1M 10M        # generate (or reuse) and print the paths
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from dsgrid_sql.generator import GeneratorSpec, estimate_rows, generate_registry

from .harness import CACHE

COUNTIES = 3000
PROJECT = "bench"

# Hours of hourly time per scale: value rows ≈ counties × hours × 6 (two commercial end
# uses, one residential end use in two model years × two scenarios, plus the small annual
# EV dataset).
_HOURS = {"1M": 56, "10M": 556, "100M": 5556}
SCALES = tuple(_HOURS)


@dataclass(frozen=True)
class ScaleRegistry:
    scale: str
    spec: GeneratorSpec
    path: Path

    @property
    def registry_db(self) -> Path:
        return self.path / "registry.db"

    @property
    def rows(self) -> int:
        return estimate_rows(self.spec)


def spec_for(scale: str) -> GeneratorSpec:
    if scale not in _HOURS:
        raise SystemExit(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    return GeneratorSpec(
        project_id=PROJECT,
        counties=COUNTIES,
        hours=_HOURS[scale],
        datasets=3,
        commercial_subsectors_per_county=1,
        commercial_end_uses=2,
        residential_subsectors_per_county=1,
        residential_end_uses=1,
        model_years=("2020", "2030"),
        scenarios=("reference", "high_electrification"),
    )


def cached_registry(name: str, spec: GeneratorSpec) -> Path:
    """bench/cache/<name>, generated first if missing or written from another spec."""
    path = CACHE / name
    stamp = path / ".spec.json"
    if not (stamp.exists() and stamp.read_text() == spec.model_dump_json()):
        print(f"generating {name} ({estimate_rows(spec):,} rows)…", file=sys.stderr)
        generate_registry(path, spec, overwrite=True)
        stamp.write_text(spec.model_dump_json())
    return path


def registry(scale: str) -> ScaleRegistry:
    """The cached registry for ``scale``."""
    spec = spec_for(scale)
    return ScaleRegistry(scale, spec, cached_registry(f"scale-{scale}", spec))


if __name__ == "__main__":
    for name in sys.argv[1:] or ["1M"]:
        found = registry(name)
        print(f"{found.scale}\t{found.rows:,}\t{found.path}")
