"""Versions in SQL over test_efs, whose project has three versions: 1.0.0 (no datasets),
1.1.0 (the unpivoted dataset submitted) and 1.2.0 (both), each registered at its own time.
A version's numbers equal those of the tables that held them; times pick the version current
then; mistakes name what exists; on both engines and over Flight SQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import dsgrid_sql
from dsgrid_sql.catalog.catalog import parse_registry_time
from dsgrid_sql.errors import DsgridSqlError, UnknownVersionError, UnsupportedSqlError

TOTALS = "SELECT us_states, SUM(value) AS v FROM test_efs.data {clause} GROUP BY ALL ORDER BY 1"
UNPIVOTED = (
    "SELECT us_states, SUM(value) AS v FROM test_efs.test_efs_comstock_unpivoted "
    "GROUP BY ALL ORDER BY 1"
)


@pytest.fixture(scope="module", params=["duckdb", "spark"])
def session(request: pytest.FixtureRequest, efs_dir: Path):  # type: ignore[no-untyped-def]
    with dsgrid_sql.connect(efs_dir, engine=request.param) as opened:
        yield opened


def _rows(session: Any, sql: str) -> list[tuple]:
    table: pa.Table = session.sql(sql).to_arrow()
    return [tuple(r.values()) for r in table.to_pylist()]


def _same(got: list[tuple], expected: list[tuple]) -> None:
    assert [r[:-1] for r in got] == [r[:-1] for r in expected]
    assert [r[-1] for r in got] == pytest.approx([r[-1] for r in expected], rel=1e-12)


def test_each_version_reads_what_it_held(session: Any) -> None:
    current = _rows(session, TOTALS.format(clause=""))
    _same(_rows(session, TOTALS.format(clause="VERSION AS OF '1.2.0'")), current)
    # 1.1.0 held only the unpivoted dataset: its data is that dataset's rows.
    _same(_rows(session, TOTALS.format(clause="FOR VERSION AS OF '1.1.0'")),
          _rows(session, UNPIVOTED))  # fmt: skip
    _same(_rows(session, 'SELECT us_states, SUM(value) AS v FROM "test_efs@1.1.0".data '
                         "GROUP BY ALL ORDER BY 1"), _rows(session, UNPIVOTED))  # fmt: skip
    # 1.0.0 held no dataset at all.
    assert _rows(session, "SELECT COUNT(*) FROM test_efs.data VERSION AS OF '1.0.0'") == [(0,)]
    datasets = _rows(
        session,
        "SELECT DISTINCT dataset_id FROM test_efs.data VERSION AS OF '1.1.0' ORDER BY 1",
    )
    assert datasets == [("test_efs_comstock_unpivoted",)]
    with pytest.raises(DsgridSqlError, match="test_efs_comstock"):
        session.sql("SELECT * FROM test_efs.test_efs_comstock VERSION AS OF '1.1.0'")


def test_times_pick_the_version_current_then(session: Any) -> None:
    catalog = session.catalog
    times = {v: parse_registry_time(catalog.registered_at("project", "test_efs", v))
             for v in ("1.0.0", "1.1.0", "1.2.0")}  # fmt: skip
    between = times["1.1.0"] + (times["1.2.0"] - times["1.1.0"]) / 2
    at = between.isoformat(sep=" ")
    _same(_rows(session, TOTALS.format(clause=f"TIMESTAMP AS OF '{at}'")),
          _rows(session, UNPIVOTED))  # fmt: skip
    _same(_rows(session, TOTALS.format(clause=f"FOR SYSTEM_TIME AS OF '{at}'")),
          _rows(session, UNPIVOTED))  # fmt: skip
    later = (times["1.2.0"] + timedelta(days=1)).isoformat()
    _same(_rows(session, TOTALS.format(clause=f"TIMESTAMP AS OF '{later}'")),
          _rows(session, TOTALS.format(clause="")))  # fmt: skip
    early = (times["1.0.0"] - timedelta(days=1)).isoformat(sep=" ")
    with pytest.raises(UnknownVersionError, match=r"first version \(1\.0\.0\) was registered"):
        session.sql(TOTALS.format(clause=f"TIMESTAMP AS OF '{early}'"))


def test_a_session_pinned_with_set_as_of(efs_dir: Path) -> None:
    with dsgrid_sql.connect(efs_dir) as session:
        unpivoted = _rows(session, UNPIVOTED)
        current = _rows(session, TOTALS.format(clause=""))
        assert session.sql("SET as_of = 'test_efs@1.1.0'").message == "as_of = test_efs@1.1.0"
        _same(_rows(session, TOTALS.format(clause="")), unpivoted)
        # A clause on the table wins over the session's pin.
        _same(_rows(session, TOTALS.format(clause="VERSION AS OF '1.2.0'")), current)
        assert session.sql("SELECT COUNT(*) FROM test_efs_dimensions.geography").to_arrow()
        registered = parse_registry_time(
            session.catalog.registered_at("project", "test_efs", "1.1.0")
        )
        session.sql(f"SET as_of = '{(registered + timedelta(microseconds=1)).isoformat()}'")
        _same(_rows(session, TOTALS.format(clause="")), unpivoted)
        session.sql("SET as_of = none")
        _same(_rows(session, TOTALS.format(clause="")), current)
        with pytest.raises(UnknownVersionError, match=r"1\.0\.0, 1\.1\.0, 1\.2\.0"):
            session.sql("SET as_of = 'test_efs@7.0.0'")
        with pytest.raises(UnsupportedSqlError, match="not a time"):
            session.sql("SET as_of = 'last tuesday'")
        _same(_rows(session, TOTALS.format(clause="")), current)  # a refused SET changes nothing


def test_dataset_tables_and_dimension_tables_have_versions(efs_dir: Path) -> None:
    with dsgrid_sql.connect(efs_dir) as session:
        pinned = _rows(
            session,
            "SELECT us_states, SUM(value) AS v FROM test_efs.test_efs_comstock_unpivoted "
            "VERSION AS OF '1.0.0' GROUP BY ALL ORDER BY 1",
        )
        _same(pinned, _rows(session, UNPIVOTED))
        with pytest.raises(UnknownVersionError, match=r"versions there are 1\.0\.0"):
            session.sql("SELECT * FROM test_efs.test_efs_comstock_unpivoted VERSION AS OF '2.0.0'")
        counties = session.sql(
            'SELECT COUNT(*) AS n FROM "test_efs_dimensions@1.1.0".geography'
        ).to_arrow()
        assert (
            counties["n"][0].as_py()
            == session.sql("SELECT COUNT(*) AS n FROM test_efs_dimensions.geography")
            .to_arrow()["n"][0]
            .as_py()
        )
        # Listings show current versions only.
        schemas = session.sql("SELECT schema_name FROM information_schema.schemata").to_arrow()
        assert not any("@" in s for s in schemas["schema_name"].to_pylist())


@pytest.mark.parametrize(
    ("sql", "message", "at_the_version"),
    [
        ("SELECT * FROM test_efs.data VERSION AS OF '9.9.9'",
         "has no version 9.9.9; registered versions are 1.0.0, 1.1.0, 1.2.0", True),
        ("SELECT * FROM registry.projects VERSION AS OF '1.0.0'", "has no versions", True),
        ("SELECT * FROM test_efs.data TIMESTAMP AS OF 'soon'", "is not a time", True),
        ("WITH x AS (SELECT 1 AS a) SELECT * FROM x VERSION AS OF '1.0.0'", "is a CTE", True),
        ('SELECT * FROM "test_efs@1.1.0".data VERSION AS OF \'1.2.0\'', "names its version", True),
        ('SELECT * FROM "test_efs@0.9".data', "has no version 0.9", False),
    ],
)  # fmt: skip
def test_mistakes_name_what_exists(
    efs_dir: Path, sql: str, message: str, at_the_version: bool
) -> None:
    with dsgrid_sql.connect(efs_dir) as session, pytest.raises(DsgridSqlError) as caught:
        session.sql(sql)
    assert message in caught.value.message
    if at_the_version:  # the caret points at the AS OF value
        column = sql.rindex(" '") + 2
        assert caught.value.position is not None and caught.value.position.col == column


def test_as_of_over_flight(efs_dir: Path) -> None:
    import pyarrow.flight as flight

    from dsgrid_sql.flight_server import FlightSqlServer, ServerConfig, proto

    server = FlightSqlServer(ServerConfig(registry=efs_dir, port=0))
    try:
        client = flight.FlightClient(f"grpc://127.0.0.1:{server.port}")
        request = proto.flight("SetSessionOptionsRequest")()
        request.session_options["as_of"].string_value = "test_efs@1.1.0"
        (answer,) = client.do_action(
            flight.Action("SetSessionOptions", request.SerializeToString())
        )
        result = proto.flight("SetSessionOptionsResult").FromString(answer.body.to_pybytes())
        assert len(result.errors) == 0
        (answer,) = client.do_action(flight.Action("GetSessionOptions", b""))
        options = proto.flight("GetSessionOptionsResult").FromString(answer.body.to_pybytes())
        assert options.session_options["as_of"].string_value == "test_efs@1.1.0"
        query = proto.pack(proto.sql("CommandStatementQuery")(query=TOTALS.format(clause="")))
        info = client.get_flight_info(flight.FlightDescriptor.for_command(query))
        got = client.do_get(info.endpoints[0].ticket).read_all()
        with dsgrid_sql.connect(efs_dir) as local:
            expected = local.sql(UNPIVOTED).to_arrow()
        assert got["v"].to_pylist() == pytest.approx(expected["v"].to_pylist(), rel=1e-12)
        client.close()
    finally:
        server.close()


def test_registry_times_are_read_as_utc() -> None:
    assert parse_registry_time("2026-11-22 00:06:02.437362") == datetime(
        2026, 11, 22, 0, 6, 2, 437362
    )
    assert parse_registry_time("2026-11-22T01:06:02+01:00") == datetime(2026, 11, 22, 0, 6, 2)


def test_show_versions_and_the_versions_table(efs_dir: Path) -> None:
    with dsgrid_sql.connect(efs_dir) as session:
        shown = session.sql("SHOW VERSIONS OF test_efs").to_arrow().to_pylist()
        assert [(r["version"], r["is_current"]) for r in shown] == [
            ("1.0.0", False), ("1.1.0", False), ("1.2.0", True),
        ]  # fmt: skip
        times = [parse_registry_time(r["registered_at"]) for r in shown]
        assert times == sorted(times) and all(r["log_message"] for r in shown)
        registrations = {
            r["id"]: r["timestamp"]
            for r in session.sql("SELECT * FROM registry.registrations").to_arrow().to_pylist()
        }
        assert all(registrations[r["registration_id"]] == r["registered_at"] for r in shown)
        every = session.sql("SHOW VERSIONS").to_arrow()
        kinds = set(every["model_type"].to_pylist())
        assert {"project", "dataset", "dimension", "dimension_mapping"} <= kinds
        per_dataset = session.sql("SHOW VERSIONS OF test_efs_comstock").to_arrow()
        assert per_dataset["model_type"].to_pylist() == ["dataset"]
        with pytest.raises(DsgridSqlError, match="Did you mean 'test_efs'"):
            session.sql("SHOW VERSIONS OF test_ef")


@pytest.fixture(scope="module")
def versioned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A registry whose commercial dataset was updated twice (1.1.0 and 1.2.0, values ×1.1
    each time; project versions 1.4.0 and 1.5.0 name them), and one generated the same way
    that holds only the first version."""
    from dsgrid_sql.generator import GeneratorSpec, generate_registry

    folder = tmp_path_factory.mktemp("versions")
    spec = GeneratorSpec(counties=3, hours=24, datasets=3)
    updated = generate_registry(
        folder / "updated", spec.model_copy(update={"dataset_versions": 3})
    )
    single = generate_registry(folder / "single", spec)
    return updated.path, single.path


