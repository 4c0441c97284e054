-- SELECT geography, metric, timestamp, value FROM test_efs.test_efs_comstock
SELECT
  `test_efs_comstock`.`geography` AS `geography`,
  `test_efs_comstock`.`metric` AS `metric`,
  `test_efs_comstock`.`timestamp` AS `timestamp`,
  `test_efs_comstock`.`value` AS `value`
FROM (
  SELECT
    `u`.`geography` AS `geography`,
    `u`.`metric` AS `metric`,
    `u`.`timestamp` AS `timestamp`,
    `u`.`value` AS `value`
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
    ) AS `s`
  ) AS `u`
) AS `test_efs_comstock`
