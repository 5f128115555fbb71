"""The results database: `results/<dataset>/gkt.duckdb`, documented DuckDB views over the Parquet
(and zoo JSON) outputs of every stage. The file holds no data, only views, so it stays tiny and
always shows what the files hold now; `gkt db` rebuilds it, `gkt query` reads it.

One module per concern:

* `gkt.db.build`: builds the database, each view from its SQL file `gkt/sql/views/<view>.sql`;
* `gkt.db.docs`: the documentation of every view and column, the single source of the database's
  comments and of docs/database.md (`gkt db --docs`);
* `gkt.db.read`: the read API: `connect`, `find_database`, `snapshot`, `query` (polars), `csv_text`;
* `gkt.db.commands`: `gkt db` and `gkt query`.

Paths inside the views are relative to the database's folder; `gkt.db.read.connect` sets DuckDB's
`file_search_path` to that folder, so the database works from any working directory and moves with
its results folder.

Kept import-light (the CLI imports every stage's `commands` at start-up): import the modules above.
"""
