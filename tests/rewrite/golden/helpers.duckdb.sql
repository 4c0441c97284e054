-- SELECT geography_name, time_zone, local_timestamp, unit FROM test_efs_comstock LIMIT 1
SELECT
  "test_efs_comstock"."geography_name" AS "geography_name",
  "test_efs_comstock"."time_zone" AS "time_zone",
  "test_efs_comstock"."local_timestamp" AS "local_timestamp",
  "test_efs_comstock"."unit" AS "unit"
FROM (
  SELECT
    "r0"."name" AS "geography_name",
    "r0"."time_zone" AS "time_zone",
    TIMEZONE("r0"."time_zone", "u"."timestamp") AS "local_timestamp",
    "r1"."unit" AS "unit"
  FROM (
    SELECT
      "s"."geography" AS "geography",
      "s"."sector" AS "sector",
      "s"."subsector" AS "subsector",
      "s"."metric" AS "metric",
      "s"."model_year" AS "model_year",
      "s"."weather_year" AS "weather_year",
      "s"."scenario" AS "scenario",
      MAKE_TIMESTAMPTZ(
        CASE
          WHEN EPOCH_US("s"."timestamp") - 3600000000 > 1325995200000000
          THEN EPOCH_US("s"."timestamp") - 3600000000 - 604800000000
          WHEN EPOCH_US("s"."timestamp") - 3600000000 < 1325394000000000
          THEN EPOCH_US("s"."timestamp") - 3600000000 + 604800000000
          ELSE EPOCH_US("s"."timestamp") - 3600000000
        END
      ) AS "timestamp",
      "s"."value" AS "value",
      'test_efs_comstock' AS "dataset_id"
    FROM (
      SELECT
        "l"."geography" AS "geography",
        "l"."sector" AS "sector",
        "m_subsector"."to_id" AS "subsector",
        "m_metric"."to_id" AS "metric",
        "m_model_year"."to_id" AS "model_year",
        '2012' AS "weather_year",
        'baseline' AS "scenario",
        "t"."timestamp" AS "timestamp",
        "t"."value" * "m_subsector"."from_fraction" * "m_metric"."from_fraction" * "m_model_year"."from_fraction" AS "value"
      FROM "__dsgrid_scan_1" AS "t"
      INNER JOIN "__dsgrid_scan_2" AS "l"
        ON "t"."id" = "l"."id"
      INNER JOIN "__dsgrid_map_3" AS "m_subsector"
        ON "l"."subsector" = "m_subsector"."from_id"
      INNER JOIN "__dsgrid_map_4" AS "m_metric"
        ON "t"."metric" = "m_metric"."from_id"
      INNER JOIN "__dsgrid_map_5" AS "m_model_year"
        ON '2012' = "m_model_year"."from_id"
    ) AS "s"
  ) AS "u"
  INNER JOIN "__dsgrid_records_6" AS "r0"
    ON "u"."geography" = "r0"."id"
  INNER JOIN "__dsgrid_records_7" AS "r1"
    ON "u"."metric" = "r1"."id"
) AS "test_efs_comstock"
LIMIT 1
