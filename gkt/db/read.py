"""Reading the results database: open it (read-only, its views' relative paths resolved against
its folder), find the default one (the main data set's), refuse SQL that would write, snapshot its views for many queries in a row, run SQL to a
polars DataFrame. What `gkt query` and `gkt figures` use.

Kept free of the builder (gkt.db.build) and of the documentation (gkt.db.docs)."""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from gkt.errors import GktError
from gkt.layout import DB_NAME, find_results

# What `gkt query` runs: statements that only read (a SELECT, its EXPLAIN). The database is opened
# read-only, which keeps DuckDB from changing the database file but not from writing other files:
# COPY ... TO, EXPORT DATABASE, ATTACH, SET (profiling_output, log_query_path) and the like.
READING_STATEMENTS = ("SELECT", "EXPLAIN")


def load_sql(path: str) -> str:
    """The text of gkt/sql/<path>: the SQL shipped with the package (figures, shared queries, views)."""
    return resources.files("gkt").joinpath("sql", *path.split("/")).read_text()


def sql_literal(s: str) -> str:
    """SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def connect(db: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """Open the database read-only, relative paths of its views resolved against its folder."""
    db = Path(db)
    if not db.is_file():
        raise GktError(f"database {db} does not exist: build it with `gkt db --results {db.parent}` "
                       f"(or `snakemake {db}`)")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as e:
        raise GktError(f"cannot open database {db}: {str(e).splitlines()[0]}; rebuild it with `gkt db`") from None
    # The views find their files through this variable (gkt.db.build.RESULTS_MACRO), whatever this
    # connection's temp_directory; an older database resolves relative paths with file_search_path.
    folder = db.resolve().parent.as_posix()
    con.execute(f"SET VARIABLE gkt_results = {sql_literal(folder + '/')}")
    con.execute(f"SET file_search_path = {sql_literal(folder)}")
    return con


def results(path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """What `gkt.results` returns: a read-only connection to the database of the results folder `path`
    (or to the database file `path`; default: find_database())."""
    path = Path(path) if path else find_database()
    return connect(path / DB_NAME if path.is_dir() else path)


def check_reading(sql: str) -> None:
    """Refuse, with one line, SQL that could write a file (see READING_STATEMENTS)."""
    try:
        kinds = [st.type.name for st in duckdb.extract_statements(sql)]
    except duckdb.Error as e:
        raise GktError(f"query failed: {first_line(e)}") from None
    writing = [k for k in kinds if k not in READING_STATEMENTS]
    if writing:
        raise GktError(f"gkt query only reads: {writing[0]} statements are refused (the database and the results "
                       f"files are read-only); to save a result, use --out FILE with --format csv|json|parquet")


def snapshot(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Read every view once into a temporary table of the same name (temp tables shadow views), so
    that many queries in a row (the figures) do not each re-read all files. Per connection only."""
    names = [r[0] for r in con.execute("SELECT view FROM gkt_views").fetchall()]
    for name in names:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM main.{name}")
    return names


def find_database(db: str | os.PathLike | None = None) -> Path:
    """`db` if given, else the database of the main data set's results folder (gkt.layout.find_results)."""
    return Path(db) if db else find_results(choose=f"--db results/<dataset>/{DB_NAME}") / DB_NAME


def first_line(e: Exception) -> str:
    """The first line of a DuckDB error (its type name if it has no text)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def frame(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    """The result of one SQL statement as a polars DataFrame (empty for a statement without rows)."""
    rel = con.sql(sql)
    return rel.pl() if rel is not None else pl.DataFrame()


def query(sql: str, db=None) -> pl.DataFrame:
    """The result of `sql` on the database (default: find_database()); SQL errors become one-line GktErrors."""
    check_reading(sql)
    path = find_database(db)
    con = connect(path)
    try:
        return frame(con, sql)
    except duckdb.Error as e:
        raise GktError(f"query failed on {path}: {first_line(e)}") from None
    finally:
        con.close()
