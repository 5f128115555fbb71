"""Build `results/<dataset>/gkt.duckdb`: one documented view per output table of the pipeline.

Every view reads its files with `read_parquet` / `read_json` at query time, so the database holds no
data and shows the files as they are now (a new transfer run appears without a rebuild). A view
whose files do not exist yet (no transfer results, say) is created as an *empty view with the
table's columns and types*, so every query binds from the first stage on; `gkt_views.files` says
which views are empty, and rebuilding the database (the `database` rule does it when the outputs
change) points such a view at its files once they exist.

Paths inside the views are relative to the database's folder. DuckDB resolves relative paths
against `file_search_path` (else the working directory): `connect()` sets it to the database's
folder, so a moved results folder keeps working. With the DuckDB command line, open the database
from inside its folder (`cd results/<dataset> && duckdb gkt.duckdb`) or run
`SET file_search_path = 'results/<dataset>'` first.
"""
from __future__ import annotations

import datetime as _dt
import glob
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from gkt.errors import GktError
from gkt.io import atomic_path

log = logging.getLogger(__name__)

DB_NAME = "gkt.duckdb"

# Zoo records (gkt.zoo.store.ModelRecord): explicit types, nested dicts kept as JSON.
MODEL_COLUMNS = {
    "name": "VARCHAR", "arch": "VARCHAR", "source": "VARCHAR", "family": "VARCHAR", "arch_family": "VARCHAR",
    "params": "BIGINT", "num_classes": "INTEGER", "dataset": "VARCHAR", "weights_hash": "VARCHAR",
    "top1": "DOUBLE", "kwargs": "JSON", "recipe": "JSON", "seed": "INTEGER", "train_seconds": "DOUBLE",
    "file": "VARCHAR",
}


def _transfer_schemas() -> tuple[pa.Schema, pa.Schema]:
    from gkt.transfer.metrics import METRICS_SCHEMA, PER_CLASS_SCHEMA  # numpy + pyarrow only

    return METRICS_SCHEMA, PER_CLASS_SCHEMA


def _complementary_schemas() -> dict[str, pa.Schema]:
    from gkt.complementary import schemas

    return {"pairs": schemas.PAIRS_SCHEMA, "per_class": schemas.PER_CLASS_SCHEMA,
            "semantic": schemas.SEMANTIC_SCHEMA, "class_embeddings": schemas.CLASS_EMBEDDINGS_SCHEMA}


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
    hidden_columns: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# Documentation of every view: one sentence on the view, one per column. COMMENT ON VIEW gets both.
