"""dsgrid's mapping rules (dsgrid-format.md §4), one test or a few per rule, on both engines.

Every expected answer is computed here, independently of dsgrid-sql's rewrite: the Parquet
load data is read with pandas and the dimension and mapping records straight from the JSON
models in ``registry.db``, and the rule is applied by hand (relative tolerance 1e-9).

Registries: the shared small one (``small_registry``), ``full`` (every generated shape present:
vacant buildings and exterior lighting mapped to null, dual-fuel heating, several time zones),
``edit`` (a generated registry edited on disk: null scaling factors, a many-to-one end-use
mapping, a dataset with the same rows as another, annual model years that differ from the
annual time, and a period-beginning dataset under a period-ending project so that the last
hour wraps) and ``odd`` (two base metric dimensions).
"""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsgrid_sql
from dsgrid_sql.errors import MixedDatasetsError
from dsgrid_sql.generator import GeneratorSpec, generate_registry
from dsgrid_sql.session import Session

DIMS = ["geography", "sector", "subsector", "metric", "model_year", "weather_year", "scenario"]
# dsgrid's units/energy.py, in kWh.
KWH = {"kWh": 1.0, "MWh": 1000.0, "therm": 29.307107017222222}
HOUR = pd.Timedelta(hours=1)
REL = 1e-9

# -- the registry as dsgrid stores it ----------------------------------------------------------


class RegistryJson:
    """Models read straight from registry.db, and the dsgrid rules applied by hand with pandas
    to the Parquet load data (dsgrid-format.md §4.1-§4.3)."""

    def __init__(self, db: Path) -> None:
        con = sqlite3.connect(db)
        try:
            rows = con.execute("SELECT id, model_type, model_id, version, model FROM models")
            by_row: dict[int, dict] = {}
            self.models: dict[tuple[str, str, str], dict] = {}
            for row_id, model_type, model_id, version, text in rows.fetchall():
                model = json.loads(text)
                by_row[row_id] = model
                self.models[(model_type, model_id, version)] = model
            current = con.execute("SELECT model_type, model_id, current_id FROM current_versions")
            self.current = {(t, i): by_row[c] for t, i, c in current.fetchall()}
            data_path = dict(con.execute('SELECT "key", value FROM key_value').fetchall())
        finally:
            con.close()
        self.data_root = db.parent / data_path["data_path"]
        (self.project,) = [m for (t, _), m in self.current.items() if t == "project"]
        self.project_id: str = self.project["project_id"]

    # models

    def dimension(self, ref: dict) -> dict:
        return self.models[("dimension", ref["dimension_id"], ref["version"])]

    def mapping(self, ref: dict) -> dict:
        return self.models[("dimension_mapping", ref["mapping_id"], ref["version"])]

    def dataset(self, dataset_id: str) -> dict:
        return self.current[("dataset", dataset_id)]

    def entry(self, dataset_id: str) -> dict:
        return next(d for d in self.project["datasets"] if d["dataset_id"] == dataset_id)

    @property
    def submitted(self) -> list[str]:
        return [d["dataset_id"] for d in self.project["datasets"] if d["status"] == "Registered"]

    def bases(self, dim_type: str) -> list[dict]:
        refs = self.project["dimensions"]["base_dimension_references"]
        return [self.dimension(r) for r in refs if r["type"] == dim_type]

    def base(self, dim_type: str, dataset_id: str | None = None) -> dict:
        bases = self.bases(dim_type)
        if dataset_id is not None and len(bases) > 1:
            name = self.entry(dataset_id)["base_dimension_names"][dim_type]
            return next(b for b in bases if b["name"] == name)
        return bases[0]

    def supplemental(self, name: str) -> tuple[dict, dict]:
        """A supplemental dimension by name and its base→supplemental mapping."""
        refs = self.project["dimensions"]["supplemental_dimension_references"]
        dim = next(self.dimension(r) for r in refs if self.dimension(r)["name"] == name)
        mapping_refs = self.project["dimension_mappings"]["base_to_supplemental_references"]
        mapping = next(
            self.mapping(r)
            for r in mapping_refs
            if self.mapping(r)["to_dimension"]["dimension_id"] == dim["dimension_id"]
        )
        return dim, mapping

    def names(self, dim: dict) -> dict[str, str]:
        return {r["id"]: r["name"] for r in dim["records"]}

    def project_timestamps(self) -> pd.DatetimeIndex:
        (ref,) = [
            r
            for r in self.project["dimensions"]["base_dimension_references"]
            if r["type"] == "time"
        ]
        return _timestamps(self.dimension(ref))

    def project_interval(self) -> str:
        (ref,) = [
            r
            for r in self.project["dimensions"]["base_dimension_references"]
            if r["type"] == "time"
        ]
        return self.dimension(ref)["time_interval_type"]

    # data

    def folder(self, dataset_id: str) -> Path:
        version = self.entry(dataset_id)["version"]
        return self.data_root / "data" / dataset_id / version

    def raw(self, dataset_id: str) -> pd.DataFrame:
        """table (⋈ lookup USING (id)) with the trivial dimensions added as constants."""
        folder = self.folder(dataset_id)
        df = pd.read_parquet(folder / "table.parquet")
        if (folder / "lookup_table.parquet").exists():
            lookup = pd.read_parquet(folder / "lookup_table.parquet")
            df = df.merge(lookup, on="id").drop(columns="id")
        dataset = self.dataset(dataset_id)
        for dim_type in dataset["trivial_dimensions"]:
            (record,) = self.dataset_dims(dataset_id)[dim_type]["records"]
            df[dim_type] = record["id"]
        if "timestamp" in df:
            df["timestamp"] = df["timestamp"].astype("datetime64[ns, UTC]")
        return df

    def dataset_dims(self, dataset_id: str) -> dict[str, dict]:
        refs = self.dataset(dataset_id)["dimension_references"]
        return {r["type"]: self.dimension(r) for r in refs}

    def unit_factor(self, dataset_id: str) -> Callable[[str, str], float]:
        """(dataset metric id, project metric id) → factor from the dataset record's unit to
        the project record's unit (§4.2)."""
        from_units = {
            r["id"]: r["unit"] for r in self.dataset_dims(dataset_id)["metric"]["records"]
        }
        to_units = {r["id"]: r["unit"] for r in self.base("metric", dataset_id)["records"]}

        def factor(from_id: str, to_id: str) -> float:
            a, b = from_units[from_id], to_units[to_id]
            return 1.0 if a == b else KWH[a] / KWH[b]

        return factor

    @cache  # noqa: B019 - one instance per registry, kept for the session
    def mapped(self, dataset_id: str) -> pd.DataFrame:
        """The dataset on the project's base dimensions (make_project_dataframe, §4.1)."""
        df = self.raw(dataset_id)
        df["dataset_metric"] = df["metric"]
        df["fraction"] = 1.0
        for ref in self.project["dimension_mappings"]["dataset_to_project"][dataset_id]:
            mapping = self.mapping(ref)
            records = mapping["records"]
            if records and all(
                r["to_id"] == r["from_id"] and r["from_fraction"] == 1.0 for r in records
            ):
                continue  # is_noop_mapping
            column = mapping["from_dimension"]["type"]
            table = pd.DataFrame(
                [(r["from_id"], r["to_id"], r["from_fraction"]) for r in records if r["to_id"]],
                columns=["_from", "_to", "_fraction"],
            )
            df = df.merge(table, left_on=column, right_on="_from", how="inner")
            df[column] = df["_to"]
            df["fraction"] = df["fraction"] * df["_fraction"]
            df = df.drop(columns=["_from", "_to", "_fraction"])
        if "scaling_factor" in df:
            df["value"] = df["value"] * df["scaling_factor"].fillna(1.0)
        factor = self.unit_factor(dataset_id)
        units = [factor(a, b) for a, b in zip(df["dataset_metric"], df["metric"], strict=True)]
        df["value"] = df["value"] * df["fraction"] * units
        time_columns = [c for c in ("timestamp", "time_year") if c in df]
        df = df.groupby(DIMS + time_columns, as_index=False)["value"].sum()
        return self._map_time(dataset_id, df)

    def _map_time(self, dataset_id: str, df: pd.DataFrame) -> pd.DataFrame:
        project_ts = self.project_timestamps()
        time = self.dataset_dims(dataset_id)["time"]
        if time["time_type"] == "annual":
            assert not time.get("include_leap_day")
            df = df.merge(pd.DataFrame({"timestamp": project_ts}), how="cross")
            df["value"] = df["value"] / 8760
            df["model_year"] = df["time_year"].astype(str)
            df = df.drop(columns="time_year")
        else:
            ts = df["timestamp"]
            if time["time_interval_type"] != self.project_interval():
                ts = ts - HOUR if time["time_interval_type"] == "period_ending" else ts + HOUR
            length = len(project_ts) * HOUR
            start, end = project_ts[0], project_ts[-1]
            ts = ts.where(ts <= end, ts - length).where(ts >= start, ts + length)
            df = df.assign(timestamp=ts)
            df = df[df["timestamp"].isin(project_ts)]
        return df[[*DIMS, "timestamp", "value"]].reset_index(drop=True)

    def data(self, dataset_ids: list[str] | None = None) -> pd.DataFrame:
        frames = [self.mapped(d).assign(dataset_id=d) for d in (dataset_ids or self.submitted)]
        return pd.concat(frames, ignore_index=True)

    def with_supplemental(self, df: pd.DataFrame, name: str, column: str) -> pd.DataFrame:
        """Join a base→supplemental mapping (to_id not null) and multiply value row-wise."""
        _, mapping = self.supplemental(name)
        table = pd.DataFrame(
            [
                (r["from_id"], r["to_id"], r["from_fraction"])
                for r in mapping["records"]
                if r["to_id"]
            ],
            columns=["_from", column, "_fraction"],
        )
        base = mapping["from_dimension"]["type"]
        df = df.merge(table, left_on=base, right_on="_from", how="inner")
        df["value"] = df["value"] * df["_fraction"]
        return df.drop(columns=["_from", "_fraction"])


