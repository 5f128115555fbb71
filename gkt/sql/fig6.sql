-- Fig. 6: success rate per student (share of teachers with delta_transf > 0) of contrastive
-- distillation (CD, CRD) against classification-guided XE-KL-Dist and KL-Dist + DP.
SELECT method,
       student,
       count(*)                                                AS teachers,
       100 * avg(CASE WHEN delta_transf > 0 THEN 1 ELSE 0 END) AS success_rate_pct,
       avg(100 * delta_transf)                                 AS mean_delta_transf_pct,
       avg(100 * gain)                                         AS mean_gain_pct,
       avg(100 * loss)                                         AS mean_loss_pct
FROM transfer_in_domain
WHERE method IN ('cd', 'crd', 'xekl', 'kl_dp')
GROUP BY method, student
ORDER BY method, student;
