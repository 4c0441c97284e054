"""The configuration side of a generated registry: dimensions, mappings, datasets and the
project, as dsgrid 0.4 writes them (dsgrid-format.md §2). Pure: no I/O.

Dimension and mapping ids are UUIDs drawn from the seed, so a seed always yields the same
registry, byte for byte.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from dsgrid_sql.catalog.models import ARCHETYPES

from .geography import CENSUS_DIVISIONS, CENSUS_REGIONS, STATES, County, counties
from .spec import GeneratorSpec

STANDARD_MODULE = "dsgrid.dimension.standard"
BASE_MODULE = "dsgrid.dimension.base_models"
TIME_ZONE = "Etc/GMT+5"  # EST without daylight saving, as dsgrid projects use
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DIMENSION_TYPES = (
    "geography",
    "sector",
    "subsector",
    "metric",
    "weather_year",
    "model_year",
    "scenario",
    "time",
)

# Project end uses: id → (name, fuel). Units are MWh in the project.
END_USES: dict[str, tuple[str, str]] = {
    "cooling": ("Space Cooling", "electricity"),
    "fans": ("Fans", "electricity"),
    "interior_lighting": ("Interior Lighting", "electricity"),
    "plug_loads": ("Plug Loads", "electricity"),
    "heat_pump_heating": ("Heat Pump Heating", "electricity"),
    "water_heating_electric": ("Electric Water Heating", "electricity"),
    "heating_gas": ("Gas Space Heating", "natural_gas"),
    "water_heating_gas": ("Gas Water Heating", "natural_gas"),
    "heating_dual_fuel": ("Dual-Fuel Space Heating", "natural_gas"),
    "ev_charging": ("EV Charging", "electricity"),
}
# A dual-fuel heating system splits between fuels: the fractional supplemental mapping.
DUAL_FUEL_SPLIT = {"electricity": 0.25, "natural_gas": 0.75}
FUELS = {"electricity": "Electricity", "natural_gas": "Natural Gas"}

COMMERCIAL_SUBSECTORS: dict[str, str] = {
    "large_office": "Large Office",
    "small_office": "Small Office",
    "retail": "Retail",
    "warehouse": "Warehouse",
    "primary_school": "Primary School",
    "secondary_school": "Secondary School",
    "hospital": "Hospital",
    "full_service_restaurant": "Full Service Restaurant",
    "quick_service_restaurant": "Quick Service Restaurant",
    "large_hotel": "Large Hotel",
}
RESIDENTIAL_SUBSECTORS: dict[str, str] = {
    "single_family_detached": "Single-Family Detached",
    "single_family_attached": "Single-Family Attached",
    "multi_family_small": "Multi-Family with 2-4 Units",
    "multi_family_large": "Multi-Family with 5+ Units",
    "mobile_home": "Mobile Home",
}
# Commercial dataset building types → project subsectors with fractions; None drops the data.
COMMERCIAL_DATASET_SUBSECTORS: dict[str, tuple[str, dict[str | None, float]]] = {
    "com__office": ("Office", {"large_office": 0.35, "small_office": 0.65}),
    "com__retail": ("Retail", {"retail": 1.0}),
    "com__warehouse": ("Warehouse", {"warehouse": 1.0}),
    "com__school": ("School", {"primary_school": 0.5, "secondary_school": 0.5}),
    "com__hospital": ("Hospital", {"hospital": 1.0}),
    "com__restaurant": (
        "Restaurant",
        {"full_service_restaurant": 0.6, "quick_service_restaurant": 0.4},
    ),
    "com__hotel": ("Hotel", {"large_hotel": 1.0}),
    "com__vacant": ("Vacant", {None: 1.0}),
}
# Dataset end uses: id → (name, fuel, unit, project end use or None to drop).
EndUse = tuple[str, str, str, str | None]
COMMERCIAL_DATASET_END_USES: dict[str, EndUse] = {
    "com_cooling": ("Cooling", "electricity", "kWh", "cooling"),
    "com_fans": ("Fans", "electricity", "kWh", "fans"),
    "com_interior_lighting": ("Interior Lighting", "electricity", "kWh", "interior_lighting"),
    "com_heating_gas": ("Gas Heating", "natural_gas", "therm", "heating_gas"),
    "com_plug_loads": ("Plug Loads", "electricity", "kWh", "plug_loads"),
    "com_water_heating_gas": ("Gas Water Heating", "natural_gas", "therm", "water_heating_gas"),
    "com_exterior_lighting": ("Exterior Lighting", "electricity", "kWh", None),
}
RESIDENTIAL_DATASET_END_USES: dict[str, EndUse] = {
    "res_cooling": ("Cooling", "electricity", "kWh", "cooling"),
    "res_heat_pump_heating": ("Heat Pump Heating", "electricity", "kWh", "heat_pump_heating"),
    "res_heating_gas": ("Gas Heating", "natural_gas", "therm", "heating_gas"),
    "res_plug_loads": ("Plug Loads", "electricity", "kWh", "plug_loads"),
    "res_water_heating": ("Water Heating", "electricity", "kWh", "water_heating_electric"),
    "res_heating_dual_fuel": ("Dual-Fuel Heating", "natural_gas", "kWh", "heating_dual_fuel"),
}
COMMERCIAL_MODEL_YEAR = "2018"
# The project's subset group of building types, one selector per sector; datasets state their
# subsector coverage with these (see DatasetDef._required_dimensions).
SUBSECTOR_GROUP = "Building Types by Sector"
SUBSECTOR_SELECTORS = {"com": "commercial_building_types", "res": "residential_building_types"}


@dataclass
class DimensionDef:
    name: str
    type: str
    cls: str
    description: str
    records: list[dict[str, Any]] = field(default_factory=list)
    module: str = STANDARD_MODULE
    time: dict[str, Any] | None = None  # time-dimension fields (time_type, ranges, ...)
    dimension_id: str = ""

    def to_json(self, row_id: int, version: str) -> dict[str, Any]:
        model: dict[str, Any] = {
            "id": row_id,
            "version": version,
            "name": self.name,
            "type": self.type,
            "dimension_id": self.dimension_id,
            "module": self.module,
            "class": self.cls,
            "dimension_class": None,
            "description": self.description,
        }
        if self.time is not None:
            model.update(self.time)
            return model
        model["file"] = None
        model["file_hash"] = _records_hash(self.records)
        model["records"] = self.records
        return model

    @property
    def record_ids(self) -> list[str]:
        return [r["id"] for r in self.records]


@dataclass
class MappingDef:
    from_dim: DimensionDef
    to_dim: DimensionDef
    mapping_type: str
    description: str
    records: list[dict[str, Any]]
    mapping_id: str = ""

    @property
    def archetype(self) -> str:
        # dsgrid stores the archetype its mapping type implies and rejects any other pairing
        # (the registration checks follow it: duplicates, Σ from_fraction = 1 by from or to id).
        return ARCHETYPES[self.mapping_type]

    def to_json(self, row_id: int, version: str) -> dict[str, Any]:
        return {
            "id": row_id,
            "version": version,
            "mapping_type": self.mapping_type,
            "archetype": self.archetype,
            "from_dimension": _ref(self.from_dim, self.from_dim.type),
            "to_dimension": _ref(self.to_dim, self.to_dim.type),
            "from_fraction_tolerance": 1e-06,
            "to_fraction_tolerance": 1e-06,
            "description": self.description,
            "mapping_id": self.mapping_id,
            "file": None,
            "file_hash": _records_hash(self.records),
            "records": self.records,
        }


@dataclass
class DatasetDef:
    dataset_id: str
    template: str
    table_format: str
    description: str
    data_source: str
    dimensions: dict[str, DimensionDef]
    trivial: list[str]
    mappings: list[MappingDef]
    # The project base dimension each type maps onto (dsgrid's base_dimension_names).
    bases: dict[str, DimensionDef]
    index: int
    # What the data covers once mapped to the project, which the project states as the
    # dataset's required_dimensions: one sector, with the subsectors of one subset selector
    # (subset group name, selector name), and these project metric ids. Every other type
    # covers all records of its base dimension.
    sector: str
    subsector_selector: tuple[str, str]
    metric_ids: list[str]
    # Representative-period and index datasets read time in their geography's zone: their
    # own records' or, with this set, the project's (design_shapes.py).
    use_project_geography_time_zone: bool = False
    wrap_time_allowed: bool = False
    daylight_saving_adjustment: dict[str, str] | None = None
    # growth_rate for growth factors (design_shapes.growth_dataset), else quantity.
    qualifier: dict[str, str] = field(
        default_factory=lambda: {"dataset_qualifier_type": "quantity"}
    )

    def to_json(self, row_id: int, version: str) -> dict[str, Any]:
        return {
            "id": row_id,
            "version": version,
            "dataset_id": self.dataset_id,
            "data_layout": None,
            "registry_data_layout": {
                "table_format": self.table_format,
                "value_format": "stacked",
                "pivoted_dimension_type": None,
            },
            "dataset_type": "modeled",
            "dataset_qualifier_metadata": dict(self.qualifier),
            "description": self.description,
            "sector_description": self.template,
            "data_source": self.data_source,
            "data_source_date": None,
            "data_source_version": None,
            "data_source_authors": None,
            "data_source_doi_url": None,
            "origin_creator": "dsgrid-sql generator",
            "origin_organization": None,
            "origin_contributors": None,
            "origin_project": None,
            "user_defined_metadata": {},
            "tags": ["generated", self.template],
            "data_classification": "low",
            "enable_unit_conversion": True,
            "use_project_geography_time_zone": self.use_project_geography_time_zone,
            "dimensions": [],
            "dimension_references": [
                _ref(self.dimensions[t], t) for t in DIMENSION_TYPES if t in self.dimensions
            ],
            "trivial_dimensions": self.trivial,
        }

    def project_entry(self, submitted: bool, version: str = "1.0.0") -> dict[str, Any]:
        """The dataset's entry in the project's ``datasets`` list (naming ``version``)."""
        return {
            "dataset_id": self.dataset_id,
            "dataset_type": "modeled",
            "version": version,
            "required_dimensions": self._required_dimensions(),
            "mapping_references": [_mapping_ref(m) for m in self.mappings] if submitted else [],
            "base_dimension_names": {
                t: (self.bases[t].name if submitted else None) for t in sorted(self.bases)
            },
            "status": "Registered" if submitted else "Unregistered",
            "wrap_time_allowed": self.wrap_time_allowed,
            "time_based_data_adjustment": {
                "leap_day_adjustment": "none",
                "daylight_saving_adjustment": self.daylight_saving_adjustment
                or {"spring_forward_hour": "none", "fall_back_hour": "none"},
            },
        }

    def _required_dimensions(self) -> dict[str, Any]:
        """dsgrid's registration check maps the data to the project and compares it with the
        cross product of these records (minus the dataset's missing associations), so they
        must describe what the dataset covers, not the whole project: a dataset of one sector
        states sector × subsector as one multi_dimensional requirement, as test_efs does for
        its commercial data (project_registry_manager.py::
        _check_dataset_base_to_project_base_mappings)."""

        def requirement(
            dim_type: str, record_ids: list[str] | None = None, subset: list | None = None
        ) -> dict[str, Any]:
            ids = record_ids or []
            return {
                "base": {
                    "record_ids": ids,
                    # Named always: with several base dimensions of a type dsgrid cannot guess.
                    "dimension_name": self.bases[dim_type].name if ids else None,
                },
                "base_missing": {"record_ids": [], "dimension_name": None},
                "subset": subset or [],
            }

        # dsgrid forbids stating a type in both sections: sector and subsector are only in
        # the multi_dimensional one, every other type only in the single_dimensional one.
        required_types = sorted(t for t in DIMENSION_TYPES if t != "time")
        joint = ("sector", "subsector")
        single = {t: requirement(t, None if t in joint else ["__all__"]) for t in required_types}
        single["metric"] = requirement("metric", self.metric_ids)
        multi = {t: requirement(t) for t in required_types}
        multi["sector"] = requirement("sector", [self.sector])
        group, selector = self.subsector_selector
        multi["subsector"] = requirement(
            "subsector", subset=[{"name": group, "selectors": [selector]}]
        )
        return {
            "single_dimensional": single,
            "multi_dimensional": [multi],
        }


@dataclass
class SubsetGroupDef:
    name: str
    type: str
    description: str
    selectors: list[DimensionDef]
    supplemental: DimensionDef
    mapping: MappingDef


@dataclass
class ProjectDef:
    project_id: str
    name: str
    description: str
    bases: list[DimensionDef]
    subset_groups: list[SubsetGroupDef]
    # Supplemental dimensions with their base→supplemental mapping, in registration order.
    supplementals: list[tuple[DimensionDef, MappingDef]]
    datasets: list[DatasetDef]
    counties: list[County]
    # Registered in the registry but not listed in the project (test_efs has one).
    unlisted: list[DatasetDef] = field(default_factory=list)
    # Dataset ids in the order they are registered and submitted, where it is not the
    # order the project lists them in.
    submission_order: tuple[str, ...] = ()

    def base(self, dim_type: str) -> DimensionDef:
        return next(d for d in self.bases if d.type == dim_type)

    def registered(self) -> list[DatasetDef]:
        """Every dataset of the registry, in registration order: the listed ones (in
        submission order), then the unlisted ones."""
        rank = {d: i for i, d in enumerate(self.submission_order)}
        listed = sorted(self.datasets, key=lambda d: rank.get(d.dataset_id, len(rank)))
        return [*listed, *self.unlisted]

    def to_json(
        self,
        row_id: int,
        version: str,
        submitted: set[str],
        dataset_versions: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The project's config at ``version``, naming each dataset at its version in
        ``dataset_versions`` (1.0.0 when absent)."""
        listed = list(self.datasets)
        named = dataset_versions or {}
        if not submitted:
            status = "Initial Registration"
        elif len(submitted) == len(listed):
            status = "Complete"
        else:
            status = "In Progress"
        return {
            "id": row_id,
            "version": version,
            "project_id": self.project_id,
            "name": self.name,
            "description": self.description,
            "status": status,
            "datasets": [
                d.project_entry(d.dataset_id in submitted, named.get(d.dataset_id, "1.0.0"))
                for d in listed
            ],
            "dimensions": {
                "base_dimensions": [],
                "base_dimension_references": [_ref(d, d.type) for d in self.bases],
                "subset_dimensions": [
                    {
                        "name": g.name,
                        "description": g.description,
                        "type": g.type,
                        "file": None,
                        "selectors": [],
                        "selector_references": [_ref(s, s.type) for s in g.selectors],
                        "create_supplemental_dimension": True,
                        "base_dimension_name": None,
                        "record_ids": sorted({r for s in g.selectors for r in s.record_ids}),
                    }
                    for g in self.subset_groups
                ],
                "supplemental_dimensions": [],
                "supplemental_dimension_references": [
                    _ref(d, d.type) for d, _ in self.supplementals
                ],
            },
            "dimension_mappings": {
                "base_to_supplemental_references": [
                    _mapping_ref(m) for _, m in self.supplementals
                ],
                "dataset_to_project": {
                    d.dataset_id: [_mapping_ref(m) for m in d.mappings]
                    for d in self.datasets
                    if d.dataset_id in submitted
                },
            },
        }


def _ref(dim: DimensionDef, dim_type: str) -> dict[str, str]:
    return {"type": dim_type, "dimension_id": dim.dimension_id, "version": "1.0.0"}


def _mapping_ref(mapping: MappingDef) -> dict[str, str]:
    return {
        "from_dimension_type": mapping.from_dim.type,
        "to_dimension_type": mapping.to_dim.type,
        "mapping_id": mapping.mapping_id,
        "version": "1.0.0",
    }


def _records_hash(records: list[dict[str, Any]]) -> str:
    """sha256 of the records as the CSV file dsgrid would have hashed."""
    if not records:
        return hashlib.sha256(b"").hexdigest()
    header = list(records[0])
    lines = [",".join(header)]
    lines += [",".join("" if r.get(k) is None else str(r.get(k)) for k in header) for r in records]
    return hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()


# ---------------------------------------------------------------------------------------------


def design_project(spec: GeneratorSpec) -> ProjectDef:
    """Every configuration of the registry ``spec`` describes."""
    p = spec.project_id
    county_list = counties(spec.counties)
    states_used = sorted({c.state.abbr for c in county_list})
    state_by_abbr = {s.abbr: s for s in STATES}
    divisions_used = sorted({state_by_abbr[a].division for a in states_used})
    regions_used = sorted({CENSUS_DIVISIONS[d][1] for d in divisions_used})

    def dim(
        name: str, dim_type: str, cls: str, description: str, records: list[dict], **kw: Any
    ) -> DimensionDef:
        return DimensionDef(name, dim_type, cls, description, records, **kw)

    geography = dim(
        f"US Counties 2020 - {spec.counties} counties",
        "geography",
        "County",
        "US counties with FIPS ids, state and IANA time zone.",
        [
            {"id": c.id, "name": c.name, "time_zone": c.state.time_zone, "state": c.state.abbr}
            for c in county_list
        ],
    )
    sector = dim(
        "Sectors",
        "sector",
        "Sector",
        "Commercial and residential sectors.",
        [
            {"id": "com", "name": "Commercial", "category": ""},
            {"id": "res", "name": "Residential", "category": ""},
        ],
    )
    subsector = dim(
        "Building Types",
        "subsector",
        "Subsector",
        "Commercial and residential building types.",
        [
            {"id": k, "name": v, "sector": "com", "abbr": ""}
            for k, v in COMMERCIAL_SUBSECTORS.items()
        ]
        + [
            {"id": k, "name": v, "sector": "res", "abbr": ""}
            for k, v in RESIDENTIAL_SUBSECTORS.items()
        ],
    )
    metric = dim(
        "End Uses",
        "metric",
        "EnergyEndUse",
        "Energy end uses, in MWh.",
        [
            {"id": k, "name": n, "fuel_id": f, "unit": "MWh"}
            for k, (n, f) in END_USES.items()
            if not (spec.ev_metric_base and k == "ev_charging")
        ],
    )
    weather_year = dim(
        f"{spec.weather_year} Weather Year",
        "weather_year",
        "WeatherYear",
        "The weather year of the profiles.",
        [{"id": str(spec.weather_year), "name": str(spec.weather_year)}],
    )
    model_year = dim(
        f"Model Years {spec.model_years[0]} to {spec.model_years[-1]}",
        "model_year",
        "ModelYear",
        "Projection years.",
        [{"id": y, "name": y} for y in spec.model_years],
    )
    scenario = dim(
        "Scenarios",
        "scenario",
        "Scenario",
        "Scenarios of the study.",
        [{"id": s, "name": s.replace("_", " ").title()} for s in spec.scenarios],
    )
    project_time = dim(
        _time_name(spec.weather_year, "periodBeginning"),
        "time",
        "Time",
        f"Hourly {spec.weather_year} EST, period-beginning, no DST, {spec.hours} hours.",
        [],
        time=_datetime_time(spec.weather_year, spec.hours, "period_beginning"),
    )
    bases = [
        geography,
        sector,
        subsector,
        metric,
        weather_year,
        model_year,
        scenario,
        project_time,
    ]
    # The EV dataset's metric; with ev_metric_base also a second metric base dimension of the
    # project, as DECARB has several.
    ev_metric = dim(
        "EV Charging End Uses",
        "metric",
        "EnergyEndUse",
        "Electric-vehicle charging.",
        [{"id": "ev_charging", "name": "EV Charging", "fuel_id": "electricity", "unit": "MWh"}],
    )
    if spec.ev_metric_base:
        bases.insert(4, ev_metric)

    # Subset group: commercial / residential building types as selectors, plus the
    # supplemental dimension dsgrid creates from the group.
    selectors = [
        dim(
            SUBSECTOR_SELECTORS["com"],
            "subsector",
            "Subsector",
            "Commercial building types (subset selector).",
            [
                {"id": k, "name": v, "sector": "com", "abbr": ""}
                for k, v in COMMERCIAL_SUBSECTORS.items()
            ],
        ),
        dim(
            SUBSECTOR_SELECTORS["res"],
            "subsector",
            "Subsector",
            "Residential building types (subset selector).",
            [
                {"id": k, "name": v, "sector": "res", "abbr": ""}
                for k, v in RESIDENTIAL_SUBSECTORS.items()
            ],
        ),
    ]
    groups = [subset_group(SUBSECTOR_GROUP, subsector, selectors)]

    states = dim(
        "US States",
        "geography",
        "State",
        "US states of the counties.",
        [
            {
                "id": a,
                "name": state_by_abbr[a].name,
                "time_zone": None,
                "is_conus": True,
                "census_division": state_by_abbr[a].division,
                "census_region": state_by_abbr[a].region,
            }
            for a in states_used
        ],
    )
    divisions = dim(
        "US Census Divisions",
        "geography",
        "CensusDivision",
        "US census divisions.",
        [{"id": d, "name": CENSUS_DIVISIONS[d][0], "time_zone": None} for d in divisions_used],
    )
    regions = dim(
        "US Census Regions",
        "geography",
        "CensusRegion",
        "US census regions.",
        [{"id": r, "name": CENSUS_REGIONS[r], "time_zone": None} for r in regions_used],
    )
    fuel_dim = dim(
        "End Uses by Fuel Type",
        "metric",
        "EnergyEndUse",
        "End uses aggregated by fuel; dual-fuel heating is split between fuels.",
        [{"id": f, "name": n, "fuel_id": f, "unit": "MWh"} for f, n in FUELS.items()],
    )

    def county_mapping(
        target: DimensionDef, description: str, to_id: Callable[[County], str]
    ) -> MappingDef:
        records = [{"from_id": c.id, "to_id": to_id(c), "from_fraction": 1.0} for c in county_list]
        return MappingDef(geography, target, "many_to_one_aggregation", description, records)

    fuel_records = []
    for end_use in metric.record_ids:
        fuel = END_USES[end_use][1]
        if end_use == "heating_dual_fuel":
            fuel_records += [
                {"from_id": end_use, "to_id": f, "from_fraction": frac}
                for f, frac in DUAL_FUEL_SPLIT.items()
            ]
        else:
            fuel_records.append({"from_id": end_use, "to_id": fuel, "from_fraction": 1.0})
    supplementals: list[tuple[DimensionDef, MappingDef]] = [
        (groups[0].supplemental, groups[0].mapping),
        (states, county_mapping(states, "Counties to states.", lambda c: c.state.abbr)),
        (
            divisions,
            county_mapping(divisions, "Counties to census divisions.", lambda c: c.state.division),
        ),
        (
            regions,
            county_mapping(regions, "Counties to census regions.", lambda c: c.state.region),
        ),
        (
            fuel_dim,
            MappingDef(
                metric,
                fuel_dim,
                "many_to_many_explicit_multipliers",
                "End uses to fuels; dual-fuel heating splits 25/75.",
                fuel_records,
            ),
        ),
    ]
    five_year = _five_year_intervals(model_year)
    if five_year is not None:
        supplementals.append(five_year)
    supplementals += all_supplementals(
        p, (geography, sector, subsector, weather_year, model_year, scenario)
    )

    base_map = {d.type: d for d in bases if d is not ev_metric}
    datasets: list[DatasetDef] = []
    by_template: dict[str, DatasetDef] = {}
    for index, (dataset_id, template) in enumerate(spec.dataset_templates()):
        first = by_template.get(template)
        if first is None:
            dataset = _design_dataset(spec, dataset_id, template, index, base_map, ev_metric)
            by_template[template] = dataset
        else:
            # Later datasets of a template share its dimensions and mappings, as datasets
            # from one model do in real registries (test_efs shares its mapping ids).
            dataset = replace(first, dataset_id=dataset_id, index=index)
        datasets.append(dataset)
    project = ProjectDef(
        p,
        p,
        f"Generated dsgrid project ({spec.counties} counties, {spec.hours} hours, "
        f"seed {spec.seed}).",
        bases,
        groups,
        supplementals,
        datasets,
        county_list,
    )
    _assign_ids(project, spec.seed)
    return project


def subset_group(
    name: str, subsector: DimensionDef, selectors: list[DimensionDef]
) -> SubsetGroupDef:
    """A subset group of building types with the supplemental dimension dsgrid creates from
    it (one record per selector) and its mapping from the base building types."""
    group_dim = DimensionDef(
        name,
        "subsector",
        "Subsector",
        "Building types grouped by sector.",
        [{"id": s.name, "name": s.name, "sector": "", "abbr": ""} for s in selectors],
    )
    group_mapping = MappingDef(
        subsector,
        group_dim,
        "many_to_many_explicit_multipliers",
        "Base building types to their subset groups.",
        [
            {"from_id": r, "to_id": s.name, "from_fraction": 1.0}
            for s in selectors
            for r in s.record_ids
        ],
    )
    return SubsetGroupDef(
        name, "subsector", group_dim.description, selectors, group_dim, group_mapping
    )


def all_supplementals(
    project_id: str, bases: tuple[DimensionDef, ...]
) -> list[tuple[DimensionDef, MappingDef]]:
    """dsgrid's automatic ``all_<project>_<type>s`` dimension of each base, one record."""
    result = []
    for base in bases:
        plural = _plural(base.type)
        all_dim = DimensionDef(
            f"all_{project_id}_{plural}",
            base.type,
            "DimensionRecordBaseModel",
            f"All {plural.replace('_', ' ').title()}",
            [{"id": f"all_{plural}", "name": f"All {plural.title()}"}],
            module=BASE_MODULE,
        )
        records = [
            {"from_id": r, "to_id": f"all_{plural}", "from_fraction": 1.0} for r in base.record_ids
        ]
        mapping = MappingDef(
            base, all_dim, "many_to_one_aggregation", f"Aggregation map for all {plural}", records
        )
        result.append((all_dim, mapping))
    return result


def _design_dataset(
    spec: GeneratorSpec,
    dataset_id: str,
    template: str,
    index: int,
    base: dict[str, DimensionDef],
    ev_metric: DimensionDef,
) -> DatasetDef:
    # Imported here: design_shapes builds on this module's definitions.
    from . import design_shapes

    if template in ("ev_rep_week", "ev_rep_weekday"):
        return design_shapes.representative_dataset(
            spec, dataset_id, template, index, base, ev_metric
        )
    if template in ("industry_index", "industry_index_pe"):
        return design_shapes.index_dataset(spec, dataset_id, template, index, base)
    if template == "growth":
        return design_shapes.growth_dataset(spec, dataset_id, index, base)
    bases = dict(base)
    if template == "commercial":
        subsector = DimensionDef(
            "Commercial Building Types - Dataset",
            "subsector",
            "Subsector",
            "Building types as the commercial model names them.",
            [
                {"id": k, "name": n, "sector": "com", "abbr": ""}
                for k, (n, _) in COMMERCIAL_DATASET_SUBSECTORS.items()
            ],
        )
        end_uses = _first(COMMERCIAL_DATASET_END_USES, spec.commercial_end_uses)
        metric = _dataset_end_uses("Commercial End Uses - Dataset", end_uses)
        model_year = DimensionDef(
            f"Model Year {COMMERCIAL_MODEL_YEAR}",
            "model_year",
            "ModelYear",
            "The one model year of the commercial runs.",
            [{"id": COMMERCIAL_MODEL_YEAR, "name": COMMERCIAL_MODEL_YEAR}],
        )
        scenario = DimensionDef(
            "Single Scenario",
            "scenario",
            "Scenario",
            "The commercial runs have no scenario variation.",
            [{"id": "baseline", "name": "Baseline"}],
        )
        time = DimensionDef(
            _time_name(spec.weather_year, "periodEnding"),
            "time",
            "Time",
            f"Hourly {spec.weather_year} EST, period-ending, no DST.",
            time=_datetime_time(spec.weather_year, spec.hours, "period_ending"),
        )
        growth = {
            y: round(1.0 + 0.05 * (int(y) - int(COMMERCIAL_MODEL_YEAR)) / 5, 6)
            for y in spec.model_years
        }
        mappings = [
            MappingDef(
                subsector,
                base["subsector"],
                "many_to_many_explicit_multipliers",
                "Commercial building types to project building types.",
                [
                    {"from_id": k, "to_id": to, "from_fraction": f}
                    for k, (_, targets) in COMMERCIAL_DATASET_SUBSECTORS.items()
                    for to, f in targets.items()
                ],
            ),
            _end_use_mapping(metric, base["metric"], end_uses),
            MappingDef(
                model_year,
                base["model_year"],
                "one_to_many_explicit_multipliers",
                "The commercial model year to project model years, with growth.",
                [
                    {"from_id": COMMERCIAL_MODEL_YEAR, "to_id": y, "from_fraction": g}
                    for y, g in growth.items()
                ],
            ),
            MappingDef(
                scenario,
                base["scenario"],
                "duplication",
                "The single scenario applies to every project scenario.",
                [
                    {"from_id": "baseline", "to_id": s, "from_fraction": 1.0}
                    for s in spec.scenarios
                ],
            ),
        ]
        dims = {
            "geography": base["geography"],
            "sector": base["sector"],
            "subsector": subsector,
            "metric": metric,
            "weather_year": base["weather_year"],
            "model_year": model_year,
            "scenario": scenario,
            "time": time,
        }
        return DatasetDef(
            dataset_id,
            template,
            "two_table",
            "Commercial building loads (generated), two-table layout, period-ending time.",
            "comstock-like",
            dims,
            ["weather_year", "model_year", "scenario"],
            mappings,
            bases,
            index,
            "com",
            (SUBSECTOR_GROUP, SUBSECTOR_SELECTORS["com"]),
            _mapped_end_uses(end_uses),
        )
    if template == "residential":
        end_uses = _first(RESIDENTIAL_DATASET_END_USES, spec.residential_end_uses)
        metric = _dataset_end_uses("Residential End Uses - Dataset", end_uses)
        dims = {
            "geography": base["geography"],
            "sector": base["sector"],
            "subsector": base["subsector"],
            "metric": metric,
            "weather_year": base["weather_year"],
            "model_year": base["model_year"],
            "scenario": base["scenario"],
            "time": base["time"],
        }
        return DatasetDef(
            dataset_id,
            template,
            "one_table",
            "Residential building loads (generated), one-table layout.",
            "resstock-like",
            dims,
            ["weather_year"],
            [_end_use_mapping(metric, base["metric"], end_uses)],
            bases,
            index,
            "res",
            (SUBSECTOR_GROUP, SUBSECTOR_SELECTORS["res"]),
            _mapped_end_uses(end_uses),
        )
    annual = DimensionDef(
        f"Annual Time {spec.model_years[0]}-{spec.model_years[-1]}",
        "time",
        "AnnualTime",
        "Annual values, one per model year.",
        time=_annual_time(spec.model_years),
    )
    # The EV data has one metric. As a project base (ev_metric_base) the dataset uses that
    # dimension as is; otherwise its one-record dimension maps onto "End Uses", since
    # dsgrid requires the dataset's metric records to be exactly those in its data.
    if spec.ev_metric_base:
        bases["metric"] = ev_metric
        mappings = []
    else:
        mappings = [
            MappingDef(
                ev_metric,
                base["metric"],
                "one_to_one",
                "EV charging is one of the project end uses.",
                [{"from_id": r, "to_id": r, "from_fraction": 1.0} for r in ev_metric.record_ids],
            )
        ]
    dims = {
        "geography": base["geography"],
        "sector": base["sector"],
        "subsector": base["subsector"],
        "metric": ev_metric,
        "weather_year": base["weather_year"],
        "model_year": base["model_year"],
        "scenario": base["scenario"],
        "time": annual,
    }
    return DatasetDef(
        dataset_id,
        template,
        "one_table",
        "Annual electric-vehicle charging energy (generated), annual time.",
        "ev-like",
        dims,
        ["weather_year", "scenario"] if len(spec.scenarios) == 1 else ["weather_year"],
        mappings,
        bases,
        index,
        "res",
        (SUBSECTOR_GROUP, SUBSECTOR_SELECTORS["res"]),
        list(ev_metric.record_ids),
    )


def _first(table: dict[str, EndUse], count: int) -> dict[str, EndUse]:
    """The first ``count`` end uses: a dataset's metric records are exactly those its data
    holds (dsgrid's registration check compares them)."""
    return dict(itertools.islice(table.items(), count))


def _mapped_end_uses(table: dict[str, EndUse]) -> list[str]:
    """Project end uses the dataset's end uses reach (those mapped to null are dropped)."""
    return sorted({to for _, _, _, to in table.values() if to is not None})


def _dataset_end_uses(name: str, table: dict[str, EndUse]) -> DimensionDef:
    return DimensionDef(
        name,
        "metric",
        "EnergyEndUse",
        "End uses as the model names them, in the model's units.",
        [{"id": k, "name": n, "fuel_id": f, "unit": u} for k, (n, f, u, _) in table.items()],
    )


def _end_use_mapping(
    dataset_metric: DimensionDef, project_metric: DimensionDef, table: dict[str, EndUse]
) -> MappingDef:
    return MappingDef(
        dataset_metric,
        project_metric,
        "many_to_one_aggregation",
        "Dataset end uses to project end uses; unmapped ones are dropped.",
        [{"from_id": k, "to_id": to, "from_fraction": 1.0} for k, (_, _, _, to) in table.items()],
    )


def _five_year_intervals(model_year: DimensionDef) -> tuple[DimensionDef, MappingDef] | None:
    """Five-year intervals interpolated from ten-year model years (0.5/0.5 in between)."""
    years = [int(y) for y in model_year.record_ids]
    if len(years) < 2 or any(b - a != 10 for a, b in itertools.pairwise(years)):
        return None
    targets = sorted(set(years) | {a + 5 for a in years[:-1]})
    records = []
    for a in years:
        records.append({"from_id": str(a), "to_id": str(a), "from_fraction": 1.0})
        if a - 5 in targets:
            records.append({"from_id": str(a), "to_id": str(a - 5), "from_fraction": 0.5})
        if a + 5 in targets:
            records.append({"from_id": str(a), "to_id": str(a + 5), "from_fraction": 0.5})
    dim = DimensionDef(
        "Five Year Intervals",
        "model_year",
        "ModelYear",
        "Model years every five years, interpolated.",
        [{"id": str(y), "name": str(y)} for y in targets],
    )
    mapping = MappingDef(
        model_year,
        dim,
        "many_to_one_assignment",
        "Ten-year model years to five-year intervals by linear interpolation.",
        records,
    )
    return dim, mapping


def _plural(dim_type: str) -> str:
    return (
        dim_type + "s"
        if not dim_type.endswith("y") or dim_type.endswith("ey")
        else dim_type[:-1] + "ies"
    )


def _time_name(year: int, interval: str) -> str:
    return f"Time-{year}-EST-hourly-{interval}-noDST-noLeapDayAdjustment-total"


def _datetime_time(year: int, hours: int, interval: str) -> dict[str, Any]:
    start = datetime(year, 1, 1, 1 if interval == "period_ending" else 0)
    end = start + timedelta(hours=hours - 1)
    return {
        "time_type": "datetime",
        "column_format": {"dtype": "timestamp_tz", "time_column": "timestamp"},
        "time_zone_format": {"format_type": "aligned_in_absolute_time", "time_zone": TIME_ZONE},
        "measurement_type": "total",
        "ranges": [
            {
                "start": start.strftime(TIME_FORMAT),
                "end": end.strftime(TIME_FORMAT),
                "str_format": TIME_FORMAT,
                "frequency": "PT1H",
            }
        ],
        "time_interval_type": interval,
    }


def _annual_time(model_years: tuple[str, ...]) -> dict[str, Any]:
    years = [int(y) for y in model_years]
    step = years[1] - years[0] if len(years) > 1 else 1
    return {
        "time_type": "annual",
        "measurement_type": "total",
        "ranges": [
            {"start": str(years[0]), "end": str(years[-1]), "str_format": "%Y", "frequency": step}
        ],
        "include_leap_day": False,
    }


def _assign_ids(project: ProjectDef, seed: int) -> None:
    """Deterministic UUIDs (version 4 layout) for every dimension and mapping."""
    rng = random.Random(f"dsgrid-sql-generator:{seed}")
    seen: set[int] = set()

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    for dim in _all_dimensions(project):
        if id(dim) not in seen:
            seen.add(id(dim))
            dim.dimension_id = new_id()
    for mapping in _all_mappings(project):
        if id(mapping) not in seen:
            seen.add(id(mapping))
            mapping.mapping_id = new_id()


def _all_dimensions(project: ProjectDef) -> list[DimensionDef]:
    dims = list(project.bases)
    for group in project.subset_groups:
        dims += group.selectors
    dims += [d for d, _ in project.supplementals]
    for dataset in project.registered():
        dims += [dataset.dimensions[t] for t in DIMENSION_TYPES]
    unique: dict[int, DimensionDef] = {}
    for dim in dims:
        unique.setdefault(id(dim), dim)
    return list(unique.values())


def _all_mappings(project: ProjectDef) -> list[MappingDef]:
    mappings = [m for _, m in project.supplementals]
    for dataset in project.registered():
        mappings += dataset.mappings
    unique: dict[int, MappingDef] = {}
    for mapping in mappings:
        unique.setdefault(id(mapping), mapping)
    return list(unique.values())
