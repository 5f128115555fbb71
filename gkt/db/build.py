"""Build `results/<dataset>/gkt.duckdb`: one documented view per output table of the pipeline.

Every view reads its files with `read_parquet` / `read_json` at query time, so the database holds no
data and shows the files as they are now (a new transfer run appears without a rebuild). A view
whose files do not exist yet (no transfer results, say) is created as an *empty view with the
table's columns and types*, so every query binds from the first stage on; `gkt_views.files` says
which views are empty, and rebuilding the database (the `database` rule does it when the outputs
change) points such a view at its files once they exist.

Each view's SQL is the file `gkt/sql/views/<view>.sql`, with its documentation in a YAML block at its
top (read by `gkt.db.docs`, whose VIEW_ORDER is the order of creation). A view file names what it reads with **placeholders**
`{{name}}`, the only substitution in it: `plan_views` replaces each with a FROM expression, the
reader of a source below (`SOURCES`: a glob relative to the results folder) over its files, or,
while no file matches, a typed empty `SELECT` with the source's columns. `transfer_datasets` has two
more: `{{dataset}}` (this results folder's name as a string literal) and `{{extra_metrics}}` (the
metrics of the `--extra-results` folders). A file using a placeholder the builder does not give, or
missing one it gives, is an error.

Paths inside the views are relative to the database's folder and resolved when a query binds, by the
macro `gkt_results()` stored in the database (RESULTS_MACRO): the variable `gkt_results` when a connection
sets it (`gkt.results()` and `gkt.db.read.connect()` do), else the folder of the database file itself,
which DuckDB exposes as the default `temp_directory` (`<database file>.tmp`; a setting that is
constant while a query binds, which is what a table function's file argument needs, where a
subquery on `duckdb_databases()` is refused). So the stock `duckdb` Python package and command line
answer every view from any working directory, and a moved or copied results folder reads its own
files. Only a connection that sets its own `temp_directory` must `SET VARIABLE gkt_results =
'<results folder>/'` first. The file is written in DuckDB's v1.0 storage format, which every DuckDB
from 1.0 on (the `duckdb` command line of the duckdb-cli package included) opens.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import glob
import logging
import os
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from gkt.db.docs import DOC_BLOCK, TABLES, VIEWS, view_file
from gkt.db.read import DB_NAME, first_line, sql_literal
from gkt.errors import GktError
from gkt.io import atomic_path, open_parquet

log = logging.getLogger(__name__)

# DuckDB types of the zoo records' fields (gkt.zoo.record.ModelRecord); nested dicts kept as JSON.
# Parameter counts can pass 2**31: BIGINT.
RECORD_TYPES = {str: "VARCHAR", int: "INTEGER", float: "DOUBLE", bool: "BOOLEAN", dict: "JSON"}
RECORD_TYPE_OF = {"params": "BIGINT"}


def model_columns() -> dict[str, str]:
    """Column -> DuckDB type of the zoo records, from the fields and types of ModelRecord."""
    from gkt.zoo.record import ModelRecord  # torch-free

    hints = typing.get_type_hints(ModelRecord)
    columns = {}
    for f in dataclasses.fields(ModelRecord):
        hint = hints[f.name]
        (kind,) = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        columns[f.name] = RECORD_TYPE_OF.get(f.name) or RECORD_TYPES[typing.get_origin(kind) or kind]
    return columns


def _arrow_columns(schema: pa.Schema) -> dict[str, str]:
    con = duckdb.connect()
    try:
        rel = con.from_arrow(schema.empty_table())
        return {name: str(t) for name, t in zip(rel.columns, rel.dtypes)}
    finally:
        con.close()


def _complementary(name: str) -> Callable[[], dict[str, str]]:
    def columns():
        from gkt.complementary import schemas

        return _arrow_columns(getattr(schemas, f"{name.upper()}_SCHEMA"))

    return columns


def _transfer(name: str) -> Callable[[], dict[str, str]]:
    def columns():
        from gkt.transfer import metrics  # numpy + pyarrow only

        return {**_arrow_columns(getattr(metrics, f"{name.upper()}_SCHEMA")), "filename": "VARCHAR"}

    return columns


def _recommend(name: str) -> Callable[[], dict[str, str]]:
    def columns():
        from gkt.recommend import schemas

        return _arrow_columns(getattr(schemas, f"{name.upper()}_SCHEMA"))

    return columns


@dataclass(frozen=True)
class Source:
    """Files a view reads: a glob relative to a results folder, the DuckDB reader over them (`{path}`:
    the glob(s) as SQL, `{columns}`: the columns as a struct literal) and the columns (and types) of
    the empty select standing in while no file matches."""

    pattern: str
    reader: str
    columns: Callable[[], dict[str, str]]
    stamped: bool = True  # files gkt writes with a content stamp (gkt.io.write_parquet), checked at build


READ_PARQUET = "read_parquet({path})"
READ_RUNS = "read_parquet({path}, union_by_name=true, filename=true)"  # one file per run: its folder says which
METRICS = Source("transfer/*/*/metrics.parquet", READ_RUNS, _transfer("metrics"))

# view -> (stage writing its files, {placeholder: source}); the first source is the view's gkt_views.source.
SOURCES: dict[str, tuple[str, dict[str, Source]]] = {
    "models": ("zoo", {
        "records": Source("zoo/*.json", "read_json({path}, columns={columns}, format='auto')", model_columns,
                          stamped=False),
        "val_cache_metadata": Source("logits/val/*.parquet", "parquet_kv_metadata({path})",
                                     lambda: {"file_name": "VARCHAR", "key": "BLOB", "value": "BLOB"}, stamped=False),
    }),
    "pairs": ("complementary", {"files": Source("complementary/pairs.parquet", READ_PARQUET, _complementary("pairs"))}),
    "per_class": ("complementary", {
        "files": Source("complementary/per_class.parquet", READ_PARQUET, _complementary("per_class"))}),
    "semantic": ("semantic", {
        "files": Source("complementary/semantic.parquet", READ_PARQUET, _complementary("semantic"))}),
    "class_embeddings": ("embed_classes", {
        "files": Source("complementary/class_embeddings.parquet", READ_PARQUET, _complementary("class_embeddings"))}),
    "classes": ("complementary", {}),
    "transfer_metrics": ("transfer", {"files": METRICS}),
    "transfer_per_class": ("transfer", {
        "files": Source("transfer/*/*/per_class.parquet", READ_RUNS, _transfer("per_class"))}),
    "transfer_final": ("transfer", {}),
    "transfer_in_domain": ("transfer", {}),
    "transfer_datasets": ("transfer", {}),  # + {{dataset}}, {{extra_metrics}}: plan_views
    "all_pairs": ("all_pairs", {
        "files": Source("recommend/all_pairs.parquet", READ_PARQUET, _complementary("all_pairs"))}),
    "teacher_ranking": ("recommend", {"files": Source("recommend/ranking.parquet", READ_PARQUET, _recommend("ranking"))}),
    "recommend_validation": ("recommend", {
        "files": Source("recommend/validation.parquet", READ_PARQUET, _recommend("validation"))}),
    "recommend_improve": ("improve", {
        "files": Source("recommend/improve/*/improve.parquet", READ_PARQUET, _recommend("improve"))}),
    "recommend_probes": ("probe", {"files": Source("recommend/probe/*.parquet", READ_PARQUET, _recommend("probe"))}),
}

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@dataclass
class View:
    """One view: its SQL, the stage whose files it reads, and its documentation."""

    name: str
    stage: str
    doc: str
    columns: dict[str, str]  # column -> meaning (also written as COMMENT ON COLUMN)
    source: str = "derived"  # glob relative to the results folder, or 'derived'
    files: int | None = None  # files matched at build time (None for derived views)
    sql: str = ""


def view_sql(name: str, values: dict[str, str]) -> str:
    """gkt/sql/views/<name>.sql without its documentation block, its placeholders replaced by `values`."""
    text = DOC_BLOCK.sub("", view_file(name)).strip().rstrip(";")
    used = set(PLACEHOLDER.findall(text))
    if used != set(values):
        raise ValueError(f"gkt/sql/views/{name}.sql uses placeholders {sorted(used)}; the builder gives {sorted(values)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


RESULTS_MACRO = "gkt_results"
# The folder the views' relative paths start from (module docstring): a connection's variable, else the
# database file's own folder, read off DuckDB's default temp_directory '<database file>.tmp'.
RESULTS_MACRO_SQL = (f"CREATE MACRO {RESULTS_MACRO}() AS coalesce(getvariable('{RESULTS_MACRO}'), "
                     r"regexp_replace(current_setting('temp_directory'), '[^/\\]*$', ''))")
STORAGE_VERSION = "v1.0.0"  # readable by every DuckDB from 1.0 on, the duckdb-cli package's included


def _located(glob_: str) -> str:
    """SQL for a glob relative to the database's folder, resolved by RESULTS_MACRO when a query binds."""
    return f"{RESULTS_MACRO}() || {sql_literal(glob_)}"


