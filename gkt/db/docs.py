"""The documentation of the results database, its single source: one sentence per view and one
per column (written into the database as COMMENT ON VIEW / COLUMN by gkt.db.build), the two
description tables, and the prose around them, from which `database_md()` generates
docs/database.md (`gkt db --docs > docs/database.md`; tests/test_db.py fails when the checked-in
file differs).

Plain constants (and two string functions): the CLI imports this module at start-up.
"""
from __future__ import annotations

import re

# view -> (what the view holds, {column: meaning}), in creation order; the columns in the view's order.
# The columns of transfer_final, which transfer_in_domain shares.
TRANSFER_FINAL_COLUMNS = {
    "run": "run directory", "method": "transfer method",
    "objective": "transfer loss of the run as recorded in its metrics (transfer_metrics.objective): the method "
                 "for single-teacher runs, the loss used for multi-teacher runs",
    "teacher": "teacher(s)", "student": "student", "n_teachers": "teachers", "is_multi": "multi-teacher run",
    "epochs": "last epoch", "acc": "final val top-1", "acc_student": "initial student top-1",
    "acc_teacher": "(best) teacher top-1", "delta_acc": "acc_teacher - acc_student",
    "delta_transf": "acc - acc_student", "success": "delta_transf > 0", "gain": "knowledge gain", "loss": "knowledge loss",
    "delta_transf_se": "standard error of delta_transf (paired proportions: sqrt(gain + loss - delta_transf^2) / sqrt(n))",
    "delta_transf_lo": "delta_transf - 1.96 delta_transf_se (normal 95 % interval)",
    "delta_transf_hi": "delta_transf + 1.96 delta_transf_se",
    "mcnemar_p": "exact two-sided McNemar p-value of gained vs lost val samples",
    "significant": "mcnemar_p < 0.05", "significant_success": "delta_transf > 0 and significant",
    "rho_pos_initial": "rho_pos before transfer", "rho_neg_initial": "rho_neg before transfer",
    "rho_pos": "rho_pos after", "rho_neg": "rho_neg after", "delta_rho_pos": "rho_pos change",
    "delta_rho_neg": "rho_neg change",
    "dp_pos_to_teacher": "mean over the rows after epoch 0 (each covering the epochs since the one before) of the DP share of positive flips routed to the teacher",
    "dp_neg_to_teacher": "mean over the rows after epoch 0 (each covering the epochs since the one before) of the DP share of negative flips routed to the teacher",
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
}

