-- SELECT s.name, SUM(d.value) FROM data d JOIN test_efs_dimensions.us_states s ON d.us_states = s.id GROUP BY 1
SELECT
  `d`.`us_states_name` AS `name`,
  SUM(`d`.`value`) AS `sum(d.value)`
FROM (
  SELECT
    `r0`.`name` AS `us_states_name`,
    `u`.`value` AS `value`,
    `u`.`us_states` AS `us_states`
  FROM (
    SELECT
      `s`.`geography` AS `geography`,
      `s`.`sector` AS `sector`,
      `s`.`subsector` AS `subsector`,
      `s`.`metric` AS `metric`,
      `s`.`model_year` AS `model_year`,
      `s`.`weather_year` AS `weather_year`,
      `s`.`scenario` AS `scenario`,
      CAST(NULL AS TIMESTAMP) AS `timestamp`,
      `s`.`us_states` AS `us_states`,
      `s`.`value` AS `value`,
      'test_efs_comstock' AS `dataset_id`
    FROM (
      SELECT
        `e`.`geography` AS `geography`,
        CAST(NULL AS STRING) AS `sector`,
        CAST(NULL AS STRING) AS `subsector`,
        CAST(NULL AS STRING) AS `metric`,
        CAST(NULL AS STRING) AS `model_year`,
        CAST(NULL AS STRING) AS `weather_year`,
        CAST(NULL AS STRING) AS `scenario`,
        NULL AS `timestamp`,
        `sp0`.`to_id` AS `us_states`,
        `e`.`value` * `sp0`.`from_fraction` AS `value`
      FROM (
        SELECT
          `l`.`geography` AS `geography`,
          SUM(`t`.`value` * `w_subsector`.`weight` * `w_metric`.`weight` * 5.5) AS `value`
        FROM (
          SELECT
            `t`.`id` AS `id`,
            `t`.`metric` AS `metric`,
            SUM(`t`.`value`) AS `value`
          FROM `__dsgrid_scan_1` AS `t`
          GROUP BY
            1,
            2
        ) AS `t`
        INNER JOIN `__dsgrid_scan_2` AS `l`
          ON `t`.`id` = `l`.`id`
        INNER JOIN `__dsgrid_weights_3` AS `w_subsector`
          ON `l`.`subsector` = `w_subsector`.`from_id`
        INNER JOIN `__dsgrid_weights_4` AS `w_metric`
          ON `t`.`metric` = `w_metric`.`from_id`
        GROUP BY
          1
      ) AS `e`
      INNER JOIN `__dsgrid_map_5` AS `sp0`
        ON `e`.`geography` = `sp0`.`from_id`
    ) AS `s`
    UNION ALL
    SELECT
      `s`.`geography` AS `geography`,
      `s`.`sector` AS `sector`,
      `s`.`subsector` AS `subsector`,
      `s`.`metric` AS `metric`,
      `s`.`model_year` AS `model_year`,
      `s`.`weather_year` AS `weather_year`,
      `s`.`scenario` AS `scenario`,
      CAST(NULL AS TIMESTAMP) AS `timestamp`,
      `s`.`us_states` AS `us_states`,
      `s`.`value` AS `value`,
      'test_efs_comstock_unpivoted' AS `dataset_id`
    FROM (
      SELECT
        `e`.`geography` AS `geography`,
        CAST(NULL AS STRING) AS `sector`,
        CAST(NULL AS STRING) AS `subsector`,
        CAST(NULL AS STRING) AS `metric`,
        CAST(NULL AS STRING) AS `model_year`,
        CAST(NULL AS STRING) AS `weather_year`,
        CAST(NULL AS STRING) AS `scenario`,
        NULL AS `timestamp`,
        `sp0`.`to_id` AS `us_states`,
        `e`.`value` * `sp0`.`from_fraction` AS `value`
      FROM (
        SELECT
          `t`.`geography` AS `geography`,
          SUM(`t`.`value` * `w_subsector`.`weight` * `w_metric`.`weight` * 5.5) AS `value`
        FROM `__dsgrid_scan_6` AS `t`
        INNER JOIN `__dsgrid_weights_3` AS `w_subsector`
          ON `t`.`subsector` = `w_subsector`.`from_id`
        INNER JOIN `__dsgrid_weights_4` AS `w_metric`
          ON `t`.`metric` = `w_metric`.`from_id`
        GROUP BY
          1
      ) AS `e`
      INNER JOIN `__dsgrid_map_5` AS `sp0`
        ON `e`.`geography` = `sp0`.`from_id`
    ) AS `s`
  ) AS `u`
  INNER JOIN `__dsgrid_records_7` AS `r0`
    ON `u`.`us_states` = `r0`.`id`
) AS `d`
WHERE
  NOT `d`.`us_states` IS NULL
GROUP BY
  `d`.`us_states_name`
