# Paper §4–5: knowledge transfer between zoo models (SPEC.md §2–5).
# From the Snakefile / common.smk: config, DS, RESULTS, ZOO_DIR, MODELS, DATASET_JSON, TARGETS,
# as_json, rule_resources, rule_threads.
#
# One job per (method, pair) in results/<ds>/transfer/<method>/<teacher>__<student>/, one per
# multi-teacher run in transfer/multi_<mode>/<t1+t2+...>__<student>/ (the greedy soup is written by
# the soup job to multi_soup_greedy/). The jobs come from the config's `transfer:` section
# (gkt/transfer/jobs.py). Runs drawn at random from pairs above a ρ_pos threshold depend on the pair
# statistics, so they are planned in the checkpoint `transfer_plan`; explicit runs need no checkpoint.
import dataclasses
import json

from gkt.transfer.jobs import Job, explicit_jobs, random_runs
from gkt.transfer.settings import resolve

TRANSFER = config.get("transfer") or {}
TRANSFER_DIR = f"{RESULTS}/transfer"
TRANSFER_FILES = ("metrics.parquet", "per_class.parquet", "logits.parquet", "student.safetensors")
TRANSFER_JOBS = {job.path: job for job in explicit_jobs(TRANSFER, MODELS)}
# Model names as the zoo schema allows them, minus '__' (the pair separator) and a trailing '_'.
MODEL_RE = r"[A-Za-z0-9]+(?:[_.-][A-Za-z0-9]+)*"


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


TRANSFER_RESOURCES = rule_resources(config, "transfer", mem_mb=4000, runtime=60, gpu=TRANSFER.get("gpu", 1))


rule transfer:
    input:
        lambda w: transfer_inputs(w.method, [w.teacher, w.student]),
    output:
        [f"{TRANSFER_DIR}/{{method}}/{{teacher}}__{{student}}/{name}" for name in TRANSFER_FILES],
    wildcard_constraints:
        method=r"(?!multi_)[a-z0-9_]+",
        teacher=MODEL_RE,
        student=MODEL_RE,
    params:
        dataset=DATASET_JSON,
        settings=lambda w: as_json(dataclasses.asdict(transfer_config(w.method))),
        out=lambda w, output: os.path.dirname(output[0]),
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/transfer/{{method}}/{{teacher}}__{{student}}.log",
    threads: rule_threads(config, "transfer")
    resources:
        **TRANSFER_RESOURCES,
    shell:
        "gkt transfer --dataset {params.dataset:q} --zoo-dir {ZOO_DIR} --logits-dir {RESULTS}/logits"
        " --method {wildcards.method} --teacher {wildcards.teacher} --student {wildcards.student}"
        " --settings {params.settings:q} --out {params.out:q} --threads {threads} 2> {log}"


rule transfer_multi:
    input:
        lambda w: transfer_inputs(multi_job(w).loss, [*w.teachers.split("+"), w.student]),
    output:
        [f"{TRANSFER_DIR}/multi_{{mode}}/{{teachers}}__{{student}}/{name}" for name in TRANSFER_FILES],
    wildcard_constraints:
        mode="sequential|parallel",
        teachers=rf"{MODEL_RE}(?:\+{MODEL_RE})+",
        student=MODEL_RE,
    params:
        dataset=DATASET_JSON,
        method=lambda w: multi_job(w).loss,
        order=lambda w: multi_job(w).order,
        teachers=lambda w: w.teachers.split("+"),
        settings=lambda w: as_json(dataclasses.asdict(transfer_config(multi_job(w).loss))),
        out=lambda w, output: os.path.dirname(output[0]),
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/transfer/multi_{{mode}}/{{teachers}}__{{student}}.log",
    threads: rule_threads(config, "transfer")
    resources:
        **TRANSFER_RESOURCES,
    shell:
        "gkt transfer-multi --mode {wildcards.mode} --dataset {params.dataset:q} --zoo-dir {ZOO_DIR}"
        " --logits-dir {RESULTS}/logits --method {params.method} --teachers {params.teachers:q}"
        " --student {wildcards.student} --order {params.order} --settings {params.settings:q}"
        " --out {params.out:q} --threads {threads} 2> {log}"


rule transfer_soup:
    input:
        lambda w: transfer_inputs(multi_job(w, "soup").loss, [*w.teachers.split("+"), w.student]),
    output:
        uniform=[f"{TRANSFER_DIR}/multi_soup/{{teachers}}__{{student}}/{name}" for name in TRANSFER_FILES],
        greedy=[f"{TRANSFER_DIR}/multi_soup_greedy/{{teachers}}__{{student}}/{name}" for name in TRANSFER_FILES],
    wildcard_constraints:
        teachers=rf"{MODEL_RE}(?:\+{MODEL_RE})+",
        student=MODEL_RE,
    params:
        dataset=DATASET_JSON,
        method=lambda w: multi_job(w, "soup").loss,
        holdout=lambda w: multi_job(w, "soup").holdout,
        teachers=lambda w: w.teachers.split("+"),
        settings=lambda w: as_json(dataclasses.asdict(transfer_config(multi_job(w, "soup").loss))),
        out=lambda w, output: os.path.dirname(output.uniform[0]),
        greedy=lambda w, output: os.path.dirname(output.greedy[0]),
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/transfer/multi_soup/{{teachers}}__{{student}}.log",
    threads: rule_threads(config, "transfer")
    resources:
        **TRANSFER_RESOURCES,
    shell:
        "gkt transfer-multi --mode soup --dataset {params.dataset:q} --zoo-dir {ZOO_DIR}"
        " --logits-dir {RESULTS}/logits --method {params.method} --teachers {params.teachers:q}"
        " --student {wildcards.student} --holdout {params.holdout} --settings {params.settings:q}"
        " --out {params.out:q} --out-greedy {params.greedy:q} --threads {threads} 2> {log}"


for _job in TRANSFER_JOBS.values():
    TARGETS += transfer_files(_job.path)
    if _job.method == "multi_soup":
        TARGETS += transfer_files(f"multi_soup_greedy/{_job.teacher}__{_job.student}")


if random_runs(TRANSFER):

    checkpoint transfer_plan:
        input:
            f"{RESULTS}/complementary/pairs.parquet",
        output:
            f"{TRANSFER_DIR}/plan.json",
        params:
            transfer=as_json(TRANSFER),
            models=MODELS,
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        shell:
            "gkt transfer-plan --transfer {params.transfer:q} --pairs {input:q} --models {params.models:q}"
            " --out {output:q}"

    def planned_transfer_files(wildcards):
        """The random runs' results, known once the checkpoint has drawn the pairs."""
        with open(checkpoints.transfer_plan.get().output[0]) as f:
            return [p for job in json.load(f) for p in transfer_files(Job(**job).path)]

    TARGETS.append(planned_transfer_files)
