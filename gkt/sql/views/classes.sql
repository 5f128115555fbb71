/*---
doc: Class index -> name, from class_embeddings, else from per_class.
columns:
  class: class index
  class_name: class name
---*/
-- classes: class index -> name, from class_embeddings, else from per_class.
SELECT "class", class_name FROM class_embeddings
UNION ALL
SELECT DISTINCT "class", class_name FROM per_class
WHERE NOT EXISTS (SELECT 1 FROM class_embeddings)
