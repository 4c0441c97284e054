"""Timing helpers shared by the benchmarks: repeated runs, medians, a ratio table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).resolve().parent / "cache"


@dataclass
class Measurement:
    name: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def measure(name: str, action: Callable[[], object], runs: int, warmup: int = 1) -> Measurement:
    for _ in range(warmup):
        action()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return Measurement(name, seconds)


def measure_interleaved(
    actions: dict[str, Callable[[], object]], runs: int, warmup: int = 1
) -> list[Measurement]:
    """Each action once per round, rounds repeated: on a shared, noisy machine a change of
    load then hits every peer alike instead of one peer's block of runs."""
    for _ in range(warmup):
        for action in actions.values():
            action()
    measured = {name: Measurement(name, []) for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            measured[name].seconds.append(time.perf_counter() - start)
    return list(measured.values())


def ratio_table(title: str, measurements: list[Measurement], baseline: str) -> str:
    base = next(m for m in measurements if m.name == baseline).median
    lines = [
        f"## {title}",
        "",
        f"| case | median ms | min ms | max ms | runs | × {baseline} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        lines.append(
            f"| {m.name} | {m.median * 1e3:.1f} | {min(m.seconds) * 1e3:.1f} | "
            f"{max(m.seconds) * 1e3:.1f} | {len(m.seconds)} | {m.median / base:.2f} |"
        )
    return "\n".join(lines)
