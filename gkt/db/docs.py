"""The documentation of the results database: one sentence per view and one per column, read from each
view's SQL file (written into the database as COMMENT ON VIEW / COLUMN by gkt.db.build), the two
description tables, and the prose around them, from which `database_md()` generates
docs/database.md (`gkt db --docs > docs/database.md`; tests/test_db.py fails when the checked-in
file differs).

Light (YAML and the package's own files): the CLI imports this module at start-up.
"""
from __future__ import annotations

import re
from importlib import resources

import yaml

# The views in creation order (a view reads only those before it). Each view's documentation lives with its
# SQL, gkt/sql/views/<view>.sql, in a YAML block comment at its top: `doc` (what the view holds) and
# `columns` ({column: meaning}, in the view's order), or `columns_of: <view>` for a view with another's columns;
# with `columns_like: <view>`, a column left without a meaning has the one it has in that view.
VIEW_ORDER = (
    "models", "pairs", "per_class", "semantic", "class_embeddings", "classes", "transfer_metrics",
    "transfer_per_class", "transfer_final", "transfer_in_domain", "transfer_datasets", "all_pairs",
    "teacher_ranking", "recommend_validation", "recommend_improve", "recommend_probes",
)
DOC_BLOCK = re.compile(r"\A/\*---\n(?P<yaml>.*?)---\*/\n", re.S)


def view_file(name: str) -> str:
    """The text of gkt/sql/views/<name>.sql, documentation block included."""
    return resources.files("gkt").joinpath("sql", "views", f"{name}.sql").read_text()


def _view_docs() -> dict[str, tuple[str, dict[str, str]]]:
    docs = {}
    for name in VIEW_ORDER:
        block = DOC_BLOCK.match(view_file(name))
        if block is None:
            raise ValueError(f"gkt/sql/views/{name}.sql has no documentation block /*--- doc: ... ---*/ at its top")
        entry = yaml.safe_load(block["yaml"])
        columns = docs[entry["columns_of"]][1] if "columns_of" in entry else entry["columns"]
        if like := entry.get("columns_like"):
            columns = {c: docs[like][1][c] if meaning is None else meaning for c, meaning in columns.items()}
        docs[name] = (entry["doc"], columns)
    return docs


# view -> (what the view holds, {column: meaning}), in creation order.
VIEWS: dict[str, tuple[str, dict[str, str]]] = _view_docs()

# The two tables describing the database (COMMENT ON TABLE).
TABLES = {
    "gkt_views": "The views of this database: the stage whose outputs each reads, its source files (relative to the "
                 "database folder) and how many matched at build time (0 = empty view until the stage has run and the "
                 "database is rebuilt).",
    "gkt_info": "Build information: dataset, results folder, build time, versions.",
}

