# Shared names of every rule file; the helpers behind them live in gkt.workflow.
import dataclasses
import json
import os

from gkt.transfer.jobs import Job
from gkt.transfer.settings import resolve
from gkt.workflow import as_json, model_fragment, rule_resources, rule_threads

# results/<DS>, figures/<DS>: the dataset, unless the config names the run otherwise.
DS = config.get("name", config["dataset"]["name"])
RESULTS = f"results/{DS}"
ZOO_DIR = f"{RESULTS}/zoo"
MODELS = [m["name"] for m in config["zoo"]]
CONTROL = config.get("control")
DATASET_JSON = as_json(config["dataset"])

# The software environment of every rule is the gkt package with its pinned torch/timm.
GKT_ENV = "../envs/gkt.yaml"

# Each rule file adds the outputs that `all` must build.
TARGETS = []


# Helpers of the rule files (Snakemake keeps functions out of files with rules). They read the names
# each rule file defines (TRANSFER, TRANSFER_DIR, TRANSFER_FILES, TRANSFER_JOBS, TRANSFER_OUTPUTS)
# when they are called, after all files are included.


def transfer_config(method):
    return resolve(method, TRANSFER.get("defaults"), TRANSFER.get("hparams"))


def transfer_files(path):
    return [f"{TRANSFER_DIR}/{path}/{name}" for name in TRANSFER_FILES]


def transfer_inputs(method, models):
    """Zoo records and val caches of every model; train caches too when targets are cached."""
    cfg = transfer_config(method)
    files = [f"{ZOO_DIR}/{m}.json" for m in models] + [f"{RESULTS}/logits/val/{m}.parquet" for m in models]
    if cfg.targets == "cached":
        files += [f"{RESULTS}/logits/train/{m}.parquet" for m in models]
    return files


def multi_job(w, mode=None):
    path = f"multi_{mode or w.mode}/{w.teachers}__{w.student}"
    if path not in TRANSFER_JOBS:
        raise ValueError(f"{path} is not a configured multi-teacher run: add it under transfer.multi")
    return TRANSFER_JOBS[path]


def planned_transfer_files(wildcards):
    """The random runs' results, known once the checkpoint has drawn the pairs."""
    with open(checkpoints.transfer_plan.get().output[0]) as f:
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
        + [f"{RESULTS}/logits/val/{m}.parquet" for m in MODELS]
        + complementary
        + transfer_outputs(wildcards)
    )
