# Shared names of every rule file, included first; the helpers behind them live in gkt.workflow.
# It defines, for every later file, the names DS, RESULTS, ZOO_DIR, LOGITS_DIR, MODELS, CONTROL,
# DATASET_JSON, EVAL_SIZE, GKT_ENV, TARGETS (each rule file adds to it), STUDIES and STUDY_RESULTS; the transfer section's TRANSFER,
# TRANSFER_DIR, TRANSFER_FILES, TRANSFER_JOBS, TRANSFER_OUTPUTS (transfer.smk adds to it), RANKS and
# TRAIN_CACHE_MODELS;
# RECOMMEND_OUTPUTS (recommend.smk adds to it); the
# modules dataclasses, json, os and vocab; and the input functions zoo_base_record, transfer_config, transfer_files,
# train_cache_models, transfer_inputs, multi_job, planned_transfer_files, planned_transfer_metrics, transfer_outputs
# and database_inputs. No name used here or in a rule file comes from a file included after it.
import dataclasses
import json
import os

from gkt.config import check_studies, results_name
from gkt.transfer import vocabulary as vocab
from gkt.recommend.jobs import ranks
from gkt.transfer.jobs import Job, explicit_jobs, random_runs
from gkt.transfer.settings import resolve
from gkt.workflow import as_json, model_fragment, quiet_terminal_full_log, rule_resources, rule_threads

# Job blocks go to Snakemake's log, not the terminal (workflow/profiles/default/config.yaml).
quiet_terminal_full_log(workflow.logger_manager)

# results/<DS>, figures/<DS>: the dataset, unless the config names the run otherwise.
DS = results_name(config)
RESULTS = f"results/{DS}"
ZOO_DIR = f"{RESULTS}/zoo"
LOGITS_DIR = f"{RESULTS}/logits"
MODELS = [m["name"] for m in config["zoo"]]
CONTROL = config.get("control")
DATASET_JSON = as_json(config["dataset"])
# One evaluation convention for the logits caches and the transfer runs that read them.
EVAL_SIZE = config["logits"]["eval_size"]

# The software environment of every rule is the gkt package with its pinned torch/timm.
GKT_ENV = "../envs/gkt.yaml"

# Each rule file adds the outputs that `all` must build.
TARGETS = []