INTRO = """\
# The results database and the figures

`results/<dataset>/gkt.duckdb` is a [DuckDB](https://duckdb.org) database of **views** over every output
of the pipeline: the zoo records, the logits caches' metadata, the complementary-knowledge tables and all
transfer runs. It holds no data itself (under 1 MB), so it always shows the files as they are now: a new
transfer run appears in `transfer_metrics` without a rebuild. `gkt figures` renders every figure and
table of the paper from this database alone.

```
gkt db --results results/mnist5k                       # (re)build results/mnist5k/gkt.duckdb
gkt query "SELECT * FROM gkt_views"                     # default --db: the main data set's (gkt query --help)
gkt query "SELECT ..." --format csv|json|table          # table is the default
gkt query "SELECT ..." --format parquet --out x.parquet
gkt figures                                             # figures/mnist5k/*.png|pdf|md|csv + index.html
gkt figures --only 4b tab1                              # a few (index.html is left as it is)
gkt figures --list                                      # the ids
snakemake results/mnist5k/gkt.duckdb figures/mnist5k/index.html   # rules `database`, `figures` (part of `all`)
duckdb -readonly results/mnist5k/gkt.duckdb             # the DuckDB command line, from any folder
python -c 'import gkt; print(gkt.results("results/mnist5k").sql("FROM pairs").pl())'   # polars, e.g. in a notebook
```

## How it is built

* `gkt db` writes the database to a temporary file beside the target and renames it over the old one,
  so readers never see a half-built database. The Snakemake rule `database` reruns it whenever one of
  the pipeline's outputs changes (zoo records, val logits caches, complementary tables, transfer
  `metrics.parquet` files).
* **The database opens from anywhere and moves with its results folder.** Paths inside the views are
  relative to the database's folder (`read_parquet(gkt_results() || 'transfer/*/*/metrics.parquet')`).
  The macro `gkt_results()`, stored in the database, gives that folder when a query binds: the variable
  `gkt_results` if the connection set it (`gkt.results()`, `gkt query`, `gkt figures` do), else the folder of
  the database file, read off DuckDB's default `temp_directory` (`<database file>.tmp`). So
  `duckdb.connect("results/mnist5k/gkt.duckdb", read_only=True)` and
  `duckdb -readonly results/mnist5k/gkt.duckdb` answer every view from any working directory, and a
  copied or moved folder reads its own files. A connection that sets its own `temp_directory`, or that
  ATTACHes the database to another, runs `SET VARIABLE gkt_results = 'results/mnist5k/'` first. The file
  is written in DuckDB's v1.0 storage format, so any DuckDB from 1.0 on opens it (the `duckdb` command
  line installed with gkt, from the duckdb-cli package, included).
* **Views of stages that have not run yet are empty, with their columns and types** (built from the
  writers' Arrow schemas), so every query binds from the first stage on. `gkt_views.files` says how many
  files a view matched at build time (0 = empty until that stage has run and the database is rebuilt); the
  view's comment says so too. Derived views (`classes`, `transfer_final`, `transfer_datasets`) are built
  over the others.
* Every view carries its documentation: `SELECT view_name, comment FROM duckdb_views() WHERE NOT internal`
  for the views, `SELECT table_name, column_name, comment FROM duckdb_columns()` for their columns.
* `gkt query` opens the database read-only and runs only statements that read (SELECT, EXPLAIN): COPY … TO,
  EXPORT, ATTACH, SET and the like are refused with one line, so it writes no file; an SQL error is one line
  (`gkt: error: query failed on ...`).
* `gkt db` checks the content stamp of every Parquet file a view reads (logits caches aside, which are
  checked against their zoo record): a result rewritten or edited after gkt wrote it is refused with one
  line naming it, and no database is written. A plain `duckdb` or notebook connection reads the files as
  they are; rebuild the database (`snakemake`, or `gkt db`) to check them.
* `gkt db --extra-results results/<other>` adds the transfer runs of other datasets to
  `transfer_datasets` (Fig. 9 compares datasets).
* Each view's SQL is a file `gkt/sql/views/<view>.sql`, its sources written as placeholders `{{name}}`
  that `gkt db` replaces with the readers of the files (or the typed empty views); the placeholders are
  documented in `gkt/db/build.py`. The documentation of each view and its columns sits at the top of its
  SQL file (a YAML block, read by `gkt/db/docs.py`), from which this page is generated: `gkt db --docs >
  docs/database.md` (a test fails when the two differ). The columns of the zoo records follow the fields of `gkt.zoo.record.ModelRecord`.

Two tables describe the database: `gkt_views` (`view, stage, source, files, doc`) and `gkt_info`
(`key, value`: dataset, results folder, build time, versions, extra results).

Units: accuracies, flip rates, gain and loss are fractions 0..1 in the views; the figure queries
(`gkt/sql/*.sql`) convert to % / percentage points.

"""

