"""What a server has done, in Prometheus' text format (``GET /metrics``).

Counters only grow; gauges are read when scraped. Label values are ours (protocol, status),
never a user's text, so nothing a client sends can break the format.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

# Seconds: an interactive aggregate lands in the first buckets, a Spark job in the last.
BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queries: Counter[tuple[str, str]] = Counter()
        self._bytes: Counter[str] = Counter()
        self._buckets: Counter[tuple[str, float]] = Counter()
        self._duration_sum: Counter[str] = Counter()
        self._duration_count: Counter[str] = Counter()
        self._gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        self.started = time.time()

    def query(self, protocol: str, status: str, seconds: float) -> None:
        """One statement answered (status: ok, error, cancelled, timeout, busy)."""
        with self._lock:
            self._queries[(protocol, status)] += 1
            self._duration_sum[protocol] += seconds
            self._duration_count[protocol] += 1
            for bound in BUCKETS:
                if seconds <= bound:
                    self._buckets[(protocol, bound)] += 1

    def sent(self, protocol: str, size: int) -> None:
        with self._lock:
            self._bytes[protocol] += size

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self._gauges[name] = (help_text, read)

    def render(self) -> str:
        lines = [
            "# HELP dsgrid_sql_queries_total Statements answered, by protocol and status.",
            "# TYPE dsgrid_sql_queries_total counter",
        ]
        with self._lock:
            queries = dict(self._queries)
            sent = dict(self._bytes)
            buckets = dict(self._buckets)
            sums = dict(self._duration_sum)
            counts = dict(self._duration_count)
        for (protocol, status), count in sorted(queries.items()):
            lines.append(
                f'dsgrid_sql_queries_total{{protocol="{protocol}",status="{status}"}} {count}'
            )
        lines += [
            "# HELP dsgrid_sql_query_duration_seconds Time from request to last row sent.",
            "# TYPE dsgrid_sql_query_duration_seconds histogram",
        ]
        for protocol in sorted(counts):
            for bound in BUCKETS:
                value = buckets.get((protocol, bound), 0)
                lines.append(
                    f'dsgrid_sql_query_duration_seconds_bucket{{protocol="{protocol}",'
                    f'le="{bound:g}"}} {value}'
                )
            lines.append(
                f'dsgrid_sql_query_duration_seconds_bucket{{protocol="{protocol}",le="+Inf"}} '
                f"{counts[protocol]}"
            )
            lines.append(
                f'dsgrid_sql_query_duration_seconds_sum{{protocol="{protocol}"}} '
                f"{sums[protocol]:.6f}"
            )
            lines.append(
                f'dsgrid_sql_query_duration_seconds_count{{protocol="{protocol}"}} '
                f"{counts[protocol]}"
            )
        lines += [
            "# HELP dsgrid_sql_result_bytes_total Bytes of results sent to clients.",
            "# TYPE dsgrid_sql_result_bytes_total counter",
        ]
        for protocol, size in sorted(sent.items()):
            lines.append(f'dsgrid_sql_result_bytes_total{{protocol="{protocol}"}} {size}')
        for name, (help_text, read) in sorted(self._gauges.items()):
            try:
                value = float(read())
            except Exception:
                continue
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        lines += [
            "# HELP dsgrid_sql_uptime_seconds Seconds since the server started.",
            "# TYPE dsgrid_sql_uptime_seconds gauge",
            f"dsgrid_sql_uptime_seconds {time.time() - self.started:.3f}",
        ]
        return "\n".join(lines) + "\n"
