-- SELECT model_year, SUM(value) FROM data WHERE us_states = 'CA' AND model_year IN ('2020', '2030') GROUP BY 1
SELECT
  "data"."model_year" AS "model_year",
  SUM("data"."value") AS "sum(value)"
FROM (
  SELECT
    "u"."model_year" AS "model_year",
    "u"."value" AS "value",
    "u"."us_states" AS "us_states"
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
      "s"."us_states" AS "us_states",
      "s"."value" AS "value",
      'test_efs_comstock' AS "dataset_id"
    FROM (
      SELECT
        "e"."geography" AS "geography",
        CAST(NULL AS TEXT) AS "sector",
        CAST(NULL AS TEXT) AS "subsector",
        CAST(NULL AS TEXT) AS "metric",
        "m_model_year"."to_id" AS "model_year",
        CAST(NULL AS TEXT) AS "weather_year",
        CAST(NULL AS TEXT) AS "scenario",
        NULL AS "timestamp",
        "sp0"."to_id" AS "us_states",
        "e"."value" * "m_model_year"."from_fraction" * "sp0"."from_fraction" AS "value"
      FROM (
        SELECT
          "l"."geography" AS "geography",
          SUM("t"."value" * "w_subsector"."weight" * "w_metric"."weight") AS "value"
        FROM (
          SELECT
            "t"."id" AS "id",
            "t"."metric" AS "metric",
            SUM("t"."value") AS "value"
          FROM "__dsgrid_scan_1" AS "t"
          WHERE
            "t"."id" IN (
              SELECT
                "l"."id"
              FROM "__dsgrid_scan_2" AS "l"
              WHERE
                "l"."geography" IN ('06073', '06075')
            )
          GROUP BY
            1,
            2
        ) AS "t"
        INNER JOIN "__dsgrid_scan_2" AS "l"
          ON "t"."id" = "l"."id"
        INNER JOIN "__dsgrid_weights_3" AS "w_subsector"
          ON "l"."subsector" = "w_subsector"."from_id"
        INNER JOIN "__dsgrid_weights_4" AS "w_metric"
          ON "t"."metric" = "w_metric"."from_id"
        WHERE
          "l"."geography" IN ('06073', '06075')
        GROUP BY
          1
      ) AS "e"
      INNER JOIN "__dsgrid_map_5" AS "m_model_year"
        ON '2012' = "m_model_year"."from_id"
      INNER JOIN "__dsgrid_map_6" AS "sp0"
        ON "e"."geography" = "sp0"."from_id"
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
      "s"."us_states" AS "us_states",
      "s"."value" AS "value",
      'test_efs_comstock_unpivoted' AS "dataset_id"
    FROM (
      SELECT
        "e"."geography" AS "geography",
        CAST(NULL AS TEXT) AS "sector",
        CAST(NULL AS TEXT) AS "subsector",
        CAST(NULL AS TEXT) AS "metric",
        "m_model_year"."to_id" AS "model_year",
        CAST(NULL AS TEXT) AS "weather_year",
        CAST(NULL AS TEXT) AS "scenario",
        NULL AS "timestamp",
        "sp0"."to_id" AS "us_states",
        "e"."value" * "m_model_year"."from_fraction" * "sp0"."from_fraction" AS "value"
      FROM (
        SELECT
          "t"."geography" AS "geography",
          SUM("t"."value" * "w_subsector"."weight" * "w_metric"."weight") AS "value"
        FROM "__dsgrid_scan_7" AS "t"
        INNER JOIN "__dsgrid_weights_3" AS "w_subsector"
          ON "t"."subsector" = "w_subsector"."from_id"
        INNER JOIN "__dsgrid_weights_4" AS "w_metric"
          ON "t"."metric" = "w_metric"."from_id"
        WHERE
          "t"."geography" IN ('06073', '06075')
        GROUP BY
          1
      ) AS "e"
      INNER JOIN "__dsgrid_map_5" AS "m_model_year"
        ON '2012' = "m_model_year"."from_id"
      INNER JOIN "__dsgrid_map_6" AS "sp0"
        ON "e"."geography" = "sp0"."from_id"
    ) AS "s"
  ) AS "u"
) AS "data"
WHERE
  "data"."us_states" = 'CA' AND "data"."model_year" IN ('2020', '2030')
GROUP BY
  "data"."model_year"