def _timestamps(time: dict) -> pd.DatetimeIndex:
    (r,) = time["ranges"]
    assert r["frequency"] == "PT1H"
    zone = time["time_zone_format"]["time_zone"]
    start = pd.Timestamp(datetime.strptime(r["start"], r["str_format"])).tz_localize(zone)
    end = pd.Timestamp(datetime.strptime(r["end"], r["str_format"])).tz_localize(zone)
    return pd.date_range(start, end, freq="h").tz_convert("UTC").astype("datetime64[ns, UTC]")


# -- comparing -----------------------------------------------------------------------------------


def _norm(value: Any) -> Any:
    if isinstance(value, datetime | pd.Timestamp):
        ts = pd.Timestamp(value)
        return (ts.tz_convert("UTC") if ts.tzinfo else ts).isoformat()
    return value


def got_dict(table: pa.Table, keys: list[str], value: str = "value") -> dict[tuple, Any]:
    rows = table.to_pylist()
    result = {tuple(_norm(r[k]) for k in keys): r[value] for r in rows}
    assert len(result) == len(rows), "the result repeats keys"
    return result


def expected_dict(df: pd.DataFrame, keys: list[str], value: str = "value") -> dict[tuple, Any]:
    grouped = df.groupby(keys, as_index=False)[value].sum()
    return {
        tuple(_norm(v) for v in row[:-1]): row[-1]
        for row in grouped[[*keys, value]].itertuples(index=False)
    }


def assert_same(got: dict[tuple, float], expected: dict[tuple, float]) -> None:
    missing = sorted(map(str, expected.keys() - got.keys()))[:5]
    extra = sorted(map(str, got.keys() - expected.keys()))[:5]
    assert not missing and not extra, f"missing {missing}, unexpected {extra}"
    bad = [
        (k, got[k], v)
        for k, v in expected.items()
        if got[k] != pytest.approx(v, rel=REL, abs=1e-12)
    ]
    assert not bad, f"{len(bad)} of {len(expected)} values differ, e.g. {bad[:3]}"


def assert_rows_match(result: pa.Table, expected: pd.DataFrame, keys: list[str]) -> None:
    """Row for row, vectorized (for large results): the same keys, once each, and values
    within the relative tolerance."""
    got = result.to_pandas()
    frames = []
    for frame in (got, expected):
        frame = frame[[*keys, "value"]].copy()
        for key in keys:
            if isinstance(frame[key].dtype, pd.DatetimeTZDtype):
                frame[key] = frame[key].dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
            else:
                frame[key] = frame[key].astype(object)
        frames.append(frame)
    got, expected = frames
    assert not got.duplicated(keys).any(), "the result repeats keys"
    assert not expected.duplicated(keys).any()
    merged = got.merge(expected, on=keys, how="outer", suffixes=("_got", "_exp"), indicator=True)
    missing = merged[merged["_merge"] == "right_only"]
    extra = merged[merged["_merge"] == "left_only"]
    assert missing.empty and extra.empty, (
        f"{len(missing)} rows missing, e.g. {missing[keys].head(3).to_dict('records')}; "
        f"{len(extra)} unexpected, e.g. {extra[keys].head(3).to_dict('records')}"
    )
    error = (merged["value_got"] - merged["value_exp"]).abs()
    bad = merged[error > REL * merged["value_exp"].abs() + 1e-12]
    assert bad.empty, (
        f"{len(bad)} of {len(merged)} values differ, e.g. {bad.head(3).to_dict('records')}"
    )


def close(actual: float, expected: float) -> bool:
    return actual == pytest.approx(expected, rel=REL, abs=1e-12)


def query(session: Session, sql: str) -> pa.Table:
    return session.sql(sql).to_arrow()


# -- registries and sessions -------------------------------------------------------------------

FULL = GeneratorSpec(
    project_id="full",
    seed=1,
    counties=6,
    hours=24,
    commercial_end_uses=7,
    commercial_subsectors_per_county=8,
    residential_end_uses=6,
    residential_subsectors_per_county=3,
)
# Seeds other than the shared registries' (0): a seed fixes dimension and mapping ids.
EDIT = GeneratorSpec(project_id="edit", seed=2, counties=4, hours=24, datasets=4)


@pytest.fixture(scope="session")
def full_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_registry(tmp_path_factory.mktemp("rules") / "full", FULL).path


@pytest.fixture(scope="session")
def edit_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = generate_registry(tmp_path_factory.mktemp("rules") / "edit", EDIT).path
    _edit(db)
    return db


