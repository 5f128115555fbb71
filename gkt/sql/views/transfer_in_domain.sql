/*---
doc: 'Single-teacher transfer within one data set: transfer_final without the multi-teacher runs (Tabs. 4, 9, Fig. 11) and
  the runs whose teacher was made for another dataset than the student''s (teacher_domain_shifted: Fig. 10''s experiment),
  as the paper''s Figs. 4-8 and Tabs. 1-3, 7, 8 show it. Every such figure, table and finding reads this view.'
columns_of: transfer_final
---*/
-- transfer_in_domain: single-teacher transfer within one data set, the population of the paper's
-- Figs. 4-8 and Tabs. 1-3, 7, 8: transfer_final without the multi-teacher runs and without the runs whose
-- teacher was made for another data set than the student's (teacher_domain_shifted), which are Fig. 10's
-- experiment. The one home of that rule: every such figure, table and finding reads this view.
SELECT * FROM transfer_final WHERE NOT is_multi AND NOT teacher_domain_shifted
