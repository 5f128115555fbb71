"""The results database: `results/<dataset>/gkt.duckdb`, documented DuckDB views over the Parquet
(and zoo JSON) outputs of every stage. The file holds no data, only views, so it stays tiny and
always shows what the files hold now; `gkt db` rebuilds it, `gkt query` reads it.

Paths inside the views are relative to the database's folder; `gkt.db.connect` sets DuckDB's
`file_search_path` to that folder, so the database works from any working directory and moves with
its results folder.

Kept import-light (the CLI imports every stage's `commands` at start-up): use `gkt.db.build`.
"""