# Other configs run beside this one (config key studies:, checked here like this config): the Snakefile
# includes each as a module of this workflow, its rules renamed <name>_*; their transfer runs join this
# config's database (gkt db --extra-results: Fig. 9), which therefore waits for their databases.
STUDIES = check_studies(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml", workflow.basedir, validate)
STUDY_RESULTS = [study.results for study in STUDIES]


# The config's `transfer:` section (gkt/transfer/jobs.py): its explicit jobs by path, and every
# run's metrics.parquet (entries may be input functions of the transfer_plan checkpoint), to which
# transfer.smk adds.
TRANSFER = config.get("transfer") or {}
TRANSFER_DIR = f"{RESULTS}/transfer"
TRANSFER_FILES = ("metrics.parquet", "per_class.parquet", "logits.parquet", "student.safetensors")
TRANSFER_JOBS = {job.path: job for job in explicit_jobs(TRANSFER, MODELS)}
# Whether the teacher ranking runs (gkt.recommend.jobs.ranks); TRAIN_CACHE_MODELS (below the helpers)
# follows from it.
RANKS = ranks(config)
TRANSFER_OUTPUTS = []
# The recommend stage's outputs (recommend.smk adds them), which the database reads.
RECOMMEND_OUTPUTS = []


# Helpers of the rule files (Snakemake keeps functions out of files with rules).


def zoo_base_record(w):
    """A fine-tuned model's base (gkt/zoo/finetune.py): its zoo job waits for the base's zoo record, which may
    be another config's (a study of this workflow, or a results folder made before)."""
    base = next(m for m in config["zoo"] if m["name"] == w.model).get("base")
    return [f"{base['zoo']}/{base['model']}.json"] if base else []


def transfer_config(method):
    return resolve(method, TRANSFER.get("defaults"), TRANSFER.get("hparams"))


def transfer_files(path):
    return [f"{TRANSFER_DIR}/{path}/{name}" for name in TRANSFER_FILES]


def train_cache_models(method, teachers, student):
    """The models whose train-split cache a run reads: all of them when its targets are cached."""
    return [*teachers, student] if transfer_config(method).targets == "cached" else []


def transfer_inputs(method, teachers, student):
    """Named inputs (for unpack): zoo records and val caches of the student and the teachers, train
    caches of all of them when targets are cached. The rules read the zoo and logits folders from
    `student_record` and `student_val`."""
    files = {
        "student_record": f"{ZOO_DIR}/{student}.json",
        "teacher_records": [f"{ZOO_DIR}/{m}.json" for m in teachers],
        "student_val": f"{LOGITS_DIR}/val/{student}.parquet",
        "teacher_val": [f"{LOGITS_DIR}/val/{m}.parquet" for m in teachers],
    }
    if train := train_cache_models(method, teachers, student):
        files["train"] = [f"{LOGITS_DIR}/train/{m}.parquet" for m in train]
    return files


# The models whose train-split cache a stage reads: every model when the ranking runs (it reads them all)
# or runs are drawn at run time, else those the configured runs read (at paper scale a train cache is a
# pass over the transfer split).
_TRAIN_READ = {m for job in TRANSFER_JOBS.values()
               for m in train_cache_models(job.loss or job.method, job.teachers, job.student)}
TRAIN_CACHE_MODELS = MODELS if RANKS or random_runs(TRANSFER) else [m for m in MODELS if m in _TRAIN_READ]


def batch_inputs(jobs):
    """The inputs of several single-teacher runs (transfer_batch.smk): their transfer_inputs merged into
    zoo records, val caches and train caches of every model they involve."""
    merged = {"records": set(), "val": set(), "train": set()}
    for job in jobs:
        files = transfer_inputs(job.method, job.teachers, job.student)
        merged["records"] |= {files["student_record"], *files["teacher_records"]}
        merged["val"] |= {files["student_val"], *files["teacher_val"]}
        merged["train"] |= set(files.get("train", []))
    return {name: sorted(paths) for name, paths in merged.items()}


def multi_job(w, mode=None):
    """The configured multi-teacher job of a multi_<mode>-<objective>/<teachers>__<student> folder."""
    path = vocab.run_path(vocab.multi_method(mode or w.mode), w.teachers, w.student, w.objective)
    if path not in TRANSFER_JOBS:
        raise ValueError(f"{path} is not a configured multi-teacher run: add it under transfer.multi")
    return TRANSFER_JOBS[path]


def planned_transfer_files(wildcards):
    """The random runs' results, known once the checkpoint has drawn the pairs."""
    with open(checkpoints.transfer_plan.get().output.plan) as f:
        return [p for job in json.load(f) for p in transfer_files(Job(**job).path)]


def planned_transfer_metrics(wildcards):
    return [p for p in planned_transfer_files(wildcards) if os.path.basename(p) == "metrics.parquet"]


def transfer_outputs(wildcards):
    """Every transfer run's metrics.parquet, the randomly planned ones once the checkpoint has run."""
    files = []
    for item in TRANSFER_OUTPUTS:
        found = item(wildcards) if callable(item) else item
        files += [found] if isinstance(found, str) else list(found)
    return files


def database_inputs(wildcards):
    complementary = [
        f"{RESULTS}/complementary/{name}.parquet"
        for name in ("pairs", "per_class", "semantic", "class_embeddings")
    ]
    return (
        [f"{ZOO_DIR}/{m}.json" for m in MODELS]
        + [f"{LOGITS_DIR}/val/{m}.parquet" for m in MODELS]
        + complementary
        + transfer_outputs(wildcards)
        + [f"{results}/gkt.duckdb" for results in STUDY_RESULTS]
        + RECOMMEND_OUTPUTS
    )
