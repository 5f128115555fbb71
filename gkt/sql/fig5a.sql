-- Fig. 5a: transfer rate of the top-X% positive-flip classes per student family (KL-Dist + DP runs).
-- A run's top-X% set: the smallest prefix of classes ranked by positive flips (of the teacher over
-- the initial student) holding at least X % of them; X = 100 is all classes with positive flips.
-- Transfer rate of a set: its positive-flip samples the transferred student now gets right / all of them.
WITH runs AS (
    SELECT run, coalesce(student_family, 'unknown') AS family FROM transfer_in_domain WHERE method = 'kl_dp'
),
xs AS (SELECT unnest([2.0, 5.0, 10.0, 20.0, 50.0, 100.0]) AS x),
sets AS (
    SELECT r.run, r.family, xs.x,
           count(*) AS classes, sum(c.transferred) AS transferred, sum(c.pos_flips) AS pos_flips
    FROM runs r
    JOIN transfer_per_class c USING (run)
    CROSS JOIN xs
    WHERE c.pos_flips > 0 AND 100 * c.flips_before < xs.x * c.flips_total
    GROUP BY r.run, r.family, xs.x
)
SELECT family,
       x,
       count(*)                                   AS runs,
       avg(classes)                               AS mean_classes,
       avg(100 * transferred / pos_flips)         AS mean_rate_pct,
       stddev_samp(100 * transferred / pos_flips) AS std_rate_pct,
       100 * sum(transferred) / sum(pos_flips)    AS pooled_rate_pct
FROM sets
GROUP BY family, x
ORDER BY family, x;
