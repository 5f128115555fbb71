-- transfer_bins (Figs. 4b and 9): the single-teacher transfer runs of every dataset of the database
-- (view transfer_datasets) binned by the teacher-student accuracy difference. Per dataset, the bins
-- are equal-width partitions of its delta_acc range (at most 6; fewer when there are few runs per
-- method: one bin per 3 runs of a method). One row per (dataset, method, bin): the bin's edges, its
-- runs, and the mean delta_transf of all of them and of its top 25 % runs (at least one), in
-- percentage points.
WITH runs AS (
    SELECT dataset, method, teacher, student, 100 * delta_acc AS x, 100 * delta_transf AS y
    FROM transfer_datasets
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
       any_value(nb)                                        AS bins,
       any_value(lo + bin * (hi - lo) / nb)                 AS bin_lo_pct,
       any_value(lo + (bin + 1) * (hi - lo) / nb)           AS bin_hi_pct,
       count(*)                                             AS runs,
       count(*) FILTER (WHERE pos <= ceil(n / 4.0))         AS top_runs,
       avg(y) FILTER (WHERE pos <= ceil(n / 4.0))           AS top25_mean_delta_transf_pct,
       avg(y)                                               AS mean_delta_transf_pct
FROM ranked
GROUP BY dataset, method, bin;