def _from(source: Source, folders: list[tuple[Path, str]], stage: str) -> tuple[str, int]:
    """(FROM expression, files matched) of `source` in the results `folders` ((folder, its path
    relative to the database folder)): the reader over the globs that match, else the empty select.
    A stamped file changed since gkt wrote it is a GktError naming it and `stage`, which rewrites it."""
    globs, n = [], 0
    for folder, rel in folders:
        matched = sorted(glob.glob(str(folder / source.pattern)))
        for path in matched if source.stamped else ():
            open_parquet(path, "results file", missing="", damaged=f"delete it and rerun snakemake, whose {stage} "
                                                                   f"stage rewrites it")
        if matched:
            globs.append(f"{rel}/{source.pattern}" if rel not in ("", ".") else source.pattern)
            n += len(matched)
    columns = source.columns()
    if not n:
        cols = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in columns.items())
        return f"(SELECT {cols} LIMIT 0)", 0
    path = _located(globs[0]) if len(globs) == 1 else "[" + ", ".join(map(_located, globs)) + "]"
    struct = "{" + ", ".join(f"{c}: {sql_literal(t)}" for c, t in columns.items()) + "}"
    return source.reader.format(path=path, columns=struct), n


def _extra_folders(results: Path, db_dir: Path, extra_results: list[Path]) -> list[tuple[Path, str]]:
    folders = []
    for extra in extra_results:
        extra = extra.resolve()
        if not extra.is_dir():
            raise GktError(f"extra results folder {extra} does not exist (gkt db --extra-results): give results/<dataset>")
        if extra == results:
            continue
        if not glob.glob(str(extra / METRICS.pattern)):
            log.warning("%s holds no transfer results: left out of transfer_datasets", extra)
            continue
        folders.append((extra, _rel(extra, db_dir)))
    return folders


