-- SELECT us_states, SUM(value) FROM data GROUP BY ALL
SELECT
  "data"."us_states" AS "us_states",
  SUM("data"."value") AS "sum(value)"
FROM (
  SELECT
    "s0"."to_id" AS "us_states",
    "u"."value" * "s0"."from_fraction" AS "value"
  FROM (
    SELECT
      "s"."geography" AS "geography",
      "s"."sector" AS "sector",
      "s"."subsector" AS "subsector",
      "s"."metric" AS "metric",
      "s"."model_year" AS "model_year",
      "s"."weather_year" AS "weather_year",
      "s"."scenario" AS "scenario",
      CAST(NULL AS TIMESTAMPTZ) AS "timestamp",
      "s"."value" AS "value",
      'test_efs_comstock' AS "dataset_id"
    FROM (
      SELECT
        "e"."geography" AS "geography",
        CAST(NULL AS TEXT) AS "sector",
        CAST(NULL AS TEXT) AS "subsector",
        CAST(NULL AS TEXT) AS "metric",
        CAST(NULL AS TEXT) AS "model_year",
        CAST(NULL AS TEXT) AS "weather_year",
        CAST(NULL AS TEXT) AS "scenario",
        NULL AS "timestamp",
        "e"."value" AS "value"
      FROM (
        SELECT
          "l"."geography" AS "geography",
          SUM("t"."value" * "w_subsector"."weight" * "w_metric"."weight" * 5.5) AS "value"
        FROM "__dsgrid_scan_1" AS "t"
        INNER JOIN "__dsgrid_scan_2" AS "l"
          ON "t"."id" = "l"."id"
        INNER JOIN "__dsgrid_weights_3" AS "w_subsector"
          ON "l"."subsector" = "w_subsector"."from_id"
        INNER JOIN "__dsgrid_weights_4" AS "w_metric"
          ON "t"."metric" = "w_metric"."from_id"
        GROUP BY
          1
      ) AS "e"
    ) AS "s"
    UNION ALL
    SELECT
      "s"."geography" AS "geography",
      "s"."sector" AS "sector",
      "s"."subsector" AS "subsector",
      "s"."metric" AS "metric",
      "s"."model_year" AS "model_year",
      "s"."weather_year" AS "weather_year",
      "s"."scenario" AS "scenario",
      CAST(NULL AS TIMESTAMPTZ) AS "timestamp",
      "s"."value" AS "value",
      'test_efs_comstock_unpivoted' AS "dataset_id"
    FROM (
      SELECT
        "e"."geography" AS "geography",
        CAST(NULL AS TEXT) AS "sector",
        CAST(NULL AS TEXT) AS "subsector",
        CAST(NULL AS TEXT) AS "metric",
        CAST(NULL AS TEXT) AS "model_year",
        CAST(NULL AS TEXT) AS "weather_year",
        CAST(NULL AS TEXT) AS "scenario",
        NULL AS "timestamp",
        "e"."value" AS "value"
      FROM (
        SELECT
          "t"."geography" AS "geography",
          SUM("t"."value" * "w_subsector"."weight" * "w_metric"."weight" * 5.5) AS "value"
        FROM "__dsgrid_scan_5" AS "t"
        INNER JOIN "__dsgrid_weights_3" AS "w_subsector"
          ON "t"."subsector" = "w_subsector"."from_id"
        INNER JOIN "__dsgrid_weights_4" AS "w_metric"
          ON "t"."metric" = "w_metric"."from_id"
        GROUP BY
          1
      ) AS "e"
    ) AS "s"
  ) AS "u"
  INNER JOIN "__dsgrid_map_6" AS "s0"
    ON "u"."geography" = "s0"."from_id"
) AS "data"
GROUP BY ALL
