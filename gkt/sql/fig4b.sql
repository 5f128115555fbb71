-- Fig. 4b: transfer delta by binned teacher-student accuracy difference, the single-teacher runs of
-- this database's dataset. Bins are equal-width partitions of the delta_acc range of all its
-- single-teacher runs (at most 6; fewer when there are few runs per method); per bin and method, the
-- mean delta_transf of the top 25 % runs (at least one).
-- transfer_bins: gkt/sql/shared/transfer_bins.sql (the binning, shared with Fig. 9).
SELECT method,
       bin,
       bins,
       bin_lo_pct,
       bin_hi_pct,
       runs,
       top_runs,
       top25_mean_delta_transf_pct,
       mean_delta_transf_pct
FROM transfer_bins
WHERE dataset = (SELECT value FROM gkt_info WHERE key = 'dataset')
ORDER BY method, bin;