# ---------------------------------------------------------------------------------------------------
DOCS: dict[str, tuple[str, dict[str, str]]] = {
    "models": (
        "Zoo models, one row per zoo/<model>.json record (gkt.zoo.store.ModelRecord).",
        {
            "name": "model name", "arch": "timm architecture", "source": "train | timm | file | random",
            "family": "cnn | transformer | mlp | hybrid", "arch_family": "architecture family, e.g. resnet",
            "params": "number of parameters", "params_m": "parameters in millions",
            "num_classes": "classes of the classifier head", "dataset": "dataset the model was made for",
            "weights_hash": "sha256 prefix of the weights", "top1": "val top-1 accuracy (fraction 0..1) from the record",
            "logits_top1": "val top-1 accuracy measured from the val logits cache (NULL without a cache)",
            "kwargs": "timm create_model kwargs (JSON)", "recipe": "training recipe (JSON)", "seed": "seed",
            "train_seconds": "training time in seconds", "file": "weights file for source=file",
            "is_random_init": "true for randomly initialised (control) models",
        },
    ),
    "pairs": (
        "Complementary knowledge per (teacher, student) pair on the val split "
        "(docs/method.md#complementary-knowledge; complementary/pairs.parquet). "
        "Accuracies and rates are fractions 0..1.",
        {
            "teacher": "teacher model", "student": "student model", "n": "val samples", "num_classes": "classes",
            "acc_t": "teacher top-1", "acc_s": "student top-1", "delta_acc": "acc_t - acc_s",
            "rho_pos": "positive flips / n (teacher right, student wrong)", "rho_neg": "negative flips / n",
            "kappa": "Cohen's kappa error consistency", "entropy": "entropy of q over classes (nats)",
            "entropy_norm": "entropy / log(num_classes), 0..1", "pos_flips": "positive flips",
            "neg_flips": "negative flips", "teacher_is_control": "teacher is the random-init control",
        },
    ),
    "per_class": (
        "Per (pair, class) flips (complementary/per_class.parquet). The top-X% class set of a pair is its rows "
        "with rank <= semantic.k.",
        {
            "teacher": "teacher model", "student": "student model", "class": "class index",
            "class_name": "class name", "n_class": "val samples of the class",
            "pos_flips": "positive flips in the class", "neg_flips": "negative flips in the class",
            "pos_share": "pos_flips / n_class (NaN for an empty class)", "neg_share": "neg_flips / n_class",
            "q": "pos_flips / all positive flips of the pair", "rank": "1 = class with most positive flips (ties by class)",
        },
    ),
    "semantic": (
        "Semantic similarity of each pair's top-X% positive-flip classes (complementary/semantic.parquet).",
        {
            "teacher": "teacher model", "student": "student model", "x": "X in percent (2, 5, 10, 20, 50)",
            "k": "classes in the top-X% set", "sim_set": "mean pairwise cosine similarity inside the set (NaN if k < 2)",
            "sim_all": "mean pairwise similarity over all classes", "rel_sim": "(sim_set - sim_all) / sim_all",
            "encoder": "text encoder of the class-name embeddings",
        },
    ),
    "class_embeddings": (
        "Text embeddings of the class names (complementary/class_embeddings.parquet).",
        {"class": "class index", "class_name": "class name", "encoder": "text encoder", "embedding": "embedding vector"},
    ),
    "classes": (
        "Class index -> name, from class_embeddings, else from per_class.",
        {"class": "class index", "class_name": "class name"},
    ),
    "transfer_metrics": (
        "Transfer runs, one row per (run, epoch); epoch 0 = before transfer (transfer/<method>/<teacher>__<student>/"
        "metrics.parquet). Accuracies, gain, loss and flip rates are fractions 0..1 of the val samples.",
        {
            "method": "transfer method (kl, kl_dp, ...; multi_sequential|multi_parallel|multi_soup|multi_soup_greedy)",
            "objective": "transfer loss of the run (kl, kl_dp, xekl_mcl, ...): the method for single-teacher runs, "
                         "the loss used for multi-teacher runs",
            "teacher": "teacher model (multi-teacher runs: names joined by '+')", "student": "student model",
            "epoch": "epoch (0 = initial student)", "acc": "val top-1 of the transferred student",
            "acc_student": "val top-1 of the initial student", "acc_teacher": "val top-1 of the (best) teacher",
            "delta_transf": "acc - acc_student (= gain - loss)", "gain": "samples wrong before, right now / n",
            "loss": "samples right before, wrong now / n", "rho_pos": "positive flips of the teacher over the current student / n",
            "rho_neg": "negative flips / n", "delta_rho_pos": "rho_pos now - rho_pos before", "delta_rho_neg": "rho_neg now - rho_neg before",
            "dp_pos_to_teacher": "share of positive-flip training samples DP routed to the teacher (NaN without DP)",
            "dp_neg_to_teacher": "share of negative-flip training samples routed to the teacher (NaN without DP)",
            "seconds": "wall time of the epoch", "lr": "learning rate", "temperature": "KL temperature",
            "lam": "KL weight lambda", "run": "run directory '<method>/<teacher>__<student>'",
            "n_teachers": "number of teachers", "is_multi": "multi-teacher run",
        },
    ),
    "transfer_per_class": (
        "Per (run, class) positive flips of the teacher over the initial student and how many the transferred "
        "student now gets right (transfer/*/*/per_class.parquet, final epoch), with the class ranking of the "
        "top-X% sets. A class is in a run's top-X% set iff 100 * flips_before < X * flips_total (the smallest prefix holding X %).",
        {
            "run": "run directory", "method": "transfer method", "teacher": "teacher(s)", "student": "student",
            "class": "class index", "class_name": "class name (NULL without complementary results)",
            "pos_flips": "positive flips in the class", "transferred": "of those, right after transfer",
            "rate": "transferred / pos_flips (NULL for 0 flips)",
            "rank": "1 = class with most positive flips (ties by class index)",
            "flips_before": "positive flips of the run in classes ranked before this one",
            "flips_total": "positive flips of the run over all classes",
            "share_before": "flips_before / flips_total",
        },
    ),
    "transfer_final": (
        "One row per transfer run: its last epoch, with the initial flip rates, the overall transfer rate and the "
        "teacher's and student's zoo metadata. Fractions 0..1.",
        {
            "run": "run directory", "method": "transfer method",
            "objective": "transfer loss of the run as recorded in its metrics (transfer_metrics.objective): the method "
                         "for single-teacher runs, the loss used for multi-teacher runs",
            "teacher": "teacher(s)", "student": "student", "n_teachers": "teachers", "is_multi": "multi-teacher run",
            "epochs": "last epoch", "acc": "final val top-1", "acc_student": "initial student top-1",
            "acc_teacher": "(best) teacher top-1", "delta_acc": "acc_teacher - acc_student",
            "delta_transf": "acc - acc_student", "success": "delta_transf > 0", "gain": "knowledge gain", "loss": "knowledge loss",
            "rho_pos_initial": "rho_pos before transfer", "rho_neg_initial": "rho_neg before transfer",
            "rho_pos": "rho_pos after", "rho_neg": "rho_neg after", "delta_rho_pos": "rho_pos change",
            "delta_rho_neg": "rho_neg change",
            "dp_pos_to_teacher": "mean over epochs of the DP share of positive flips routed to the teacher",
            "dp_neg_to_teacher": "mean over epochs of the DP share of negative flips routed to the teacher",
            "lr": "learning rate", "temperature": "temperature", "lam": "lambda", "seconds_total": "summed epoch seconds",
            "transfer_rate": "transferred / positive flips over all classes (from transfer_per_class)",
            "student_family": "student family", "student_arch_family": "student architecture family",
            "student_params": "student parameters", "student_top1": "student top-1 (zoo record)",
            "student_dataset": "dataset of the student's zoo record",
            "teacher_family": "teacher family (NULL for multi-teacher runs)", "teacher_arch_family": "teacher architecture family",
            "teacher_params": "teacher parameters", "teacher_top1": "teacher top-1 (zoo record)",
            "teacher_dataset": "dataset of the teacher's zoo record",
            "teacher_domain_shifted": "the teacher's record names another dataset than the student's",
            "pair_entropy_norm": "normalised entropy of the pair's complementary knowledge (pairs)",
            "pair_kappa": "error consistency of the pair (pairs)",
        },
    ),
    "transfer_datasets": (
        "Final epoch of every single- and multi-teacher run of this results folder and of the folders given to "
        "`gkt db --extra-results` (other datasets: Fig. 9).",
        {
            "dataset": "results folder name", "method": "transfer method", "teacher": "teacher(s)", "student": "student",
            "is_multi": "multi-teacher run", "delta_acc": "acc_teacher - acc_student", "delta_transf": "transfer delta",
        },
    ),
}


