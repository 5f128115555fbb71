-- Fig. 4b: transfer delta by binned teacher-student accuracy difference. Bins are equal-width
-- partitions of the delta_acc range of all single-teacher runs (at most 6; fewer when there are few
-- runs per method); per bin and method, the mean delta_transf of the top 25 % runs (at least one).
WITH runs AS (
    SELECT method, teacher, student, 100 * delta_acc AS x, 100 * delta_transf AS y
    FROM transfer_final WHERE NOT is_multi
),
bounds AS (
    SELECT min(x) AS lo, max(x) AS hi,
           greatest(1, least(6, (count(*) // count(DISTINCT method)) // 3))::INTEGER AS nb
    FROM runs
),
binned AS (
    SELECT r.*, b.lo, b.hi, b.nb,
           CASE WHEN b.hi = b.lo THEN 0
                ELSE least(b.nb - 1, floor((r.x - b.lo) / (b.hi - b.lo) * b.nb))::INTEGER END AS bin
    FROM runs r, bounds b
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY method, bin ORDER BY y DESC, teacher, student) AS pos,
           count(*) OVER (PARTITION BY method, bin) AS n
    FROM binned
)
SELECT method,
       bin,
       any_value(nb)                                        AS bins,
       any_value(lo + bin * (hi - lo) / nb)                 AS bin_lo_pct,
       any_value(lo + (bin + 1) * (hi - lo) / nb)           AS bin_hi_pct,
       count(*)                                             AS runs,
       count(*) FILTER (WHERE pos <= ceil(n / 4.0))         AS top_runs,
       avg(y) FILTER (WHERE pos <= ceil(n / 4.0))           AS top25_mean_delta_transf_pct,
       avg(y)                                               AS mean_delta_transf_pct
FROM ranked
GROUP BY method, bin
ORDER BY method, bin;