VIEWS: dict[str, tuple[str, dict[str, str]]] = {
    "models": (
        "Zoo models, one row per zoo/<model>.json record (gkt.zoo.store.ModelRecord).",
        {
            "name": "model name", "arch": "timm architecture", "source": "train | timm | file | random | finetune",
            "family": "cnn | transformer | mlp | hybrid", "arch_family": "architecture family, e.g. resnet",
            "params": "number of parameters", "params_m": "parameters in millions",
            "num_classes": "classes of the classifier head", "dataset": "dataset the model was made for",
            "weights_hash": "sha256 prefix of the weights", "top1": "val top-1 accuracy (fraction 0..1): the record's (measured after training or fine-tuning here, or timm's results table), else logits_top1 (the random-init control, pretrained models without a results table)",
            "logits_top1": "val top-1 accuracy measured from the val logits cache (NULL without a cache, or when the cache was made by another model or other weights than the record's)",
            "top1_gap": "logits_top1 - top1 for timm models whose top1 is timm's results-table value "
                        "(dataset.timm_results), else NULL; the logits stage logs a gap over 0.003 (0.3 pp)",
            "kwargs": "timm create_model kwargs (JSON)", "recipe": "training recipe (JSON)", "seed": "seed",
            "train_seconds": "training time in seconds", "file": "weights file for source=file",
            "train_samples": "samples key (ids and labels) of the train split the model was trained (or fine-tuned) on; NULL if not trained here",
            "base_zoo": "source finetune: zoo folder of the model it was fine-tuned from",
            "base_model": "source finetune: the model it was fine-tuned from",
            "base_source": "source finetune: source of the model its chain of bases starts from (timm/file: pretrained)",
            "base_dataset": "source finetune: dataset the base model was made for (dataset: the one it was fine-tuned on)",
            "base_weights_hash": "source finetune: weights hash of the base model when it was fine-tuned",
            "tune": "source finetune: what was fine-tuned, head (the classification layer) or all (the whole network)",
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
            "rho_pos_lo": "lower end of the 95 % bootstrap interval of rho_pos over the val samples "
                          "(docs/method.md#bootstrap-intervals-of-pair-statistics)",
            "rho_pos_hi": "upper end of that interval", "rho_neg_lo": "lower end of the 95 % bootstrap interval of rho_neg",
            "rho_neg_hi": "upper end of that interval", "kappa_lo": "lower end of the 95 % bootstrap interval of kappa",
            "kappa_hi": "upper end of that interval",
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
            "loss": "samples right before, wrong now / n", "delta_transf_se": "standard error of delta_transf at this epoch",
            "mcnemar_p": "exact two-sided McNemar p-value of gained vs lost samples at this epoch", "rho_pos": "positive flips of the teacher over the current student / n",
            "rho_neg": "negative flips / n", "delta_rho_pos": "rho_pos now - rho_pos before", "delta_rho_neg": "rho_neg now - rho_neg before",
            "dp_pos_to_teacher": "share of positive-flip training samples DP routed to the teacher over the epochs since the previous row (NaN without DP)",
            "dp_neg_to_teacher": "share of negative-flip training samples routed to the teacher over the epochs since the previous row (NaN without DP)",
            "seconds": "wall time of the epoch", "lr": "learning rate", "temperature": "KL temperature",
            "lam": "KL weight lambda",
            "run": "run directory '<method>/<teacher>__<student>'; multi-teacher runs '<method>-<objective>/<t1+t2+...>__<student>' "
                   "(gkt/transfer/vocabulary.py; an old-layout 'multi_<mode>/...' folder is left out where a current one holds the same run)",
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
        TRANSFER_FINAL_COLUMNS,
    ),
    "transfer_in_domain": (
        "transfer_final without the runs whose teacher was made for another dataset than the student's "
        "(teacher_domain_shifted: Fig. 10's experiment): transfer within one data set, as the paper's Figs. 4-8 and "
        "Tabs. 1-3, 7, 8 show it. Every within-dataset figure, table and finding reads this view.",
        TRANSFER_FINAL_COLUMNS,
    ),
    "transfer_datasets": (
        "Final epoch of every single- and multi-teacher run of this results folder and of the folders given to "
        "`gkt db --extra-results` (other datasets: Fig. 9), runs with a domain-shifted teacher left out (they are "
        "Fig. 10's experiment, not transfer within a data set).",
        {
            "dataset": "results folder name", "method": "transfer method", "teacher": "teacher(s)", "student": "student",
            "is_multi": "multi-teacher run", "delta_acc": "acc_teacher - acc_student", "delta_transf": "transfer delta",
        },
    ),
    "all_pairs": (
        "Pair-level statistics of every ordered pair of zoo models on the val split (docs/method.md#all-pairs; "
        "recommend/all_pairs.parquet), beside the sampled study of view pairs (the paper's Fig. 1 population). "
        "Fractions 0..1.",
        {
            "teacher": "teacher model", "student": "student model", "n": "val samples", "acc_t": "teacher top-1",
            "acc_s": "student top-1", "delta_acc": "acc_t - acc_s",
            "rho_pos": "positive flips / n (teacher right, student wrong)", "rho_neg": "negative flips / n",
            "kappa": "Cohen's kappa error consistency", "pos_flips": "positive flips", "neg_flips": "negative flips",
            "teacher_is_control": "teacher is a random-init control", "student_is_control": "student is a random-init control",
            "in_study": "the pair is in the sampled study (view pairs)",
        },
    ),
    "teacher_ranking": (
        "Every zoo model ranked as a KL+DP teacher for every student (docs/method.md#teacher-ranking; "
        "recommend/ranking.parquet): score = predicted KL+DP delta_transf = intercept + coef_rho_pos * rho_pos + "
        "coef_rho_neg * rho_neg + coef_dp_route * dp_route, fitted on the KL+DP runs of the other students only.",
        {
            "student": "student model", "teacher": "candidate teacher",
            "rank": "1 = recommended first (ties by teacher name); NULL: not scored (a feature is missing)",
            "score": "what the ranking sorts by: predicted_delta_transf, or rho_pos when scorer = 'rho_pos'",
            "predicted_delta_transf": "predicted KL+DP transfer delta (fraction; NULL when scorer = 'rho_pos')",
            "scorer": "fit (least squares on the other students' runs) | rho_pos (too few runs to fit)",
            "measured_delta_transf": "delta_transf of the pair's KL+DP run (transfer/kl_dp), NULL without one",
            "probe_delta_transf": "delta_transf of the pair's probe on held-out train images (view recommend_probes; "
                                  "the probe ranker's score), NULL without one",
            "rho_pos": "positive flips / n on val", "rho_neg": "negative flips / n on val", "kappa": "Cohen's kappa on val",
            "delta_acc": "acc_t - acc_s on val",
            "dp_route": "share of the transfer set KL+DP would distil from the teacher (its true-class probability above "
                        "the frozen student's); NULL without both train-split logits caches",
            "acc_t": "teacher val top-1", "acc_s": "student val top-1", "teacher_family": "teacher family",
            "teacher_params": "teacher parameters", "teacher_is_control": "teacher is a random-init control",
            "fit_runs": "KL+DP runs the student's model was fitted on (0: rule)",
            "fit_students": "students those runs come from (never the ranked student)",
            "intercept": "fitted intercept a", "coef_rho_pos": "fitted slope of rho_pos",
            "coef_rho_neg": "fitted slope of rho_neg", "coef_dp_route": "fitted slope of dp_route",
        },
    ),
    "recommend_validation": (
        "Leave-one-student-out validation of the teacher ranking against the measured KL+DP runs "
        "(docs/method.md#validating-the-ranking; recommend/validation.parquet): per student with 2+ measured teachers "
        "and a fitted ranking, and over all of them (student NULL), for the model, the probes and three baselines, on "
        "the teachers with a measured run (the probe ranker only for students whose measured teachers were all probed).",
        {
            "student": "student (NULL: mean over the validated students)",
            "ranker": "model (predicted delta_transf) | random (expected values) | most_accurate (highest acc_t) | "
                      "highest_rho_pos | probe (highest probe_delta_transf)",
            "students": "students in the row", "teachers": "measured teachers in the row",
            "spearman": "Spearman correlation of the ranker's score with the measured delta_transf (NULL when undefined; "
                        "overall: mean over students)",
            "top1_hit": "1 if the top-ranked teacher has the best measured delta_transf (random: the chance of that; "
                        "overall: the share of students)",
            "regret": "best measured delta_transf - that of the top-ranked teacher (random: - the mean; overall: mean)",
            "picked_teacher": "the ranker's top teacher (NULL for random and overall)",
            "picked_delta_transf": "its measured delta_transf (random: the mean)", "best_teacher": "best measured teacher",
            "best_delta_transf": "its delta_transf",
        },
    ),
    "recommend_improve": (
        "Sequential KL+DP transfer from a student's top-K teachers by a ranker against single KL+DP transfer from the "
        "top one (docs/method.md#improving-a-student; recommend/improve/<student>__top<K>[__<ranker>]/improve.parquet).",
        {
            "student": "student model", "k": "teachers used",
            "ranker": "whose top K: model (the fitted score) | probe | most_accurate | highest_rho_pos",
            "teachers": "the top-K teachers in ranked order, joined by '+'",
            "order_used": "the sequential order (val accuracy, weakest first), joined by '+'",
            "sequential_delta_transf": "delta_transf of the sequential run",
            "top_teacher": "the ranker's top teacher", "top_single_delta_transf": "delta_transf of single KL+DP from it",
            "top_single_run": "folder of that single run, relative to the results folder",
            "gain_over_top_single": "sequential_delta_transf - top_single_delta_transf",
            "best_single_delta_transf": "best delta_transf of single KL+DP runs from the K teachers with these settings",
            "epochs_per_teacher": "epochs of each step and of the single run",
        },
    ),
    "recommend_probes": (
        "Probes: short KL+DP runs from a student's candidate teachers, read on held-out train images, never on val "
        "(docs/method.md#probe-ranking; recommend/probe/<student>.parquet, one row per probe).",
        {
            "student": "student model", "teacher": "probed candidate teacher",
            "probe_delta_transf": "the probe's score: accuracy after the probe - before, on the held-out slice",
            "probe_delta_transf_se": "its standard error (paired: from the shares of images turned right and wrong); "
                                     "probes closer than about two of these are not told apart by the slice",
            "gain": "share of the slice the probe turned right", "loss": "share of the slice it turned wrong",
            "acc_before": "student accuracy on the slice before", "acc_after": "after the probe",
            "epochs": "the probe's epochs", "run_epochs": "the full KL+DP run's epochs",
            "transfer_images": "images of the probe's transfer set",
            "holdout_images": "images of the held-out slice (train split, outside the probe's transfer set)",
            "seconds": "wall time of the probe when it ran (setup, training, reading)",
            "folder": "the probe's run folder (its metrics.parquet), relative to the results folder",
        },
    ),
}

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
  documented in `gkt/db/build.py`. The documentation of the views and their columns is
  `gkt/db/docs.py`, from which this page is generated: `gkt db --docs > docs/database.md` (a test fails
  when the two differ). The columns of the zoo records follow the fields of `gkt.zoo.record.ModelRecord`.

Two tables describe the database: `gkt_views` (`view, stage, source, files, doc`) and `gkt_info`
(`key, value`: dataset, results folder, build time, versions, extra results).

Units: accuracies, flip rates, gain and loss are fractions 0..1 in the views; the figure queries
(`gkt/sql/*.sql`) convert to % / percentage points.

"""

OUTRO = """\
**Objective of multi-teacher runs.** The `method` of a `multi_*` run names the mode; the transfer loss
it used (`kl_dp`, `kl`, ...) is recorded by the transfer writer as `objective` in every metrics row
(single-teacher runs: equal to `method`), and `transfer_final.objective` is that column. Tables 4 and 9
select multi-teacher runs by it.

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
stage)], empty=...)` in `gkt/figures/plots.py` and `tables.py`; `list_figures()`, `get_figure(id)`). One
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
  (which select its rows of objective `kl_dp` and `kl`). index.html shows it below the figure's SQL.
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
