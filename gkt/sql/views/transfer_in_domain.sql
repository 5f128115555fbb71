/*---
doc: 'transfer_final without the runs whose teacher was made for another dataset than the student''s (teacher_domain_shifted:
  Fig. 10''s experiment): transfer within one data set, as the paper''s Figs. 4-8 and Tabs. 1-3, 7, 8 show it. Every
  within-dataset figure, table and finding reads this view.'
columns_of: transfer_final
---*/
-- transfer_in_domain: transfer within one data set, the population of the paper's Figs. 4-8 and
-- Tabs. 1-3, 7, 8: transfer_final without the runs whose teacher was made for another data set than
-- the student's (teacher_domain_shifted), which are Fig. 10's experiment. The one home of that rule:
-- every within-data-set figure, table and finding reads this view.
SELECT * FROM transfer_final WHERE NOT teacher_domain_shifted
