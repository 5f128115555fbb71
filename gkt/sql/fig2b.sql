-- Fig. 2b: semantic similarity of the top-X% positive-flip classes relative to the average
-- similarity of all classes, (sim_set - sim_all) / sim_all in %, over all non-control pairs.
-- Sets of fewer than two classes have no pairwise similarity and are left out (rel_sim NaN).
SELECT s.x,
       count(*)                                    AS pairs,
       avg(100 * s.rel_sim)                        AS mean_rel_sim_pct,
       stddev_samp(100 * s.rel_sim)                AS std_rel_sim_pct,
       quantile_cont(100 * s.rel_sim, 0.25)        AS q25_rel_sim_pct,
       median(100 * s.rel_sim)                     AS median_rel_sim_pct,
       quantile_cont(100 * s.rel_sim, 0.75)        AS q75_rel_sim_pct,
       avg(s.k)                                    AS mean_k,
       any_value(s.encoder)                        AS encoder
FROM semantic s
JOIN pairs p USING (teacher, student)
WHERE NOT p.teacher_is_control AND s.rel_sim IS NOT NULL AND NOT isnan(s.rel_sim)
GROUP BY s.x
ORDER BY s.x;
