"""Parameters of a generated registry, validated up front."""

from __future__ import annotations

import itertools
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .geography import MAX_COUNTIES

DATASET_TEMPLATES = ("commercial", "residential", "ev_annual")
# Every shape the generator writes: the three basic ones, then representative-period EV
# charging (weekly; weekday/weekend with the project's zones), industrial index time
# (period-beginning with duplicated fall-back hour; period-ending, interpolated) and growth
# rates with no time (design_shapes.py).
ALL_TEMPLATES = (
    *DATASET_TEMPLATES,
    "ev_rep_week",
    "ev_rep_weekday",
    "industry_index",
    "industry_index_pe",
    "growth",
)


class GeneratorSpec(BaseModel):
    """What to generate. Defaults give a small registry with every shape real projects have.

    Rows of load data grow with ``counties × hours`` for the hourly datasets; see
    :func:`estimate_rows`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_id: str = "dsgrid_demo"
    seed: int = 0
    counties: int = Field(60, ge=1, le=MAX_COUNTIES)
    hours: int = Field(168, ge=24, le=8760)
    weather_year: int = Field(2018, ge=1900, le=2100)
    model_years: tuple[str, ...] = ("2020", "2030", "2040", "2050")
    scenarios: tuple[str, ...] = ("reference", "high_electrification")
    # How many datasets; they cycle through `templates` (by default commercial two_table with
    # period-ending time, residential one_table, annual EV charging; ALL_TEMPLATES lists
    # every shape), so datasets = len(templates) covers each once.
    datasets: int = Field(3, ge=1, le=100)
    templates: tuple[str, ...] = DATASET_TEMPLATES
    commercial_subsectors_per_county: int = Field(4, ge=1, le=8)
    commercial_end_uses: int = Field(6, ge=1, le=7)
    residential_subsectors_per_county: int = Field(2, ge=1, le=5)
    residential_end_uses: int = Field(5, ge=1, le=6)
    # The last N datasets are registered but not submitted to the project (its status is
    # then "In Progress"), as real registries hold.
    unsubmitted: int = Field(0, ge=0, le=100)
    # A second base metric dimension used only by the EV dataset, as DECARB has several
    # metric bases: `data` then covers two groups of datasets.
    ev_metric_base: bool = False
    # Versions of the first submitted dataset: it is registered again this many times minus
    # one (1.1.0, 1.2.0, ...), each time with its values times VERSION_SCALE per version, and
    # the project gains a version naming each, as dsgrid's dataset update does.
    dataset_versions: int = Field(1, ge=1, le=5)
    # Write the models in other spellings dsgrid accepts, chosen by this seed (legacy.py):
    # absent and null optional fields, aliases, legacy time-zone forms, padded strings.
    legacy_seed: int | None = None

    @field_validator("project_id")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise ValueError("must be lower-case letters, digits and _ and start with a letter")
        return value

    @model_validator(mode="before")
    @classmethod
    def _one_dataset_per_template(cls, data: object) -> object:
        # Unless told how many, one dataset of each template.
        if isinstance(data, dict) and data.get("datasets") is None:
            data = {**data, "datasets": len(data.get("templates") or DATASET_TEMPLATES)}
        return data

    @field_validator("templates")
    @classmethod
    def _templates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [t for t in value if t not in ALL_TEMPLATES]
        if unknown or not value:
            raise ValueError(
                f"must be one or more of {', '.join(ALL_TEMPLATES)}"
                + (f" (not {', '.join(unknown)})" if unknown else "")
            )
        return value

    @field_validator("model_years")
    @classmethod
    def _years(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not re.fullmatch(r"\d{4}", y) for y in value):
            raise ValueError("must be one or more four-digit years")
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a year")
        return tuple(sorted(value))

    @field_validator("scenarios")
    @classmethod
    def _scenarios(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not re.fullmatch(r"[a-z][a-z0-9_]*", s) for s in value):
            raise ValueError("must be one or more lower-case identifiers")
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a scenario")
        return value

    @model_validator(mode="after")
    def _unsubmitted_fits(self) -> GeneratorSpec:
        if self.unsubmitted > self.datasets:
            raise ValueError("unsubmitted must not exceed datasets")
        return self

    @model_validator(mode="after")
    def _annual_years_evenly_spaced(self) -> GeneratorSpec:
        # The annual dataset's time is one dsgrid range (start, end, frequency in years), and
        # dsgrid checks annual data against exactly one range
        # (annual_time_dimension_config.py::check_dataset_time_consistency).
        years = [int(y) for y in self.model_years]
        steps = {b - a for a, b in itertools.pairwise(years)}
        if len(steps) > 1 and any(t == "ev_annual" for _, t in self.dataset_templates()):
            raise ValueError(
                "model_years must be evenly spaced when there is an annual (ev_annual) dataset"
            )
        return self

    def dataset_templates(self) -> list[tuple[str, str]]:
        """(dataset_id, template) for every dataset, in submission order."""
        result = []
        for index in range(self.datasets):
            template = self.templates[index % len(self.templates)]
            round_ = index // len(self.templates)
            suffix = "" if round_ == 0 else f"_{round_ + 1}"
            result.append((f"{self.project_id}_{template}{suffix}", template))
        return result


def estimate_rows(spec: GeneratorSpec) -> int:
    """Rows of load data the spec produces (value rows in table.parquet files)."""
    total = 0
    for _, template in spec.dataset_templates():
        if template == "commercial":
            total += (
                spec.counties
                * spec.commercial_subsectors_per_county
                * spec.commercial_end_uses
                * spec.hours
            )
        elif template == "residential":
            total += (
                spec.counties
                * spec.residential_subsectors_per_county
                * spec.residential_end_uses
                * len(spec.model_years)
                * len(spec.scenarios)
                * spec.hours
            )
        elif template == "ev_annual":
            total += (
                spec.counties
                * spec.residential_subsectors_per_county
                * len(spec.model_years)
                * len(spec.scenarios)
            )
        elif template in ("ev_rep_week", "ev_rep_weekday"):
            periods = 12 * 7 * 24 if template == "ev_rep_week" else 12 * 2 * 24
            total += spec.counties * spec.residential_subsectors_per_county * periods
        elif template in ("industry_index", "industry_index_pe"):
            total += spec.counties * spec.commercial_subsectors_per_county * spec.hours
        else:  # growth: every residential building type and end use
            total += spec.counties * 5 * 10 * len(spec.model_years) * len(spec.scenarios)
    return total