def _edit(db: Path) -> None:
    """Edit a generated registry on disk as a registry copy would be edited by hand."""
    reg = RegistryJson(db)
    p = reg.project_id
    commercial, commercial_2, ev = f"{p}_commercial", f"{p}_commercial_2", f"{p}_ev_annual"
    con = sqlite3.connect(db)

    def save(model_type: str, model_id: str, version: str, model: dict) -> None:
        con.execute(
            "UPDATE models SET model = ? WHERE model_type = ? AND model_id = ? AND version = ?",
            (json.dumps(model), model_type, model_id, version),
        )

    # 1. Many-to-one: com_fans joins com_cooling on the project's "cooling".
    for ref in reg.project["dimension_mappings"]["dataset_to_project"][commercial]:
        mapping = reg.mapping(ref)
        if mapping["to_dimension"]["type"] == "metric":
            for record in mapping["records"]:
                if record["from_id"] == "com_fans":
                    record["to_id"] = "cooling"
            save("dimension_mapping", ref["mapping_id"], ref["version"], mapping)
    # 2. Null scaling factors (dsgrid: null means unscaled).
    folder = reg.folder(commercial)
    lookup = pq.read_table(folder / "lookup_table.parquet")
    ids = lookup["id"].to_numpy()
    factors = lookup["scaling_factor"].to_numpy()
    scaling = pa.array(
        [None if i % 3 == 0 else 1.25 * f for i, f in zip(ids, factors, strict=True)]
    )
    lookup = lookup.set_column(
        lookup.schema.get_field_index("scaling_factor"), "scaling_factor", scaling
    )
    pq.write_table(lookup, folder / "lookup_table.parquet")
    # 3. A second dataset with exactly the first one's rows (union keeps duplicates).
    for name in ("table.parquet", "lookup_table.parquet"):
        shutil.copy(folder / name, reg.folder(commercial_2) / name)
    # 4. Annual data whose model_year column differs from its annual time (model_year :=
    #    time_year).
    years = list(EDIT.model_years)
    ev_file = reg.folder(ev) / "table.parquet"
    table = pq.read_table(ev_file)
    rotated = [years[(years.index(y) + 1) % len(years)] for y in table["model_year"].to_pylist()]
    table = table.set_column(
        table.schema.get_field_index("model_year"), "model_year", pa.array(rotated, pa.string())
    )
    pq.write_table(table, ev_file)
    # 5. A period-ending project time starting at 01:00 EST (the commercial data's first
    #    instant) as a new dimension; the commercial data relabelled period-beginning, so it
    #    shifts by +1 h and its last hour wraps to the first; the residential data keeps the
    #    old period-beginning dimension starting at 00:00 and shifts +1 h without a wrap.
    time_ref = next(
        r for r in reg.project["dimensions"]["base_dimension_references"] if r["type"] == "time"
    )
    old = reg.dimension(time_ref)
    (max_id,) = con.execute("SELECT MAX(id) FROM models").fetchone()
    (registration,) = con.execute("SELECT MAX(id) FROM registrations").fetchone()
    new = json.loads(json.dumps(old))
    new_id = str(uuid.UUID(int=12345, version=4))
    start = datetime.strptime(old["ranges"][0]["start"], old["ranges"][0]["str_format"])
    fmt = old["ranges"][0]["str_format"]
    new.update(
        id=max_id + 1,
        dimension_id=new_id,
        name=old["name"].replace("periodBeginning", "periodEnding"),
        time_interval_type="period_ending",
    )
    new["ranges"][0]["start"] = (start + timedelta(hours=1)).strftime(fmt)
    new["ranges"][0]["end"] = (start + timedelta(hours=EDIT.hours)).strftime(fmt)
    con.execute(
        "INSERT INTO models (id, registration_id, model_type, model_id, version, model) "
        "VALUES (?, ?, 'dimension', ?, '1.0.0', ?)",
        (max_id + 1, registration, new_id, json.dumps(new)),
    )
    con.execute(
        "INSERT INTO current_versions (model_type, model_id, current_id, update_timestamp) "
        "VALUES ('dimension', ?, ?, '2026-01-02 00:00:00.000000')",
        (new_id, max_id + 1),
    )
    project = reg.project
    time_ref.update(dimension_id=new_id, version="1.0.0")
    for entry in project["datasets"]:
        if entry["base_dimension_names"].get("time"):
            entry["base_dimension_names"]["time"] = new["name"]
    save("project", p, project["version"], project)
    commercial_time_ref = next(
        r for r in reg.dataset(commercial)["dimension_references"] if r["type"] == "time"
    )
    commercial_time = reg.dimension(commercial_time_ref)
    commercial_time["time_interval_type"] = "period_beginning"
    save("dimension", commercial_time_ref["dimension_id"], "1.0.0", commercial_time)
    con.commit()
    con.close()


@pytest.fixture(scope="session")
def small_ref(small_registry: Path) -> RegistryJson:
    return RegistryJson(small_registry)


@pytest.fixture(scope="session")
def full_ref(full_registry: Path) -> RegistryJson:
    return RegistryJson(full_registry)


@pytest.fixture(scope="session")
def edit_ref(edit_registry: Path) -> RegistryJson:
    return RegistryJson(edit_registry)


@pytest.fixture(scope="session")
def odd_ref(odd_registry: Path) -> RegistryJson:
    return RegistryJson(odd_registry)


@pytest.fixture(scope="session")
def full_session(full_registry: Path, engine: str) -> Iterator[Session]:
    with dsgrid_sql.connect(full_registry, engine=engine) as session:
        yield session


@pytest.fixture(scope="session")
def edit_session(edit_registry: Path, engine: str) -> Iterator[Session]:
    with dsgrid_sql.connect(edit_registry, engine=engine) as session:
        yield session


@pytest.fixture(scope="session")
def odd_session(odd_registry: Path, engine: str) -> Iterator[Session]:
    with dsgrid_sql.connect(odd_registry, engine=engine) as session:
        yield session


# -- §4.1 the whole mapping, row for row ---------------------------------------------------------


@pytest.mark.parametrize("template", ["commercial", "residential", "ev_annual"])
def test_dataset_table_row_for_row(
    small_session: Session, small_ref: RegistryJson, template: str
) -> None:
    """``SELECT *`` of a dataset table is make_project_dataframe's output, row for row."""
    dataset_id = f"{small_ref.project_id}_{template}"
    result = query(small_session, f"SELECT * FROM {small_ref.project_id}.{dataset_id}")
    assert result.column_names == [*DIMS, "timestamp", "value", "dataset_id"]
    assert set(result["dataset_id"].to_pylist()) == {dataset_id}
    expected = small_ref.mapped(dataset_id)
    assert result.num_rows == len(expected)
    assert_rows_match(result, expected, [*DIMS, "timestamp"])


@pytest.mark.parametrize("template", ["commercial", "residential", "ev_annual"])
def test_edited_dataset_table_row_for_row(
    edit_session: Session, edit_ref: RegistryJson, template: str
) -> None:
    """The same on the edited registry: null scaling factors, a many-to-one mapping, the
    wrapped interval shift, annual model years taken from the annual time."""
    dataset_id = f"{edit_ref.project_id}_{template}"
    result = query(edit_session, f"SELECT * FROM {edit_ref.project_id}.{dataset_id}")
    expected = edit_ref.mapped(dataset_id)
    assert result.num_rows == len(expected)
    assert_rows_match(result, expected, [*DIMS, "timestamp"])


# -- fractions, one-to-many, many-to-one, null to_id ---------------------------------------------

# The generator's commercial building types → project subsectors (com__vacant → null).
SPLIT = {
    "com__office": {"large_office": 0.35, "small_office": 0.65},
    "com__school": {"primary_school": 0.5, "secondary_school": 0.5},
    "com__restaurant": {"full_service_restaurant": 0.6, "quick_service_restaurant": 0.4},
    "com__retail": {"retail": 1.0},
    "com__warehouse": {"warehouse": 1.0},
    "com__hospital": {"hospital": 1.0},
    "com__hotel": {"large_hotel": 1.0},
}
# Commercial model year 2018 → project years: 1 + 0.05 (y - 2018) / 5.
GROWTH = {"2020": 1.02, "2030": 1.12, "2040": 1.22, "2050": 1.32}


def dataset_mapping(ref: RegistryJson, dataset_id: str, dim_type: str) -> dict:
    refs = ref.project["dimension_mappings"]["dataset_to_project"][dataset_id]
    return next(m for m in (ref.mapping(r) for r in refs) if m["to_dimension"]["type"] == dim_type)


