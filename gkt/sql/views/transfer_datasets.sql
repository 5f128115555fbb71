/*---
doc: 'Final epoch of every single- and multi-teacher run of this results folder and of the folders given to `gkt
  db --extra-results` (other datasets: Fig. 9), runs with a domain-shifted teacher left out (they are Fig. 10''s
  experiment, not transfer within a data set).'
columns:
  dataset: results folder name
  method: transfer method
  teacher: teacher(s)
  student: student
  is_multi: multi-teacher run
  delta_acc: acc_teacher - acc_student
  delta_transf: transfer delta
---*/
-- transfer_datasets: the final epoch of every transfer run of this results folder (transfer_final)
-- and of the results folders given to `gkt db --extra-results`, each named by its folder. Runs whose
-- teacher was made for another data set (teacher_domain_shifted: Fig. 10's experiment) are left out,
-- so that Figs. 4b and 9 show transfer within each data set, as the paper's do (the extra folders'
-- runs are all read: their zoo records are not).
-- Placeholders (gkt/db/build.py): dataset = this results folder's name; extra_metrics = the
-- transfer/*/*/metrics.parquet files of the extra folders (with their file names).
SELECT {{dataset}} AS dataset, method, teacher, student, is_multi, delta_acc, delta_transf
FROM transfer_in_domain
UNION ALL BY NAME
SELECT regexp_extract(filename, '([^/]+)/transfer/[^/]+/[^/]+/metrics\.parquet$', 1) AS dataset,
       method, teacher, student, starts_with(method, 'multi_') AS is_multi,
       acc_teacher - acc_student AS delta_acc, delta_transf
FROM {{extra_metrics}}
QUALIFY row_number() OVER (PARTITION BY filename ORDER BY epoch DESC) = 1
