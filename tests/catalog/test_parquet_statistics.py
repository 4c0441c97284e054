"""DatasetFiles.may_hold: what a dataset version's Parquet proves about a filter.

It may answer "no row" only when that is certain: row groups are ruled out by their
statistics (each named column's range must admit an id), a two_table lookup by its rows;
anything it cannot read says "may hold".
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dsgrid_sql.catalog.paths import DatasetFiles


def _write(path: Path, columns: dict[str, list], **options: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path, **options)  # type: ignore[arg-type]
    return path


def _one_table(tmp_path: Path, **options: object) -> DatasetFiles:
    """Two row groups: offices cooling, then homes heating."""
    table = _write(
        tmp_path / "table.parquet",
        {
            "subsector": ["large_office", "small_office", "mobile_home", "single_family"],
            "metric": ["cooling", "cooling", "heating", "heating"],
            "model_year": [2020, 2020, 2030, 2030],
            "value": [1.0, 2.0, 3.0, 4.0],
        },
        row_group_size=2,
        **options,
    )
    return DatasetFiles("d", "1.0.0", table, None)


def test_row_groups_rule_out_by_each_column_and_together(tmp_path: Path) -> None:
    files = _one_table(tmp_path)
    assert files.may_hold({"subsector": frozenset({"small_office"})})
    # Inside neither group's range (large_office..small_office, mobile_home..single_family).
    assert not files.may_hold({"subsector": frozenset({"hospital", "warehouse"})})
    # Within a range but not stored: statistics cannot tell, so it may hold.
    assert files.may_hold({"subsector": frozenset({"medium_office"})})
    assert files.may_hold(
        {"subsector": frozenset({"large_office"}), "metric": frozenset({"cooling"})}
    )
    # Each filter passes some row group, but no group passes both.
    assert not files.may_hold(
        {"subsector": frozenset({"large_office"}), "metric": frozenset({"heating"})}
    )


def test_what_it_cannot_read_may_hold(tmp_path: Path) -> None:
    files = _one_table(tmp_path)
    # Not a string column, or not a column of the file at all.
    assert files.may_hold({"model_year": frozenset({"2040"})})
    assert files.may_hold({"sector": frozenset({"com"})})
    # Written without statistics.
    bare = _one_table(tmp_path / "bare", write_statistics=False)
    assert bare.may_hold({"subsector": frozenset({"hospital"})})


def test_no_rows_hold_nothing(tmp_path: Path) -> None:
    table = _write(
        tmp_path / "table.parquet",
        {"subsector": pa.array([], pa.string()), "value": pa.array([], pa.float64())},
    )
    files = DatasetFiles("d", "1.0.0", table, None)
    assert not files.may_hold({"subsector": frozenset({"large_office"})})


def test_part_files_and_a_hive_partition_column(tmp_path: Path) -> None:
    folder = tmp_path / "table.parquet"
    for scenario, subsector in (("reference", "large_office"), ("high", "warehouse")):
        _write(
            folder / f"scenario={scenario}" / "part-0.parquet",
            {"subsector": [subsector], "value": [1.0]},
        )
    files = DatasetFiles("d", "1.0.0", folder, None)
    assert files.may_hold({"subsector": frozenset({"warehouse"})})
    assert not files.may_hold({"subsector": frozenset({"hospital"})})
    # A partition's column has no statistics in the files: it may hold.
    assert files.may_hold({"scenario": frozenset({"low"})})


def test_a_lookup_is_matched_row_by_row(tmp_path: Path) -> None:
    table = _write(tmp_path / "table.parquet", {"id": [1, 2], "metric": ["cooling", "fans"]})
    lookup = _write(
        tmp_path / "lookup_table.parquet",
        {"id": [1, 2], "geography": ["01001", "01005"], "subsector": ["office", "warehouse"]},
    )
    files = DatasetFiles("d", "1.0.0", table, lookup)
    assert files.may_hold({"geography": frozenset({"01001"})})
    # In the column's range, but no lookup row holds it: exact, unlike statistics.
    assert not files.may_hold({"geography": frozenset({"01003"})})
    # Each is stored, not in one row.
    assert not files.may_hold(
        {"geography": frozenset({"01001"}), "subsector": frozenset({"warehouse"})}
    )
    # The lookup passes; the load table's statistics rule the metric out.
    assert not files.may_hold(
        {"geography": frozenset({"01001"}), "metric": frozenset({"heating"})}
    )
    assert files.may_hold({"geography": frozenset({"01001"}), "metric": frozenset({"fans"})})