def raw_mwh(ref: RegistryJson, dataset_id: str) -> pd.DataFrame:
    """Raw rows with ``mwh`` = value × scaling factor (null = 1) in MWh, and the project end
    use each dataset end use maps to (``project_metric``, null when dropped)."""
    raw = ref.raw(dataset_id)
    units = {r["id"]: r["unit"] for r in ref.dataset_dims(dataset_id)["metric"]["records"]}
    to_mwh = raw["metric"].map(lambda m: KWH[units[m]] / KWH["MWh"]).astype(float)
    scaling = raw["scaling_factor"].fillna(1.0) if "scaling_factor" in raw else 1.0
    records = dataset_mapping(ref, dataset_id, "metric")["records"]
    project_metric = raw["metric"].map({r["from_id"]: r["to_id"] for r in records})
    return raw.assign(mwh=raw["value"] * scaling * to_mwh, project_metric=project_metric)


def test_subsector_fractions(small_session: Session, small_ref: RegistryJson) -> None:
    """A dataset building type is split over project subsectors by from_fraction: office
    0.35 large / 0.65 small, school 0.5 / 0.5, restaurant 0.6 / 0.4."""
    p = small_ref.project_id
    dataset_id = f"{p}_commercial"
    records = dataset_mapping(small_ref, dataset_id, "subsector")["records"]
    assert {(r["from_id"], r["to_id"]): r["from_fraction"] for r in records if r["to_id"]} == {
        (f, t): x for f, targets in SPLIT.items() for t, x in targets.items()
    }
    result = query(
        small_session,
        f"SELECT subsector, model_year, SUM(value) AS value FROM {p}.{dataset_id} "
        "WHERE scenario = 'reference' GROUP BY subsector, model_year",
    )
    got = got_dict(result, ["subsector", "model_year"])
    by_type = raw_mwh(small_ref, dataset_id).groupby("subsector")["mwh"].sum()
    assert {"com__office", "com__school", "com__restaurant"} <= set(by_type.index)
    expected = {
        (to, year): by_type[source] * fraction * g
        for source, targets in SPLIT.items()
        if source in by_type
        for to, fraction in targets.items()
        for year, g in GROWTH.items()
    }
    assert_same(got, expected)
    for year in GROWTH:
        assert close(got[("large_office", year)] / got[("small_office", year)], 0.35 / 0.65)


def test_one_to_many_model_years_and_scenario_duplication(
    small_session: Session, small_ref: RegistryJson
) -> None:
    """The commercial model year 2018 becomes every project year × its growth fraction, and
    the single scenario is duplicated into every project scenario (fraction 1)."""
    p = small_ref.project_id
    dataset_id = f"{p}_commercial"
    growth = dataset_mapping(small_ref, dataset_id, "model_year")["records"]
    assert {r["to_id"]: r["from_fraction"] for r in growth} == GROWTH
    result = query(
        small_session,
        "SELECT model_year, scenario, COUNT(*) AS n, SUM(value) AS value "
        f"FROM {p}.{dataset_id} GROUP BY model_year, scenario",
    )
    raw = raw_mwh(small_ref, dataset_id)
    kept = raw[raw["subsector"] != "com__vacant"]
    # Each kept raw row becomes one row per project subsector it maps to.
    rows_per_key = int(kept["subsector"].map(lambda s: len(SPLIT[s])).sum())
    rows = result.to_pylist()
    assert sorted((r["model_year"], r["scenario"]) for r in rows) == sorted(
        (y, s) for y in GROWTH for s in ("reference", "high_electrification")
    )
    for row in rows:
        assert row["n"] == rows_per_key, row
        assert close(row["value"], kept["mwh"].sum() * GROWTH[row["model_year"]]), row


def test_many_to_one_dataset_mapping_sums(edit_session: Session, edit_ref: RegistryJson) -> None:
    """Two dataset end uses mapped onto one project end use (edited: com_fans → cooling) are
    summed into one row per key (GROUP BY the other columns, SUM(value × fraction))."""
    p = edit_ref.project_id
    dataset_id = f"{p}_commercial"
    duplicates = query(
        edit_session,
        "SELECT geography, subsector, metric, model_year, scenario, timestamp, COUNT(*) AS n "
        f"FROM {p}.{dataset_id} GROUP BY ALL HAVING COUNT(*) > 1",
    )
    assert duplicates.num_rows == 0
    result = query(
        edit_session,
        f"SELECT metric, geography, SUM(value) AS value FROM {p}.{dataset_id} "
        "WHERE model_year = '2030' AND scenario = 'reference' GROUP BY metric, geography",
    )
    got = got_dict(result, ["metric", "geography"])
    raw = raw_mwh(edit_ref, dataset_id)
    assert set(raw.loc[raw["metric"].isin(["com_fans", "com_cooling"]), "project_metric"]) == {
        "cooling"
    }
    raw = raw[raw["subsector"] != "com__vacant"]
    totals = raw.groupby(["project_metric", "geography"])["mwh"].sum()
    assert_same(got, {key: v * GROWTH["2030"] for key, v in totals.items()})
    assert not any(metric == "fans" for metric, _ in got)


def test_many_to_one_supplemental(small_session: Session, small_ref: RegistryJson) -> None:
    """Counties aggregate onto census regions (many-to-one, fraction 1)."""
    p = small_ref.project_id
    result = query(
        small_session,
        f"SELECT us_census_regions, SUM(value) AS value FROM {p}.data GROUP BY us_census_regions",
    )
    expected = small_ref.with_supplemental(small_ref.data(), "US Census Regions", "region")
    assert expected.groupby("region")["geography"].nunique().max() > 1
    assert_same(got_dict(result, ["us_census_regions"]), expected_dict(expected, ["region"]))


def test_null_to_id_drops_data(full_session: Session, full_ref: RegistryJson) -> None:
    """Records mapped to null vanish: vacant buildings (subsector) and exterior lighting
    (metric) contribute no rows and no value."""
    p = full_ref.project_id
    dataset_id = f"{p}_commercial"
    result = query(
        full_session,
        "SELECT COUNT(*) AS n, SUM(value) AS value, COUNT(DISTINCT metric) AS metrics "
        f"FROM {p}.{dataset_id} WHERE model_year = '2020' AND scenario = 'reference'",
    ).to_pylist()[0]
    raw = raw_mwh(full_ref, dataset_id)
    vacant = raw["subsector"] == "com__vacant"
    exterior = raw["metric"] == "com_exterior_lighting"
    assert vacant.any() and exterior.any()
    assert raw.loc[exterior, "project_metric"].isna().all()
    assert raw.loc[vacant | exterior, "mwh"].sum() > 0
    kept = raw[~(vacant | exterior)]
    assert result["n"] == int(kept["subsector"].map(lambda s: len(SPLIT[s])).sum())
    assert close(result["value"], kept["mwh"].sum() * GROWTH["2020"])
    assert result["metrics"] == kept["project_metric"].nunique() == 6


# -- §4.2 units ----------------------------------------------------------------------------------


