"""Spell a registry's models the other ways dsgrid 0.4 accepts: fields left out where dsgrid
has a default, nulls where it allows them, aliases, legacy spellings and padded strings.

Each spelling means exactly what the canonical one does (dsgrid's own validators rewrite it
back: config/dimensions.py, dimension_mapping_base.py, mapping_tables.py, dataset_config.py,
project_config.py), so a registry written with any seed must give the same answers as the
canonical registry. `dsgrid-sql generate --legacy-seed N` writes one; `make dsgrid-check`
confirms dsgrid accepts them and tests/catalog/test_lenient.py that dsgrid-sql answers alike.
Every choice is drawn from ``random.Random`` seeded by (seed, model), so a seed fixes the
bytes.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

Model = dict[str, Any]


def respell(model_type: str, model: Model, seed: int, row_id: int) -> Model:
    """A copy of ``model`` in spellings chosen by (seed, row_id)."""
    rng = random.Random(f"dsgrid-sql-legacy:{seed}:{row_id}")
    model = copy.deepcopy(model)
    for change in _CHANGES[model_type]:
        if rng.random() < 0.5:
            change(model, rng)
    return model


def _pad(value: str, rng: random.Random) -> str:
    return rng.choice((" ", "  ", "\t")) + value + rng.choice(("", " ", "  "))


def _type_alias(reference: Model) -> None:
    # dsgrid reads `dimension_type` wherever a dimension's `type` is written.
    if "type" in reference:
        reference["dimension_type"] = reference.pop("type")


def _references(model: Model, rng: random.Random, *paths: tuple[str, ...]) -> None:
    for path in paths:
        node: Any = model
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        for reference in node or []:
            if rng.random() < 0.5:
                _type_alias(reference)
            if rng.random() < 0.3:
                reference["version"] = _pad(reference["version"], rng)


# -- dimensions ----------------------------------------------------------------------------


def _dimension_type_alias(model: Model, rng: random.Random) -> None:
    _type_alias(model)


def _dimension_defaults(model: Model, rng: random.Random) -> None:
    if model.get("module") == "dsgrid.dimension.standard":
        del model["module"]
    for key in ("dimension_class", "file", "file_hash", "description"):
        if key in model and rng.random() < 0.5:
            del model[key]


def _padded_records(model: Model, rng: random.Random) -> None:
    for record in model.get("records") or []:
        for key, value in record.items():
            if isinstance(value, str) and value and rng.random() < 0.3:
                record[key] = _pad(value, rng)


def _time_zone_format(model: Model, rng: random.Random) -> None:
    fmt = model.get("time_zone_format")
    if model.get("time_type", "datetime") != "datetime" or not isinstance(fmt, dict):
        return
    if fmt.get("format_type") != "aligned_in_absolute_time":
        return
    zone = fmt["time_zone"]
    spelling = rng.randrange(5)
    if spelling == 0:
        fmt["format_type"] = "aligned"
    elif spelling == 1:
        fmt["timezone"] = fmt.pop("time_zone")
    elif spelling == 2:
        del model["time_zone_format"]
        model["timezone"] = zone  # DateTimeDimensionModel.handle_legacy_fields
    elif spelling == 3:
        model["datetime_format"] = model.pop("time_zone_format")
    else:
        fmt["time_zone"] = _pad(zone, rng)


def _range_forms(model: Model, rng: random.Random) -> None:
    time_type = model.get("time_type")
    ranges = model.get("ranges") or []
    if time_type == "annual" and ranges and rng.random() < 0.5:
        model["str_format"] = ranges[0].get("str_format", "%Y")
        for r in ranges:
            r.pop("str_format", None)
    if time_type not in ("datetime", "index") or not ranges:
        return
    for r in ranges:
        if r.get("frequency") == "PT1H":
            r["frequency"] = rng.choice((3600, 3600.0, "01:00:00", "PT1.0H", "P0DT1H0M0S"))
    if rng.random() < 0.5 and len({r.get("str_format") for r in ranges}) == 1:
        # Written once for all ranges, as older configs did.
        model["str_format"] = ranges[0].pop("str_format")
        for r in ranges[1:]:
            r.pop("str_format", None)
    if time_type == "index" and rng.random() < 0.5:
        model["starting_timestamps"] = [r.pop("starting_timestamp") for r in ranges]


def _time_defaults(model: Model, rng: random.Random) -> None:
    if model.get("type") not in ("time", None) and model.get("dimension_type") != "time":
        return
    if model.get("measurement_type") == "total":
        del model["measurement_type"]
    if model.get("time_type") == "datetime":
        if model.get("column_format") == {"dtype": "timestamp_tz", "time_column": "timestamp"}:
            del model["column_format"]
        if rng.random() < 0.5:
            model["leap_day_adjustment"] = "none"  # dropped by dsgrid's legacy handling


# -- mappings ------------------------------------------------------------------------------


def _mapping_ends(model: Model, rng: random.Random) -> None:
    for end in ("from_dimension", "to_dimension"):
        if rng.random() < 0.5:
            _type_alias(model[end])


def _mapping_defaults(model: Model, rng: random.Random) -> None:
    if model.get("mapping_type") == "many_to_one_aggregation":
        del model["mapping_type"]
        del model["archetype"]
    elif rng.random() < 0.5:
        del model["archetype"]  # derived from mapping_type (check_archetype)
    for key in ("from_fraction_tolerance", "to_fraction_tolerance", "description", "file"):
        if key in model and rng.random() < 0.5:
            del model[key]


def _mapping_records(model: Model, rng: random.Random) -> None:
    records = model.get("records") or []
    if records and all(r.get("from_fraction") == 1.0 for r in records) and rng.random() < 0.5:
        for r in records:  # absent in every row: 1.0
            del r["from_fraction"]
    for r in records:
        if r.get("to_id") is None:
            r["to_id"] = rng.choice(("", "  "))  # empty is null: the data is dropped
        elif rng.random() < 0.2:
            r["to_id"] = _pad(r["to_id"], rng)
        if rng.random() < 0.2:
            r["from_id"] = _pad(r["from_id"], rng)


# -- datasets -------------------------------------------------------------------------------


def _dataset_fields(model: Model, rng: random.Random) -> None:
    model["tags"] = rng.choice((None, [], model.get("tags")))
    if model["tags"] is None and rng.random() < 0.5:
        del model["tags"]
    if model.get("dataset_qualifier_metadata") == {"dataset_qualifier_type": "quantity"}:
        del model["dataset_qualifier_metadata"]
    for key, default in (
        ("enable_unit_conversion", True),
        ("use_project_geography_time_zone", False),
    ):
        if model.get(key) == default and rng.random() < 0.5:
            del model[key]
    _references(model, rng, ("dimension_references",))


# -- projects -------------------------------------------------------------------------------


def _project_datasets(model: Model, rng: random.Random) -> None:
    bases: dict[str, int] = {}
    for ref in model["dimensions"]["base_dimension_references"]:
        kind = ref.get("type") or ref.get("dimension_type")
        bases[kind] = bases.get(kind, 0) + 1
    for entry in model["datasets"]:
        adjustment = entry.get("time_based_data_adjustment")
        plain = {
            "leap_day_adjustment": "none",
            "daylight_saving_adjustment": {
                "spring_forward_hour": "none",
                "fall_back_hour": "none",
            },
        }
        if adjustment == plain and rng.random() < 0.7:
            if rng.random() < 0.5:
                del entry["time_based_data_adjustment"]
            else:
                entry["time_based_data_adjustment"] = rng.choice(
                    ({}, {"daylight_saving_adjustment": {}})
                )
        if entry.get("wrap_time_allowed") is False and rng.random() < 0.5:
            del entry["wrap_time_allowed"]
        names = entry.get("base_dimension_names") or {}
        for kind, name in list(names.items()):
            # Null (or absent) means the single base of the type (legacy registries).
            if name is not None and bases.get(kind) == 1 and rng.random() < 0.3:
                if rng.random() < 0.5:
                    names[kind] = None
                else:
                    del names[kind]
            elif isinstance(name, str) and rng.random() < 0.2:
                names[kind] = _pad(name, rng)
        for ref in entry.get("mapping_references") or []:
            if rng.random() < 0.3:
                ref["required_for_validation"] = True  # dropped by dsgrid's legacy handling


def _project_references(model: Model, rng: random.Random) -> None:
    _references(
        model,
        rng,
        ("dimensions", "base_dimension_references"),
        ("dimensions", "supplemental_dimension_references"),
    )
    for group in model["dimensions"].get("subset_dimensions") or []:
        if rng.random() < 0.5:
            _type_alias(group)
        for reference in group.get("selector_references") or []:
            if rng.random() < 0.5:
                _type_alias(reference)


_CHANGES: dict[str, tuple[Callable[[Model, random.Random], None], ...]] = {
    "dimension": (
        _dimension_type_alias,
        _dimension_defaults,
        _padded_records,
        _time_zone_format,
        _range_forms,
        _time_defaults,
    ),
    "dimension_mapping": (_mapping_ends, _mapping_defaults, _mapping_records),
    # (A registered dataset keeps data_layout null: dsgrid refuses to load one that has it.)
    "dataset": (_dataset_fields,),
    "project": (_project_datasets, _project_references),
}