OUTRO = """\
**Method and mode.** A run's `method` is the transfer method (the loss: `kl_dp`, `kl`, ...), for single- and
multi-teacher runs alike; a multi-teacher run's `mode` says how it combines its teachers (`sequential`,
`parallel`, `soup`, `soup_greedy`; NULL for single-teacher runs). Tables 4 and 9 select the multi-teacher
runs of method `kl_dp` and `kl`. The metrics files keep the columns they were written with: a multi-teacher
run's `method` column there says `multi_<mode>` and its `objective` column the method; `transfer_metrics`
reads them as `method` and `mode`.

## Example queries

Run on the 3-model micro configuration (`workflow/config/micro.yaml`: MNIST subset, one-epoch zoo)
after two 2-epoch transfer runs (`kl`, `kl_dp`, teacher `cnn`, student `vit`):

```
$ gkt query "SELECT name, family, arch, params, round(top1, 3) AS top1, is_random_init FROM models ORDER BY top1 DESC"
name     family       arch                    params    top1  is_random_init
-------  -----------  --------------------  --------  ------  ----------------
cnn      cnn          resnet10t               108130   0.691  False
vit      transformer  vit_tiny_patch16_224     15210   0.411  False
control  cnn          resnet10t               108130   0.1    True
(3 rows)
```

```
$ gkt query "SELECT teacher, student, round(100 * delta_acc, 1) AS delta_acc_pp, round(100 * rho_pos, 2) AS rho_pos_pct, round(entropy_norm, 3) AS entropy_norm, teacher_is_control FROM pairs ORDER BY student, delta_acc DESC"
teacher    student      delta_acc_pp    rho_pos_pct    entropy_norm  teacher_is_control
---------  ---------  --------------  -------------  --------------  --------------------
vit        cnn                 -28              9.1           0.763  False
control    cnn                 -59.1            4.6           0      True
cnn        vit                  28             37.1           0.875  False
control    vit                 -31.1            2.1           0      True
(4 rows)
```

```
$ gkt query "SELECT class_name, pos_flips, n_class, round(100 * pos_share, 1) AS pos_share_pct, rank FROM per_class WHERE teacher = 'cnn' AND student = 'vit' ORDER BY rank LIMIT 5"
class_name      pos_flips    n_class    pos_share_pct    rank
------------  -----------  ---------  ---------------  ------
five                   80        100               80       1
six                    65        100               65       2
four                   62        100               62       3
eight                  53        100               53       4
two                    47        100               47       5
(5 rows)
```

```
$ gkt query "SELECT method, count(*) AS runs, round(100 * avg(delta_transf), 2) AS mean_delta_transf_pp, round(100 * avg(gain), 2) AS gain_pct, round(100 * avg(loss), 2) AS loss_pct, round(100 * avg(transfer_rate), 1) AS transfer_rate_pct, any_value(student_family) AS student_family FROM transfer_final GROUP BY method ORDER BY method"
method      runs    mean_delta_transf_pp    gain_pct    loss_pct    transfer_rate_pct  student_family
--------  ------  ----------------------  ----------  ----------  -------------------  ----------------
kl             1                     0.5         2.1         1.6                  4.9  transformer
kl_dp          1                     0.2         1.5         1.3                  3.2  transformer
(2 rows)
```

```
$ gkt query "SELECT epoch, round(100 * acc, 1) AS acc_pct, round(100 * gain, 2) AS gain_pct, round(100 * loss, 2) AS loss_pct, round(100 * rho_pos, 2) AS rho_pos_pct, round(dp_pos_to_teacher, 3) AS dp_pos_to_teacher FROM transfer_metrics WHERE run = 'kl_dp/cnn__vit' ORDER BY epoch"
  epoch    acc_pct    gain_pct    loss_pct    rho_pos_pct    dp_pos_to_teacher
-------  ---------  ----------  ----------  -------------  -------------------
      0       41.1         0           0             37.1              nan
      1       41.5         0.6         0.2           36.7                0.964
      2       41.3         1.5         1.3           36.2                0.964
(3 rows)
```

```
$ gkt query "SELECT view, stage, source, files FROM gkt_views"
view                stage          source                                    files
------------------  -------------  --------------------------------------  -------
models              zoo            zoo/*.json                                    3
pairs               complementary  complementary/pairs.parquet                   1
per_class           complementary  complementary/per_class.parquet               1
semantic            semantic       complementary/semantic.parquet                1
class_embeddings    embed_classes  complementary/class_embeddings.parquet        1
classes             complementary  derived                                    NULL
transfer_metrics    transfer       transfer/*/*/metrics.parquet                  2
transfer_per_class  transfer       transfer/*/*/per_class.parquet                2
transfer_final      transfer       derived                                    NULL
transfer_datasets   transfer       derived                                    NULL
(10 rows)
```

```
$ gkt query "SELECT name, round(top1, 3) AS top1 FROM models LIMIT 2" --format csv
name,top1
control,0.1
cnn,0.691
```

## Figures and tables (`gkt figures`)

Each figure and table of the paper ([method.md](method.md#figures-and-tables)) is an SQL file `gkt/sql/<id>.sql` plus a render function
registered in `gkt.figures.registry` (`@register_figure(id, label=..., caption=..., finding=..., needs=[(view,
stage)], empty=...)` in `gkt/figures/plots.py` and `tables.py`; `gkt.figures.catalog.list_figures()`, `get_figure(id)`). One
style (`gkt/figures/style.py`) fixes sizes, fonts and the colours of methods and model families.

* Figures: `figures/<dataset>/<id>.png` (200 dpi) and `.pdf`; tables: `<id>.md` (the table shown) and
  `<id>.csv` (the query's rows, unrounded). The ids: `gkt figures --list` (the registry's, so this page
  cannot fall behind it); `--only` also takes `1a`, `Fig. 4b`, `Tab. 1`, `table9`.
* `figures/<dataset>/index.html` shows every figure and table with its caption, the paper's finding it
  tests and its SQL; it links the PNGs relatively and opens from the file system (no server, no scripts).
* A figure whose results are missing is not drawn: index.html lists it as skipped with the reason, e.g.
  `figure 4a needs results of stage transfer (view transfer_final)`; `gkt figures --only 4a` prints the
  same reason as its one-line error. Fig. 9 renders when the database holds transfer runs of a second
  dataset (`gkt db --extra-results`), Fig. 10 when a teacher's zoo record names another dataset than its
  student's (a domain-shifted teacher).
* A query several figures share is a file `gkt/sql/shared/<name>.sql` that their SQL reads as a view
  `<name>` (created on the figures' connection): `transfer_bins` bins the single-teacher runs by Δacc for
  Figs. 4b and 9, `multi_vs_single` compares multi-teacher runs with their single teachers for Tables 4 and 9
  (which select its rows of method `kl_dp` and `kl`). index.html shows it below the figure's SQL.
* `gkt figures` first reads every view once into a temporary table (per connection), so the ~20 queries
  do not each re-read all files; rendering takes about 10 s of CPU for all 21 (most of it matplotlib
  drawing each figure twice, PNG and PDF).
"""


def _markdown(text: str) -> str:
    """Documentation text as Markdown beside docs/method.md: references `docs/<file>.md#anchor` as links."""
    return re.sub(r"docs/([\w-]+\.md)((?:#[\w-]+)?)", r"[\1](\1\2)", text)


def _cell(text: str) -> str:
    return _markdown(text).replace("|", "\\|")


def view_markdown(name: str) -> str:
    """The docs/database.md section of one view: its sentence and a table of its columns."""
    doc, columns = VIEWS[name]
    rows = "".join(f"| `{c}` | {_cell(m)} |\n" for c, m in columns.items())
    return f"### `{name}`\n\n{_markdown(doc)}\n\n| column | meaning |\n|---|---|\n{rows}"


def database_md() -> str:
    """The text of docs/database.md."""
    return INTRO + "## Views\n\n" + "\n".join(view_markdown(v) for v in VIEWS) + "\n" + OUTRO