def test_unit_conversion(small_session: Session, small_ref: RegistryJson) -> None:
    """kWh → MWh is × 0.001 and therm → MWh × 0.029307107017222222, per dataset end use;
    the unit column is the project record's unit (MWh)."""
    p = small_ref.project_id
    commercial, residential = f"{p}_commercial", f"{p}_residential"
    result = query(
        small_session,
        f"SELECT dataset_id, metric, unit, SUM(value) AS value FROM {p}.data "
        "WHERE model_year = '2020' AND scenario = 'reference' "
        f"AND dataset_id IN ('{commercial}', '{residential}') GROUP BY ALL",
    )
    assert set(result["unit"].to_pylist()) == {"MWh"}
    per_unit = {"kWh": 0.001, "therm": 0.029307107017222222}
    expected: dict[tuple, float] = {}
    units_seen: set[str] = set()
    for dataset_id in (commercial, residential):
        raw = small_ref.raw(dataset_id)
        if dataset_id == commercial:
            raw = raw[raw["subsector"] != "com__vacant"]
            raw = raw.assign(v=raw["value"] * raw["scaling_factor"] * GROWTH["2020"])
        else:
            raw = raw[(raw["model_year"] == "2020") & (raw["scenario"] == "reference")]
            raw = raw.assign(v=raw["value"])
        units = {
            r["id"]: r["unit"] for r in small_ref.dataset_dims(dataset_id)["metric"]["records"]
        }
        to = {
            r["from_id"]: r["to_id"]
            for r in dataset_mapping(small_ref, dataset_id, "metric")["records"]
        }
        for metric, total in raw.groupby("metric")["v"].sum().items():
            units_seen.add(units[metric])
            expected[(dataset_id, to[metric])] = total * per_unit[units[metric]]
    assert units_seen == {"kWh", "therm"}
    assert_same(got_dict(result, ["dataset_id", "metric"]), expected)


# -- §4.3 time -----------------------------------------------------------------------------------


def test_period_ending_to_period_beginning(
    small_session: Session, small_ref: RegistryJson
) -> None:
    """Period-ending data (first instant 01:00 EST) moves back one hour onto the project's
    period-beginning hours: the first project hour exists and holds the first data hour."""
    p = small_ref.project_id
    dataset_id = f"{p}_commercial"
    project_ts = small_ref.project_timestamps()
    assert project_ts[0] == pd.Timestamp("2018-01-01 05:00", tz="UTC")
    result = query(
        small_session,
        f"SELECT timestamp, SUM(value) AS value FROM {p}.{dataset_id} "
        "WHERE model_year = '2020' AND scenario = 'reference' GROUP BY timestamp",
    )
    raw = raw_mwh(small_ref, dataset_id)
    raw = raw[raw["subsector"] != "com__vacant"]
    assert raw["timestamp"].min() == project_ts[0] + HOUR
    by_instant = raw.groupby("timestamp")["mwh"].sum()
    expected = {(_norm(t - HOUR),): v * GROWTH["2020"] for t, v in by_instant.items()}
    got = got_dict(result, ["timestamp"])
    assert len(got) == len(project_ts) == 48
    assert_same(got, expected)


def test_interval_shift_wraps_last_hour(edit_session: Session, edit_ref: RegistryJson) -> None:
    """Under a period-ending project (edited), period-beginning data moves forward one hour:
    the commercial data, starting at the project's first instant, has its last hour pushed
    past the range and wrapped onto the first project hour; the residential data, starting
    an hour earlier, shifts without wrapping."""
    p = edit_ref.project_id
    commercial, residential = f"{p}_commercial", f"{p}_residential"
    project_ts = edit_ref.project_timestamps()
    assert edit_ref.project_interval() == "period_ending"
    assert project_ts[0] == pd.Timestamp("2018-01-01 06:00", tz="UTC")
    result = query(
        edit_session,
        f"SELECT dataset_id, timestamp, SUM(value) AS value FROM {p}.data "
        "WHERE model_year = '2020' AND scenario = 'reference' "
        f"AND dataset_id IN ('{commercial}', '{residential}') GROUP BY ALL",
    )
    com = raw_mwh(edit_ref, commercial)
    com = com[com["subsector"] != "com__vacant"]
    assert com["timestamp"].min() == project_ts[0]
    by_instant = com.groupby("timestamp")["mwh"].sum()
    last = by_instant.index.max()
    assert last + HOUR > project_ts[-1]
    expected = {
        (commercial, _norm(project_ts[0] if t == last else t + HOUR)): v * GROWTH["2020"]
        for t, v in by_instant.items()
    }
    res = raw_mwh(edit_ref, residential)
    res = res[(res["model_year"] == "2020") & (res["scenario"] == "reference")]
    assert res["timestamp"].min() + HOUR == project_ts[0]
    for t, v in res.groupby("timestamp")["mwh"].sum().items():
        expected[(residential, _norm(t + HOUR))] = v
    assert_same(got_dict(result, ["dataset_id", "timestamp"]), expected)


def test_annual_to_hourly(small_session: Session, small_ref: RegistryJson) -> None:
    """Each annual value is spread over every project hour as value / 8760."""
    p = small_ref.project_id
    dataset_id = f"{p}_ev_annual"
    hours = len(small_ref.project_timestamps())
    result = query(
        small_session,
        "SELECT geography, subsector, model_year, scenario, COUNT(*) AS n, "
        "COUNT(DISTINCT timestamp) AS hours, MIN(value) AS lo, MAX(value) AS hi, "
        f"SUM(value) AS value FROM {p}.{dataset_id} GROUP BY ALL",
    )
    got = {
        (r["geography"], r["subsector"], r["model_year"], r["scenario"]): r
        for r in result.to_pylist()
    }
    raw = small_ref.raw(dataset_id)
    assert len(got) == len(raw)
    for row in raw.itertuples(index=False):
        out = got[(row.geography, row.subsector, row.time_year, row.scenario)]
        assert out["n"] == out["hours"] == hours
        assert close(out["lo"], row.value / 8760) and close(out["hi"], row.value / 8760)
        assert close(out["value"], row.value * hours / 8760)


def _weighted_by_scenario(df: pd.DataFrame) -> pd.DataFrame:
    # Not a difference: duplicated scenarios would cancel to rounding noise.
    return df.assign(value=df["value"].where(df["scenario"] == "reference", 0.5 * df["value"]))


