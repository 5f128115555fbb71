"""`gkt db` (build the results database) and `gkt query` (run SQL on it)."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

FORMATS = ("table", "csv", "json", "parquet")


def register(sub) -> None:
    p = sub.add_parser("db", help="(re)build the results database results/<dataset>/gkt.duckdb: views over all outputs")
    p.add_argument("--results", required=True, help="results folder of one dataset (results/<dataset>)")
    p.add_argument("--out", default=None, help="database file (default <results>/gkt.duckdb)")
    p.add_argument("--extra-results", nargs="+", default=[], metavar="DIR",
                   help="results folders of other datasets whose transfer runs join view transfer_datasets (Fig. 9)")
    p.set_defaults(func=run_db)

    p = sub.add_parser("query", help="run SQL on the results database and print the result",
                       description="Run one SQL statement on the results database (read-only). Views: models, pairs, "
                                   "per_class, semantic, class_embeddings, classes, transfer_metrics, transfer_per_class, "
                                   "transfer_final, transfer_datasets; `SELECT * FROM gkt_views` lists them with their "
                                   "sources, `SELECT view_name, comment FROM duckdb_views()` documents them.")
    p.add_argument("sql", help='SQL, e.g. "SELECT method, avg(delta_transf) FROM transfer_final GROUP BY method"')
    p.add_argument("--db", default=None, help="database file (default: the only results/*/gkt.duckdb)")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (parquet needs --out)")
    p.add_argument("--out", default=None, help="write to this file instead of stdout")
    p.set_defaults(func=run_query)


def run_db(args) -> None:
    from gkt.db.build import build_database

    out = build_database(args.results, args.out, args.extra_results)
    print(out)


def query(sql: str, db=None):
    """The result of `sql` on the database as a pyarrow Table; SQL errors become one-line GktErrors."""
    import duckdb
    import pyarrow as pa

    from gkt.db.build import connect, find_database
    from gkt.errors import GktError

    path = find_database(db)
    con = connect(path)
    try:
        rel = con.sql(sql)
        return rel.to_arrow_table() if rel is not None else pa.table({})
    except duckdb.Error as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GktError(f"query failed on {path}: {first}") from None
    finally:
        con.close()


def _plain(value):
    """A JSON-ready value: NaN/inf become null, anything non-JSON its string."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def format_table(table, fmt: str) -> str:
    """The text of a result in `table`, `csv` or `json` format (NULL: empty in csv, null in json)."""
    import json

    if fmt == "csv":
        return table.to_pandas().to_csv(index=False)
    rows = table.to_pylist()
    if fmt == "json":
        return json.dumps([_plain(r) for r in rows], indent=1) + "\n"
    from tabulate import tabulate

    if not table.num_columns:
        return "(no result)\n"
    body = tabulate([list(r.values()) for r in rows], headers=table.column_names, tablefmt="simple",
                    floatfmt=".6g", missingval="NULL")
    return f"{body}\n({len(rows)} row{'' if len(rows) == 1 else 's'})\n"


def run_query(args) -> None:
    import pyarrow.parquet as pq

    from gkt.errors import GktError
    from gkt.io import atomic_path, write_text

    table = query(args.sql, args.db)
    if args.format == "parquet":
        if not args.out:
            raise GktError("--format parquet writes a file: give --out FILE.parquet")
        with atomic_path(args.out) as tmp:
            pq.write_table(table, tmp)
        log.info("%d rows written to %s", table.num_rows, args.out)
        return
    text = format_table(table, args.format)
    if args.out:
        write_text(text, Path(args.out))
        log.info("%d rows written to %s", table.num_rows, args.out)
    else:
        sys.stdout.write(text)
