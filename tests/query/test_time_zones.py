"""`AT TIME ZONE` and `timezone()` on both engines, against Python's own zone rules."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from dsgrid_sql.errors import UnknownNameError
from dsgrid_sql.session import Session

DAYS = "CAST(timestamp AS DATE) IN (DATE '2018-01-01', DATE '2018-01-02')"


def test_instants_become_wall_clocks_and_back(small_session: Session) -> None:
    rows = small_session.sql(
        "SELECT DISTINCT timestamp, timestamp AT TIME ZONE 'America/New_York' AS ny, "
        "timezone('America/Denver', timestamp) AS denver, "
        "(timestamp AT TIME ZONE 'America/New_York') AT TIME ZONE 'America/New_York' AS back, "
        "date_trunc('day', timestamp AT TIME ZONE 'America/New_York') AS ny_day, "
        "EXTRACT(hour FROM timestamp AT TIME ZONE 'America/Denver') AS denver_hour "
        f"FROM data WHERE {DAYS}"
    ).to_arrow()
    assert rows.schema.field("ny").type.tz is None
    assert rows.schema.field("ny_day").type.tz is None  # a truncated wall clock stays one
    assert rows.num_rows > 10
    for r in rows.to_pylist():
        instant = r["timestamp"]
        ny = instant.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None)
        denver = instant.astimezone(ZoneInfo("America/Denver")).replace(tzinfo=None)
        assert r["ny"] == ny and r["denver"] == denver
        assert r["back"].astimezone(UTC) == instant
        assert r["ny_day"] == ny.replace(hour=0)
        assert r["denver_hour"] == denver.hour


def test_a_wall_clock_read_in_its_zone_is_the_instant(small_session: Session) -> None:
    rows = small_session.sql(
        "SELECT timestamp, local_timestamp AT TIME ZONE time_zone AS instant "
        f"FROM data WHERE {DAYS} LIMIT 50"
    ).to_arrow()
    assert all(r["instant"] == r["timestamp"] for r in rows.to_pylist())


def test_a_misspelt_zone_is_an_error_with_a_suggestion(small_session: Session) -> None:
    with pytest.raises(UnknownNameError) as error:
        small_session.sql("SELECT timestamp AT TIME ZONE 'America/Denvr' FROM data")
    assert "Unknown time zone 'America/Denvr'. Did you mean 'America/Denver'?" in str(error.value)
    assert error.value.position is not None