SUMMED_CASES = {
    "by_dataset": (
        "SELECT dataset_id, metric, model_year, SUM(value) AS value FROM {p}.data GROUP BY ALL",
        ["dataset_id", "metric", "model_year"],
        lambda ref: ref.data(),
    ),
    "case_and_supplemental": (
        "SELECT dataset_id, us_states, SUM(CASE WHEN scenario = 'reference' THEN value "
        "ELSE 0.5 * value END) AS value FROM {p}.data WHERE model_year IN ('2030', '2040') "
        "GROUP BY ALL",
        ["dataset_id", "us_states"],
        lambda ref: _weighted_by_scenario(
            ref.with_supplemental(ref.data(), "US States", "us_states")
        ).query("model_year in ['2030', '2040']"),
    ),
    "fractional_supplemental": (
        "SELECT end_uses_by_fuel_type, model_year, SUM(value * 1000) / 1000 AS value "
        "FROM {p}.data GROUP BY ALL",
        ["end_uses_by_fuel_type", "model_year"],
        lambda ref: ref.with_supplemental(
            ref.data(), "End Uses by Fuel Type", "end_uses_by_fuel_type"
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(SUMMED_CASES))
def test_summed_annual_data_equals_the_spread(
    full_session: Session, full_ref: RegistryJson, case: str
) -> None:
    """A query that only sums value and reads no time sums each annual row once, as value /
    8760 × project hours, instead of repeating it per hour; the reference spreads it with a
    cross join, as dsgrid does, and the numbers agree."""
    sql, keys, reference = SUMMED_CASES[case]
    sql = sql.format(p=full_ref.project_id)
    assert "summed over" in full_session.explain(sql)
    expected = expected_dict(reference(full_ref), keys)
    if "dataset_id" in keys:
        assert any(k[0] == f"{full_ref.project_id}_ev_annual" for k in expected)
    assert_same(got_dict(query(full_session, sql), keys), expected)


def test_annual_model_year_is_the_annual_time(
    edit_session: Session, edit_ref: RegistryJson
) -> None:
    """model_year := the annual time value, whatever the stored model_year column says
    (edited so that every row's model_year differs from its time_year)."""
    p = edit_ref.project_id
    dataset_id = f"{p}_ev_annual"
    raw = edit_ref.raw(dataset_id)
    assert (raw["model_year"] != raw["time_year"]).all()
    result = query(
        edit_session,
        f"SELECT model_year, SUM(value) AS value FROM {p}.{dataset_id} GROUP BY model_year",
    )
    hours = len(edit_ref.project_timestamps())
    expected = {(y,): v * hours / 8760 for y, v in raw.groupby("time_year")["value"].sum().items()}
    assert_same(got_dict(result, ["model_year"]), expected)


# -- scaling factors -----------------------------------------------------------------------------


def test_scaling_factor(small_session: Session, small_ref: RegistryJson) -> None:
    """two_table: value × the lookup's scaling_factor."""
    p = small_ref.project_id
    dataset_id = f"{p}_commercial"
    raw = small_ref.raw(dataset_id)
    assert raw["scaling_factor"].notna().all() and (raw["scaling_factor"] != 1.0).any()
    result = query(
        small_session,
        f"SELECT geography, subsector, SUM(value) AS value FROM {p}.{dataset_id} "
        "WHERE model_year = '2020' AND scenario = 'reference' AND metric = 'cooling' "
        "GROUP BY geography, subsector",
    )
    raw = raw[(raw["metric"] == "com_cooling") & (raw["subsector"] != "com__vacant")]
    scaled = (raw["value"] * raw["scaling_factor"] * 0.001 * GROWTH["2020"]).groupby(
        [raw["geography"], raw["subsector"]]
    )
    expected: dict[tuple, float] = {}
    for (geography, source), v in scaled.sum().items():
        for to, fraction in SPLIT[source].items():
            expected[(geography, to)] = expected.get((geography, to), 0.0) + v * fraction
    assert_same(got_dict(result, ["geography", "subsector"]), expected)


def test_null_scaling_factor_means_unscaled(edit_session: Session, edit_ref: RegistryJson) -> None:
    """A null scaling_factor leaves the value unscaled (edited lookup: every third id null)."""
    p = edit_ref.project_id
    dataset_id = f"{p}_commercial"
    raw = edit_ref.raw(dataset_id)
    assert raw["scaling_factor"].isna().any() and raw["scaling_factor"].notna().any()
    result = query(
        edit_session,
        f"SELECT geography, SUM(value) AS value FROM {p}.{dataset_id} "
        "WHERE model_year = '2020' AND scenario = 'reference' AND metric = 'interior_lighting' "
        "GROUP BY geography",
    )
    raw = raw[(raw["metric"] == "com_interior_lighting") & (raw["subsector"] != "com__vacant")]
    value = raw["value"] * raw["scaling_factor"].fillna(1.0) * 0.001 * GROWTH["2020"]
    expected = {(g,): v for g, v in value.groupby(raw["geography"]).sum().items()}
    assert_same(got_dict(result, ["geography"]), expected)


# -- several base dimensions of one type ---------------------------------------------------------


def test_several_metric_bases(odd_session: Session, odd_ref: RegistryJson) -> None:
    """The EV dataset maps onto its own metric base: its table works; ``data`` would stack
    datasets of two groups and fails naming them; narrowing dataset_id to one group works."""
    p = odd_ref.project_id
    ev = f"{p}_ev_annual"
    assert len(odd_ref.bases("metric")) == 2
    ev_base = odd_ref.base("metric", ev)
    assert ev_base["name"] == "EV Charging End Uses"
    hours = len(odd_ref.project_timestamps())

    result = query(
        odd_session,
        "SELECT metric, metric_name, unit, model_year, SUM(value) AS value "
        f"FROM {p}.{ev} GROUP BY ALL",
    )
    raw = odd_ref.raw(ev)
    expected = {
        ("ev_charging", "EV Charging", "MWh", y): v * hours / 8760
        for y, v in raw.groupby("time_year")["value"].sum().items()
    }
    assert_same(got_dict(result, ["metric", "metric_name", "unit", "model_year"]), expected)

    with pytest.raises(MixedDatasetsError) as info:
        query(odd_session, f"SELECT SUM(value) AS value FROM {p}.data")
    for dataset_id in odd_ref.submitted:
        assert dataset_id in str(info.value)

    others = [d for d in odd_ref.submitted if d != ev]
    listed = ", ".join(f"'{d}'" for d in others)
    result = query(
        odd_session,
        f"SELECT dataset_id, COUNT(*) AS n, SUM(value) AS value FROM {p}.data "
        f"WHERE dataset_id IN ({listed}) GROUP BY dataset_id",
    )
    assert_same(
        got_dict(result, ["dataset_id"]),
        {(d,): odd_ref.mapped(d)["value"].sum() for d in others},
    )
    assert got_dict(result, ["dataset_id"], "n") == {(d,): len(odd_ref.mapped(d)) for d in others}
    result = query(
        odd_session,
        f"SELECT SUM(value) AS value FROM {p}.data WHERE dataset_id = '{ev}'",
    ).to_pylist()[0]
    assert close(result["value"], raw["value"].sum() * hours / 8760)


# -- supplemental dimensions ---------------------------------------------------------------------


def test_two_supplementals_multiply_fractions(
    full_session: Session, full_ref: RegistryJson
) -> None:
    """us_states × end_uses_by_fuel_type: each base total lands on its state and fuels,
    multiplied by both mappings' fractions (dual-fuel heating 0.25 / 0.75)."""
    p = full_ref.project_id
    result = query(
        full_session,
        "SELECT us_states, end_uses_by_fuel_type, SUM(value) AS value "
        f"FROM {p}.data GROUP BY us_states, end_uses_by_fuel_type",
    )
    base = full_ref.data().groupby(["geography", "metric"])["value"].sum()
    _, states = full_ref.supplemental("US States")
    _, fuels = full_ref.supplemental("End Uses by Fuel Type")
    state_of = {r["from_id"]: (r["to_id"], r["from_fraction"]) for r in states["records"]}
    fuel_of: dict[str, list[tuple[str, float]]] = {}
    for r in fuels["records"]:
        fuel_of.setdefault(r["from_id"], []).append((r["to_id"], r["from_fraction"]))
    assert sorted(fuel_of["heating_dual_fuel"]) == [("electricity", 0.25), ("natural_gas", 0.75)]
    assert "heating_dual_fuel" in base.index.get_level_values("metric")
    expected: dict[tuple, float] = {}
    for (geography, metric), v in base.items():
        state, f_state = state_of[geography]
        for fuel, f_fuel in fuel_of[metric]:
            expected[(state, fuel)] = expected.get((state, fuel), 0.0) + v * f_state * f_fuel
    got = got_dict(result, ["us_states", "end_uses_by_fuel_type"])
    assert_same(got, expected)
    assert close(sum(got.values()), base.sum())


def test_interpolating_and_all_supplementals(
    full_session: Session, full_ref: RegistryJson
) -> None:
    """Five-year intervals interpolate (2025 = 0.5 × 2020 + 0.5 × 2030) and the automatic
    all_<project>_geographies dimension has one record holding everything."""
    p = full_ref.project_id
    result = query(
        full_session,
        f"SELECT five_year_intervals, all_{p}_geographies AS everywhere, SUM(value) AS value "
        f"FROM {p}.data GROUP BY ALL",
    )
    by_year = full_ref.data().groupby("model_year")["value"].sum()
    (all_record,) = full_ref.supplemental(f"all_{p}_geographies")[0]["records"]
    expected = {(y, all_record["id"]): v for y, v in by_year.items()}
    years = sorted(by_year.index)
    for a, b in itertools.pairwise(years):
        middle = str((int(a) + int(b)) // 2)
        expected[(middle, all_record["id"])] = 0.5 * by_year[a] + 0.5 * by_year[b]
    assert_same(got_dict(result, ["five_year_intervals", "everywhere"]), expected)


def test_supplemental_fraction_applies_before_aggregate(
    full_session: Session, full_ref: RegistryJson
) -> None:
    """Supplemental fractions multiply rows before the aggregate function: MAX of the
    dual-fuel split is 0.25 / 0.75 of the largest base row."""
    p = full_ref.project_id
    result = query(
        full_session,
        "SELECT end_uses_by_fuel_type, MAX(value) AS value, COUNT(*) AS n FROM "
        f"{p}.data WHERE metric = 'heating_dual_fuel' GROUP BY end_uses_by_fuel_type",
    )
    base = full_ref.data()
    base = base[base["metric"] == "heating_dual_fuel"]
    assert len(base) > 0
    top = base["value"].max()
    assert_same(
        got_dict(result, ["end_uses_by_fuel_type"]),
        {("electricity",): 0.25 * top, ("natural_gas",): 0.75 * top},
    )
    assert set(got_dict(result, ["end_uses_by_fuel_type"], "n").values()) == {len(base)}


def test_subset_group(full_session: Session, full_ref: RegistryJson) -> None:
    """The subset group "Building Types by Sector" is a supplemental column: each base
    subsector counts towards the selectors whose records hold it."""
    p = full_ref.project_id
    result = query(
        full_session,
        "SELECT building_types_by_sector, building_types_by_sector_name, SUM(value) AS value "
        f"FROM {p}.data GROUP BY ALL",
    )
    (group,) = full_ref.project["dimensions"]["subset_dimensions"]
    assert group["name"] == "Building Types by Sector"
    selectors = [full_ref.dimension(r) for r in group["selector_references"]]
    by_subsector = full_ref.data().groupby("subsector")["value"].sum()
    names = full_ref.names(full_ref.supplemental(group["name"])[0])
    expected = {
        (s["name"], names[s["name"]]): sum(
            v for sub, v in by_subsector.items() if sub in {r["id"] for r in s["records"]}
        )
        for s in selectors
    }
    assert len(expected) == 2
    assert_same(
        got_dict(result, ["building_types_by_sector", "building_types_by_sector_name"]), expected
    )


# -- time zones, names, union ---------------------------------------------------------------------


def test_local_timestamp(full_session: Session, full_ref: RegistryJson) -> None:
    """time_zone is the county's IANA zone; local_timestamp the instant's wall clock there,
    without a zone."""
    p = full_ref.project_id
    result = query(
        full_session,
        f"SELECT DISTINCT geography, time_zone, timestamp, local_timestamp FROM {p}.data",
    )
    assert result.schema.field("local_timestamp").type.tz is None
    zones = {r["id"]: r["time_zone"] for r in full_ref.base("geography")["records"]}
    assert len(set(zones.values())) >= 4
    rows = result.to_pylist()
    assert len(rows) == len(zones) * len(full_ref.project_timestamps())
    for row in rows:
        zone = zones[row["geography"]]
        assert row["time_zone"] == zone
        local = pd.Timestamp(row["timestamp"]).tz_convert(zone).tz_localize(None)
        assert pd.Timestamp(row["local_timestamp"]) == local, row


def test_record_names(small_session: Session, small_ref: RegistryJson) -> None:
    """Every ``<column>_name`` is the record's name, base or supplemental; names leave the
    values alone."""
    p = small_ref.project_id
    base_columns = ["geography", "sector", "subsector", "metric", "model_year", "scenario"]
    supplementals = {"us_states": "US States", "end_uses_by_fuel_type": "End Uses by Fuel Type"}
    columns = [*base_columns, "weather_year", *supplementals]
    selected = ", ".join(f"{c}, {c}_name" for c in columns)
    rows = query(small_session, f"SELECT DISTINCT {selected} FROM {p}.data").to_pylist()
    assert rows
    names = {c: small_ref.names(small_ref.base(c)) for c in [*base_columns, "weather_year"]}
    names.update(
        {c: small_ref.names(small_ref.supplemental(n)[0]) for c, n in supplementals.items()}
    )
    for row in rows:
        for column in columns:
            assert row[f"{column}_name"] == names[column][row[column]], (column, row)
    result = query(
        small_session,
        f"SELECT geography_name, metric_name, SUM(value) AS value FROM {p}.data GROUP BY ALL",
    )
    data = small_ref.data()
    data = data.assign(
        geography_name=data["geography"].map(names["geography"]),
        metric_name=data["metric"].map(names["metric"]),
    )
    assert_same(
        got_dict(result, ["geography_name", "metric_name"]),
        expected_dict(data, ["geography_name", "metric_name"]),
    )


def test_union_keeps_duplicates(edit_session: Session, edit_ref: RegistryJson) -> None:
    """``data`` is the UNION ALL of the dataset tables: its row count is the sum of theirs,
    and a dataset holding exactly another's rows (edited) contributes every row again."""
    p = edit_ref.project_id
    commercial, commercial_2 = f"{p}_commercial", f"{p}_commercial_2"
    assert commercial_2 in edit_ref.submitted
    tables = {
        d: query(
            edit_session, f"SELECT COUNT(*) AS n, SUM(value) AS value FROM {p}.{d}"
        ).to_pylist()[0]
        for d in edit_ref.submitted
    }
    for dataset_id, row in tables.items():
        expected = edit_ref.mapped(dataset_id)
        assert row["n"] == len(expected), dataset_id
        assert close(row["value"], expected["value"].sum()), dataset_id
    total = query(edit_session, f"SELECT COUNT(*) AS n, SUM(value) AS value FROM {p}.data")
    total_row = total.to_pylist()[0]
    assert total_row["n"] == sum(r["n"] for r in tables.values())
    assert close(total_row["value"], sum(r["value"] for r in tables.values()))
    pairs = query(
        edit_session,
        "SELECT MIN(n) AS lo, MAX(n) AS hi, COUNT(*) AS keys FROM (SELECT geography, subsector, "
        "metric, model_year, scenario, timestamp, value, COUNT(*) AS n FROM "
        f"{p}.data WHERE dataset_id IN ('{commercial}', '{commercial_2}') GROUP BY ALL) AS g",
    ).to_pylist()[0]
    assert pairs == {"lo": 2, "hi": 2, "keys": tables[commercial]["n"]}


# -- §4.4 filters pushed below the mappings ------------------------------------------------------

Case = tuple[str, tuple[str, str] | None, Callable[[pd.DataFrame], pd.Series]]
PUSHDOWN_CASES: list[Case] = [
    ("'2030' = model_year", None, lambda d: d["model_year"] == "2030"),
    ("model_year IN ('2020', '2040')", None, lambda d: d["model_year"].isin(["2020", "2040"])),
    (
        "model_year NOT IN ('2020', '2050')",
        None,
        lambda d: ~d["model_year"].isin(["2020", "2050"]),
    ),
    (
        "model_year BETWEEN '2025' AND '2045' AND metric LIKE 'heat%'",
        None,
        lambda d: d["model_year"].between("2025", "2045") & d["metric"].str.startswith("heat"),
    ),
    (
        "model_year NOT BETWEEN '2025' AND '2045' AND scenario <> 'reference'",
        None,
        lambda d: ~d["model_year"].between("2025", "2045") & (d["scenario"] != "reference"),
    ),
    ("subsector_name LIKE '%Office%'", None, lambda d: d["subsector_name"].str.contains("Office")),
    (
        "metric_name NOT LIKE '%Heating%' AND sector_name = 'Residential'",
        None,
        lambda d: ~d["metric_name"].str.contains("Heating") & (d["sector_name"] == "Residential"),
    ),
    (
        "geography_name IN ('Washington County', 'Grant County') AND model_year = '2050'",
        None,
        lambda d: (
            d["geography_name"].isin(["Washington County", "Grant County"])
            & (d["model_year"] == "2050")
        ),
    ),
    (
        "us_states IN ('AL', 'AZ', 'CA') AND us_states_name <> 'Arizona'",
        ("US States", "us_states"),
        lambda d: d["us_states"].isin(["AL", "AZ", "CA"]) & (d["us_states_name"] != "Arizona"),
    ),
    (
        "end_uses_by_fuel_type = 'electricity'",
        ("End Uses by Fuel Type", "end_uses_by_fuel_type"),
        lambda d: d["end_uses_by_fuel_type"] == "electricity",
    ),
    (
        "end_uses_by_fuel_type_name NOT IN ('Electricity') AND metric <> 'heating_gas'",
        ("End Uses by Fuel Type", "end_uses_by_fuel_type"),
        lambda d: (
            (d["end_uses_by_fuel_type_name"] != "Electricity") & (d["metric"] != "heating_gas")
        ),
    ),
    (
        "five_year_intervals BETWEEN '2025' AND '2035'",
        ("Five Year Intervals", "five_year_intervals"),
        lambda d: d["five_year_intervals"].between("2025", "2035"),
    ),
    (
        "building_types_by_sector = 'commercial_building_types' AND subsector LIKE '%office'",
        ("Building Types by Sector", "building_types_by_sector"),
        lambda d: (
            (d["building_types_by_sector"] == "commercial_building_types")
            & d["subsector"].str.endswith("office")
        ),
    ),
    (
        "dataset_id = 'full_residential' AND subsector NOT LIKE 'single%'",
        None,
        lambda d: (
            (d["dataset_id"] == "full_residential") & ~d["subsector"].str.startswith("single")
        ),
    ),
]


def _reference_with_names(ref: RegistryJson, supplemental: tuple[str, str] | None) -> pd.DataFrame:
    data = ref.data()
    for column in ("geography", "sector", "subsector", "metric"):
        data[f"{column}_name"] = data[column].map(ref.names(ref.base(column)))
    if supplemental is not None:
        name, column = supplemental
        data = ref.with_supplemental(data, name, column)
        data[f"{column}_name"] = data[column].map(ref.names(ref.supplemental(name)[0]))
    return data


@pytest.mark.parametrize(
    ("predicate", "supplemental", "keep"), PUSHDOWN_CASES, ids=[c[0] for c in PUSHDOWN_CASES]
)
def test_pushdown_equals_unpushed(
    full_session: Session,
    full_ref: RegistryJson,
    predicate: str,
    supplemental: tuple[str, str] | None,
    keep: Callable[[pd.DataFrame], pd.Series],
) -> None:
    """Filters on dimension columns (base, names, supplementals; =, <>, IN, NOT IN, LIKE,
    NOT LIKE, BETWEEN) give the same result pushed below the mappings as not."""
    p = full_ref.project_id
    sql = (
        f"SELECT dataset_id, metric, model_year, SUM(value) AS value FROM {p}.data "
        f"WHERE {predicate} GROUP BY ALL"
    )
    keys = ["dataset_id", "metric", "model_year"]
    assert full_session.pushdown
    pushed = got_dict(query(full_session, sql), keys)
    full_session.set("pushdown", "off")
    try:
        unpushed = got_dict(query(full_session, sql), keys)
    finally:
        full_session.set("pushdown", "on")
    data = _reference_with_names(full_ref, supplemental)
    expected = expected_dict(data[keep(data)], keys)
    assert expected
    assert_same(unpushed, expected)
    assert_same(pushed, expected)


def test_pushdown_of_annual_model_year(edit_session: Session, edit_ref: RegistryJson) -> None:
    """A model_year filter on annual data applies to the model year the mapping produces (the
    annual time), so pushing it down must not filter the stored model_year column."""
    p = edit_ref.project_id
    dataset_id = f"{p}_ev_annual"
    sql = (
        f"SELECT model_year, SUM(value) AS value FROM {p}.{dataset_id} "
        "WHERE model_year IN ('2030', '2040') GROUP BY model_year"
    )
    raw = edit_ref.raw(dataset_id)
    raw = raw[raw["time_year"].isin(["2030", "2040"])]
    hours = len(edit_ref.project_timestamps())
    expected = {(y,): v * hours / 8760 for y, v in raw.groupby("time_year")["value"].sum().items()}
    edit_session.set("pushdown", "off")
    try:
        unpushed = got_dict(query(edit_session, sql), ["model_year"])
    finally:
        edit_session.set("pushdown", "on")
    assert_same(unpushed, expected)
    assert_same(got_dict(query(edit_session, sql), ["model_year"]), expected)


def test_explain_shows_pushed_filters(small_session: Session, small_ref: RegistryJson) -> None:
    """EXPLAIN lists the pushed filters per dataset when pushdown is on, and none when off."""
    p = small_ref.project_id
    sql = (
        f"SELECT SUM(value) AS value FROM {p}.data "
        "WHERE model_year = '2030' AND us_states = 'AL' "
        "AND metric IN ('cooling', 'fans', 'ev_charging')"
    )

    def pushed_lines(text: str) -> list[str]:
        return [
            line.strip() for line in text.splitlines() if line.strip().startswith("pushed filter:")
        ]

    on = small_session.explain(sql)
    lines = pushed_lines(on)
    assert any(line.startswith("pushed filter: geography IN (01001)") for line in lines), on
    assert any(line.startswith("pushed filter: model_year IN (2030)") for line in lines), on
    assert any(line.startswith("pushed filter: metric IN (") for line in lines), on
    # Annual data: the model year it maps to is its annual time column.
    assert "pushed filter: time_year IN (2030) (model_year of annual data)" in lines, on
    small_session.set("pushdown", "off")
    try:
        off = small_session.explain(sql)
    finally:
        small_session.set("pushdown", "on")
    assert pushed_lines(off) == []
    assert off.count("pushed filters: none") == len(small_ref.submitted)


# -- one process, several registries -------------------------------------------------------------


def test_sessions_on_registries_sharing_ids_stay_apart(
    tmp_path_factory: pytest.TempPathFactory, engine: str
) -> None:
    """Two registries whose dimension and mapping ids coincide (dsgrid's filtered registry
    copies keep them; here one generator seed) but whose records differ: each session
    answers from its own registry, whichever ran first (the project hours spread over,
    counties, states)."""
    folder = tmp_path_factory.mktemp("twins")
    dbs = [
        generate_registry(
            folder / name, GeneratorSpec(project_id="twin", seed=7, counties=c, hours=h)
        ).path
        for name, c, h in (("long", 3, 48), ("short", 2, 24))
    ]
    sql = (
        "SELECT COUNT(DISTINCT timestamp) AS hours, COUNT(DISTINCT geography_name) AS counties, "
        "COUNT(DISTINCT us_states) AS states, SUM(value) AS value FROM twin.data "
        "WHERE dataset_id = 'twin_ev_annual'"
    )
    expected = []
    for db in dbs:
        ref = RegistryJson(db)
        ev = ref.mapped("twin_ev_annual")
        expected.append(
            (len(ref.project_timestamps()), ev["geography"].nunique(), ev["value"].sum())
        )
    with (
        dsgrid_sql.connect(dbs[0], engine=engine) as first,
        dsgrid_sql.connect(dbs[1], engine=engine) as second,
    ):
        answers = [query(s, sql).to_pylist()[0] for s in (first, second, first)]
    for answer, (hours, counties, value) in zip(answers, [*expected, expected[0]], strict=True):
        assert (answer["hours"], answer["counties"], answer["states"]) == (
            hours,
            counties,
            counties,
        )
        assert close(answer["value"], value), (answer, value)
