/*---
doc: 'Final epoch of every single-teacher run of this results folder and of the folders given to `gkt db
  --extra-results` (other datasets: Fig. 9), runs with a domain-shifted teacher left out (they are Fig. 10''s
  experiment, not transfer within a data set).'
columns:
  dataset: results folder name
  method: transfer method (the loss, as in transfer_metrics)
  teacher: teacher(s)
  student: student
  delta_acc: acc_teacher - acc_student
  delta_transf: transfer delta
---*/
-- transfer_datasets: the final epoch of every single-teacher transfer run of this results folder
-- (transfer_in_domain) and of the results folders given to `gkt db --extra-results`, each named by its
-- folder. Runs whose teacher was made for another data set (teacher_domain_shifted: Fig. 10's experiment)
-- are left out, so that Figs. 4b and 9 show transfer within each data set, as the paper's do (the extra
-- folders' single-teacher runs are all read: their zoo records are not).
-- Placeholders (gkt/db/build.py): dataset = this results folder's name; extra_metrics = the
-- transfer/*/*/metrics.parquet files of the extra folders (with their file names).
SELECT {{dataset}} AS dataset, method, teacher, student, delta_acc, delta_transf
FROM transfer_in_domain
UNION ALL BY NAME
SELECT regexp_extract(filename, '([^/]+)/transfer/[^/]+/[^/]+/metrics\.parquet$', 1) AS dataset,
       m.objective AS method, teacher, student, acc_teacher - acc_student AS delta_acc, delta_transf
FROM {{extra_metrics}} m
WHERE NOT starts_with(m.method, 'multi_')
QUALIFY row_number() OVER (PARTITION BY filename ORDER BY epoch DESC) = 1
