"""A result over 1 GB streams to ADBC with default settings: the Go driver refuses any gRPC
message over 16 MiB, so this passing means every batch the server sent was under it."""

from __future__ import annotations

import adbc_driver_flightsql.dbapi as flight_sql

from .conftest import Running

PAD = 3000  # bytes of text per row: 356,160 rows × ~3 KB ≈ 1.1 GB


def test_a_gigabyte_result_streams_in_small_messages(efs_server: Running) -> None:
    sql = f"SELECT geography, timestamp, value, repeat('x', {PAD}) AS pad FROM test_efs.data"
    with flight_sql.connect(efs_server.uri, autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute(sql)
        reader = cur.fetch_record_batch()
        rows = total_bytes = largest = 0
        for batch in reader:
            rows += batch.num_rows
            total_bytes += batch.nbytes
            largest = max(largest, batch.nbytes)
        cur.close()
    assert rows == 356_160
    assert total_bytes >= 1_000_000_000
    assert largest < 16 * 1024 * 1024
