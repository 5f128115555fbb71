-- Fig. 11: knowledge gain, knowledge loss and transfer delta over the epochs of sequential
-- multi-teacher transfer (epochs of the steps chained; epoch 0 = the initial student).
SELECT m.run,
       m.teacher,
       m.student,
       m.method,
       m.n_teachers,
       m.epoch,
       max(m.epoch) OVER (PARTITION BY m.run) AS epochs,
       100 * m.gain         AS gain_pct,
       100 * m.loss         AS loss_pct,
       100 * m.delta_transf AS delta_transf_pct
FROM transfer_metrics m
WHERE m.mode = 'sequential'
ORDER BY m.student, m.teacher, m.epoch;
