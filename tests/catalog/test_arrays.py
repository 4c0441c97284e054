"""catalog/arrays.py builds the arrays pa.array builds, without importing pandas."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from dsgrid_sql.catalog import arrays

STRING, INT, FLOAT, BOOL = pa.string(), pa.int64(), pa.float64(), pa.bool_()
UTC_US = pa.timestamp("us", tz="UTC")

CASES: list[tuple[list[Any], pa.DataType]] = [
    ([], STRING),
    (["a", None, "é", "", "🙂"], STRING),
    ([None, None], STRING),
    ([1, None, -5, 2**62], INT),
    ([1.5, None, 2, float("inf"), -0.0], FLOAT),
    ([True, False, None] * 5, BOOL),
    (
        [
            datetime(2020, 1, 1, tzinfo=UTC),
            None,
            datetime(2020, 3, 8, 7, tzinfo=ZoneInfo("America/New_York")),
        ],
        UTC_US,
    ),
    ([datetime(2020, 1, 1, 5, tzinfo=timezone(timedelta(hours=-7)))], UTC_US),
    ([datetime(2020, 1, 1, 5), None], UTC_US),  # naive: read as UTC
    ([datetime(1960, 1, 1, 5, 0, 1, 7), None], pa.timestamp("us")),
    ([0, 3_600_000_000, None], UTC_US),
    ([datetime(2020, 1, 1, 5, 0, 1)], pa.timestamp("s", tz="UTC")),
    ([datetime(2020, 1, 1, 5, 0, 1, 2000)], pa.timestamp("ms")),
    # Handed to pa.array: other types, and values of another kind.
    ([1, 2], pa.int32()),
    ([1, 2], FLOAT),
    ([datetime(2020, 1, 1, 5, 0, 1, 7)], pa.timestamp("ns", tz="UTC")),
]


@pytest.mark.parametrize(("values", "arrow_type"), CASES, ids=lambda x: str(x)[:40])
def test_same_array_as_pa_array(values: list[Any], arrow_type: pa.DataType) -> None:
    built = arrays.array(values, arrow_type)
    built.validate(full=True)
    expected = pa.array(values, arrow_type)
    assert built.type == expected.type and built.null_count == expected.null_count
    assert built.equals(expected)


@pytest.mark.parametrize(
    ("values", "arrow_type"),
    [([1, "x"], STRING), ([True], INT), (["\ud800"], STRING), ([2**64], INT)],
)
def test_same_error_as_pa_array(values: list[Any], arrow_type: pa.DataType) -> None:
    with pytest.raises(Exception) as expected:
        pa.array(values, arrow_type)
    with pytest.raises(type(expected.value)):
        arrays.array(values, arrow_type)


def test_random_strings_and_tables() -> None:
    rng = random.Random(7)
    for _ in range(200):
        values = [
            None
            if rng.random() < 0.2
            else "".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(0, 6)))
            for _ in range(rng.randint(0, 40))
        ]
        assert arrays.array(values, STRING).equals(pa.array(values, STRING))
    schema = pa.schema([("from_id", STRING), ("to_id", STRING), ("from_fraction", FLOAT)])
    rows = [{"from_id": "a", "to_id": None, "from_fraction": 0.5}, {"from_id": "b"}]
    assert arrays.from_rows(rows, schema).equals(pa.Table.from_pylist(rows, schema=schema))
    assert arrays.table({"x": ["a", None]}).equals(pa.table({"x": ["a", None]}))


def test_no_pandas_import() -> None:
    code = (
        "import sys; from datetime import datetime, UTC; import pyarrow as pa;"
        "from dsgrid_sql.catalog import arrays;"
        "arrays.array(['a', None], pa.string()); arrays.array([1, None], pa.int64());"
        "arrays.array([1.5], pa.float64()); arrays.array([True, None], pa.bool_());"
        "arrays.array([datetime(2020, 1, 1, tzinfo=UTC)], pa.timestamp('us', tz='UTC'));"
        "print('pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
