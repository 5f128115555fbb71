-- Fig. 1b: entropy of each pair's distribution of positive flips over classes (normalised by
-- log C: 1 = spread evenly over all classes) against the accuracy difference. Control pairs and
-- pairs without positive flips (no distribution) are left out.
SELECT teacher,
       student,
       100 * delta_acc AS delta_acc_pct,
       entropy_norm,
       entropy          AS entropy_nats,
       pos_flips,
       num_classes
FROM pairs
WHERE NOT teacher_is_control AND pos_flips > 0
ORDER BY delta_acc, teacher, student;