def _q(s: str) -> str:
    """SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def _empty_select(columns: dict[str, str]) -> str:
    cols = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in columns.items())
    return f"(SELECT {cols} LIMIT 0)"


def _arrow_columns(schema: pa.Schema) -> dict[str, str]:
    con = duckdb.connect()
    try:
        rel = con.from_arrow(schema.empty_table())
        return {name: str(t) for name, t in zip(rel.columns, rel.dtypes)}
    finally:
        con.close()


def _rel(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def _matches(base: Path, pattern: str) -> int:
    return len(glob.glob(str(base / pattern)))


def _source(base: Path, rel_prefix: str, pattern: str, reader: str, empty: str) -> tuple[str, int]:
    """(FROM expression, files matched): the reader over the files, or the typed empty select."""
    n = _matches(base, pattern)
    path = f"{rel_prefix}/{pattern}" if rel_prefix not in ("", ".") else pattern
    return (reader.format(path=_q(path)) if n else empty), n


def plan_views(results: Path, db_dir: Path, extra_results: list[Path] | None = None) -> list[View]:
    """The views of the database at `db_dir` over the results folder `results`, in creation order."""
    results, db_dir = results.resolve(), db_dir.resolve()
    prefix = _rel(results, db_dir)
    views: list[View] = []

    def add(name: str, stage: str, sql: str, source: str = "derived", files: int | None = None) -> None:
        doc, cols = DOCS[name]
        views.append(View(name, stage, doc, cols, source, files, sql))

    # --- zoo ---------------------------------------------------------------------------------------
    cols = ", ".join(f"{k}: {_q(v)}" for k, v in MODEL_COLUMNS.items())
    src, n = _source(results, prefix, "zoo/*.json", "read_json({path}, columns={{" + cols + "}}, format='auto')",
                     _empty_select(MODEL_COLUMNS))
    cache_src, n_cache = _source(
        results, prefix, "logits/val/*.parquet", "parquet_kv_metadata({path})",
        _empty_select({"file_name": "VARCHAR", "key": "BLOB", "value": "BLOB"}))
    add("models", "zoo", f"""
        WITH rec AS (SELECT * FROM {src}),
        cache AS (
            SELECT regexp_extract(file_name, '([^/]+)\\.parquet$', 1) AS name, TRY_CAST(decode(value) AS DOUBLE) AS logits_top1
            FROM {cache_src} WHERE decode(key) = 'top1')
        SELECT rec.name, rec.arch, rec.source, rec.family, rec.arch_family, rec.params, rec.params / 1e6 AS params_m,
               rec.num_classes, rec.dataset, rec.weights_hash, rec.top1, cache.logits_top1, rec.kwargs, rec.recipe,
               rec.seed, rec.train_seconds, rec.file, rec.source = 'random' AS is_random_init
        FROM rec LEFT JOIN cache USING (name)""", "zoo/*.json", n)

    # --- complementary -----------------------------------------------------------------------------
    schemas = _complementary_schemas()
    stage = {"pairs": "complementary", "per_class": "complementary", "semantic": "semantic",
             "class_embeddings": "embed_classes"}
    for name, schema in schemas.items():
        pattern = f"complementary/{name}.parquet"
        src, n = _source(results, prefix, pattern, "read_parquet({path})", _empty_select(_arrow_columns(schema)))
        add(name, stage[name], f"SELECT * FROM {src}", pattern, n)
    add("classes", "complementary", """
        SELECT "class", class_name FROM class_embeddings
        UNION ALL
        SELECT DISTINCT "class", class_name FROM per_class
        WHERE NOT EXISTS (SELECT 1 FROM class_embeddings)""")

    # --- transfer ----------------------------------------------------------------------------------
    metrics_schema, per_class_schema = _transfer_schemas()
    metric_cols = {**_arrow_columns(metrics_schema), "filename": "VARCHAR"}
    reader = "read_parquet({path}, union_by_name=true, filename=true)"
    src, n = _source(results, prefix, "transfer/*/*/metrics.parquet", reader, _empty_select(metric_cols))
    add("transfer_metrics", "transfer", f"""
        SELECT m.* EXCLUDE (filename),
               regexp_extract(filename, '([^/]+/[^/]+)/metrics\\.parquet$', 1) AS run,
               len(string_split(m.teacher, '+')) AS n_teachers,
               starts_with(m.method, 'multi_') AS is_multi
        FROM {src} m""", "transfer/*/*/metrics.parquet", n)

    pc_cols = {**_arrow_columns(per_class_schema), "filename": "VARCHAR"}
    src, n = _source(results, prefix, "transfer/*/*/per_class.parquet", reader, _empty_select(pc_cols))
    add("transfer_per_class", "transfer", f"""
        WITH files AS (
            SELECT regexp_extract(filename, '([^/]+)/([^/]+)/per_class\\.parquet$', ['method', 'pair']) AS p,
                   "class", pos_flips, transferred
            FROM {src}),
        raw AS (
            SELECT p.method || '/' || p.pair AS run, p.method AS method,
                   split_part(p.pair, '__', 1) AS teacher, split_part(p.pair, '__', 2) AS student,
                   "class", pos_flips, transferred
            FROM files)
        SELECT run, method, teacher, student, raw."class", c.class_name, pos_flips, transferred,
               transferred / nullif(pos_flips, 0) AS rate,
               row_number() OVER w AS rank,
               coalesce(sum(pos_flips) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::BIGINT AS flips_before,
               sum(pos_flips) OVER (PARTITION BY run)::BIGINT AS flips_total,
               coalesce(sum(pos_flips) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
                   / nullif(sum(pos_flips) OVER (PARTITION BY run), 0) AS share_before
        FROM raw LEFT JOIN classes c ON c."class" = raw."class"
        WINDOW w AS (PARTITION BY run ORDER BY pos_flips DESC, raw."class")""",
        "transfer/*/*/per_class.parquet", n)

    add("transfer_final", "transfer", f"""
        WITH last AS (
            SELECT * FROM transfer_metrics QUALIFY row_number() OVER (PARTITION BY run ORDER BY epoch DESC) = 1),
        agg AS (
            SELECT run, arg_min(rho_pos, epoch) AS rho_pos_initial, arg_min(rho_neg, epoch) AS rho_neg_initial,
                   sum(seconds) AS seconds_total,
                   avg(dp_pos_to_teacher) FILTER (WHERE epoch > 0 AND NOT isnan(dp_pos_to_teacher)) AS dp_pos_to_teacher,
                   avg(dp_neg_to_teacher) FILTER (WHERE epoch > 0 AND NOT isnan(dp_neg_to_teacher)) AS dp_neg_to_teacher
            FROM transfer_metrics GROUP BY run),
        rates AS (SELECT run, sum(transferred) / nullif(sum(pos_flips), 0) AS transfer_rate
                  FROM transfer_per_class GROUP BY run)
        SELECT l.run, l.method, l.objective, l.teacher, l.student, l.n_teachers, l.is_multi, l.epoch AS epochs,
               l.acc, l.acc_student, l.acc_teacher, l.acc_teacher - l.acc_student AS delta_acc,
               l.delta_transf, l.delta_transf > 0 AS success, l.gain, l.loss,
               a.rho_pos_initial, a.rho_neg_initial, l.rho_pos, l.rho_neg, l.delta_rho_pos, l.delta_rho_neg,
               a.dp_pos_to_teacher, a.dp_neg_to_teacher, l.lr, l.temperature, l.lam, a.seconds_total, r.transfer_rate,
               s.family AS student_family, s.arch_family AS student_arch_family, s.params AS student_params,
               s.top1 AS student_top1, s.dataset AS student_dataset,
               t.family AS teacher_family, t.arch_family AS teacher_arch_family, t.params AS teacher_params,
               t.top1 AS teacher_top1, t.dataset AS teacher_dataset,
               coalesce(t.dataset <> s.dataset, false) AS teacher_domain_shifted,
               p.entropy_norm AS pair_entropy_norm, p.kappa AS pair_kappa
        FROM last l JOIN agg a USING (run)
        LEFT JOIN rates r USING (run)
        LEFT JOIN models s ON s.name = l.student
        LEFT JOIN models t ON t.name = l.teacher
        LEFT JOIN pairs p ON p.teacher = l.teacher AND p.student = l.student""")

    parts = [f"SELECT {_q(results.name)} AS dataset, method, teacher, student, is_multi, delta_acc, delta_transf "
             f"FROM transfer_final"]
    for extra in extra_results or []:
        extra = extra.resolve()
        if not extra.is_dir():
            raise GktError(f"extra results folder {extra} does not exist (gkt db --extra-results): give results/<dataset>")
        if extra == results:
            continue
        src, n = _source(extra, _rel(extra, db_dir), "transfer/*/*/metrics.parquet", reader, "")
        if not n:
            log.warning("%s holds no transfer results: left out of transfer_datasets", extra)
            continue
        parts.append(
            f"SELECT {_q(extra.name)} AS dataset, method, teacher, student, starts_with(method, 'multi_') AS is_multi, "
            f"acc_teacher - acc_student AS delta_acc, delta_transf FROM {src} "
            f"QUALIFY row_number() OVER (PARTITION BY filename ORDER BY epoch DESC) = 1")
    add("transfer_datasets", "transfer", "\nUNION ALL BY NAME\n".join(parts))
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
    con.execute(f"COMMENT ON VIEW {view.name} IS {_q(' '.join(lines))}")
    for c in actual:
        if c in view.columns:
            con.execute(f'COMMENT ON COLUMN {view.name}."{c}" IS {_q(view.columns[c])}')


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
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"SET file_search_path = {_q(str(db_dir))}")
            for view in views:
                try:
                    con.execute(f"CREATE VIEW {view.name} AS {view.sql}")
                except duckdb.Error as e:
                    raise GktError(f"cannot create view {view.name} over {view.source} in {results}: "
                                   f"{str(e).splitlines()[0]}; check those files (rerun stage {view.stage})") from None
                _comment(con, view)
            con.execute("CREATE TABLE gkt_views (view VARCHAR, stage VARCHAR, source VARCHAR, files INTEGER, doc VARCHAR)")
            con.executemany("INSERT INTO gkt_views VALUES (?, ?, ?, ?, ?)",
                            [(v.name, v.stage, v.source, v.files, v.doc) for v in views])
            con.execute("COMMENT ON TABLE gkt_views IS 'The views of this database: the stage whose outputs each reads, "
                        "its source files (relative to the database folder) and how many matched at build time "
                        "(0 = empty view until the stage has run and the database is rebuilt).'")
            import gkt

            info = {"dataset": results.resolve().name, "results": _rel(results.resolve(), db_dir),
                    "built_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                    "gkt_version": gkt.__version__, "duckdb_version": duckdb.__version__,
                    "extra_results": ",".join(_rel(Path(e).resolve(), db_dir) for e in extra_results or [])}
            con.execute("CREATE TABLE gkt_info (key VARCHAR, value VARCHAR)")
            con.executemany("INSERT INTO gkt_info VALUES (?, ?)", list(info.items()))
            con.execute("COMMENT ON TABLE gkt_info IS 'Build information: dataset, results folder, build time, versions.'")
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
    con.execute(f"SET file_search_path = {_q(str(db.resolve().parent))}")
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
