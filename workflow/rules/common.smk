# Shared names of every rule file, included first (the Snakefile says why the order of the others
# matters where it does); the helpers behind them live in gkt.workflow. The names: DS, RESULTS,
# ZOO_DIR, LOGITS_DIR, MODELS, CONTROL, DATASET_JSON, EVAL_SIZE, GKT_ENV, STUDIES, STUDY_RESULTS; the
# transfer section's TRANSFER, TRANSFER_DIR, TRANSFER_FILES, TRANSFER_JOBS, RANKS, TRANSFER_RESOURCES,
# MODEL_RE and TRAIN_CACHE_MODELS; the recommend section's IMPROVE_JOBS and PROBE_JOBS; the input functions and helpers zoo_base_record, transfer_config,
# transfer_files, train_cache_models, transfer_inputs, batch_inputs, multi_job, planned_transfer_files,
# transfer_outputs, transfer_run_files, recommend_outputs, database_inputs and final_outputs (every
# target of `all`, built from the config); the modules dataclasses, functools, json, os and vocab.
import dataclasses
import functools
import json
import os

from snakemake.settings.enums import RerunTrigger

from gkt.workflow.config import check_studies, results_name
from gkt.transfer import vocabulary as vocab
from gkt.recommend.jobs import improve_folder, improve_jobs, probe_jobs, ranks
from gkt.transfer.jobs import Job, explicit_jobs, random_runs
from gkt.transfer.settings import resolve
from gkt.workflow import as_json, model_fragment, quiet_terminal_full_log, rule_resources, rule_threads, sql_key

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

# Other configs run beside this one (config key studies:, checked here like this config): the Snakefile
# includes each as a module of this workflow, its rules renamed <name>_*; their transfer runs join this
# config's database (gkt db --extra-results: Fig. 9), which therefore waits for their databases.
STUDIES = check_studies(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml", workflow.basedir, validate)
STUDY_RESULTS = [study.results for study in STUDIES]


# The config's `transfer:` section (gkt/transfer/jobs.py): its explicit jobs by path.
TRANSFER = config.get("transfer") or {}
TRANSFER_DIR = f"{RESULTS}/transfer"
TRANSFER_FILES = ("metrics.parquet", "per_class.parquet", "logits.parquet", "student.safetensors")
TRANSFER_JOBS = {job.path: job for job in explicit_jobs(TRANSFER, MODELS)}
# Whether the teacher ranking runs (gkt.recommend.jobs.ranks); TRAIN_CACHE_MODELS (below the helpers)
# follows from it.
RANKS = ranks(config)
# The recommend section's jobs (gkt/recommend/jobs.py; checked with the config, in the Snakefile).
IMPROVE_JOBS = improve_jobs(config)
PROBE_JOBS = probe_jobs(config)
# Every job that trains a student (transfer.smk, transfer_batch.smk, recommend.smk's improve).
TRANSFER_RESOURCES = rule_resources(config, "transfer", mem_mb=4000, runtime=60, gpu=TRANSFER.get("gpu", 1))
MODEL_RE = vocab.MODEL_RE  # a model name in a wildcard


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
               for m in train_cache_models(job.method, job.teachers, job.student)}
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
    """The configured multi-teacher job of a multi_<mode>-<method>/<teachers>__<student> folder."""
    path = vocab.run_path(w.method, w.teachers, w.student, mode or w.mode)
    if path not in TRANSFER_JOBS:
        raise ValueError(f"{path} is not a configured multi-teacher run: add it under transfer.multi")
    return TRANSFER_JOBS[path]


def planned_transfer_files(wildcards):
    """The random runs' results, known once the checkpoint has drawn the pairs."""
    with open(checkpoints.transfer_plan.get().output.plan) as f:
        return [p for job in json.load(f) for p in transfer_files(Job(**job).path)]


def transfer_outputs(wildcards):
    """Every transfer run's metrics.parquet, the randomly planned ones once the checkpoint has run:
    the database and figures are rebuilt when one changes."""
    return [p for p in transfer_run_files(wildcards) if os.path.basename(p) == "metrics.parquet"]


def transfer_run_files(wildcards):
    """Every file of every transfer run of the config (explicit and, once planned, random)."""
    files = [p for job in TRANSFER_JOBS.values() for path in job.paths for p in transfer_files(path)]
    return files + (planned_transfer_files(wildcards) if random_runs(TRANSFER) else [])


def recommend_outputs():
    """The recommend stage's outputs (recommend.smk), which the database reads."""
    ranking = [rules.recommend.output.ranking, rules.recommend.output.validation] if RANKS else []
    probes = expand(rules.probe.output.probes, student=PROBE_JOBS)
    improve = [rules.improve.output.improve.format(folder=improve_folder(*job)) for job in IMPROVE_JOBS]
    return [rules.all_pairs.output.all_pairs, *ranking, *probes, *improve]


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
        + recommend_outputs()
    )


@functools.cache
def logits_config_unchanged():
    """Without the params trigger (--rerun-triggers mtime, a cluster habit) Snakemake cannot see a changed
    data set or logits setting: the geometry table and the caches record what they were made for, and a
    difference ends the run before any job rather than leaving old results in place as if current. Run
    by the logits input functions (logits.smk, whose LOGITS_GROUPS it reads): the rerun triggers are
    known only once the DAG is being built. Once per process: it reads the footer of every cache, and
    every logits job's input function asks."""
    if RerunTrigger.PARAMS not in workflow.rerun_triggers and (changed := LOGITS_GROUPS.config_changed()):
        raise SystemExit(
            f"gkt: error: {changed} than the config, and rerun triggers without params do not rerun jobs for "
            "a changed config: run this once with --rerun-triggers mtime params"
        )


def final_outputs(wildcards):
    """Every output `all` builds, from the config (the one home of the targets; the rule files add to
    no shared list). An input function, called when the DAG is built: every rule exists by then, so the
    include order of the rule files does not matter here."""
    return (
        expand(rules.zoo_model.output.record, model=MODELS)
        + expand(rules.logits.output[0], split="val", model=MODELS)
        + [rules.complementary.output.pairs, rules.semantic.output.semantic]
        + transfer_run_files(wildcards)
        + recommend_outputs()
        + [rules.database.output.db, rules.figures.output.index]
    )
