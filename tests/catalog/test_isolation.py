"""One unreadable part costs that part, never the registry: a dataset whose config, files or
base-dimension choice cannot be read, a supplemental dimension or a mapping that does not
validate, a project that cannot be read. Each is reported (registry tables, SHOW, notes
beside `data`'s rows, the server log) and left out; naming it is an error saying why."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from pathlib import Path

import pytest

import dsgrid_sql
from dsgrid_sql.errors import CatalogError, DataFileError, DsgridSqlError
from dsgrid_sql.generator import GeneratorSpec, generate_registry

SPEC = GeneratorSpec(counties=4, hours=24)
RESIDENTIAL = "dsgrid_demo_residential"
EV = "dsgrid_demo_ev_annual"
COMMERCIAL = "dsgrid_demo_commercial"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_registry(tmp_path_factory.mktemp("isolation") / "reg", SPEC).path.parent


@pytest.fixture()
def registry(pristine: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "reg"
    shutil.copytree(pristine, folder)
    return folder


def edit_model(registry: Path, where: str, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite the JSON of every current model matching ``where`` (SQL on models m)."""
    con = sqlite3.connect(registry / "registry.db")
    try:
        rows = con.execute(
            "SELECT m.id, m.model FROM models m JOIN current_versions c ON c.current_id = m.id "
            f"WHERE {where}"
        ).fetchall()
        assert rows, where
        for row_id, text in rows:
            model = json.loads(text)
            change(model)
            con.execute("UPDATE models SET model = ? WHERE id = ?", (json.dumps(model), row_id))
        con.commit()
    finally:
        con.close()


def break_residential_config(registry: Path) -> None:
    edit_model(
        registry,
        f"m.model_type = 'dataset' AND m.model_id = '{RESIDENTIAL}'",
        lambda m: m.update(trivial_dimensions=5),
    )


def test_an_unreadable_dataset_costs_that_dataset_only(registry: Path) -> None:
    break_residential_config(registry)
    (registry / "data" / "data" / EV / "1.0.0" / "table.parquet").unlink()
    with dsgrid_sql.connect(registry) as session:
        result = session.sql("SELECT dataset_id, COUNT(*) AS n FROM data GROUP BY ALL")
        assert {r["dataset_id"] for r in result.to_arrow().to_pylist()} == {COMMERCIAL}
        notes = " ".join(result.notes)
        assert RESIDENTIAL in notes and "trivial_dimensions" in notes
        assert EV in notes and "has no load data" in notes
        # The commercial table and every registry table still answer.
        assert session.sql(f"SELECT SUM(value) AS v FROM {COMMERCIAL}").to_arrow()["v"][0].as_py()
        problems = {
            r["dataset_id"]: r["problem"]
            for r in session.sql("SELECT dataset_id, problem FROM registry.datasets")
            .to_arrow()
            .to_pylist()
        }
        assert problems[COMMERCIAL] is None
        assert "trivial_dimensions" in problems[RESIDENTIAL]
        assert "has no load data" in problems[EV]
        listed = session.sql("SELECT dataset_id, problem FROM registry.project_datasets")
        assert sum(r["problem"] is not None for r in listed.to_arrow().to_pylist()) == 2
        shown = session.sql("SHOW TABLES")
        names = shown.to_arrow()["table_name"].to_pylist()
        assert RESIDENTIAL not in names and EV not in names and COMMERCIAL in names
        assert len(shown.notes) == 2
        explained = session.explain("SELECT SUM(value) FROM data")
        assert f"Dataset {RESIDENTIAL}: left out" in explained


def test_naming_a_left_out_dataset_says_why(registry: Path) -> None:
    break_residential_config(registry)
    (registry / "data" / "data" / EV / "1.0.0" / "table.parquet").unlink()
    with dsgrid_sql.connect(registry) as session:
        with pytest.raises(CatalogError) as config_error:
            session.sql(f"SELECT * FROM {RESIDENTIAL}")
        message = config_error.value.message
        assert f"Dataset '{RESIDENTIAL}' version 1.0.0 is not a valid dsgrid model" in message
        assert "left out of project 'dsgrid_demo'" in message and "\n" not in message
        with pytest.raises(DataFileError) as file_error:  # the reading error keeps its kind
            session.sql(f"SELECT * FROM dsgrid_demo.{EV}")
        assert "has no load data" in file_error.value.message


def test_an_unreadable_supplemental_dimension_costs_its_column(registry: Path) -> None:
    edit_model(
        registry,
        "m.model_type = 'dimension' AND json_extract(m.model, '$.name') = 'US States'",
        lambda m: m.update(records=[{"no_id": 1}]),
    )
    with dsgrid_sql.connect(registry) as session:
        regions = session.sql("SELECT us_census_regions, SUM(value) AS v FROM data GROUP BY ALL")
        assert regions.to_arrow().num_rows > 0
        with pytest.raises(CatalogError) as error:
            session.sql("SELECT us_states, SUM(value) FROM data GROUP BY ALL")
        assert "Column 'us_states' is left out" in error.value.message
        assert "'US States'" in error.value.message
        project = session.sql("SHOW PROJECTS").to_arrow().to_pylist()[0]
        assert "'US States'" in project["problem"]


def test_an_unreadable_project_leaves_the_registry_tables(registry: Path) -> None:
    edit_model(registry, "m.model_type = 'project'", lambda m: m.update(datasets=7))
    with dsgrid_sql.connect(registry) as session:
        projects = session.sql("SELECT project_id, problem FROM registry.projects").to_arrow()
        assert "cannot be read" in projects["problem"][0].as_py()
        assert session.sql("SELECT COUNT(*) AS n FROM registry.dimensions").to_arrow()["n"][0]
        with pytest.raises(CatalogError) as error:
            session.sql("SELECT * FROM dsgrid_demo.data")
        assert "Project 'dsgrid_demo' version 1.3.0 cannot be read" in error.value.message


def test_an_ambiguous_base_dimension_choice_is_the_datasets_problem(tmp_path: Path) -> None:
    """With two metric bases, a dataset that does not say which it maps onto cannot be
    queried (dsgrid raises too); it alone is left out."""
    spec = GeneratorSpec(counties=3, hours=24, ev_metric_base=True)
    folder = generate_registry(tmp_path / "odd", spec).path.parent
    edit_model(
        folder,
        "m.model_type = 'project'",
        lambda m: [d["base_dimension_names"].update(metric=None) for d in m["datasets"][:1]],
    )
    with dsgrid_sql.connect(folder) as session:
        with pytest.raises(DsgridSqlError) as error:
            session.sql(f"SELECT * FROM {COMMERCIAL}")
        assert "base_dimension_names does not say which one" in error.value.message
        assert session.sql(f"SELECT COUNT(*) AS n FROM {EV}").to_arrow()["n"][0].as_py() > 0


def test_the_server_logs_what_it_leaves_out(
    registry: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from dsgrid_sql.service.catalogs import CatalogHolder

    break_residential_config(registry)
    with caplog.at_level(logging.WARNING, logger="dsgrid_sql.server"):
        CatalogHolder(str(registry))
    assert any(
        "Left out of the catalog" in r.message and RESIDENTIAL in r.message for r in caplog.records
    )
