"""Completion on real catalogs: the shared dsgrid-built registry (test_efs) and a generated one.

Each case places the cursor at <|> and checks the first completions (or that some are there,
or absent), including record ids offered by id or by name inside string literals.
"""

from __future__ import annotations

import pytest

from dsgrid_sql.completion.index import CatalogIndex, ColumnEntry, RecordList, TableEntry
from dsgrid_sql.completion.matching import best_matches, score
from dsgrid_sql.repl.completer import Match, complete

CURSOR = "<|>"


def at(text: str, index: CatalogIndex | None, schema: str | None) -> list[Match]:
    before, _, after = text.partition(CURSOR)
    return complete(before, index, schema, after)


def texts(text: str, index: CatalogIndex | None, schema: str | None = "test_efs") -> list[str]:
    return [m.text for m in at(text, index, schema)]


# (text with cursor, the completions that must come first, in order)
EFS_FIRST = [
    ("SEL<|>", ["SELECT"]),
    ("sel<|>", ["select"]),
    ("select * fr<|>", ["from"]),
    ("SELECT * FROM da<|>", ["data"]),
    ("SELECT * FROM test_efs_dimensions.us_st<|>", ["us_states"]),
    (
        "SELECT * FROM data d JOIN test_efs_dimensions.us_c<|>",
        ["us_census_divisions", "us_census_regions"],
    ),
    ("SELECT us_st<|> FROM data", ["us_states", "us_states_name"]),
    ("SELECT d.geo<|> FROM data d", ["geography", "geography_name"]),
    ("SELECT x.va<|> FROM data AS x", ["value"]),
    (
        "SELECT s.na<|> FROM data d JOIN test_efs_dimensions.us_states s ON d.us_states = s.id",
        ["name"],
    ),
    ("SELECT * FROM data WHERE geography = 'San Di<|>", ["'06073'"]),
    ("SELECT * FROM data WHERE geography = '0607<|>", ["'06073'", "'06075'"]),
    ("SELECT * FROM data WHERE us_states IN ('CA', 'C<|>')", ["'CA'", "'CO'"]),
    ("SELECT * FROM data WHERE us_states NOT IN ('Tex<|>", ["'TX'"]),
    ("SELECT * FROM data d WHERE d.us_states = 'Calif<|>", ["'CA'"]),
    ("SELECT * FROM data WHERE us_states_name = 'Cal<|>", ["'California'"]),
    ("SELECT * FROM data WHERE geography_name LIKE 'San F<|>", ["'San Francisco County'"]),
    ("SELECT * FROM data WHERE model_year = '20<|>", ["'2010'", "'2020'", "'2030'"]),
    ('SELECT * FROM data WHERE "US States" = \'Colo<|>', ["'CO'"]),
    ("SELECT * FROM data WHERE us_census_regions = 'We<|>", ["'west'"]),
    ("SELECT * FROM test_efs_comstock WHERE five_year_intervals = '2015<|>", ["'2015'"]),
    ("SELECT * FROM test_efs_dimensions.us_states WHERE id = 'Calif<|>", ["'CA'"]),
    ("SELECT * FROM data WHERE tim<|>", ["timestamp", "time_zone"]),
    ("SELECT un<|> FROM data", ["unit"]),
    ("SELECT usst<|> FROM data", ["us_states", "us_states_name"]),  # fuzzy
    ("SELECT * FROM data WHERE geography = 'sndiego<|>", ["'06073'"]),  # fuzzy on the name
    ("SELECT * FROM data <|>", ["AS", "CROSS JOIN"]),
    ("USE test_efs_d<|>", ["test_efs_dimensions"]),
    ("SHOW TABLES IN reg<|>", ["registry"]),
    ("DESCRIBE test_efs_c<|>", ["test_efs_comstock", "test_efs_comstock_unpivoted"]),
    ("SELECT 1; SELECT * FROM test_efs_comstock_u<|>", ["test_efs_comstock_unpivoted"]),
    ("\\rec<|>", ["\\records"]),
    ("\\records us_st<|>", ["us_states"]),
    ("\\records us_states Cal<|>", ["CA"]),
    ("\\d test_efs_comstock_u<|>", ["test_efs_comstock_unpivoted"]),
    ("\\format ma<|>", ["markdown"]),
    ("\\explain SELECT * FROM data WHERE us_states = 'Colo<|>", ["'CO'"]),
    ("\\export out.parquet SELECT us_stat<|> FROM data", ["us_states", "us_states_name"]),
]


@pytest.mark.parametrize(("text", "first"), EFS_FIRST, ids=[c[0] for c in EFS_FIRST])
def test_first_completions_on_the_shared_registry(
    text: str, first: list[str], efs_index: CatalogIndex
) -> None:
    assert texts(text, efs_index)[: len(first)] == first


