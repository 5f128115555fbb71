"""The results database: `results/<dataset>/gkt.duckdb`, documented DuckDB views over the Parquet
(and zoo JSON) outputs of every stage. The file holds no data, only views, so it stays tiny and
always shows what the files hold now; `gkt db` rebuilds it, `gkt query` reads it.

One module per concern:

* `gkt.db.build`: builds the database, each view from its SQL file `gkt/sql/views/<view>.sql`;
* `gkt.db.docs`: the documentation of every view and column, the single source of the database's
  comments and of docs/database.md (`gkt db --docs`);
* `gkt.db.read`: the read API: `connect`, `find_database`, `snapshot`, `query` (polars); results as text: `gkt.text`;
* `gkt.db.commands`: `gkt db` and `gkt query`.

Paths inside the views are relative to the database's folder, resolved by a macro stored in the
database (gkt.db.build: RESULTS_MACRO), so the database works from any working directory, with the
stock `duckdb` package and command line too, and moves with its results folder.

Kept import-light (the CLI imports every stage's `commands` at start-up): import the modules above.
"""