BY_KEY = (
    "SELECT dataset_id, geography, metric, SUM(value) AS v FROM data {clause} "
    "GROUP BY ALL ORDER BY ALL"
)
COMMERCIAL = (
    "SELECT geography, metric, SUM(value) AS v FROM dsgrid_demo_commercial {clause} "
    "GROUP BY ALL ORDER BY ALL"
)


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_a_version_equals_a_registry_that_holds_only_it(
    versioned: tuple[Path, Path], engine: str
) -> None:
    updated, single = versioned
    with (
        dsgrid_sql.connect(updated, engine=engine) as session,
        dsgrid_sql.connect(single, engine=engine) as only,
    ):
        assert [r["version"] for r in session.sql(
            "SHOW VERSIONS OF dsgrid_demo_commercial").to_arrow().to_pylist()
        ] == ["1.0.0", "1.1.0", "1.2.0"]  # fmt: skip
        first = _rows(only, BY_KEY.format(clause=""))
        _same(_rows(session, BY_KEY.format(clause="VERSION AS OF '1.3.0'")), first)
        # The dataset table at its first version, from the current project.
        _same(_rows(session, COMMERCIAL.format(clause="VERSION AS OF '1.0.0'")),
              _rows(only, COMMERCIAL.format(clause="")))  # fmt: skip
        # Each update scaled the commercial values by 1.1; other datasets stayed.
        for version, factor in (("1.1.0", 1.1), ("1.2.0", 1.21)):
            scaled = [(*r[:-1], r[-1] * factor) for r in _rows(only, COMMERCIAL.format(clause=""))]
            _same(_rows(session, COMMERCIAL.format(clause=f"VERSION AS OF '{version}'")), scaled)
        current = _rows(session, BY_KEY.format(clause=""))
        _same([r for r in current if r[0] != "dsgrid_demo_commercial"],
              [r for r in first if r[0] != "dsgrid_demo_commercial"])  # fmt: skip
        with pytest.raises(UnknownVersionError, match=r"versions there are 1\.0\.0, 1\.1\.0"):
            session.sql(COMMERCIAL.format(clause="VERSION AS OF '1.9.0'"))