def test_record_completion_shows_the_name_beside_the_id(efs_index: CatalogIndex) -> None:
    (match,) = at("SELECT * FROM data WHERE geography = 'San Di<|>", efs_index, "test_efs")
    assert match.meta == "San Diego County"
    assert match.replace == len("'San Di")  # the opening quote is replaced too


def test_record_names_column_shows_the_id_beside_the_name(efs_index: CatalogIndex) -> None:
    match = at("SELECT * FROM data WHERE us_states_name = 'Cal<|>", efs_index, "test_efs")[0]
    assert (match.text, match.meta) == ("'California'", "CA")


def test_value_position_without_a_quote_offers_every_record_quoted(
    efs_index: CatalogIndex,
) -> None:
    found = texts("SELECT * FROM data WHERE geography = <|>", efs_index)
    geographies = {"'06073'", "'06075'", "'48141'", "'48201'", "'36001'", "'36119'"}
    assert geographies <= set(found[:8])
    assert "geography" in found  # a column still fits (a join condition)


def test_columns_of_data_include_base_supplemental_and_helpers(efs_index: CatalogIndex) -> None:
    found = texts("SELECT <|> FROM data", efs_index)
    for name in ("geography", "subsector", "value", "dataset_id", "us_states",
                 "five_year_intervals", "time_zone", "unit", "local_timestamp",
                 "geography_name", "us_states_name"):  # fmt: skip
        assert name in found, name
    assert found[0] == "geography"


def test_alias_is_offered_and_qualified_columns_exclude_keywords(efs_index: CatalogIndex) -> None:
    assert "d" in texts("SELECT <|> FROM data d", efs_index)
    qualified = at("SELECT d.<|> FROM data d", efs_index, "test_efs")
    assert qualified and all(m.meta != "keyword" for m in qualified)


def test_columns_of_both_joined_tables(efs_index: CatalogIndex) -> None:
    found = texts(
        "SELECT <|> FROM data d JOIN test_efs_dimensions.us_states s ON d.us_states = s.id",
        efs_index,
    )
    assert "census_region" in found and "geography" in found


def test_tables_of_other_schemas_come_qualified(efs_index: CatalogIndex) -> None:
    found = texts("SELECT * FROM us_sta<|>", efs_index)
    assert "test_efs_dimensions.us_states" in found


def test_a_closed_literal_offers_nothing(efs_index: CatalogIndex) -> None:
    assert texts("SELECT * FROM data WHERE us_states = 'CA'<|>", efs_index) == []


def test_before_the_index_loads_only_keywords(efs_index: CatalogIndex) -> None:
    assert texts("SEL<|>", None) == ["SELECT"]
    assert texts("SELECT us_st<|> FROM data", None) == []


def test_functions_follow_columns(efs_index: CatalogIndex) -> None:
    found = texts("SELECT su<|> FROM data", efs_index)
    assert found[0] == "subsector"
    assert "sum(" in found and found.index("sum(") > found.index("subsector")


def test_generated_registry_supplemental_records(small_index: CatalogIndex) -> None:
    found = texts(
        "SELECT * FROM data WHERE end_uses_by_fuel_type = 'nat<|>", small_index, "dsgrid_demo"
    )
    assert found[0] == "'natural_gas'"


def test_generated_registry_no_from_yet_uses_the_project_data(small_index: CatalogIndex) -> None:
    found = texts("SELECT us_census_re<|>", small_index, "dsgrid_demo")
    assert found[:2] == ["us_census_regions", "us_census_regions_name"]


def test_generated_registry_dataset_table_columns(small_index: CatalogIndex) -> None:
    found = texts(
        "SELECT * FROM dsgrid_demo_commercial c WHERE c.sc<|>", small_index, "dsgrid_demo"
    )
    assert found[:2] == ["scenario", "scenario_name"]


def test_record_ids_with_quotes_are_escaped() -> None:
    records = RecordList.of("Owners", (_Record("o'brien", "O'Brien"), _Record("smith", "Smith")))
    table = TableEntry("p", "data", "", (ColumnEntry("owner", "", (), (("d", "1"),)),))
    index = CatalogIndex({"p": ""}, {"p": {"data": table}}, {("d", "1"): records}, {})
    (match,) = at("SELECT * FROM data WHERE owner = 'O''B<|>", index, "p")
    assert match.text == "'o''brien'"


class _Record:
    def __init__(self, id: str, name: str) -> None:
        self.id, self.name = id, name


def test_scores_rank_prefix_word_start_substring_fuzzy() -> None:
    assert score("cal", "california") == 0
    assert score("reg", "us_census_regions") == 1
    assert score("ens", "us_census_regions") == 2
    assert score("usr", "us_census_regions") == 3
    assert score("zz", "us_census_regions") is None
    # Fuzzy matches are dropped when anything matches better.
    assert best_matches("us", [(("us_states",), 1), (("houses",), 2), (("ux_s",), 3)]) == [1, 2]
