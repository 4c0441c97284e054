-- SELECT model_year, SUM(value) FROM data WHERE us_states = 'CA' AND model_year IN ('2020', '2030') GROUP BY 1
SELECT
  `data`.`model_year` AS `model_year`,
  SUM(`data`.`value`) AS `sum(value)`
FROM (
  SELECT
    `u`.`model_year` AS `model_year`,
    `u`.`value` * `s0`.`from_fraction` AS `value`,
    `s0`.`to_id` AS `us_states`
  FROM (
    SELECT
      `s`.`geography` AS `geography`,
      `s`.`sector` AS `sector`,
      `s`.`subsector` AS `subsector`,
      `s`.`metric` AS `metric`,
      `s`.`model_year` AS `model_year`,
      `s`.`weather_year` AS `weather_year`,
      `s`.`scenario` AS `scenario`,
      TIMESTAMP_MICROS(
        CASE
          WHEN UNIX_MICROS(`s`.`timestamp`) - 3600000000 > 1325995200000000
          THEN UNIX_MICROS(`s`.`timestamp`) - 3600000000 - 604800000000
          WHEN UNIX_MICROS(`s`.`timestamp`) - 3600000000 < 1325394000000000
          THEN UNIX_MICROS(`s`.`timestamp`) - 3600000000 + 604800000000
          ELSE UNIX_MICROS(`s`.`timestamp`) - 3600000000
        END
      ) AS `timestamp`,
      `s`.`value` AS `value`,
      'test_efs_comstock' AS `dataset_id`
    FROM (
      SELECT
        `l`.`geography` AS `geography`,
        `l`.`sector` AS `sector`,
        `m_subsector`.`to_id` AS `subsector`,
        `m_metric`.`to_id` AS `metric`,
        `m_model_year`.`to_id` AS `model_year`,
        '2012' AS `weather_year`,
        'baseline' AS `scenario`,
        `t`.`timestamp` AS `timestamp`,
        `t`.`value` * `m_subsector`.`from_fraction` * `m_metric`.`from_fraction` * `m_model_year`.`from_fraction` AS `value`
      FROM `__dsgrid_scan_1` AS `t`
      INNER JOIN `__dsgrid_scan_2` AS `l`
        ON `t`.`id` = `l`.`id`
      INNER JOIN `__dsgrid_map_3` AS `m_subsector`
        ON `l`.`subsector` = `m_subsector`.`from_id`
      INNER JOIN `__dsgrid_map_4` AS `m_metric`
        ON `t`.`metric` = `m_metric`.`from_id`
      INNER JOIN `__dsgrid_map_5` AS `m_model_year`
        ON '2012' = `m_model_year`.`from_id`
      WHERE
        `l`.`geography` IN ('06073', '06075')
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
      TIMESTAMP_MICROS(
        CASE
          WHEN UNIX_MICROS(`s`.`timestamp`) - 3600000000 > 1325995200000000
          THEN UNIX_MICROS(`s`.`timestamp`) - 3600000000 - 604800000000
          WHEN UNIX_MICROS(`s`.`timestamp`) - 3600000000 < 1325394000000000
          THEN UNIX_MICROS(`s`.`timestamp`) - 3600000000 + 604800000000
          ELSE UNIX_MICROS(`s`.`timestamp`) - 3600000000
        END
      ) AS `timestamp`,
      `s`.`value` AS `value`,
      'test_efs_comstock_unpivoted' AS `dataset_id`
    FROM (
      SELECT
        `t`.`geography` AS `geography`,
        `t`.`sector` AS `sector`,
        `m_subsector`.`to_id` AS `subsector`,
        `m_metric`.`to_id` AS `metric`,
        `m_model_year`.`to_id` AS `model_year`,
        '2012' AS `weather_year`,
        'baseline' AS `scenario`,
        `t`.`timestamp` AS `timestamp`,
        `t`.`value` * `m_subsector`.`from_fraction` * `m_metric`.`from_fraction` * `m_model_year`.`from_fraction` AS `value`
      FROM `__dsgrid_scan_6` AS `t`
      INNER JOIN `__dsgrid_map_3` AS `m_subsector`
        ON `t`.`subsector` = `m_subsector`.`from_id`
      INNER JOIN `__dsgrid_map_4` AS `m_metric`
        ON `t`.`metric` = `m_metric`.`from_id`
      INNER JOIN `__dsgrid_map_5` AS `m_model_year`
        ON '2012' = `m_model_year`.`from_id`
      WHERE
        `t`.`geography` IN ('06073', '06075')
    ) AS `s`
  ) AS `u`
  INNER JOIN `__dsgrid_map_7` AS `s0`
    ON `u`.`geography` = `s0`.`from_id`
) AS `data`
WHERE
  `data`.`us_states` = 'CA' AND `data`.`model_year` IN ('2020', '2030')
GROUP BY
  `data`.`model_year`
