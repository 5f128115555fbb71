-- Fig. 9: Fig. 4b per dataset: transfer delta by binned accuracy difference (equal-width bins of each
-- dataset's delta_acc range, at most 6), mean of the top 25 % runs per bin and method, for the paper's
-- three methods of Supp. B.4: KL-Dist, XE-KL-Dist + MCL and KL-Dist + DP.
-- transfer_bins: gkt/sql/shared/transfer_bins.sql (the binning, shared with Fig. 4b).
SELECT dataset,
       method,
       bin,
       bin_lo_pct,
       bin_hi_pct,
       runs,
       top25_mean_delta_transf_pct,
       mean_delta_transf_pct
FROM transfer_bins
WHERE method IN ('kl', 'xekl_mcl', 'kl_dp')
ORDER BY dataset, method, bin;