def plan_views(results: Path, db_dir: Path, extra_results: list[Path] | None = None) -> list[View]:
    """The views of the database at `db_dir` over the results folder `results`, in creation order."""
    results, db_dir = results.resolve(), db_dir.resolve()
    here = [(results, _rel(results, db_dir))]
    views = []
    for name, (doc, columns) in VIEWS.items():
        stage, sources = SOURCES[name]
        values, files = {}, []
        for placeholder, source in sources.items():
            values[placeholder], n = _from(source, here, stage)
            files.append(n)
        if name == "transfer_datasets":
            values["dataset"] = sql_literal(results.name)
            values["extra_metrics"], _ = _from(METRICS, _extra_folders(results, db_dir, extra_results or []), stage)
        first = next(iter(sources.values()), None)
        views.append(View(name, stage, doc, columns, first.pattern if first else "derived",
                          files[0] if files else None, view_sql(name, values)))
    return views


def _comment(con: duckdb.DuckDBPyConnection, view: View) -> None:
    actual = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [view.name]).fetchall()]
    lines = [view.doc]
    if view.source != "derived":
        lines.append(f"Source: {view.source} ({view.files} file(s) at build time"
                     + ("; EMPTY until stage " + view.stage + " has run and the database is rebuilt" if not view.files else "")
                     + ").")
    lines.append("Columns: " + "; ".join(f"{c}: {view.columns.get(c, '')}".rstrip(": ") for c in actual))
    con.execute(f"COMMENT ON VIEW {view.name} IS {sql_literal(' '.join(lines))}")
    for c in actual:
        if c in view.columns:
            con.execute(f'COMMENT ON COLUMN {view.name}."{c}" IS {sql_literal(view.columns[c])}')


def build_database(results: str | os.PathLike, out: str | os.PathLike | None = None,
                   extra_results: list[str | os.PathLike] | None = None) -> Path:
    """Create (or replace, atomically) the database `out` (default `<results>/gkt.duckdb`)."""
    results = Path(results)
    if not results.is_dir():
        raise GktError(f"results folder {results} does not exist (gkt db --results): run the pipeline first "
                       f"or give results/<dataset>")
    out = Path(out) if out else results / DB_NAME
    db_dir = out.resolve().parent
    views = plan_views(results, db_dir, [Path(e) for e in extra_results or []])
    with atomic_path(out) as tmp:
        tmp.unlink()  # DuckDB refuses an existing empty file
        con = duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_VERSION})
        try:
            con.execute(RESULTS_MACRO_SQL)
            con.execute(f"SET VARIABLE {RESULTS_MACRO} = {sql_literal(db_dir.as_posix() + '/')}")
            for view in views:
                try:
                    con.execute(f"CREATE VIEW {view.name} AS {view.sql}")
                except duckdb.Error as e:
                    raise GktError(f"cannot create view {view.name} over {view.source} in {results}: "
                                   f"{first_line(e)}; check those files (rerun stage {view.stage})") from None
                _comment(con, view)
            con.execute("CREATE TABLE gkt_views (view VARCHAR, stage VARCHAR, source VARCHAR, files INTEGER, doc VARCHAR)")
            con.executemany("INSERT INTO gkt_views VALUES (?, ?, ?, ?, ?)",
                            [(v.name, v.stage, v.source, v.files, v.doc) for v in views])
            import gkt

            info = {"dataset": results.resolve().name, "results": _rel(results.resolve(), db_dir),
                    "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "gkt_version": gkt.__version__, "duckdb_version": duckdb.__version__,
                    "extra_results": ",".join(_rel(Path(e).resolve(), db_dir) for e in extra_results or [])}
            con.execute("CREATE TABLE gkt_info (key VARCHAR, value VARCHAR)")
            con.executemany("INSERT INTO gkt_info VALUES (?, ?)", list(info.items()))
            for table, doc in TABLES.items():
                con.execute(f"COMMENT ON TABLE {table} IS {sql_literal(doc)}")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        wal = Path(str(tmp) + ".wal")
        if wal.exists():
            wal.unlink()
    empty = [v.name for v in views if v.files == 0]
    log.info("database %s: %d views over %s%s", out, len(views), results,
             f" (empty until their stage has run: {', '.join(empty)})" if empty else "")
    return out
