# The logits caches that every later stage reads: logits/<split>/<model>.parquet.
#
# Models with the same geometric preprocessing share a logits job that decodes and resizes each image
# once (gkt/logits/groups.py): the checkpoint logits_geometry records every model's geometry, the
# rule logits_group computes a group's caches, and the rule logits moves each model's cache into
# place (or computes the model alone when its group staged nothing for it). The val split groups every
# zoo model, the train split those whose train cache a stage reads (TRAIN_CACHE_MODELS, common.smk).
from snakemake.io import ancient

from gkt.logits.groups import GroupPlan

LOGITS = config["logits"]
LOGITS_RESOURCES = rule_resources(config, "logits", mem_mb=4000, runtime=20, gpu=0)
# A grouped model's own job only moves a file; it computes (on what it got) only if nothing was staged.
# No GPU, and none of the keys that would place it on a GPU node.
LOGITS_MOVE_RESOURCES = {
    **LOGITS_RESOURCES,
    **{k: "" for k in ("gres", "gpu_model", "slurm_partition") if k in LOGITS_RESOURCES},
    "mem_mb": 1000,
    "runtime": 5,
    "gpu": 0,
}
LOGITS_GROUPS = GroupPlan(
    zoo=config["zoo"],
    dataset=config["dataset"],
    eval_size=EVAL_SIZE,
    size=LOGITS["group_size"],
    members={"val": MODELS, "train": TRAIN_CACHE_MODELS},
    table=f"{LOGITS_DIR}/geometry.json",
    wait=lambda: checkpoints.logits_geometry.get(),
    zoo_dir=ZOO_DIR,
    batch_size=LOGITS["batch_size"],
    workers=LOGITS["workers"],
)


checkpoint logits_geometry:
    output:
        f"{LOGITS_DIR}/geometry.json",
    params:
        zoo=lambda w: as_json(LOGITS_GROUPS.checkpoint_params()["zoo"]),
        dataset=DATASET_JSON,
        eval_size=EVAL_SIZE,
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/logits/geometry.log",
    shell:
        "gkt --log {log} logits-geometry --dataset {params.dataset:q} --zoo {params.zoo:q}"
        " --eval-size {params.eval_size} --out {output}"


rule logits_group:
    input:
        records=lambda w: [f"{ZOO_DIR}/{m}.json" for m in LOGITS_GROUPS.members_of(w.split, w.group)],
        # Ancient: only its first run matters here. Depending on the checkpoint directly is what lets
        # Snakemake start the group jobs it adds after the checkpoint under --until logits.
        geometry=ancient(f"{LOGITS_DIR}/geometry.json"),
    output:
        f"{LOGITS_DIR}/{{split}}/groups/{{group}}.json",
    wildcard_constraints:
        split="train|val",
        group="[^/]+",
    params:
        models=lambda w: ",".join(LOGITS_GROUPS.members_of(w.split, w.group)),
        dataset=DATASET_JSON,
        zoo_dir=ZOO_DIR,
        cache_dir=lambda w: f"{LOGITS_DIR}/{w.split}",
        batch_size=LOGITS["batch_size"],
        workers=LOGITS["workers"],
        eval_size=EVAL_SIZE,
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/logits/{{split}}/groups/{{group}}.log",
    threads: rule_threads(config, "logits")
    resources:
        **LOGITS_RESOURCES,
    shell:
        "gkt --log {log} logits-group --dataset {params.dataset:q} --models {params.models} --group {wildcards.group}"
        " --zoo-dir {params.zoo_dir} --split {wildcards.split} --cache-dir {params.cache_dir} --manifest {output}"
        " --batch-size {params.batch_size} --workers {params.workers} --eval-size {params.eval_size}"
        " --threads {threads}"


rule logits:
    input:
        record=f"{ZOO_DIR}/{{model}}.json",
        # Ancient while the cache is current: a rerun of the group job for another member moves nothing
        # here. Plain when the group stages this model's cache, so that this job (and all after it) runs
        # in the same invocation (gkt/logits/groups.py: Snakemake follows only plain edges from a rerun).
        shared=lambda w: logits_config_unchanged() or [
            manifest if LOGITS_GROUPS.restaged(w.split, w.model) else ancient(manifest)
            for group in [LOGITS_GROUPS.group_of(w.split, w.model)]
            if group
            for manifest in [f"{LOGITS_DIR}/{w.split}/groups/{group}.json"]
        ],
    output:
        f"{LOGITS_DIR}/{{split}}/{{model}}.parquet",
    wildcard_constraints:
        split="train|val",
    params:
        dataset=DATASET_JSON,
        zoo_dir=lambda w, input: os.path.dirname(input.record),
        batch_size=LOGITS["batch_size"],
        workers=LOGITS["workers"],
        eval_size=EVAL_SIZE,
    conda:
        GKT_ENV
    log:
        f"{RESULTS}/logs/logits/{{split}}/{{model}}.log",
    threads: lambda w: 1 if LOGITS_GROUPS.grouped(w.split, w.model) else rule_threads(config, "logits")
    resources:
        **{
            k: (lambda w, k=k: (LOGITS_MOVE_RESOURCES if LOGITS_GROUPS.grouped(w.split, w.model) else LOGITS_RESOURCES)[k])
            for k in LOGITS_RESOURCES
        },
    shell:
        "gkt --log {log} logits --dataset {params.dataset:q} --model {wildcards.model} --zoo-dir {params.zoo_dir}"
        " --split {wildcards.split} --out {output} --shared '{input.shared}' --batch-size {params.batch_size}"
        " --workers {params.workers} --eval-size {params.eval_size} --threads {threads}"

