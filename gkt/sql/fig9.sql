-- Fig. 9: Fig. 4b per dataset: transfer delta by binned accuracy difference (equal-width bins of each
-- dataset's delta_acc range, at most 6), mean of the top 25 % runs per bin and method.
WITH runs AS (
    SELECT dataset, method, teacher, student, 100 * delta_acc AS x, 100 * delta_transf AS y
    FROM transfer_datasets WHERE NOT is_multi
),
bounds AS (
    SELECT dataset, min(x) AS lo, max(x) AS hi,
           greatest(1, least(6, (count(*) // count(DISTINCT method)) // 3))::INTEGER AS nb
    FROM runs GROUP BY dataset
),
binned AS (
    SELECT r.*, b.lo, b.hi, b.nb,
           CASE WHEN b.hi = b.lo THEN 0
                ELSE least(b.nb - 1, floor((r.x - b.lo) / (b.hi - b.lo) * b.nb))::INTEGER END AS bin
    FROM runs r JOIN bounds b USING (dataset)
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY dataset, method, bin ORDER BY y DESC, teacher, student) AS pos,
           count(*) OVER (PARTITION BY dataset, method, bin) AS n
    FROM binned
)
SELECT dataset,
       method,
       bin,
       any_value(lo + bin * (hi - lo) / nb)                 AS bin_lo_pct,
       any_value(lo + (bin + 1) * (hi - lo) / nb)           AS bin_hi_pct,
       count(*)                                             AS runs,
       avg(y) FILTER (WHERE pos <= ceil(n / 4.0))           AS top25_mean_delta_transf_pct,
       avg(y)                                               AS mean_delta_transf_pct
FROM ranked
GROUP BY dataset, method, bin
ORDER BY dataset, method, bin;
