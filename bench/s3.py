"""Case s3 (issue 16): the same questions from a local S3-compatible server and from local
files, on DuckDB, with the bytes each query read from the server.

The scale registry (bench/scale.py) is uploaded to moto's S3 on 127.0.0.1 (bench/s3_server.py,
which counts the bytes of every response). Peers, interleaved round by round:

- local files: the registry and its Parquet on this disk (DuckDB's own Parquet reader);
- S3: the registry object fetched to the local cache, Parquet read through pyarrow's S3
  filesystem and datasets (projection and filters pushed into the Arrow scan);
- floor: every Parquet object of the registry downloaded once through the same client, no
  query: what the server needs to send the data, the bound for a query that reads it all.

Bytes: one run of each question after the timed runs, counted at the server. Pushdown: the
hourly profile of one state (filtered) against every state's (unfiltered), and the filtered
query with pushdown off (SET pushdown = off: the filter applied above the mappings) — the
filtered query must read a small fraction of the unfiltered one's bytes.

    python -m bench s3 --scales 10M --runs 5
"""

from __future__ import annotations

import os

import dsgrid_sql
from dsgrid_sql.storage import S3Path

from .harness import measure_interleaved, ratio_table
from .questions import MODEL_YEAR, STATE
from .s3_server import S3ServerProcess, fake_aws_environment, upload_tree
from .scale import registry

QUESTIONS = {
    "state totals": "SELECT us_states, metric, SUM(value) AS value FROM data "
    f"WHERE model_year = '{MODEL_YEAR}' GROUP BY us_states, metric",
    "hourly profile (one state)": "SELECT timestamp, SUM(value) AS value FROM data "
    f"WHERE us_states = '{STATE}' GROUP BY timestamp ORDER BY timestamp",
}
UNFILTERED = (
    "SELECT timestamp, SUM(value) AS value FROM data GROUP BY timestamp ORDER BY timestamp"
)


def run(scales: list[str], runs: int) -> str:
    parts = ["## s3: local S3 server vs local files (DuckDB)", ""]
    server = S3ServerProcess()
    # The registry cache must not make the first open free: a folder of this run's own.
    os.environ["DSGRID_SQL_CACHE_DIR"] = str(registry(scales[0]).path.parent / "s3-cache")
    try:
        with fake_aws_environment(server.endpoint):
            for scale in scales:
                parts.append(_scale(server, scale, runs))
    finally:
        server.stop()
    return "\n".join(parts)


def _scale(server: S3ServerProcess, scale: str, runs: int) -> str:
    reg = registry(scale)
    url = f"s3://bench-{scale.lower()}/registry"
    upload_tree(reg.path, url, server.endpoint)
    local_bytes = sum(p.stat().st_size for p in (reg.path / "data").rglob("*.parquet"))
    lines = [f"### {scale} ({reg.rows:,} rows; {local_bytes / 2**20:.0f} MiB of Parquet)", ""]
    objects = [p for p in S3Path.parse(f"{url}/data").rglob("*") if p.known == "file"]

    def floor() -> None:
        """What the server takes to send all the data once, whatever reads it."""
        for item in objects:
            with item.filesystem.open_input_stream(item.fs_path) as handle:
                while handle.read(8 << 20):
                    pass

    with (
        dsgrid_sql.connect(reg.path, engine="duckdb") as local,
        dsgrid_sql.connect(url, engine="duckdb") as remote,
    ):
        for title, sql in QUESTIONS.items():
            expected = local.sql(sql).to_arrow()
            _check_same(expected, remote.sql(sql).to_arrow(), title)
            measured = measure_interleaved(
                {
                    "local files": lambda sql=sql: local.sql(sql).to_arrow(),
                    "S3 (moto on 127.0.0.1)": lambda sql=sql: remote.sql(sql).to_arrow(),
                    "floor: every Parquet object downloaded once": floor,
                },
                runs,
            )
            lines += [ratio_table(f"{title}: {scale}", measured, "local files"), ""]
        lines += ["#### bytes read from the S3 server (one run each)", ""]
        lines += ["| query | MiB read | requests | × unfiltered |", "|---|---:|---:|---:|"]
        counted = {}
        for title, sql, pushdown in (
            ("hourly profile, every state (unfiltered)", UNFILTERED, True),
            (
                "hourly profile, one state (filter pushed down)",
                QUESTIONS["hourly profile (one state)"],
                True,
            ),
            (
                "hourly profile, one state, pushdown off",
                QUESTIONS["hourly profile (one state)"],
                False,
            ),
            ("state totals, one model year", QUESTIONS["state totals"], True),
        ):
            remote.pushdown = pushdown
            server.counts(reset=True)
            remote.sql(sql).to_arrow()
            counted[title] = server.counts()
        remote.pushdown = True
        base = counted["hourly profile, every state (unfiltered)"][0]
        for title, (sent, requests) in counted.items():
            lines.append(f"| {title} | {sent / 2**20:.1f} | {requests} | {sent / base:.3f} |")
    lines.append("")
    lines.append(
        f"Local Parquet of the registry: {local_bytes / 2**20:.1f} MiB. Bytes are response "
        "bodies counted at the server (Parquet footers, column chunks, listings, the registry "
        "object once per open of a new identity)."
    )
    return "\n".join(lines)


def _check_same(left: object, right: object, title: str) -> None:
    """Both peers answer alike (values to 1e-9 relative) before times are compared."""

    def rows(table: object) -> list[dict]:
        found = table.to_pylist()  # type: ignore[attr-defined]
        return sorted(found, key=lambda r: tuple(str(v) for k, v in r.items() if k != "value"))

    a, b = rows(left), rows(right)
    if len(a) != len(b) or any(
        abs(x["value"] - y["value"]) > 1e-9 * max(abs(x["value"]), 1.0)
        for x, y in zip(a, b, strict=True)
    ):
        raise SystemExit(f"s3: '{title}' differs between local files and S3")
