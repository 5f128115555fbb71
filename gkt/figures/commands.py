"""`gkt figures`: render the paper's figures and tables from the results database alone."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from gkt.layout import DB_HELP

log = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser("figures", help="render the paper's figures and tables from the results database",
                       description="Render every figure and table of the paper (docs/method.md#figures-and-tables) "
                                   "from the results database: figures to <id>.png/.pdf, tables to <id>.md/.csv, "
                                   "and index.html. "
                                   "Figures whose results are missing are listed in index.html with the reason.")
    p.add_argument("--db", default=None, help=DB_HELP)
    p.add_argument("--out-dir", default=None,
                   help="output folder (default figures/<dataset> beside the results/ folder of the database)")
    p.add_argument("--only", nargs="+", default=None, metavar="ID",
                   help="render only these (e.g. 1a 4b tab1 'Tab. 4'); index.html is then left as it is, and a "
                        "figure that cannot be rendered is an error")
    p.add_argument("--list", action="store_true", help="list the figure and table ids and exit")
    p.set_defaults(func=run)

    p = sub.add_parser("findings", help="the paper's findings on these results, with intervals and verdicts",
                       description="Compute each of the paper's findings (docs/method.md#findings) from the results "
                                   "database, with its 95 % interval and the verdict of a stated rule, into "
                                   "findings.md and findings.csv (gkt figures writes them too).")
    p.add_argument("--db", default=None, help=DB_HELP)
    p.add_argument("--out-dir", default=None, help="output folder (default figures/<dataset>)")
    p.set_defaults(func=run_findings)


def default_out_dir(db: Path, dataset: str) -> Path:
    """figures/<dataset> beside results/ for results/<dataset>/gkt.duckdb, else <db folder>/figures."""
    folder = db.resolve().parent
    if folder.parent.name == "results":
        return Path(db).parent.parent.parent / "figures" / dataset
    return Path(db).parent / "figures"


def render_all(db=None, out_dir=None, only=None):
    """Render into `out_dir`; returns (results, out_dir, seconds). `only`: ids to render (no index.html)."""
    import duckdb

    from gkt.db.read import connect, find_database, snapshot
    from gkt.errors import GktError
    from gkt.figures.findings import write_findings
    from gkt.figures.html import index_html
    from gkt.figures.catalog import get_figure, list_figures, render
    from gkt.figures.registry import Context
    from gkt.io import write_text

    start = time.perf_counter()
    db = find_database(db)
    specs = [get_figure(i) for i in dict.fromkeys(only)] if only else list_figures()
    con = connect(db)
    try:
        try:
            info = dict(con.execute("SELECT key, value FROM gkt_info").fetchall())
            views = con.execute("SELECT view, stage, source, files FROM gkt_views").fetchall()
        except Exception:
            raise GktError(f"{db} is not a gkt results database (no gkt_info table): build it with "
                           f"`gkt db --results results/<dataset>`") from None
        dataset = info.get("dataset", Path(db).parent.name)
        try:
            snapshot(con)  # each view read once, not once per figure
        except duckdb.Error as e:
            raise GktError(f"cannot read the results behind {db}: {str(e).strip().splitlines()[0]}; "
                           f"rebuild the database with `gkt db`") from None
        out = Path(out_dir) if out_dir else default_out_dir(Path(db), dataset)
        ctx = Context(con=con, dataset=dataset, info=info)
        results = [render(spec, con, out, ctx) for spec in specs]
        if not only:
            write_findings(con, out, dataset)
    finally:
        con.close()
    seconds = time.perf_counter() - start
    if not only:
        write_text(index_html(results, dataset, Path(db), info, views, seconds), out / "index.html")
    return results, out, seconds


def run(args) -> None:
    from gkt.errors import GktError
    from gkt.figures.catalog import list_figures

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting chatter
    if args.list:
        for spec in list_figures():
            print(f"{spec.id:6s} {spec.label:8s} {spec.title}")
        return
    results, out, seconds = render_all(args.db, args.out_dir, args.only)
    done = [r for r in results if r.status == "rendered"]
    skipped = [r for r in results if r.status != "rendered"]  # each logged with its reason by render()
    where = out / "index.html" if not args.only else out
    log.info("%d of %d figures and tables rendered to %s in %.1f s", len(done), len(results), where, seconds)
    if args.only and skipped:
        raise GktError("; ".join(r.reason for r in skipped))


def run_findings(args) -> None:
    from gkt.db.read import connect, find_database
    from gkt.figures.findings import write_findings

    db = find_database(args.db)
    con = connect(db)
    try:
        dataset = dict(con.execute("SELECT key, value FROM gkt_info").fetchall()).get("dataset", Path(db).parent.name)
        out = Path(args.out_dir) if args.out_dir else default_out_dir(Path(db), dataset)
        df = write_findings(con, out, dataset)
    finally:
        con.close()
    log.info("%d findings (%s) written to %s", df.height, ", ".join(f"{n} {v}" for v, n in df.group_by(
        df["verdict"].str.extract(r"^(reproduced|not reproduced|not testable here)")).len().iter_rows()),
        out / "findings.md")

