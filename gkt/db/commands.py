"""`gkt db` (build the results database) and `gkt query` (run SQL on it)."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from gkt.layout import DB_HELP

log = logging.getLogger(__name__)

FORMATS = ("table", "csv", "json", "parquet")


def register(sub) -> None:
    from gkt.db.docs import VIEWS  # constants only

    p = sub.add_parser("db", help="(re)build the results database results/<dataset>/gkt.duckdb: views over all outputs")
    p.add_argument("--results", default=None, help="results folder of one dataset (results/<dataset>); required "
                                                  "unless --docs")
    p.add_argument("--out", default=None, help="database file (default <results>/gkt.duckdb)")
    p.add_argument("--extra-results", nargs="+", default=[], metavar="DIR",
                   help="results folders of other datasets whose transfer runs join view transfer_datasets (Fig. 9)")
    p.add_argument("--docs", action="store_true",
                   help="print the database's documentation (docs/database.md, generated from gkt.db.docs) and exit: "
                        "gkt db --docs > docs/database.md")
    p.set_defaults(func=run_db)

    p = sub.add_parser("query", help="run SQL on the results database and print the result",
                       description="Run one SQL statement on the results database (read-only). Views: "
                                   + ", ".join(VIEWS) + "; `SELECT * FROM gkt_views` lists them with their "
                                   "sources, `SELECT view_name, comment FROM duckdb_views()` documents them.")
    p.add_argument("sql", help='SQL, e.g. "SELECT method, avg(delta_transf) FROM transfer_final GROUP BY method"')
    p.add_argument("--db", default=None, help=DB_HELP)
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (parquet needs --out)")
    p.add_argument("--out", default=None, help="write to this file instead of stdout")
    p.set_defaults(func=run_query)


def run_db(args) -> None:
    from gkt.errors import GktError

    if args.docs:
        from gkt.db.docs import database_md

        sys.stdout.write(database_md())
        return
    if not args.results:
        raise GktError("gkt db needs --results results/<dataset> (the results folder to build the database over)")
    from gkt.db.build import build_database

    out = build_database(args.results, args.out, args.extra_results)
    print(out)


def run_query(args) -> None:
    from gkt.db.read import query
    from gkt.text import format_table
    from gkt.errors import GktError
    from gkt.io import atomic_path, write_text

    df = query(args.sql, args.db)
    if args.format == "parquet":
        if not args.out:
            raise GktError("--format parquet writes a file: give --out FILE.parquet")
        with atomic_path(args.out) as tmp:
            df.write_parquet(tmp)
        log.info("%d rows written to %s", df.height, args.out)
        return
    text = format_table(df, args.format)
    if args.out:
        write_text(text, Path(args.out))
        log.info("%d rows written to %s", df.height, args.out)
    else:
        sys.stdout.write(text)
