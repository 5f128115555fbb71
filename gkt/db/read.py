"""Reading the results database: open it (read-only, its views' relative paths resolved against
its folder), find the default one, snapshot its views for many queries in a row, run SQL to a
polars DataFrame, and write a result as CSV text. What `gkt query` and `gkt figures` use.

Kept free of the builder (gkt.db.build) and of the documentation (gkt.db.docs)."""
from __future__ import annotations

import csv
import io
import os
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from gkt.errors import GktError

DB_NAME = "gkt.duckdb"


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
    con.execute(f"SET file_search_path = {sql_literal(str(db.resolve().parent))}")
    return con


def snapshot(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Read every view once into a temporary table of the same name (temp tables shadow views), so
    that many queries in a row (the figures) do not each re-read all files. Per connection only."""
    names = [r[0] for r in con.execute("SELECT view FROM gkt_views").fetchall()]
    for name in names:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM main.{name}")
    return names


def find_database(db: str | os.PathLike | None = None) -> Path:
    """`db` if given, else the only results/*/gkt.duckdb under the working directory."""
    if db:
        return Path(db)
    found = sorted(Path().glob(f"results/*/{DB_NAME}"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise GktError(f"no database found (results/*/{DB_NAME}): build one with `gkt db --results results/<dataset>` "
                       f"or pass --db PATH")
    raise GktError(f"several databases ({', '.join(map(str, found))}): choose one with --db PATH")


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
    path = find_database(db)
    con = connect(path)
    try:
        return frame(con, sql)
    except duckdb.Error as e:
        raise GktError(f"query failed on {path}: {first_line(e)}") from None
    finally:
        con.close()


def _csv_column(s: pl.Series) -> list[str]:
    """The CSV cells of one column, as pandas' `to_csv` has always written them (the format of the
    figures' <id>.csv files and of `gkt query --format csv`): floats in numpy's shortest repr, NULL
    and NaN empty, booleans True/False, lists as numpy arrays print."""
    if s.dtype.is_float():
        values = s.to_numpy()
        cells = values.astype(str)
        cells[np.isnan(values)] = ""
        return cells.tolist()
    if isinstance(s.dtype, (pl.List, pl.Array)):
        return ["" if v is None else str(v.to_numpy()) for v in s]
    return ["" if v is None else str(v) for v in s.to_list()]


def csv_text(df: pl.DataFrame) -> str:
    """`df` as CSV text: a header line, then one line per row (see _csv_column for the cells)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(df.columns)
    writer.writerows(zip(*(_csv_column(s) for s in df.get_columns())))
    return buf.getvalue()
